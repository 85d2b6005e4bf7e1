/**
 * The provider's check of a PDND voucher (reference §5.5), before the ModI headers: `Authorization:
 * Bearer` once; alg RS256 only; typ at+jwt; the kid's key from PDND's JWKS (jwks-cache.ts); the
 * signature; iss = the PDND environment; exp / nbf / iat with skew; aud = this e-service's audience;
 * client_id = sub; purposeId in the e-service's allowed set; producerId / eserviceId / descriptorId
 * equal to ours when configured (a tenant could publish an e-service with the same audience).
 *
 * Refusals are ModiRestErrors in position Authorization, so the wire package's refusalProblem answers
 * them like every other ModI refusal. With a voucher in Authorization the wire verification runs with
 * `expect.idAuth` undefined, and `voucherAuditExpectation` gives its audit step the voucher's purposeId
 * and digest (AUDIT_REST_02).
 */
import type { KeyObject } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, errors as joseErrors, type ProtectedHeaderParameters } from 'jose';
import { ModiRestError } from '../../envelopes/modi-rest/modi-rest-error.js';
import { DEFAULT_MODI_REST_LIMITS, MODI_REST_HEADER } from '../../envelopes/modi-rest/modi-rest-patterns.js';
import { bearerToken, normaliseHeaders, singleHeader, type ReceivedHeaders } from '../../envelopes/modi-rest/received-headers.js';
import type { AuditExpectation } from '../../envelopes/modi-rest/rest-message-verify.js';
import type { TramiteCode } from '../core/error-codes.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { VoucherKeySource } from './jwks-cache.js';

export interface VoucherPolicy {
  readonly keys: VoucherKeySource;
  /** PDND environment domain: interop.pagopa.it, uat.interop.pagopa.it, … */
  readonly issuer: string;
  /** This e-service version's audience, as its descriptor declares it. */
  readonly audience: string;
  /** The purposes allowed to call it. */
  readonly purposes: readonly string[];
  /** Our own registered ids, checked when given. */
  readonly producerId?: string;
  readonly eserviceId?: string;
  readonly descriptorId?: string;
  readonly skewSeconds?: number;
  readonly clock?: Clock;
}

export interface PdndVoucher {
  readonly token: string;
  readonly kid: string;
  readonly clientId: string;
  readonly purposeId: string;
  readonly jti: string;
  readonly consumerId: string | undefined;
  /** AUDIT_REST_02: the audit token's digest PDND copied from the client assertion. */
  readonly digest: { readonly alg: string; readonly value: string } | undefined;
  readonly expiresAt: Date;
  readonly claims: Readonly<Record<string, unknown>>;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const refuse = (code: TramiteCode, message: string, cause?: unknown) =>
  new ModiRestError(code, 'Authorization', `PDND voucher: ${message}`, cause ? { cause } : undefined);

/** The voucher in a request's headers (Authorization once, Bearer), verified. */
export async function verifyVoucherHeader(headers: ReceivedHeaders, policy: VoucherPolicy): Promise<PdndVoucher> {
  const value = singleHeader(normaliseHeaders(headers, DEFAULT_MODI_REST_LIMITS), MODI_REST_HEADER.authorization, 'Authorization');
  if (value === undefined) throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'no Authorization header');
  return verifyVoucher(bearerToken(value), policy);
}

