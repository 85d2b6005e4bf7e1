import { ApiError } from '../../core/errors.js';
import type { AuditData } from '../../../envelopes/modi-rest/rest-message-headers.js';
import type { AuditRestPattern } from '../../../envelopes/modi-rest/modi-rest-patterns.js';

const MAX_AUDIT_HEADER_CHARS = 4096;

/**
 * The AUDIT_REST claims a back office declares about the user behind a call, read from its
 * `Tramite-Audit` header: a JSON object of strings and numbers holding at least the API's claims.
 */
export function auditDataFrom(
  header: string | string[] | undefined,
  pattern: AuditRestPattern,
  requiredClaims: readonly string[],
  purposeId: string | undefined,
): AuditData {
  const fail = (why: string): never => {
    throw new ApiError(
      'TRAMITE_ERR_REST_AUDIT_DATA',
      400,
      `${pattern}: ${why} — send Tramite-Audit: {"${requiredClaims.join('": …, "')}": …}`,
    );
  };
  if (header === undefined) return fail('the Tramite-Audit header is missing');
  if (Array.isArray(header)) return fail('Tramite-Audit is sent more than once');
  if (header.length > MAX_AUDIT_HEADER_CHARS) return fail(`Tramite-Audit is longer than ${MAX_AUDIT_HEADER_CHARS} characters`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(header);
  } catch {
    return fail('Tramite-Audit is not JSON');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return fail('Tramite-Audit is not a JSON object');
  const claims: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name)) return fail(`claim name ${JSON.stringify(name.slice(0, 64))} is not a plain name`);
    if (['iss', 'sub', 'aud', 'iat', 'nbf', 'exp', 'jti', 'purposeId', 'dnonce'].includes(name))
      return fail(`${name} is set by the node, not the back office`);
    if (!((typeof value === 'string' && value.length > 0) || (typeof value === 'number' && Number.isFinite(value))))
      return fail(`claim ${name} is not a non-empty string or a number`);
    claims[name] = value;
  }
  const missing = requiredClaims.filter((c) => !(c in claims));
  if (missing.length > 0) fail(`claim${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing`);
  return { pattern, claims, ...(purposeId !== undefined ? { purposeId } : {}) };
}
