import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { type DovecotServer, startDovecot } from '../../daemons/dovecot/dovecot-server.js';
import { type PecMailbox, PecProviderSimulator } from '../../pec-provider/pec-provider.js';
import { ensureProviderPki } from '../../pec-provider/provider-pki.js';
import { printJson, reportError } from '../cli-output.js';
import { wholeNumberOption } from '../whole-number-option.js';
import { collectRepeated } from '../repeatable-option.js';

export const DEFAULT_PEC_PROVIDER_DIR = '.tramite/pec-provider';

const HELP = `
Mailboxes are a private Dovecot's (IMAP on 127.0.0.1, cleartext, LOGIN with the same address and
password); its folder and the mail in it are removed when the simulator stops. The certificates stay
in --dir and are reused: trust the provider CA printed below for PEC signatures, and the SMTP
certificate for STARTTLS (AUTH without TLS is accepted from loopback too).

Recipients outside --domain never get the message (no other provider is simulated): the sender gets
preavviso-errore-consegna after --warn-after and errore-consegna after --fail-after.
Durations: a number with ms, s, m, h or d (e.g. 30s, 12h).`;

export function registerPecProviderCommand(program: Command): void {
  program
    .command('pec-provider')
    .description('run a simulated PEC provider: SMTP submission, signed receipts and buste, Dovecot mailboxes (for tests and the demo)')
    .requiredOption('--domain <domain>', 'a PEC domain the provider serves (repeatable)', collectRepeated, [])
    .requiredOption('--mailbox <address:password>', 'a mailbox of one of the domains and its password (repeatable)', collectRepeated, [])
    .option('--dir <dir>', 'where the provider CA and certificates are kept', DEFAULT_PEC_PROVIDER_DIR)
    .option('--warn-after <duration>', 'preavviso-errore-consegna for a recipient not reached after this long', '12h')
    .option('--fail-after <duration>', 'errore-consegna for a recipient not reached after this long', '24h')
    .option('--port <port>', 'SMTP port on 127.0.0.1 (default: any free port)', '0')
    .option('--json', 'print the endpoints and credentials as one JSON line')
    .addHelpText('after', HELP)
    .action(
      async (opts: {
        domain: string[];
        mailbox: string[];
        dir: string;
        warnAfter: string;
        failAfter: string;
        port: string;
        json?: boolean;
      }) => {
        let settings: { mailboxes: PecMailbox[]; warnAfterMs: number; failAfterMs: number; port: number };
        try {
          const port = wholeNumberOption(opts.port, '--port', { min: 0, max: 65535, what: 'a TCP port', example: 2525 });
          settings = {
            mailboxes: opts.mailbox.map(parseMailbox),
            warnAfterMs: parseDuration(opts.warnAfter, '--warn-after'),
            failAfterMs: parseDuration(opts.failAfter, '--fail-after'),
            port,
          };
        } catch (err) {
          reportError(err, 2);
          return;
        }

        // Signals are handled from before start-up: a stop asked for while Dovecot is starting waits
        // for the start to finish, then stops everything it started.
        let stopRequested = false;
        let stopAll: (() => Promise<void>) | undefined;
        const shutdown = () => {
          stopRequested = true;
          if (stopAll) void stopAll().then(() => process.exit(0));
        };
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);

        let dovecot: DovecotServer | undefined;
        let provider: PecProviderSimulator | undefined;
        const stopStarted = async () => {
          await provider?.stop();
          await dovecot?.stop();
        };
        try {
          const pki = ensureProviderPki(opts.dir);
          // Built before Dovecot starts, so that bad domains or mailboxes are refused before any process runs.
          provider = new PecProviderSimulator({
            domains: opts.domain,
            mailboxes: settings.mailboxes,
            signer: pki.signer,
            store: { deliver: (address, raw) => dovecot!.deliver(address, raw) },
            tls: pki.tls,
            port: settings.port,
            timeouts: { warnAfterMs: settings.warnAfterMs, failAfterMs: settings.failAfterMs },
            onIssued: (m) =>
              process.stderr.write(
                `issued ${m.kind}${m.consegna ? ` for ${m.consegna}` : ''} into ${m.mailbox} (original ${m.riferimentoMessageId})\n`,
              ),
          });
          dovecot = await startDovecot({ users: settings.mailboxes.map((m) => ({ user: m.address, password: m.password })) });
          const smtp = await provider.start();
          stopAll = stopStarted;
          if (stopRequested) {
            await stopAll();
            process.exit(0);
          }

          const info = {
            domains: opts.domain,
            smtp: { host: smtp.host, port: smtp.port, tlsCertificate: pki.tlsCertFile },
            imap: { host: dovecot.host, port: dovecot.imapPort },
            providerCa: pki.caCertFile,
            mailboxes: settings.mailboxes.map((m) => ({ address: m.address, password: m.password })),
            timeouts: { warnAfterMs: settings.warnAfterMs, failAfterMs: settings.failAfterMs },
          };
          if (opts.json) printJson(info);
          else {
            process.stdout.write(
              [
                `PEC provider simulator for ${opts.domain.join(', ')} (Ctrl-C to stop)`,
                `  SMTP submission: ${smtp.host}:${smtp.port}  (AUTH PLAIN/LOGIN; STARTTLS with ${pki.tlsCertFile})`,
                `  IMAP:            ${dovecot.host}:${dovecot.imapPort}  (cleartext)`,
                `  provider CA:     ${pki.caCertFile}  (trust it for the providers' signatures)`,
                `  delivery timeouts for other domains: warning after ${opts.warnAfter}, failure after ${opts.failAfter}`,
                '  mailboxes (login = address):',
                ...settings.mailboxes.map((m) => `    ${m.address}  password ${m.password}`),
                '',
              ].join('\n'),
            );
          }
        } catch (err) {
          await stopStarted().catch(() => undefined);
          reportError(err);
        }
      },
    );
}

/** `address:password`, split at the first colon (an address has none; a password may). */
function parseMailbox(value: string): PecMailbox {
  const colon = value.indexOf(':');
  const address = colon < 0 ? '' : value.slice(0, colon);
  const password = colon < 0 ? '' : value.slice(colon + 1);
  if (!/^[^@\s:]+@[^@\s:]+$/.test(address) || password === '')
    throw new ConfigError(
      'TRAMITE_ERR_CONFIG_INVALID',
      `--mailbox "${value}": expected address:password, e.g. protocollo@pec.example.it:secret`,
      { field: '--mailbox' },
    );
  return { address, password };
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `5m`, `12h`, `1d` → milliseconds. */
export function parseDuration(value: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  const ms = match ? Math.round(Number(match[1]) * UNIT_MS[match[2]!]!) : NaN;
  if (!(ms > 0))
    throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `${option} "${value}": expected a duration like 30s, 12h or 1d`, { field: option });
  return ms;
}
