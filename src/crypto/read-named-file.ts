import { readFileSync } from 'node:fs';
import { ConfigError } from '../core/errors.js';

/**
 * A file the configuration or an operator names (a key, a certificate, a keystore, a passphrase), read
 * whole. One that cannot be read is refused with TRAMITE_ERR_CONFIG_UNREADABLE, naming what it is for,
 * the file and the system's reason: `<what>: cannot read [<kind> ]<file> (ENOENT)`.
 */
export function readNamedFile(file: string, what: string, opts: { readonly kind?: string; readonly field?: string } = {}): Buffer {
  try {
    return readFileSync(file);
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError('TRAMITE_ERR_CONFIG_UNREADABLE', `${what}: cannot read ${opts.kind ? `${opts.kind} ` : ''}${file} (${errno})`, {
      cause,
      ...(opts.field !== undefined ? { field: opts.field } : {}),
    });
  }
}
