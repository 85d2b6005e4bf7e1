import { TramiteError } from '../core/errors.js';

/** Our own codes for a part of the node that is down for now (the log's database, the queue's Redis). */
const OUTAGE_CODES: ReadonlySet<string> = new Set(['TRAMITE_ERR_LOG_UNAVAILABLE', 'TRAMITE_ERR_QUEUE_UNAVAILABLE']);

/**
 * Network errors and PostgreSQL's SQLSTATE classes that say "not now" rather than "not this message":
 * 08 connection exception, 53 insufficient resources, 57P01–57P03 shutdown or not yet accepting, 40001
 * and 40P01 (serialisation, deadlock: try again).
 */
const TRANSIENT_ENGINE = /^(08|53|57P0[1-3]$|40001$|40P01$)|^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN)$/;

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
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_ENGINE.test(code)) return true;
    if (e instanceof Error && /Connection terminated|connection timeout|Client has encountered a connection error/i.test(e.message))
      return true;
  }
  return false;
}
