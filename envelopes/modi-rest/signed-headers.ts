import { ModiRestError } from './modi-rest-error.js';
import type { HeaderValues } from './received-headers.js';
import type { ModiRestLimits } from './modi-rest-patterns.js';

/** `signed_headers` read: lower-cased name → the values signed, in order. */
export type SignedHeaderList = ReadonlyArray<readonly [name: string, value: string]>;

/** Parses the claim: a JSON array of single-member objects whose member is a string (an object is refused). */
export function readSignedHeaders(claim: unknown, limits: ModiRestLimits): SignedHeaderList {
  if (!Array.isArray(claim))
    throw new ModiRestError('TRAMITE_ERR_MODI_REST_MALFORMED', 'Agid-JWT-Signature', 'claim signed_headers is not an array');
  if (claim.length > limits.maxSignedHeaders)
    throw new ModiRestError(
      'TRAMITE_ERR_MODI_REST_MALFORMED',
      'Agid-JWT-Signature',
      `signed_headers lists more than ${limits.maxSignedHeaders} headers`,
    );
  return claim.map((entry: unknown) => {
    const members = entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? Object.entries(entry) : [];
    const [member] = members;
    if (members.length !== 1 || typeof member![1] !== 'string')
      throw new ModiRestError(
        'TRAMITE_ERR_MODI_REST_MALFORMED',
        'Agid-JWT-Signature',
        'each entry of signed_headers must be an object with one string member',
      );
    return [member![0].toLowerCase(), member![1]] as const;
  });
}

/**
 * Every signed header must have been received with the same values, as often as signed
 * (content-type compared as a parsed media type, the others literally); content-type and
 * content-encoding, when received, must be signed.
 */
export function checkSignedHeaders(signed: SignedHeaderList, received: HeaderValues): void {
  const byName = new Map<string, string[]>();
  for (const [name, value] of signed) byName.set(name, [...(byName.get(name) ?? []), value]);
  for (const [name, values] of byName) {
    const got = received.get(name) ?? [];
    const same = name === 'content-type' ? sameMediaType : (a: string, b: string) => a === b;
    if (got.length !== values.length || values.some((v, i) => !same(v, got[i]!))) {
      throw new ModiRestError(
        'TRAMITE_ERR_MODI_REST_SIGNED_HEADER',
        'Agid-JWT-Signature',
        got.length === 0 ? `signed header ${name} was not received` : `header ${name} differs from the value signed in signed_headers`,
      );
    }
  }
  for (const must of ['content-type', 'content-encoding']) {
    if (received.has(must) && !byName.has(must))
      throw new ModiRestError(
        'TRAMITE_ERR_MODI_REST_SIGNED_HEADER',
        'Agid-JWT-Signature',
        `header ${must} was received but is not in signed_headers`,
      );
  }
}

/** type/subtype case-insensitively, parameters by lower-cased name with unquoted values (charset value case-insensitively). */
function sameMediaType(a: string, b: string): boolean {
  return mediaTypeKey(a) === mediaTypeKey(b);
}

function mediaTypeKey(value: string): string {
  const [type = '', ...params] = value.split(';');
  const parsed = params
    .map((p) => {
      const eq = p.indexOf('=');
      const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
      let v = eq < 0 ? '' : p.slice(eq + 1).trim();
      if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
      return `${name}=${name === 'charset' ? v.toLowerCase() : v}`;
    })
    .sort();
  return [type.trim().toLowerCase(), ...parsed].join(';');
}
