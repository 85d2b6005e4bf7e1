/**
 * Bearer tokens as configuration stores them: `sha256:<64 hex>` of the token, never the token itself.
 * The one place a token is hashed and a presented token compared with the stored hashes (the node's
 * back-office, auditor and operator tokens, adapters' own HTTP APIs, `tramite init`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const STORED_HASH = /^(?:sha256:)?([0-9a-f]{64})$/i;

/** The form configuration holds a token in: `sha256:` and the lowercase hex SHA-256 of its UTF-8 bytes. */
export function hashToken(token: string): string {
  return `sha256:${tokenDigest(token).toString('hex')}`;
}

/**
 * Whether `token` is one of `hashes` (`sha256:<hex>`; the prefix may be left out, case does not
 * matter). Every stored hash is compared, in constant time, so the answer's timing says nothing about
 * which hash, or how much of one, matched. A stored value that is not a SHA-256 hash matches nothing.
 */
export function tokenMatches(token: string, hashes: readonly string[]): boolean {
  const digest = tokenDigest(token);
  let matched = false;
  for (const stored of hashes) {
    const hex = STORED_HASH.exec(stored)?.[1];
    if (hex !== undefined && timingSafeEqual(Buffer.from(hex, 'hex'), digest)) matched = true;
  }
  return matched;
}

function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
