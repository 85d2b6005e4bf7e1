/**
 * SMTP submission to the PEC provider with nodemailer: authenticated, over TLS as configured, one
 * connection per message (a PEC mailbox sends a few messages a minute, not thousands).
 *
 * What an SMTP failure means for the bus message (`smtpFailure`):
 * - no SMTP reply at all (connection refused or cut, timeout, TLS handshake) or a 4xx / 503 reply:
 *   the server may take it later → AdapterError.unavailable (retried);
 * - a 5xx reply to the message or its recipients: refused for good → AdapterError.refused, with the
 *   server's reply in the message;
 * - a failed login (even 535) is retriable: the password is the node's configuration, not a fault of
 *   the message, and failing every queued PEC for good while an operator fixes it would lose them.
 */
import { createTransport } from 'nodemailer';
import { AdapterError } from '../sdk/index.js';
import type { PecAllegato } from '../sdk/index.js';
import type { PecServerOptions } from './pec-options.js';

export interface PecSubmission {
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly attachments: readonly PecAllegato[];
  /** With angle brackets. */
  readonly messageId: string;
  readonly date: Date;
}

export interface PecSubmissionResult {
  /** The server's final reply (`250 2.0.0 Ok: queued as …`). */
  readonly response: string;
  /** Recipients the server refused while taking the message for the others. */
  readonly rejected: ReadonlyArray<{ readonly address: string; readonly reason: string }>;
}

/** The fields of a nodemailer error this module reads. */
interface SmtpErrorFields {
  readonly code?: string;
  readonly command?: string;
  readonly response?: string;
  readonly responseCode?: number;
  readonly permanent?: boolean;
  readonly recipient?: string;
  readonly message?: string;
}

const CONNECTION_TIMEOUT_MS = 15_000;
const SOCKET_TIMEOUT_MS = 60_000;

/** Whether the SMTP server answered the last time it was tried (a refusal is an answer; a failed login is not). */
export interface SmtpContact {
  readonly reachable: boolean;
  readonly at: Date;
  readonly error?: string;
}

export class PecSmtpSender {
  private readonly transport: ReturnType<typeof createTransport>;
  private contact: SmtpContact | undefined;

  constructor(
    server: PecServerOptions,
    password: string,
    tls: { readonly ca: readonly string[] | undefined; readonly rejectUnauthorized: boolean },
  ) {
    this.transport = createTransport({
      host: server.host,
      port: server.port,
      secure: server.secure,
      // With implicit TLS there is nothing to upgrade; otherwise STARTTLS or nothing, as configured.
      requireTLS: !server.secure && server.requireTLS,
      auth: { user: server.user, pass: password },
      tls: { minVersion: 'TLSv1.2', ...(tls.ca ? { ca: [...tls.ca] } : {}), rejectUnauthorized: tls.rejectUnauthorized },
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      greetingTimeout: CONNECTION_TIMEOUT_MS,
      socketTimeout: SOCKET_TIMEOUT_MS,
      // The message is built from the bus payload only: never let a field name a local file or a URL.
      disableFileAccess: true,
      disableUrlAccess: true,
      logger: false,
    });
  }

  /** Submits the message; throws AdapterError (see the module comment). */
  async send(m: PecSubmission, signal?: AbortSignal): Promise<PecSubmissionResult> {
    try {
      const info = await this.transport.sendMail({
        from: m.from,
        to: [...m.to],
        subject: m.subject,
        text: m.text,
        attachments: m.attachments.map((a) => ({ filename: a.nome, contentType: a.mimeType, content: a.contenuto })),
        messageId: m.messageId,
        date: m.date,
        ...(signal ? { signal } : {}),
      });
      const rejectedErrors = (info.rejectedErrors ?? []) as SmtpErrorFields[];
      const rejected = (info.rejected ?? []).map((address: string) => {
        const err = rejectedErrors.find((e) => e.recipient === address);
        return { address, reason: err?.response ?? err?.message ?? 'refused by the SMTP server' };
      });
      this.contact = { reachable: true, at: new Date() };
      return { response: String(info.response ?? ''), rejected };
    } catch (err) {
      throw this.failed(err as SmtpErrorFields);
    }
  }

  /** Connects and logs in, sending nothing (health). */
  async verify(): Promise<void> {
    try {
      await this.transport.verify();
      this.contact = { reachable: true, at: new Date() };
    } catch (err) {
      throw this.failed(err as SmtpErrorFields);
    }
  }

  /** The outcome of the last send or verify; undefined before the first. */
  get lastContact(): SmtpContact | undefined {
    return this.contact;
  }

  close(): void {
    this.transport.close();
  }

  private failed(err: SmtpErrorFields): AdapterError {
    const failure = smtpFailure(err);
    const answered = typeof err.responseCode === 'number' && err.code !== 'EAUTH';
    this.contact = answered ? { reachable: true, at: new Date() } : { reachable: false, at: new Date(), error: failure.message };
    return failure;
  }
}

/** An SMTP failure as the bus sees it: retriable unless the server refused the message for good. */
export function smtpFailure(err: SmtpErrorFields): AdapterError {
  const reply = err.response ? `${err.command ? `${err.command}: ` : ''}${err.response}` : undefined;
  if (err.code === 'EAUTH' || err.code === 'ENOAUTH') {
    return AdapterError.unavailable(
      `the SMTP server refused the login (check smtp.user and smtp.passwordFile)${reply ? `: ${reply}` : ''}`,
      err,
    );
  }
  if (typeof err.responseCode === 'number') {
    const permanent = err.permanent ?? (err.responseCode >= 500 && err.responseCode < 600 && err.responseCode !== 503);
    if (permanent)
      return AdapterError.refused('TRAMITE_ERR_ADAPTER_REFUSED', `the SMTP server refused the message: ${reply ?? err.responseCode}`, err);
    return AdapterError.unavailable(`the SMTP server cannot take the message now: ${reply ?? err.responseCode}`, err);
  }
  return AdapterError.unavailable(`SMTP server unreachable: ${err.message ?? err.code ?? 'unknown error'}`, err);
}
