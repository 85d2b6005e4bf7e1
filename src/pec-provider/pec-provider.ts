/**
 * A small PEC provider (gestore) for tests and the demo: an SMTP submission server on 127.0.0.1 for
 * the mailboxes of its domains, and the certification flow behind it. For each submitted message:
 *
 *  - to the sender: `accettazione` (or `non-accettazione` when the formal checks fail);
 *  - to each recipient of its domains that exists: the busta di trasporto, then `avvenuta-consegna`
 *    to the sender (completa, breve or sintetica, as X-TipoRicevuta asks);
 *  - for an unknown mailbox of its domains: `errore-consegna` (no-dest, 5.1.1);
 *  - for a recipient of any other domain: there is no other provider to hand the busta to, so none
 *    ever confirms delivery: `preavviso-errore-consegna` after `warnAfterMs` (12 h by the rules) and
 *    `errore-consegna` after `failAfterMs` (24 h). Tests shorten the durations; the logic is the same.
 *
 * Every message it issues is S/MIME signed with the provider certificate and written into the
 * mailbox store (Dovecot's Maildirs in practice) with CRLF line ends, as the signature covers them.
 *
 * The SMTP side (authentication, TLS, who may send) is smtp-submission.ts.
 */
import { randomBytes } from 'node:crypto';
import type { DaticertDestinatario } from '../../adapters/pec/daticert.js';
import { type SmimeSigner, signMultipartSigned } from '../../adapters/pec/smime-sign.js';
import { type Clock, systemClock } from '../core/clock.js';
import { ConfigError, TramiteError } from '../core/errors.js';
import type { PemPair } from '../crypto/dev-pki.js';
import {
  type CertifiedMessage,
  type Issuer,
  buildAcceptance,
  buildDeliveryError,
  buildDeliveryReceipt,
  buildDeliveryWarning,
  buildNonAcceptance,
  buildTransportEnvelope,
} from './receipt-builder.js';
import { italianDuration } from './receipt-texts.js';
import { type PecMailbox, type SubmissionServer, startSubmissionServer } from './smtp-submission.js';
import { selfSignedSmtpCertificate } from './smtp-tls-certificate.js';
import { type SmtpEnvelope, domainOf, formalProblems, readSubmittedMessage } from './submission.js';

/** Where the provider's mailboxes live. Dovecot's launcher (`DovecotServer`) is one as it is. */
export interface MailboxStore {
  /** Writes a complete message (CRLF line ends) into the INBOX of `address`. */
  deliver(address: string, raw: Buffer): Promise<void>;
}

export type { PecMailbox };

export interface PecProviderTimeouts {
  /** No delivery confirmed after this long: preavviso-errore-consegna. The rules: 12 hours. */
  readonly warnAfterMs: number;
  /** No delivery confirmed after this long: errore-consegna. The rules: 24 hours. */
  readonly failAfterMs: number;
}

export const PEC_TIMEOUTS: PecProviderTimeouts = { warnAfterMs: 12 * 60 * 60 * 1000, failAfterMs: 24 * 60 * 60 * 1000 };
/** The rules' size limit: message size times number of recipients. */
export const PEC_MAX_MESSAGE_BYTES = 30 * 1024 * 1024;
export const DEFAULT_GESTORE = 'Gestore PEC simulato (Tramite)';
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface PecProviderOptions {
  /** The PEC domains the provider serves, e.g. `pec.comune.example.it`. */
  readonly domains: readonly string[];
  readonly mailboxes: readonly PecMailbox[];
  /** The provider's signing certificate and key; its CA is what readers trust. */
  readonly signer: SmimeSigner;
  readonly store: MailboxStore;
  /** daticert `gestore-emittente`. */
  readonly gestore?: string;
  readonly timeouts?: Partial<PecProviderTimeouts>;
  /** The STARTTLS certificate; default a fresh self-signed one for localhost and 127.0.0.1. */
  readonly tls?: PemPair;
  /** Refuse AUTH before STARTTLS even from loopback (default false: loopback may authenticate in cleartext). */
  readonly requireTls?: boolean;
  /** SMTP port on 127.0.0.1 (default 0: any free port). */
  readonly port?: number;
  readonly maxMessageBytes?: number;
  readonly clock?: Clock;
  /** Told of every provider message written into a mailbox (for logs and the demo). */
  readonly onIssued?: (issued: IssuedMessage) => void;
  /** Told of failures after the SMTP reply (a mailbox store error); default: written to stderr. */
  readonly onError?: (err: Error) => void;
}

