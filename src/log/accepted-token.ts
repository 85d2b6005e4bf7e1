import { TramiteError } from '../core/errors.js';

/** The longest namespace, and the longest id, the log store holds: a bound on what a caller can make it keep. */
export const MAX_TOKEN_KEY_CHARS = 200;

/** One acceptToken call as the writer takes it: the key, and the instants as milliseconds (they cross to the writer thread). */
export interface TokenItem {
  readonly namespace: string;
  readonly id: string;
  readonly untilMs: number;
  readonly nowMs: number;
}

/**
 * The checked form of an acceptToken call. Refused, never truncated: two long ids cut to one prefix
 * would be one token. U+0000 is refused too, because PostgreSQL's text cannot hold it and both stores
 * must give one answer.
 */
export function tokenItem(namespace: string, id: string, until: Date, now: Date): TokenItem {
  for (const [what, value] of [
    ['namespace', namespace],
    ['id', id],
  ] as const) {
    if (value.length > MAX_TOKEN_KEY_CHARS)
      throw new TramiteError('TRAMITE_ERR_TOKEN_KEY', `token ${what} of ${value.length} characters, more than ${MAX_TOKEN_KEY_CHARS}`);
    if (value.includes('\u0000')) throw new TramiteError('TRAMITE_ERR_TOKEN_KEY', `token ${what} contains U+0000`);
  }
  const untilMs = until.getTime();
  const nowMs = now.getTime();
  if (!Number.isFinite(untilMs) || !Number.isFinite(nowMs))
    throw new TramiteError('TRAMITE_ERR_INTERNAL', 'acceptToken needs valid dates for until and now');
  return { namespace, id, untilMs, nowMs };
}

/** Expired rows a purge deletes in one transaction: a short hold of the write lock, however many have expired. */
export const TOKEN_PURGE_WINDOW = 1000;
