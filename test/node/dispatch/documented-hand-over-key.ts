/**
 * A hand-over's Idempotency-Key as README documents it for back offices — a quoted string (an sf-string of
 * draft-ietf-httpapi-idempotency-key-header) holding the lowercase hex SHA-256 of the JSON array
 * `[from, id]` — computed here from that text, not by the node's own function, so a test checks the node
 * against what a back office is told to expect.
 */
import { createHash } from 'node:crypto';

export function documentedHandOverKey(msg: { readonly from: string; readonly id: string }): string {
  return `"${createHash('sha256')
    .update(JSON.stringify([msg.from, msg.id]), 'utf8')
    .digest('hex')}"`;
}
