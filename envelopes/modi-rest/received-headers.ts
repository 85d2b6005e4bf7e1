import { ModiRestError, type ModiRestPosition } from './modi-rest-error.js';
import type { ModiRestLimits } from './modi-rest-patterns.js';

/**
 * Received headers as Node's `IncomingMessage.headersDistinct` gives them (name → every value), or as
 * single strings; names in any case. Multiplicity matters: a repeated Authorization, Digest or
 * Agid-JWT-Signature is refused, and a signed header must occur as often as it was signed.
 */
export type ReceivedHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Lower-cased name → values, after the header-count bound. */
export type HeaderValues = ReadonlyMap<string, readonly string[]>;

export function normaliseHeaders(headers: ReceivedHeaders, limits: ModiRestLimits): HeaderValues {
  const names = Object.keys(headers);
  if (names.length > limits.maxHeaders)
    throw new ModiRestError(
      'TRAMITE_ERR_MODI_REST_MALFORMED',
      'headers',
      `${names.length} headers, more than the ${limits.maxHeaders} accepted`,
    );
  const out = new Map<string, string[]>();
  for (const name of names) {
    const value = headers[name];
    if (value === undefined) continue;
    const list = out.get(name.toLowerCase()) ?? [];
    list.push(...(typeof value === 'string' ? [value] : value));
    out.set(name.toLowerCase(), list);
  }
  return out;
}

/** The one value of a header that may occur at most once; undefined when absent. */
export function singleHeader(headers: HeaderValues, name: string, position: ModiRestPosition): string | undefined {
  const values = headers.get(name);
  if (!values || values.length === 0) return undefined;
  if (values.length > 1)
    throw new ModiRestError('TRAMITE_ERR_MODI_REST_MALFORMED', position, `header ${position} occurs ${values.length} times`);
  return values[0];
}

/** The JWS of `Authorization: Bearer <jws>`: the scheme must be Bearer (case-insensitive), once. */
export function bearerToken(value: string): string {
  const m = /^Bearer +(\S+)\s*$/i.exec(value);
  if (!m) throw new ModiRestError('TRAMITE_ERR_MODI_REST_MALFORMED', 'Authorization', 'Authorization is not "Bearer <token>"');
  return m[1]!;
}
