/**
 * The provider's SMTP submission port (smtp-server on 127.0.0.1): who may submit, and how.
 *
 *  - AUTH PLAIN or LOGIN is required, with a mailbox's address and password (535 otherwise).
 *  - STARTTLS is offered with the given certificate. AUTH without TLS is accepted only from a
 *    loopback address (where there is no wire to eavesdrop on), and not at all with `requireTls`
 *    (538 then).
 *  - MAIL FROM must be the authenticated mailbox (553 otherwise): a message the mailbox did not send
 *    is not the provider's to certify, and there would be nobody to send the non-acceptance to.
 *  - A message over `maxMessageBytes` is refused with 552; everything else wrong with a message is
 *    the access point's business (a non-acceptance), so it is accepted here and handed on.
 */
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  SMTPServer,
  type SMTPServerAuthentication,
  type SMTPServerAuthenticationResponse,
  type SMTPServerDataStream,
  type SMTPServerSession,
} from 'smtp-server';
import type { PemPair } from '../crypto/dev-pki.js';
import { TramiteError } from '../core/errors.js';
import type { SmtpEnvelope } from './submission.js';

export interface PecMailbox {
  /** The PEC address, also the SMTP login; its domain must be one of the provider's. */
  readonly address: string;
  readonly password: string;
}

export interface SubmissionServerOptions {
  /** Host name in the greeting. */
  readonly name: string;
  /** Lower-case address → mailbox. */
  readonly mailboxes: ReadonlyMap<string, PecMailbox>;
  readonly tls: PemPair;
  readonly requireTls: boolean;
  /** 0: any free port. */
  readonly port: number;
  readonly maxMessageBytes: number;
  /** Takes a submitted message; resolves with the identifier for the 250 reply. */
  readonly onMessage: (envelope: SmtpEnvelope, raw: Buffer) => Promise<string>;
  readonly onError: (err: Error) => void;
}

export interface SubmissionServer {
  readonly port: number;
  /** Stops accepting connections and waits for the open ones to end. */
  close(): Promise<void>;
}

type SmtpError = Error & { responseCode: number };

/** A refusal smtp-server sends as the SMTP reply `responseCode message`. */
class SmtpRefusal extends TramiteError {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super('TRAMITE_ERR_SMTP_REFUSED', message);
  }
}

export async function startSubmissionServer(opts: SubmissionServerOptions): Promise<SubmissionServer> {
  const server = new SMTPServer({
    name: opts.name,
    banner: 'PEC provider simulator (Tramite)',
    key: opts.tls.keyPem,
    cert: opts.tls.certPem,
    minVersion: 'TLSv1.2',
    authMethods: ['PLAIN', 'LOGIN'],
    // smtp-server would refuse every AUTH before STARTTLS; authenticate() makes the loopback decision.
    allowInsecureAuth: true,
    size: opts.maxMessageBytes,
    rejectOversized: true,
    disableReverseLookup: true,
    logger: false,
    onAuth: (auth, session, callback) => callback(...authenticate(auth, session, opts)),
    onMailFrom: (address, session, callback) => callback(checkSender(address.address, session)),
    onRcptTo: (address, _session, callback) =>
      callback(/^[^@\s]+@[^@\s]+$/.test(address.address) ? null : smtpError(553, `5.1.3 ${address.address} is not an e-mail address`)),
    onData: (stream, session, callback) => {
      receive(stream, session).then(
        ({ envelope, raw }) =>
          opts.onMessage(envelope, raw).then(
            (identificativo) => callback(null, `Ok: queued as ${identificativo}`),
            (err: Error) => {
              opts.onError(err);
              callback(smtpError(451, '4.3.0 The message could not be processed, try again later'));
            },
          ),
        (err: SmtpError) => callback(err),
      );
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.server.address() as AddressInfo).port);
    });
  });
  // A connection-level error (a client vanishing mid-session) must not bring the provider down.
  server.on('error', (err) => opts.onError(err));
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function authenticate(
  auth: SMTPServerAuthentication,
  session: SMTPServerSession,
  opts: SubmissionServerOptions,
): [Error | null, SMTPServerAuthenticationResponse?] {
  if (!session.secure && (opts.requireTls || !isLoopback(session.remoteAddress))) {
    return [smtpError(538, '5.7.11 Encryption required: issue STARTTLS before AUTH')];
  }
  const username = (auth.username ?? '').toLowerCase();
  const mailbox = opts.mailboxes.get(username);
  // PLAIN may name a different identity to act as (authzid): a mailbox acts only as itself.
  const actsAsItself = !auth.authzid || auth.authzid.toLowerCase() === username;
  if (!mailbox || !actsAsItself || typeof auth.password !== 'string' || !samePassword(auth.password, mailbox.password)) {
    return [smtpError(535, '5.7.8 Authentication credentials invalid')];
  }
  return [null, { user: mailbox.address }];
}

function checkSender(address: string, session: SMTPServerSession): Error | null {
  const user = session.user as string | undefined;
  if (!user) return smtpError(530, '5.7.0 Authentication required');
  if (address.toLowerCase() !== user.toLowerCase())
    return smtpError(553, `5.7.1 Sender ${address || '<>'} is not the authenticated mailbox ${user}`);
  return null;
}

/** The whole DATA stream; rejects with 552 when it went over the size limit. */
async function receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<{ envelope: SmtpEnvelope; raw: Buffer }> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  if (stream.sizeExceeded) throw smtpError(552, '5.3.4 Message too big');
  const { mailFrom, rcptTo } = session.envelope;
  return { envelope: { sender: mailFrom ? mailFrom.address : '', recipients: rcptTo.map((r) => r.address) }, raw: Buffer.concat(chunks) };
}

function smtpError(responseCode: number, message: string): SmtpError {
  return new SmtpRefusal(responseCode, message);
}

function isLoopback(address: string): boolean {
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

/** Compares without leaking, through timing, how much of the password was right. */
function samePassword(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
