import { readNamedFile } from '../read-named-file.js';
import { ConfigError } from '../../core/errors.js';

/**
 * Where a key's passphrase is kept: a file readable by the node only, or an environment variable.
 * Never the configuration text, which more people and tools read than the key (backups, version control).
 */
export type PassphraseSource = { readonly file: string } | { readonly env: string };

/** How a source is named in messages: the file or the variable, never the passphrase. */
export function describePassphraseSource(source: PassphraseSource): string {
  return 'file' in source ? `passphrase file ${source.file}` : `environment variable ${source.env}`;
}

/**
 * Reads the passphrase. A file's one trailing line break is dropped (editors and `echo` add one);
 * everything else, spaces included, is the passphrase. An empty passphrase is refused: it is almost
 * always a mistake in the deployment, not a choice.
 */
export function readPassphrase(source: PassphraseSource, owner: string): string {
  let value: string | undefined;
  if ('file' in source) {
    value = readNamedFile(source.file, owner, { kind: 'the passphrase file' })
      .toString('utf8')
      .replace(/\r?\n$/, '');
  } else {
    value = process.env[source.env];
    if (value === undefined) {
      throw new ConfigError(
        'TRAMITE_ERR_KEY_PASSPHRASE',
        `${owner}: the environment variable ${source.env} is not set (it should hold the key's passphrase) — fix: set it in the node's environment (e.g. the systemd unit's EnvironmentFile)`,
      );
    }
  }
  if (value.length === 0) {
    throw new ConfigError(
      'TRAMITE_ERR_KEY_PASSPHRASE',
      `${owner}: the ${describePassphraseSource(source)} is empty — fix: put the key's passphrase there`,
    );
  }
  return value;
}
