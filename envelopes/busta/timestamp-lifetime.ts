/** Lifetime of the WS-Security Timestamp the node writes on every envelope it seals. */
export const TIMESTAMP_TTL_SECONDS = 300;
