/**
 * Every RFC 3161 failure, whatever its origin (HTTP, ASN.1, CMS, certificates), is one TramiteError with
 * code TRAMITE_ERR_TSA and a message that says what was wrong.
 */
import { SecurityError, TramiteError } from '../../core/errors.js';

export function tsaError(message: string, cause?: unknown): TramiteError {
  return new TramiteError('TRAMITE_ERR_TSA', message, cause === undefined ? undefined : { cause });
}

/** Runs `fn`; anything it throws that is not already a TramiteError TRAMITE_ERR_TSA becomes one, prefixed by `context`. */
export async function asTsaError<T>(fn: () => Promise<T>, context: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TramiteError && err.code === 'TRAMITE_ERR_TSA') throw err;
    // A revoked TSA certificate (or no status under a hard policy) keeps its own code.
    if (err instanceof SecurityError) throw err;
    throw tsaError(`${context}: ${errorText(err)}`, err);
  }
}

export function errorText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
