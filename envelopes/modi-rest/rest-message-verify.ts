import { createHash } from 'node:crypto';
import { describeCertificate } from '../../src/core/certificate-description.js';
import { ModiRestError, type ModiRestPosition } from './modi-rest-error.js';
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
  /**
   * A response: the request's Digest, which the response's request_digest must repeat. Setting it means
   * the response must carry a verified integrity token: one without (an empty body, say) is refused.
   */
  readonly requestDigest?: string;
  /**
   * What an empty body carries (the guidelines are ambiguous; per API): 'refuse' (default, GovWay) — no
   * Digest and no Agid-JWT-Signature, and either is refused; 'optional' — either none or both, verified as
   * for any body (the Digest of zero bytes); 'require' — both, as for any body.
   */
  readonly emptyBody?: EmptyBodyRule;
  /**
   * 'require': the integrity token must carry a jti (then single-use) — where it is the message's only
   * single-use token, as with a PDND voucher in Authorization and ID_AUTH_REST_02 declared.
   */
  readonly integrityJti?: 'require';
}

export type EmptyBodyRule = 'refuse' | 'optional' | 'require';

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
  // Single-use jtis are taken only once the whole message verified: a tampered copy refused for its Digest
  // must not use up the jti of the genuine message that follows it.
  const pending: Array<{ position: ModiRestPosition; namespace: string; jti: string; until: Date }> = [];
  const deferReplay = (position: ModiRestPosition): RestVerifyPolicy =>
    policy.replay
      ? {
          ...policy,
          replay: {
            accept: (namespace, jti, until) => {
              pending.push({ position, namespace, jti, until });
              return true;
            },
          },
        }
      : policy;

  let idAuth: VerifiedRestToken | undefined;
  if (expect.idAuth) {
    const value = singleHeader(headers, MODI_REST_HEADER.authorization, 'Authorization');
    if (value === undefined) throw new ModiRestError('TRAMITE_ERR_MODI_REST_MALFORMED', 'Authorization', 'no Authorization header');
    const single = expect.idAuth === 'ID_AUTH_REST_02';
    idAuth = await verifyRestToken(bearerToken(value), 'Authorization', deferReplay('Authorization'), {
      requireJti: single,
      filterReplay: single,
      signerKind: 'x509',
    });
    patterns.push(expect.idAuth);
  }

  const integrityResult = expect.integrity
    ? await verifyIntegrity(headers, message.body, expect, deferReplay('Agid-JWT-Signature'), idAuth)
    : undefined;
  if (integrityResult?.token) patterns.push(expect.integrity!);
  // The binding to the request is the signed request_digest: a response without a verified one is not bound.
  if (expect.requestDigest !== undefined && !integrityResult?.token)
    throw new ModiRestError(
      'TRAMITE_ERR_MODI_REST_BINDING',
      'Agid-JWT-Signature',
      'the response carries no verified Agid-JWT-Signature, so nothing binds it to its request',
    );
  if (!expect.integrity && singleHeader(headers, MODI_REST_HEADER.digest, 'Digest') !== undefined) {
    // Not required, yet sent: still never accept a Digest that lies about the body.
    checkBodyDigest(singleHeader(headers, MODI_REST_HEADER.digest, 'Digest')!, message.body);
  }

  let audit: VerifiedRestToken | undefined;
  if (expect.audit) {
    audit = await verifyAudit(headers, expect.audit, policy);
    // One message, one sender: an X.509 audit token beside X.509 tokens is signed by the same certificate,
    // or another party's user claims would ride on this consumer's request.
    const sender = idAuth?.signer ?? integrityResult?.token?.signer;
    if (audit.signer && sender && !audit.signer.raw.equals(sender.raw))
      throw new ModiRestError(
        'TRAMITE_ERR_MODI_REST_BINDING',
        'Agid-JWT-TrackingEvidence',
        'Agid-JWT-TrackingEvidence is signed by another certificate than the message',
        { signer: describeCertificate(audit.signer) },
      );
    patterns.push(expect.audit.pattern);
  }
  for (const p of pending)
    if (!(await policy.replay!.accept(p.namespace, p.jti, p.until)))
      throw new ModiRestError('TRAMITE_ERR_MODI_REST_REPLAY', p.position, `jti ${p.jti} was already accepted`);
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
  idAuth: VerifiedRestToken | undefined,
): Promise<{ token?: VerifiedRestToken & { signedHeaders: SignedHeaderList }; digest?: string }> {
  const limits = policy.limits ?? DEFAULT_MODI_REST_LIMITS;
  const jws = singleHeader(headers, MODI_REST_HEADER.signature, 'Agid-JWT-Signature');
  const digest = singleHeader(headers, MODI_REST_HEADER.digest, 'Digest');
  if (body.length === 0) {
    const rule = expect.emptyBody ?? 'refuse';
    if (rule === 'refuse' && (digest !== undefined || jws !== undefined))
      throw new ModiRestError(
        'TRAMITE_ERR_MODI_REST_DIGEST',
        'Digest',
        'a Digest or Agid-JWT-Signature came with an empty body, which this API does not accept',
      );
    if (rule === 'refuse' || (rule === 'optional' && digest === undefined && jws === undefined)) return {};
  }
  if (jws === undefined)
    throw new ModiRestError('TRAMITE_ERR_MODI_REST_MALFORMED', 'Agid-JWT-Signature', `no Agid-JWT-Signature header (${expect.integrity})`);
  const pdnd = expect.integrity === 'INTEGRITY_REST_02';
  // The integrity jti, when present, is single-use (GovWay's duplicate filter key). When it is the
  // ID_AUTH_REST_02 token's jti from the same signer, it is the one message id both carry: filtered once.
  const token = await verifyRestToken(jws, 'Agid-JWT-Signature', policy, {
    filterReplay: true,
    ...(expect.integrityJti === 'require' ? { requireJti: true } : {}),
    signerKind: pdnd ? 'kid' : 'x509',
    ...(idAuth?.claims.jti !== undefined && expect.idAuth === 'ID_AUTH_REST_02'
      ? { messageJti: { namespace: idAuth.replayNamespace, jti: idAuth.claims.jti } }
      : {}),
  });
  // One message, one sender: with X.509 trust both tokens are signed by the same certificate.
  if (!pdnd && idAuth?.signer && token.signer && !token.signer.raw.equals(idAuth.signer.raw))
    throw new ModiRestError(
      'TRAMITE_ERR_MODI_REST_BINDING',
      'Agid-JWT-Signature',
      'Agid-JWT-Signature is signed by another certificate than the Authorization token',
      { signer: describeCertificate(token.signer) },
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
  // Reusable until it expires (GovWay caches it), so its jti is required but not filtered.
  const token = await verifyRestToken(jws, 'Agid-JWT-TrackingEvidence', policy, {
    requireJti: true,
    ...(expect.pattern === 'AUDIT_REST_02' ? { signerKind: 'kid' as const } : {}),
  });
  const refuse = (
    code: 'TRAMITE_ERR_MODI_REST_MALFORMED' | 'TRAMITE_ERR_MODI_REST_BINDING' | 'TRAMITE_ERR_MODI_REST_CERT_MISSING',
    message: string,
  ) => new ModiRestError(code, 'Agid-JWT-TrackingEvidence', message);
  if (expect.pattern === 'AUDIT_REST_02' && token.kid === undefined)
    throw refuse('TRAMITE_ERR_MODI_REST_CERT_MISSING', 'AUDIT_REST_02 needs a PDND kid');
  // Each documented claim says who or where: a non-empty string or a number, never null, true or {}.
  for (const claim of expect.requiredClaims ?? ['userID', 'userLocation', 'LoA']) {
    if (!isClaimValue(token.claims[claim]))
      throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', `claim ${claim} is missing or not a non-empty string or number`);
  }
  const purposeId = token.claims.purposeId;
  // With a voucher the audit token names its purpose (GovWay's audit.expectedPurposeId); AUDIT_REST_01 on direct X.509 trust has no voucher to name.
  const purposeRequired = expect.purposeId !== undefined || expect.pattern === 'AUDIT_REST_02';
  if ((purposeRequired || purposeId !== undefined) && (typeof purposeId !== 'string' || purposeId.length === 0))
    throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'claim purposeId is missing or not a non-empty string');
  if (expect.purposeId !== undefined && token.claims.purposeId !== expect.purposeId)
    throw refuse('TRAMITE_ERR_MODI_REST_BINDING', "the audit token's purposeId is not the voucher's");
  if (expect.pattern === 'AUDIT_REST_02') {
    if (!isAuditNonce(token.claims.dnonce)) throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'claim dnonce is not a 13-digit number');
    checkVoucherDigest(jws, expect.voucherDigest, refuse);
  }
  return token;
}

function isClaimValue(v: unknown): boolean {
  return (typeof v === 'string' && v.trim().length > 0) || (typeof v === 'number' && Number.isFinite(v));
}

/** GovWay's dnonce: 13 random digits as a JSON number (audit.dnonce.size=13). */
function isAuditNonce(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 1_000_000_000_000 && (v as number) < 10_000_000_000_000;
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
