import { startDovecot, type DovecotServer } from '../daemons/dovecot/dovecot-server.js';
import { PecProviderSimulator, type IssuedMessage, type PecMailbox, type PecProviderTimeouts } from './pec-provider.js';
import { ensureProviderPki } from './provider-pki.js';

/** A running simulated provider: where to submit, where to read, what to trust. */
export interface RunningPecProvider {
  readonly smtp: { readonly host: string; readonly port: number };
  readonly imap: { readonly host: string; readonly port: number };
  /** The provider CA (PEM file): trusted for the S/MIME signatures of receipts and buste. */
  readonly caCertFile: string;
  /** The STARTTLS certificate of the SMTP server (PEM file), for clients to trust. */
  readonly smtpTlsCertFile: string;
  readonly issued: readonly IssuedMessage[];
  stop(): Promise<void>;
}

/**
 * The provider as the demo and `tramite pec-provider` run it: certificates kept in `dir`, a private
 * Dovecot for the mailboxes, the SMTP submission server in front.
 */
export async function startPecProviderStack(opts: {
  dir: string;
  domains: readonly string[];
  mailboxes: readonly PecMailbox[];
  timeouts?: Partial<PecProviderTimeouts>;
  port?: number;
  onIssued?: (m: IssuedMessage) => void;
}): Promise<RunningPecProvider> {
  const pki = ensureProviderPki(opts.dir);
  const issued: IssuedMessage[] = [];
  let dovecot: DovecotServer | undefined;
  const provider = new PecProviderSimulator({
    domains: opts.domains,
    mailboxes: opts.mailboxes,
    signer: pki.signer,
    store: { deliver: (address, raw) => dovecot!.deliver(address, raw) },
    tls: pki.tls,
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.timeouts ? { timeouts: opts.timeouts } : {}),
    onIssued: (m) => {
      issued.push(m);
      opts.onIssued?.(m);
    },
  });
  dovecot = await startDovecot({ users: opts.mailboxes.map((m) => ({ user: m.address, password: m.password })) });
  try {
    const smtp = await provider.start();
    const d = dovecot;
    return {
      smtp,
      imap: { host: d.host, port: d.imapPort },
      caCertFile: pki.caCertFile,
      smtpTlsCertFile: pki.tlsCertFile,
      issued,
      stop: async () => {
        await provider.stop();
        await d.stop();
      },
    };
  } catch (err) {
    await dovecot.stop();
    throw err;
  }
}
