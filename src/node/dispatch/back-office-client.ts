import { request } from 'undici';
import { readBoundedBody, ResponseTooLargeError } from '../../core/bounded-body.js';
import { TramiteError } from '../../core/errors.js';

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
 * POSTs an inbound message to the back office's URL. For sincrono services the back office answers
 * with the reply body: XML (any xml content type) or JSON `{ "payload": "<xml/>" }`.
 */
export async function deliverToBackOffice(url: string, msg: BackOfficeDelivery, timeoutMs: number, maxAnswerBytes: number): Promise<string | undefined> {
  let res;
  try {
    res = await request(url, {
      method: 'POST',
      body: JSON.stringify(msg),
      headers: { 'content-type': 'application/json', 'x-tramite-message-id': msg.id },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  } catch (cause) {
    throw new TramiteError('TRAMITE_ERR_PEER_UNREACHABLE', `back office at ${url} could not be reached: ${(cause as Error).message}`, { cause });
  }
  let text: string;
  try {
    // The answer becomes the body of a reply envelope: no larger than an envelope may be.
    text = (await readBoundedBody(res.body, { maxBytes: maxAnswerBytes, source: `back office at ${url}`, declaredLength: res.headers['content-length'] })).toString('utf8');
  } catch (cause) {
    if (cause instanceof ResponseTooLargeError) throw cause;
    throw new TramiteError('TRAMITE_ERR_PEER_UNREACHABLE', `back office at ${url} broke off its answer: ${(cause as Error).message}`, { cause });
  }
  if (res.statusCode < 200 || res.statusCode >= 300) {
    throw new TramiteError('TRAMITE_ERR_PEER_REFUSED', `back office at ${url} answered HTTP ${res.statusCode}`);
  }
  if (!text.trim()) return undefined;
  const type = String(res.headers['content-type'] ?? '');
  if (type.includes('json')) {
    const parsed = JSON.parse(text) as { payload?: unknown };
    return typeof parsed.payload === 'string' ? parsed.payload : undefined;
  }
  return text;
}
