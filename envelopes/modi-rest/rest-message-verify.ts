import { createHash } from 'node:crypto';
import { ModiRestError } from './modi-rest-error.js';
import { checkBodyDigest } from './body-digest.js';
import {
  DEFAULT_MODI_REST_LIMITS,
  MODI_REST_HEADER,
  type AuditRestPattern,
  type IdAuthRestPattern,
  type IntegrityRestPattern,
  type ModiRestPattern,
} from './modi-rest-patterns.js';
import { bearerToken, normaliseHeaders, singleHeader, type HeaderValues, type ReceivedHeaders } from './received-headers.js';
import { checkSignedHeaders, readSignedHeaders, type SignedHeaderList } from './signed-headers.js';
import { verifyRestToken, type RestVerifyPolicy, type VerifiedRestToken } from './rest-token-verify.js';
import type { AuditDigestClaim } from './rest-token-claims.js';

/** What the service (or the request a response answers) requires of a message. */
export interface RestExpectation {
  /** Our own ID_AUTH token in Authorization; omit when Authorization carries a PDND voucher (verified by the voucher step). */
  readonly idAuth?: IdAuthRestPattern;
  readonly integrity?: IntegrityRestPattern;
  readonly audit?: AuditExpectation;
  /** A response: the request's Digest, which the response's request_digest must repeat. */
  readonly requestDigest?: string;
  /** A Digest and signature on an empty body: refused by default (GovWay), allowed per API. */
  readonly emptyBodyDigest?: 'refuse' | 'allow';
}

export interface AuditExpectation {
  readonly pattern: AuditRestPattern;
  /** Claims the e-service requires (default userID, userLocation, LoA). */
  readonly requiredClaims?: readonly string[];
  /** The voucher's purposeId: the audit token's must equal it. */
  readonly purposeId?: string;
  /** AUDIT_REST_02: the voucher's `digest` claim, which must be the hex SHA-256 of this audit token. */
  readonly voucherDigest?: unknown;
}

/** A message whose ModI headers all verified: the patterns it satisfies, each token, and the Digest. */
export interface VerifiedModiRest {
  readonly patterns: readonly ModiRestPattern[];
  readonly idAuth?: VerifiedRestToken;
  readonly integrity?: VerifiedRestToken & { readonly signedHeaders: SignedHeaderList };
  readonly audit?: VerifiedRestToken;
  /** The Digest header received (and checked), if any: a response's request_digest binds to it. */
  readonly digest?: string;
}

export interface ReceivedRestMessage {
  readonly headers: ReceivedHeaders;
  /** The exact body bytes received (before any parsing). */
  readonly body: Uint8Array;
}

/**
 * Verifies a request (provider side) or a response (consumer side) against what is expected, in the
 * reference's order: Authorization, then Agid-JWT-Signature with its signed headers and Digest, then
 * Agid-JWT-TrackingEvidence; first failure refuses with its ModiRestError.
 */
export async function verifyModiRestMessage(
  message: ReceivedRestMessage,
  expect: RestExpectation,
  policy: RestVerifyPolicy,
): Promise<VerifiedModiRest> {
  const limits = policy.limits ?? DEFAULT_MODI_REST_LIMITS;
  const headers = normaliseHeaders(message.headers, limits);
  const patterns: ModiRestPattern[] = [];

  let idAuth: VerifiedRestToken | undefined;
  if (expect.idAuth) {
    const value = singleHeader(headers, MODI_REST_HEADER.authorization, 'Authorization');
    if (value === undefined) throw new ModiRestError('TRAMITE_ERR_MODI_REST_MALFORMED', 'Authorization', 'no Authorization header');
    const single = expect.idAuth === 'ID_AUTH_REST_02';
    idAuth = await verifyRestToken(bearerToken(value), 'Authorization', policy, { requireJti: single, filterReplay: single });
    patterns.push(expect.idAuth);
  }

  const integrityResult = expect.integrity ? await verifyIntegrity(headers, message.body, expect, policy) : undefined;
  if (integrityResult?.token) patterns.push(expect.integrity!);
  if (!expect.integrity && singleHeader(headers, MODI_REST_HEADER.digest, 'Digest') !== undefined) {
    // Not required, yet sent: still never accept a Digest that lies about the body.
    checkBodyDigest(singleHeader(headers, MODI_REST_HEADER.digest, 'Digest')!, message.body);
  }

  let audit: VerifiedRestToken | undefined;
  if (expect.audit) {
    audit = await verifyAudit(headers, expect.audit, policy);
    patterns.push(expect.audit.pattern);
  }
  return {
    patterns,
    ...(idAuth ? { idAuth } : {}),
    ...(integrityResult?.token ? { integrity: integrityResult.token } : {}),
    ...(audit ? { audit } : {}),
    ...(integrityResult?.digest !== undefined ? { digest: integrityResult.digest } : {}),
  };
}

