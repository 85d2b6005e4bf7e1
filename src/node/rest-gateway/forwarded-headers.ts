import type { IncomingHttpHeaders } from 'node:http';

/**
 * Which headers cross the gateway. Only end-to-end headers about the representation pass (RFC 9110's
 * content negotiation and the body's own headers), never hop-by-hop ones, never the caller's token and
 * never ModI headers from the other side (the node writes its own): a back office cannot smuggle an
 * Agid-JWT-Signature through the consumer's node, and a provider's internals stay internal.
 */
const REQUEST_HEADERS = new Set([
  'accept',
  'accept-language',
  'accept-encoding',
  'content-type',
  'content-encoding',
  'content-language',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'prefer',
]);

const RESPONSE_HEADERS = new Set([
  'content-type',
  'content-encoding',
  'content-language',
  'cache-control',
  'etag',
  'last-modified',
  'location',
  'retry-after',
  'vary',
  'preference-applied',
]);

/** Response headers the node adds or checks itself, which a back office may not set for the consumer to see. */
const MODI_HEADERS = new Set(['authorization', 'digest', 'agid-jwt-signature', 'agid-jwt-trackingevidence']);

export type HeaderList = Array<[name: string, value: string]>;

/** Headers of a request to pass on, lower-case, repeated ones repeated. */
export function requestHeadersToForward(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): HeaderList {
  return pick(headers, REQUEST_HEADERS);
}

/** Headers of a response to pass back, lower-case. */
export function responseHeadersToReturn(headers: Record<string, string | string[] | undefined>): HeaderList {
  return pick(headers, RESPONSE_HEADERS);
}

/** The ModI headers of a received message, for the log (the tokens are the evidence). */
export function modiHeaders(headers: Record<string, string | string[] | undefined>): HeaderList {
  return pick(headers, MODI_HEADERS);
}

function pick(headers: Record<string, string | string[] | undefined>, names: ReadonlySet<string>): HeaderList {
  const out: HeaderList = [];
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!names.has(lower) || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push([lower, v]);
  }
  return out;
}