export interface IssuedMessage {
  readonly kind:
    'accettazione' | 'non-accettazione' | 'posta-certificata' | 'avvenuta-consegna' | 'errore-consegna' | 'preavviso-errore-consegna';
  /** The mailbox it was written into. */
  readonly mailbox: string;
  /** The original message's Message-ID. */
  readonly riferimentoMessageId: string;
  /** The recipient a per-recipient receipt is about. */
  readonly consegna?: string;
}

export interface SmtpEndpoint {
  readonly host: '127.0.0.1';
  readonly port: number;
}

export class PecProviderSimulator {
  readonly #domains: ReadonlySet<string>;
  /** Lower-case address → the mailbox as configured. */
  readonly #mailboxes: ReadonlyMap<string, PecMailbox>;
  readonly #signer: SmimeSigner;
  readonly #store: MailboxStore;
  readonly #gestore: string;
  readonly #timeouts: PecProviderTimeouts;
  readonly #requireTls: boolean;
  readonly #port: number;
  readonly #maxMessageBytes: number;
  readonly #clock: Clock;
  readonly #onIssued: (issued: IssuedMessage) => void;
  readonly #onError: (err: Error) => void;
  readonly #tls: PemPair | undefined;

  #server: SubmissionServer | undefined;
  #endpoint: SmtpEndpoint | undefined;
  #tlsInUse: PemPair | undefined;
  #stopping = false;
  #sequence = 0;
  /** Work started after an SMTP reply (deliveries, receipts): stop() waits for it. */
  readonly #inFlight = new Set<Promise<void>>();
  /** The 12 h / 24 h timers of recipients of other domains. */
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(opts: PecProviderOptions) {
    if (opts.domains.length === 0) throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', 'PecProviderSimulator: give at least one domain');
    this.#domains = new Set(opts.domains.map((d) => d.toLowerCase()));
    const mailboxes = new Map<string, PecMailbox>();
    for (const mailbox of opts.mailboxes) {
      const key = mailbox.address.toLowerCase();
      if (!/^[^@\s]+@[^@\s]+$/.test(mailbox.address))
        throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `PecProviderSimulator: "${mailbox.address}" is not an e-mail address`);
      if (!this.#domains.has(domainOf(key)))
        throw new ConfigError(
          'TRAMITE_ERR_CONFIG_INVALID',
          `PecProviderSimulator: mailbox ${mailbox.address} is not in the provider's domains (${opts.domains.join(', ')})`,
        );
      if (mailboxes.has(key))
        throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `PecProviderSimulator: mailbox ${mailbox.address} given twice`);
      if (mailbox.password.length === 0)
        throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `PecProviderSimulator: mailbox ${mailbox.address} needs a password`);
      mailboxes.set(key, mailbox);
    }
    this.#mailboxes = mailboxes;
    this.#timeouts = { ...PEC_TIMEOUTS, ...opts.timeouts };
    const { warnAfterMs, failAfterMs } = this.#timeouts;
    // setTimeout cannot wait longer than 2^31 - 1 ms (about 24.8 days): it would fire at once instead.
    if (!(warnAfterMs > 0 && failAfterMs > warnAfterMs && failAfterMs <= MAX_TIMER_MS)) {
      throw new ConfigError(
        'TRAMITE_ERR_CONFIG_INVALID',
        `PecProviderSimulator: timeouts must satisfy 0 < warnAfterMs < failAfterMs <= ${MAX_TIMER_MS} (got ${warnAfterMs} and ${failAfterMs})`,
      );
    }
    this.#signer = opts.signer;
    this.#store = opts.store;
    this.#gestore = opts.gestore ?? DEFAULT_GESTORE;
    this.#requireTls = opts.requireTls ?? false;
    this.#port = opts.port ?? 0;
    this.#maxMessageBytes = opts.maxMessageBytes ?? PEC_MAX_MESSAGE_BYTES;
    this.#clock = opts.clock ?? systemClock;
    this.#onIssued = opts.onIssued ?? (() => {});
    this.#onError = opts.onError ?? ((err) => process.stderr.write(`pec-provider: ${err.stack ?? err.message}\n`));
    this.#tls = opts.tls;
  }

  /** Where to submit, once started. */
  get smtp(): SmtpEndpoint {
    if (!this.#endpoint) throw new TramiteError('TRAMITE_ERR_LIFECYCLE', 'PecProviderSimulator: not started');
    return this.#endpoint;
  }

  /** The certificate STARTTLS presents (PEM): what a client trusts as its CA. */
  get smtpTlsCertPem(): string {
    if (!this.#tlsInUse) throw new TramiteError('TRAMITE_ERR_LIFECYCLE', 'PecProviderSimulator: not started');
    return this.#tlsInUse.certPem;
  }

  async start(): Promise<SmtpEndpoint> {
    if (this.#server) throw new TramiteError('TRAMITE_ERR_LIFECYCLE', 'PecProviderSimulator: already started');
    // A key or certificate that cannot sign is refused now, not at the first message.
    signMultipartSigned(Buffer.from('Content-Type: text/plain\r\n\r\nprova\r\n'), this.#signer);
    const tls = this.#tls ?? selfSignedSmtpCertificate(this.#clock.now());
    this.#server = await startSubmissionServer({
      name: `smtp.${[...this.#domains][0]!}`,
      mailboxes: this.#mailboxes,
      tls,
      requireTls: this.#requireTls,
      port: this.#port,
      maxMessageBytes: this.#maxMessageBytes,
      onMessage: (envelope, raw) => this.#certify(raw, envelope),
      onError: this.#onError,
    });
    this.#tlsInUse = tls;
    this.#endpoint = { host: '127.0.0.1', port: this.#server.port };
    return this.#endpoint;
  }

  /** Stops accepting, cancels the pending 12 h / 24 h receipts, and waits for work already under way. */
  async stop(): Promise<void> {
    if (!this.#server || this.#stopping) return;
    this.#stopping = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await this.#server.close();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  // -------------------------------------------------------------------------------------------------
  // The certification flow

  /** The access point's work, before the SMTP reply: formal checks and the (non-)acceptance. */
  async #certify(bytes: Buffer, envelope: SmtpEnvelope): Promise<string> {
    const at = this.#clock.now();
    const senderDomain = domainOf(envelope.sender);
    const identificativo = this.#newIdentifier(senderDomain, at);
    const submitted = await readSubmittedMessage(bytes, () => `<${this.#newIdentifier(senderDomain, at)}>`);
    const msg: CertifiedMessage = {
      identificativo,
      sender: this.#mailboxes.get(envelope.sender.toLowerCase())?.address ?? envelope.sender,
      // Recipients of other domains are taken to be PEC mailboxes at another provider (there is no
      // index of PEC domains here): `certificato`, so the delivery timeouts apply to them.
      destinatari: envelope.recipients.map((r): DaticertDestinatario => ({ indirizzo: r, tipo: 'certificato' })),
      submitted,
    };
    const accessPoint = this.#issuer(senderDomain, at);
    const problems = formalProblems(submitted, envelope, this.#maxMessageBytes);
    if (problems.length > 0) {
      await this.#deliver(msg.sender, await buildNonAcceptance(msg, accessPoint, problems), { kind: 'non-accettazione', msg });
      return identificativo;
    }
    await this.#deliver(msg.sender, await buildAcceptance(msg, accessPoint), { kind: 'accettazione', msg });
    this.#track(this.#forward(msg, at));
    return identificativo;
  }

  /** After acceptance: the busta to each recipient, and what each recipient's provider reports. */
  async #forward(msg: CertifiedMessage, acceptedAt: Date): Promise<void> {
    const recipients = msg.destinatari.map((d) => d.indirizzo);
    const own = recipients.filter((r) => this.#domains.has(domainOf(r)));
    const elsewhere = recipients.filter((r) => !this.#domains.has(domainOf(r)));
    for (const recipient of elsewhere) this.#awaitOtherProvider(msg, recipient);

    if (own.length === 0) return;
    // One busta for the message, as the sender's provider sends it; each recipient's provider
    // (here the same one) then delivers it or reports why not.
    const busta = await buildTransportEnvelope(msg, this.#issuer(domainOf(msg.sender), acceptedAt));
    for (const recipient of own) {
      try {
        await this.#deliverToRecipient(msg, recipient, busta);
      } catch (err) {
        this.#onError(err as Error);
      }
    }
  }

  async #deliverToRecipient(msg: CertifiedMessage, recipient: string, busta: Buffer): Promise<void> {
    const recipientIssuer = () => this.#issuer(domainOf(recipient), this.#clock.now());
    const mailbox = this.#mailboxes.get(recipient.toLowerCase());
    if (!mailbox) {
      const receipt = await buildDeliveryError(msg, recipientIssuer(), recipient, {
        errore: 'no-dest',
        erroreEsteso: `5.1.1 - ${this.#gestore}: casella ${recipient} inesistente, indirizzo non valido`,
      });
      await this.#deliver(msg.sender, receipt, { kind: 'errore-consegna', msg, consegna: recipient });
      return;
    }
    try {
      await this.#deliver(mailbox.address, busta, { kind: 'posta-certificata', msg });
    } catch (err) {
      this.#onError(err as Error);
      const receipt = await buildDeliveryError(msg, recipientIssuer(), recipient, {
        errore: 'altro',
        erroreEsteso: `5.2.0 - ${this.#gestore}: la casella ${recipient} non ha potuto ricevere il messaggio`,
      });
      await this.#deliver(msg.sender, receipt, { kind: 'errore-consegna', msg, consegna: recipient });
      return;
    }
    await this.#deliver(msg.sender, await buildDeliveryReceipt(msg, recipientIssuer(), recipient), {
      kind: 'avvenuta-consegna',
      msg,
      consegna: recipient,
    });
  }

  /**
   * A recipient at another provider: the busta would go out by SMTP and that provider would confirm
   * delivery. There is no such provider here, so no confirmation ever comes, and the sender's
   * provider issues the warning and then the failure when the maximum times pass.
   */
  #awaitOtherProvider(msg: CertifiedMessage, recipient: string): void {
    const { warnAfterMs, failAfterMs } = this.#timeouts;
    const issuer = () => this.#issuer(domainOf(msg.sender), this.#clock.now());
    this.#after(warnAfterMs, async () => {
      const waited = italianDuration(warnAfterMs);
      const receipt = await buildDeliveryWarning(
        msg,
        issuer(),
        recipient,
        waited,
        `4.4.7 - consegna a ${recipient} non confermata dopo ${waited}`,
      );
      await this.#deliver(msg.sender, receipt, { kind: 'preavviso-errore-consegna', msg, consegna: recipient });
    });
    this.#after(failAfterMs, async () => {
      const waited = italianDuration(failAfterMs);
      const receipt = await buildDeliveryError(msg, issuer(), recipient, {
        errore: 'altro',
        erroreEsteso: `5.4.7 - consegna a ${recipient} non confermata entro il tempo massimo di ${waited}`,
        waited,
      });
      await this.#deliver(msg.sender, receipt, { kind: 'errore-consegna', msg, consegna: recipient });
    });
  }

  #after(ms: number, work: () => Promise<void>): void {
    if (this.#stopping) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#track(work());
    }, ms);
    // The SMTP server keeps a running provider alive; a pending receipt alone should not.
    timer.unref();
    this.#timers.add(timer);
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch((err: Error) => this.#onError(err)).finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
  }

  async #deliver(
    mailbox: string,
    raw: Buffer,
    about: { kind: IssuedMessage['kind']; msg: CertifiedMessage; consegna?: string },
  ): Promise<void> {
    await this.#store.deliver(mailbox, raw);
    this.#onIssued({
      kind: about.kind,
      mailbox,
      riferimentoMessageId: about.msg.submitted.messageId,
      ...(about.consegna ? { consegna: about.consegna } : {}),
    });
  }

  #issuer(domain: string, at: Date): Issuer {
    return { gestore: this.#gestore, signer: this.#signer, domain, at, messageId: `<${this.#newIdentifier(domain, at)}>` };
  }

  /** `opec-sim.<yyyyMMddHHmmss>.<sequence>.<random>@<domain>`: unique, shaped like providers' own. */
  #newIdentifier(domain: string, at: Date): string {
    const stamp = at.toISOString().replace(/\D/g, '').slice(0, 14);
    return `opec-sim.${stamp}.${++this.#sequence}.${randomBytes(4).toString('hex')}@${domain}`;
  }
}