export async function verifyVoucher(token: string, policy: VoucherPolicy): Promise<PdndVoucher> {
  if (token.length > DEFAULT_MODI_REST_LIMITS.maxTokenChars)
    throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', `${token.length} characters, more than ${DEFAULT_MODI_REST_LIMITS.maxTokenChars}`);
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch (cause) {
    throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'not a compact JWS with a JSON header', cause);
  }
  // PDND signs vouchers RS256 only: anything else (none, HS256 with the public key as secret, ES*) is refused before any key is used.
  if (header.alg !== 'RS256') throw refuse('TRAMITE_ERR_MODI_REST_ALG', `alg ${JSON.stringify(header.alg)} is not RS256`);
  if (!COMPACT_JWS.test(token)) throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'not three non-empty base64url parts');
  if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'at+jwt')
    throw refuse('TRAMITE_ERR_PDND_VOUCHER_ISSUER', `typ ${JSON.stringify(header.typ)} is not at+jwt`);
  if (typeof header.kid !== 'string' || header.kid === '') throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'no kid in the header');
  const key: KeyObject | undefined = await policy.keys.keyFor(header.kid);
  if (!key) throw refuse('TRAMITE_ERR_MODI_REST_KID_UNKNOWN', `kid ${header.kid} is not in the PDND JWKS`);
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(token, key, { algorithms: ['RS256'] }));
  } catch (cause) {
    if (cause instanceof joseErrors.JOSEAlgNotAllowed) throw refuse('TRAMITE_ERR_MODI_REST_ALG', cause.message, cause);
    throw refuse('TRAMITE_ERR_MODI_REST_SIGNATURE', 'the signature does not verify with the PDND key', cause);
  }
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload)) as Record<string, unknown>;
  } catch (cause) {
    throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'the payload is not JSON', cause);
  }
  if (!claims || typeof claims !== 'object' || Array.isArray(claims))
    throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'the payload is not an object');

  const str = (name: string): string => {
    const v = claims[name];
    if (typeof v !== 'string' || v === '') throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', `claim ${name} is missing or not a string`);
    return v;
  };
  const num = (name: string, required: boolean): number | undefined => {
    const v = claims[name];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', `claim ${name} is not a NumericDate`);
    return v;
  };
  if (str('iss') !== policy.issuer)
    throw refuse('TRAMITE_ERR_PDND_VOUCHER_ISSUER', `iss ${JSON.stringify(claims.iss)} is not ${JSON.stringify(policy.issuer)}`);
  const exp = num('exp', true)!;
  const iat = num('iat', true)!;
  const nbf = num('nbf', false);
  const now = (policy.clock ?? systemClock).now().getTime() / 1000;
  const skew = policy.skewSeconds ?? 60;
  const iso = (s: number) => new Date(s * 1000).toISOString();
  if (exp <= now - skew) throw refuse('TRAMITE_ERR_MODI_REST_EXPIRED', `expired at ${iso(exp)}`);
  if (nbf !== undefined && nbf > now + skew) throw refuse('TRAMITE_ERR_MODI_REST_NOT_YET_VALID', `not valid before ${iso(nbf)}`);
  if (iat > now + skew) throw refuse('TRAMITE_ERR_MODI_REST_NOT_YET_VALID', `issued in the future (${iso(iat)})`);
  const aud = claims.aud;
  const audOk = typeof aud === 'string' ? aud === policy.audience : Array.isArray(aud) && aud.includes(policy.audience);
  if (!audOk) throw refuse('TRAMITE_ERR_MODI_REST_AUDIENCE', `aud ${JSON.stringify(aud)} is not ${JSON.stringify(policy.audience)}`);
  const clientId = str('client_id');
  if (claims.sub !== undefined && claims.sub !== clientId) throw refuse('TRAMITE_ERR_PDND_VOUCHER_PURPOSE', 'sub is not client_id');
  const purposeId = str('purposeId');
  if (!policy.purposes.includes(purposeId))
    throw refuse('TRAMITE_ERR_PDND_VOUCHER_PURPOSE', `purpose ${purposeId} may not call this e-service`);
  for (const name of ['producerId', 'eserviceId', 'descriptorId'] as const) {
    const expected = policy[name];
    if (expected !== undefined && claims[name] !== expected)
      throw refuse('TRAMITE_ERR_PDND_VOUCHER_PURPOSE', `${name} ${JSON.stringify(claims[name])} is not this e-service's`);
  }
  const jti = str('jti');
  const d = claims.digest as { alg?: unknown; value?: unknown } | undefined;
  const digest =
    d && typeof d === 'object' && typeof d.alg === 'string' && typeof d.value === 'string' ? { alg: d.alg, value: d.value } : undefined;
  return {
    token,
    kid: header.kid,
    clientId,
    purposeId,
    jti,
    consumerId: typeof claims.consumerId === 'string' ? claims.consumerId : undefined,
    digest,
    expiresAt: new Date(exp * 1000),
    claims,
  };
}

/** What the wire package's audit step needs from the voucher: its purposeId and, for AUDIT_REST_02, its digest. */
export function voucherAuditExpectation(voucher: PdndVoucher, pattern: AuditExpectation['pattern']): AuditExpectation {
  return { pattern, purposeId: voucher.purposeId, ...(pattern === 'AUDIT_REST_02' ? { voucherDigest: voucher.digest } : {}) };
}
