/**
 * Whether a database or network error says "not now" rather than "not this request", from its code and
 * message: network errors, and PostgreSQL's SQLSTATE classes 08 (connection exception), 53 (insufficient
 * resources), 57P01–57P03 (shutdown, or not yet accepting), 40001 and 40P01 (serialisation, deadlock: run
 * it again); and node-postgres's words for a connection that went. One reading for the node's log
 * (src/node/temporary-outage.ts) and the adapters' stores (adapters/sdk/store/adapter-store.ts).
 */
export function isEngineOutage(code: unknown, message: string): boolean {
  if (
    typeof code === 'string' &&
    /^(08|53|57P0[1-3]$|40001$|40P01$)|^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN)$/.test(code)
  )
    return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message);
}
