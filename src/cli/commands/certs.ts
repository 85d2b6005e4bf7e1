import { resolve } from 'node:path';
import type { Command, CommanderError } from 'commander';
import { loadConfig } from '../../config/load-config.js';
import { BUILTIN_ADAPTERS } from '../../../adapters/builtin.js';
import { EXPIRY_WARNING_DAYS, expiresWithin, summarizeExpiry } from '../../crypto/certificate-inventory/expiry-bands.js';
import type { InventoryEntry } from '../../crypto/certificate-inventory/inventory-entry.js';
import { loadCertificateInventory } from '../../node/certificates/load-certificate-inventory.js';
import { printJson, reportError } from '../cli-output.js';
import { wholeNumberOption } from '../whole-number-option.js';
import { DEFAULT_HOME } from './start.js';

const CERTS_HELP = `
Lists every certificate the node uses or trusts — hosted parties' signing certificates and their
chains (PEM or PKCS#12), trust anchors (trust.caFiles), peers' CAs (peers[].caFile), the TSA's trust
anchor (log.tsa.caFile), the certificate files adapters' options name (a PEC mailbox's provider CAs) —
with its role, subject, issuer, serial, validity, whole days to expiry (floored, negative once expired),
SHA-256 fingerprint and source file; the soonest to expire first. The configuration is loaded as
\`tramite start\` loads it, so an encrypted party key needs its passphrase file or variable here too.
The TSA's own certificate is known only to a running node (from its tokens): see GET /health.

--json prints one line: {"at","within","certificates":[{"role","source","subject","issuer","serial",
"notBefore","notAfter","daysToExpiry","keyType","fingerprint256"}],"summary":{"total","expired",
"within30Days","within7Days","soonest"}}.

Exit status: 0 nothing expired and nothing expires within DAYS days; 1 something expires within DAYS
days; 3 something has expired; 2 usage error, or a configuration that cannot be loaded.`;

/** Exit status when a certificate expires within --within days (none expired). */
export const EXIT_EXPIRING = 1;
/** Exit status when a certificate has expired. */
export const EXIT_EXPIRED = 3;

export function registerCertsCommand(program: Command): void {
  program
    .command('certs')
    .description("list the node's certificates with days to expiry; the exit status says whether one expires soon or has expired")
    .option('--config <tramite.json>', `the node configuration (env TRAMITE_CONFIG; default ${DEFAULT_HOME}/tramite.json)`)
    .option('--json', 'print JSON')
    .option('--within <days>', 'exit 1 when a certificate expires within this many days', String(EXPIRY_WARNING_DAYS))
    .addHelpText('after', CERTS_HELP)
    // Commander exits 1 on a usage error, which here would read as "a certificate expires soon": report 2 instead.
    .exitOverride(exitWithUsageStatus)
    .action(async (opts: { config?: string; json?: boolean; within: string }) => {
      let within: number;
      let entries: InventoryEntry[];
      const now = new Date();
      try {
        within = wholeNumberOption(opts.within, '--within', { min: 0, max: 36_500, what: 'a number of days', example: 30 });
        const config = loadConfig(resolve(opts.config ?? process.env['TRAMITE_CONFIG'] ?? `${DEFAULT_HOME}/tramite.json`));
        entries = (await loadCertificateInventory(config, BUILTIN_ADAPTERS)).list(now);
      } catch (err) {
        reportError(err, 2);
        return;
      }
      const summary = summarizeExpiry(entries, now);
      if (opts.json) printJson({ at: now.toISOString(), within, certificates: entries, summary });
      else process.stdout.write(table(entries, within, now));
      if (summary.expired > 0) process.exitCode = EXIT_EXPIRED;
      else if (entries.some((e) => expiresWithin(e.notAfter, within, now))) process.exitCode = EXIT_EXPIRING;
    });
}

/** For people: one line per certificate and role, then what needs doing. */
function table(entries: readonly InventoryEntry[], within: number, now: Date): string {
  const rows = entries.map((e) => [
    // The same floored number as --json, so a person and a script read one value.
    e.daysToExpiry < 0 ? `${e.daysToExpiry} EXPIRED` : `${e.daysToExpiry}`,
    e.notAfter.slice(0, 10),
    e.role,
    e.subject,
    e.issuer,
    e.serial,
    e.source,
  ]);
  const header = ['DAYS', 'NOT AFTER', 'ROLE', 'SUBJECT', 'ISSUER', 'SERIAL', 'SOURCE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const summary = summarizeExpiry(entries, now);
  const soon = new Set(entries.filter((e) => e.daysToExpiry >= 0 && expiresWithin(e.notAfter, within, now)).map((e) => e.fingerprint256));
  const verdict =
    summary.expired > 0 || soon.size > 0
      ? `${summary.expired} expired, ${soon.size} expiring within ${within} days, of ${summary.total} certificates`
      : `${summary.total} certificates, none expires within ${within} days`;
  return [line(header), ...rows.map(line), '', verdict, ''].join('\n');
}

/** Help and version output keep commander's status 0; every other commander exit is a usage error. */
function exitWithUsageStatus(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? 0 : 2);
}
