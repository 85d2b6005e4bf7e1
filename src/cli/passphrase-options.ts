import { resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import type { PassphraseSource } from '../crypto/keystore/passphrase.js';

/** The options by which a command is told where a key's passphrase is; never the passphrase itself. */
export interface PassphraseOptions {
  passphraseFile?: string;
  passphraseEnv?: string;
}

export const PASSPHRASE_FILE_HELP = "a file holding the key's or keystore's passphrase (one trailing line break is ignored)";
export const PASSPHRASE_ENV_HELP = "the environment variable holding the key's or keystore's passphrase";

/**
 * `--passphrase-file` or `--passphrase-env`, at most one. There is no option taking the passphrase on
 * the command line: it would be seen by every user of the machine (ps) and kept in shell histories.
 */
export function passphraseSource(opts: PassphraseOptions): PassphraseSource | undefined {
  if (opts.passphraseFile !== undefined && opts.passphraseEnv !== undefined) {
    throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', 'give --passphrase-file or --passphrase-env, not both', {
      field: '--passphrase-env',
    });
  }
  if (opts.passphraseFile !== undefined) return { file: resolve(opts.passphraseFile) };
  if (opts.passphraseEnv !== undefined) return { env: opts.passphraseEnv };
  return undefined;
}