async function verifyIntegrity(
  headers: HeaderValues,
  body: Uint8Array,
  expect: RestExpectation,
  policy: RestVerifyPolicy,
): Promise<{ token?: VerifiedRestToken & { signedHeaders: SignedHeaderList }; digest?: string }> {
  const limits = policy.limits ?? DEFAULT_MODI_REST_LIMITS;
  const jws = singleHeader(headers, MODI_REST_HEADER.signature, 'Agid-JWT-Signature');
  const digest = singleHeader(headers, MODI_REST_HEADER.digest, 'Digest');
  if (body.length === 0 && (expect.emptyBodyDigest ?? 'refuse') === 'refuse') {
    if (digest !== undefined || jws !== undefined)
      throw new ModiRestError(
        'TRAMITE_ERR_MODI_REST_DIGEST',
        'Digest',
        'a Digest or Agid-JWT-Signature came with an empty body, which this API does not accept',
      );
    return {};
  }
  if (jws === undefined)
    throw new ModiRestError('TRAMITE_ERR_MODI_REST_MALFORMED', 'Agid-JWT-Signature', `no Agid-JWT-Signature header (${expect.integrity})`);
  // The integrity jti, when present, is single-use (GovWay's duplicate filter key).
  const token = await verifyRestToken(jws, 'Agid-JWT-Signature', policy, { filterReplay: true });
  const byKid = token.kid !== undefined;
  if (byKid !== (expect.integrity === 'INTEGRITY_REST_02'))
    throw new ModiRestError(
      'TRAMITE_ERR_MODI_REST_CERT_MISSING',
      'Agid-JWT-Signature',
      expect.integrity === 'INTEGRITY_REST_02'
        ? 'INTEGRITY_REST_02 needs a PDND kid'
        : 'INTEGRITY_REST_01 needs an X.509 certificate (x5c)',
    );
  const signedHeaders = readSignedHeaders(token.claims.signed_headers, limits);
  if (digest === undefined) throw new ModiRestError('TRAMITE_ERR_MODI_REST_DIGEST', 'Digest', 'the body came without a Digest header');
  if (!signedHeaders.some(([name]) => name === 'digest'))
    throw new ModiRestError('TRAMITE_ERR_MODI_REST_SIGNED_HEADER', 'Agid-JWT-Signature', 'digest is not in signed_headers');
  checkSignedHeaders(signedHeaders, headers);
  checkBodyDigest(digest, body);
  if (expect.requestDigest !== undefined && token.claims.request_digest !== expect.requestDigest)
    throw new ModiRestError(
      'TRAMITE_ERR_MODI_REST_BINDING',
      'Agid-JWT-Signature',
      "the response's request_digest is not the Digest of the request it answers",
    );
  return { token: { ...token, signedHeaders }, digest };
}

async function verifyAudit(headers: HeaderValues, expect: AuditExpectation, policy: RestVerifyPolicy): Promise<VerifiedRestToken> {
  const jws = singleHeader(headers, MODI_REST_HEADER.trackingEvidence, 'Agid-JWT-TrackingEvidence');
  if (jws === undefined)
    throw new ModiRestError(
      'TRAMITE_ERR_MODI_REST_MALFORMED',
      'Agid-JWT-TrackingEvidence',
      `no Agid-JWT-TrackingEvidence header (${expect.pattern})`,
    );
  const token = await verifyRestToken(jws, 'Agid-JWT-TrackingEvidence', policy);
  const refuse = (
    code: 'TRAMITE_ERR_MODI_REST_MALFORMED' | 'TRAMITE_ERR_MODI_REST_BINDING' | 'TRAMITE_ERR_MODI_REST_CERT_MISSING',
    message: string,
  ) => new ModiRestError(code, 'Agid-JWT-TrackingEvidence', message);
  if (expect.pattern === 'AUDIT_REST_02' && token.kid === undefined)
    throw refuse('TRAMITE_ERR_MODI_REST_CERT_MISSING', 'AUDIT_REST_02 needs a PDND kid');
  for (const claim of expect.requiredClaims ?? ['userID', 'userLocation', 'LoA']) {
    if (token.claims[claim] === undefined || token.claims[claim] === '')
      throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', `claim ${claim} is missing`);
  }
  if (expect.purposeId !== undefined && token.claims.purposeId !== expect.purposeId)
    throw refuse('TRAMITE_ERR_MODI_REST_BINDING', "the audit token's purposeId is not the voucher's");
  if (expect.pattern === 'AUDIT_REST_02') {
    if (!Number.isInteger(token.claims.dnonce)) throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'claim dnonce is missing or not a number');
    checkVoucherDigest(jws, expect.voucherDigest, refuse);
  }
  return token;
}

/** AUDIT_REST_02: the voucher's digest {alg: SHA256, value: hex} must be the SHA-256 of the audit token as received. */
function checkVoucherDigest(
  auditJws: string,
  voucherDigest: unknown,
  refuse: (code: 'TRAMITE_ERR_MODI_REST_BINDING', m: string) => ModiRestError,
): void {
  const d = voucherDigest as Partial<AuditDigestClaim> | undefined;
  if (!d || typeof d !== 'object' || typeof d.alg !== 'string' || typeof d.value !== 'string')
    throw refuse('TRAMITE_ERR_MODI_REST_BINDING', 'the voucher carries no digest {alg, value} for the audit token');
  if (d.alg.toUpperCase() !== 'SHA256') throw refuse('TRAMITE_ERR_MODI_REST_BINDING', `the voucher's digest.alg ${d.alg} is not SHA256`);
  const actual = createHash('sha256').update(auditJws, 'ascii').digest('hex');
  if (d.value.toLowerCase() !== actual)
    throw refuse('TRAMITE_ERR_MODI_REST_BINDING', "the voucher's digest.value is not the audit token's");
}
