import { createHash } from 'node:crypto';
import { TramiteError } from '../../core/errors.js';
import type { BackOfficeHttp } from '../back-office-http/back-office-http.js';

/** What the node hands a party's back office for each inbound message (JSON, POSTed). */
export interface BackOfficeDelivery {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly service: string;
  readonly action?: string;
  readonly profile: string;
  readonly refId?: string;
  readonly conversationId?: string;
  readonly payload: string;
}

/**
 * The Idempotency-Key of a message's hand-overs (draft-ietf-httpapi-idempotency-key-header: a quoted
 * string): the lowercase hex SHA-256 of the JSON array `[from, id]`, the same on every hand-over of the
 * message. A hand-over is made again when its outcome was not recorded (the process died, or the log
 * stayed away, between the back office taking it and the node recording it), so a back office takes
 * each key once and answers a repeat as it answered the first.
 */
export function handOverKey(msg: { readonly from: string; readonly id: string }): string {
  return `"${createHash('sha256')
    .update(JSON.stringify([msg.from, msg.id]))
    .digest('hex')}"`;
}

/**
 * POSTs an inbound message to the back office's URL (through the node's back-office client when given).
 * For sincrono services the back office answers with the reply body: XML (any xml content type) or
 * JSON `{ "payload": "<xml/>" }`.
 */
export async function deliverToBackOffice(
  url: string,
  msg: BackOfficeDelivery,
  timeoutMs: number,
  maxAnswerBytes: number,
  http: BackOfficeHttp,
): Promise<string | undefined> {
  const post = {
    url,
    source: `back office at ${url}`,
    body: JSON.stringify(msg),
    headers: { 'content-type': 'application/json', 'x-tramite-message-id': msg.id, 'idempotency-key': handOverKey(msg) },
    timeoutMs,
    // The answer becomes the body of a reply envelope: no larger than an envelope may be.
    maxAnswerBytes,
  };
  const res = await http.post(post);
  if (res.status < 200 || res.status >= 300) {
    throw new TramiteError('TRAMITE_ERR_PEER_REFUSED', `back office at ${url} answered HTTP ${res.status}`);
  }
  if (!res.text.trim()) return undefined;
  if (res.contentType.includes('json')) {
    const parsed = JSON.parse(res.text) as { payload?: unknown };
    return typeof parsed.payload === 'string' ? parsed.payload : undefined;
  }
  return res.text;
}
