import { readFileSync } from 'node:fs';
import { ConfigError } from '../core/errors.js';
import { TrustStore } from '../crypto/trust-store.js';
import { reportError } from './cli-output.js';

/**
 * What the offline verification commands read before anything else: the file, the CAs given with
 * --trust (none: no trust store), and the --at instant. Throws on an unreadable file or a bad date,
 * which the commands report as usage errors (exit 2).
 */
export function readOfflineInputs(
  file: string,
  opts: { trust: readonly string[]; at?: string },
): { bytes: Buffer; trust?: TrustStore; at?: Date } {
  const bytes = readFileSync(file);
  const trust = opts.trust.length > 0 ? TrustStore.fromPem(opts.trust.map((f) => readFileSync(f, 'utf8'))) : undefined;
  const at = opts.at ? new Date(opts.at) : undefined;
  if (at && Number.isNaN(at.getTime()))
    throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `--at "${opts.at}" is not an ISO 8601 date-time`, { field: '--at' });
  return { bytes, ...(trust ? { trust } : {}), ...(at ? { at } : {}) };
}

/** readOfflineInputs, with a failure reported as a usage error (exit 2): undefined then. */
export function offlineInputsOrUsageError(
  file: string,
  opts: { trust: readonly string[]; at?: string },
): ReturnType<typeof readOfflineInputs> | undefined {
  try {
    return readOfflineInputs(file, opts);
  } catch (err) {
    reportError(err, 2);
    return undefined;
  }
}
