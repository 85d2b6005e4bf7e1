import type { Command, CommanderError } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { readKeyFile } from '../../crypto/keystore/key-file.js';
import { describeKeyType, summarizeCertificate } from '../../crypto/certificate-summary.js';
import { printJson, reportError } from '../cli-output.js';
import { PASSPHRASE_ENV_HELP, PASSPHRASE_FILE_HELP, type PassphraseOptions, passphraseSource } from '../passphrase-options.js';

const INSPECT_HELP = `
Reads a PEM certificate (with or without its CA certificates), a PEM key and certificate together, a
PEM private key (encrypted PKCS#8 needs its passphrase), a DER certificate, or a PKCS#12 keystore
(.p12 / .pfx, legacy RC2/3DES ones included; it needs its passphrase), and prints one JSON line:
  {"file":"…","format":"pkcs12","alias":"comunea","privateKey":true,"subject":"CN=ComuneA, O=SPC, C=IT",
   "issuer":"CN=Tramite dev CA, …","serial":"4F…","notBefore":"2026-…","notAfter":"2027-…","daysToExpiry":364,
   "keyType":"rsa 2048","fingerprint256":"AB:CD:…","chain":[{"subject":"CN=Tramite dev CA, …",…}]}
A file holding a private key alone prints {"file","format","privateKey":true,"keyType"}.
fingerprint256 is what a party's "signers" list takes. The passphrase is read from a file or an
environment variable, never from the command line (ps and shell histories would show it).

Exit status: 0 read, 1 not a key or certificate it can read (wrong passphrase, corrupt, a keystore
with several keys and no --alias), 2 usage error (a missing file included).`;

export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description('offline tools for party keys, certificates and keystores')
    // Commander exits 1 on a usage error, which here would read as "not a key": report 2 instead.
    .exitOverride(exitWithUsageStatus);

  keys
    .command('inspect')
    .description(
      'print subject, issuer, serial, validity, days to expiry, key type and SHA-256 fingerprint of a certificate, key or keystore as JSON',
    )
    .argument('<file>', 'a PEM or DER certificate, a PEM key (and certificate), or a PKCS#12 keystore')
    .option('--passphrase-file <file>', PASSPHRASE_FILE_HELP)
    .option('--passphrase-env <variable>', PASSPHRASE_ENV_HELP)
    .option('--alias <alias>', 'which key of a keystore holding several (compared ignoring case)')
    .addHelpText('after', INSPECT_HELP)
    .action((file: string, opts: PassphraseOptions & { alias?: string }) => {
      let passphrase;
      try {
        passphrase = passphraseSource(opts);
      } catch (err) {
        reportError(err, 2);
        return;
      }
      try {
        const contents = readKeyFile(file, { passphrase, alias: opts.alias });
        const now = new Date();
        const key = contents.certificate?.publicKey ?? contents.privateKey!;
        printJson({
          file,
          format: contents.format,
          ...(contents.alias !== undefined ? { alias: contents.alias } : {}),
          privateKey: contents.privateKey !== undefined,
          ...(contents.certificate ? summarizeCertificate(contents.certificate, now) : { keyType: describeKeyType(key) }),
          ...(contents.certificate ? { chain: contents.chain.map((c) => summarizeCertificate(c, now)) } : {}),
        });
      } catch (err) {
        // A file (or passphrase file) that is not there is a usage error; one that is there but unreadable as a key is 1.
        reportError(err, err instanceof ConfigError && err.code === 'TRAMITE_ERR_CONFIG_UNREADABLE' ? 2 : 1);
      }
    });
}

/** Help and version output keep commander's status 0; every other commander exit is a usage error. */
function exitWithUsageStatus(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? 0 : 2);
}
