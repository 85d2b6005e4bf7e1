import { isEngineOutage } from '../core/engine-outage.js';
import { TramiteError } from '../core/errors.js';

/** Our own codes for a part of the node that is down for now (the log's database, the queue's Redis). */
const OUTAGE_CODES: ReadonlySet<string> = new Set(['TRAMITE_ERR_LOG_UNAVAILABLE', 'TRAMITE_ERR_QUEUE_UNAVAILABLE']);

/**
 * Whether an error is the node's own temporary outage (its log's database restarting, Redis gone) and
 * not a fault of the message: an envelope met by it is not marked FAILED (its sender is told to try
 * again, 503), and a hand-over the back office took is recorded once the log answers again.
 */
export function isTemporaryOutage(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    // Our own error says what failed: a back office or a peer refusing a connection (its cause ECONNREFUSED)
    // is a fault of that hand-over, not the node's outage.
    if (e instanceof TramiteError) return OUTAGE_CODES.has(e.code);
    if (isEngineOutage((e as { code?: unknown }).code, e instanceof Error ? e.message : '')) return true;
  }
  return false;
}
