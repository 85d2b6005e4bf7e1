import { TramiteError } from '../../src/core/errors.js';
import { bodyDigest } from './body-digest.js';
import { joseHeaderFor, signCompactJws, type RestSigningKey } from './jws-signing.js';
import {
  MODI_REST_HEADER_SPELLING,
  type AuditRestPattern,
  type DigestAlgorithm,
  type IdAuthRestPattern,
  type IntegrityRestPattern,
} from './modi-rest-patterns.js';
import {
  auditNonce,
  auditTokenDigest,
  standardClaims,
  type AuditDigestClaim,
  type TokenParties,
  type TokenTiming,
} from './rest-token-claims.js';

/** The audit data (AUDIT_REST_01/02) the consumer declares about the user behind a request. */
export interface AuditData {
  readonly pattern: AuditRestPattern;
  /** userID, userLocation, LoA and whatever else the e-service documents. */
  readonly claims: Readonly<Record<string, string | number>>;
  /** The purpose the voucher was asked for (GovWay requires it to equal the voucher's); the verifier requires one. */
  readonly purposeId?: string;
}

/** One request or response to sign: its parties, times, the exact body bytes and the headers that travel with it. */
export interface RestMessageSpec extends TokenParties, TokenTiming {
  /** The exact bytes that will be sent (empty or absent: no body). */
  readonly body?: Uint8Array;
  /**
   * Headers that travel with the body and are signed in `signed_headers`, by name as sent.
   * Content-Type and Content-Encoding, when present, are always signed.
   */
  readonly headers?: Readonly<Record<string, string>>;
  readonly digestAlgorithm?: DigestAlgorithm;
  /** Sign Digest and signed_headers for an empty body too (per-API choice; off by default, as at GovWay). */
  readonly signEmptyBody?: boolean;
}

export interface RestRequestPatterns {
  /** Omitted when the Authorization header is a PDND voucher (ID_AUTH_REST_01 via PDND), which the voucher client adds. */
  readonly idAuth?: IdAuthRestPattern;
  readonly integrity?: IntegrityRestPattern;
  readonly audit?: AuditData;
}

/** The headers to send, each token by name, and for AUDIT_REST_02 the digest the voucher must carry. */
export interface SignedRestHeaders {
  /** Every header to send with the body: the spec's own (Content-Type…) as given, and the ModI ones. */
  readonly headers: Record<string, string>;
  readonly tokens: { readonly authorization?: string; readonly signature?: string; readonly trackingEvidence?: string };
  /** AUDIT_REST_02: put this in the PDND client assertion (`digest`) so the voucher is bound to the audit token. */
  readonly auditDigest?: AuditDigestClaim;
  /** The Digest header sent, if any (a response's request_digest binds to it). */
  readonly digest?: string;
}

/**
 * The ModI headers of a request: `Authorization: Bearer` (ID_AUTH_REST_01/02), `Digest` and
 * `Agid-JWT-Signature` (INTEGRITY_REST_01/02), `Agid-JWT-TrackingEvidence` (AUDIT_REST_01/02).
 * `auditKey` signs the audit token when it is not the message key (PDND key for AUDIT_REST_02).
 */
export async function buildModiRestRequestHeaders(
  spec: RestMessageSpec,
  patterns: RestRequestPatterns,
  key: RestSigningKey,
  auditKey: RestSigningKey = key,
): Promise<SignedRestHeaders> {
  const headers: Record<string, string> = { ...spec.headers };
  const authorization = patterns.idAuth ? await idAuthToken(spec, key, headers) : undefined;
  const integrity = patterns.integrity ? await integrityHeaders(spec, key, {}) : undefined;
  if (integrity) Object.assign(headers, integrity.headers);
  let trackingEvidence: string | undefined;
  let auditDigest: AuditDigestClaim | undefined;
  if (patterns.audit) {
    const audit = patterns.audit;
    const claims = {
      ...audit.claims,
      ...standardClaims({ ...spec, jti: undefined }, spec),
      ...(audit.purposeId !== undefined ? { purposeId: audit.purposeId } : {}),
      ...(audit.pattern === 'AUDIT_REST_02' ? { dnonce: auditNonce() } : {}),
    };
    trackingEvidence = await signCompactJws(joseHeaderFor(auditKey), claims, auditKey);
    headers[MODI_REST_HEADER_SPELLING.trackingEvidence] = trackingEvidence;
    if (audit.pattern === 'AUDIT_REST_02') auditDigest = auditTokenDigest(trackingEvidence);
  }
  return {
    headers,
    tokens: {
      ...(authorization ? { authorization } : {}),
      ...(integrity?.token ? { signature: integrity.token } : {}),
      ...(trackingEvidence ? { trackingEvidence } : {}),
    },
    ...(auditDigest ? { auditDigest } : {}),
    ...(integrity?.digest ? { digest: integrity.digest } : {}),
  };
}

export interface RestResponsePatterns {
  /** Mirror the ID_AUTH token on the response (GovWay does so by default). */
  readonly idAuth?: IdAuthRestPattern;
  readonly integrity?: IntegrityRestPattern;
  /** The request's Digest: written as `request_digest` so the response is bound to its request (non-repudiation). */
  readonly requestDigest?: string;
}

/** The ModI headers of a response: its Digest and Agid-JWT-Signature with aud = the consumer, optionally the ID_AUTH token. */
export async function buildModiRestResponseHeaders(
  spec: RestMessageSpec,
  patterns: RestResponsePatterns,
  key: RestSigningKey,
): Promise<SignedRestHeaders> {
  const headers: Record<string, string> = { ...spec.headers };
  const authorization = patterns.idAuth ? await idAuthToken(spec, key, headers) : undefined;
  const extra = patterns.requestDigest !== undefined ? { request_digest: patterns.requestDigest } : {};
  const integrity = patterns.integrity ? await integrityHeaders(spec, key, extra) : undefined;
  if (integrity) Object.assign(headers, integrity.headers);
  return {
    headers,
    tokens: { ...(authorization ? { authorization } : {}), ...(integrity?.token ? { signature: integrity.token } : {}) },
    ...(integrity?.digest ? { digest: integrity.digest } : {}),
  };
}

/** The ID_AUTH token (the standard claims, signed), set as `Authorization: Bearer` in `headers`. */
async function idAuthToken(spec: RestMessageSpec, key: RestSigningKey, headers: Record<string, string>): Promise<string> {
  const token = await signCompactJws(joseHeaderFor(key), standardClaims(spec, spec), key);
  headers[MODI_REST_HEADER_SPELLING.authorization] = `Bearer ${token}`;
  return token;
}

/** Digest over the body and the Agid-JWT-Signature token whose signed_headers lists it with the content headers. */
async function integrityHeaders(
  spec: RestMessageSpec,
  key: RestSigningKey,
  extraClaims: Record<string, unknown>,
): Promise<{ headers: Record<string, string>; token?: string; digest?: string }> {
  const body = spec.body ?? new Uint8Array();
  if (body.length === 0 && !spec.signEmptyBody) return { headers: {} };
  const digest = bodyDigest(body, spec.digestAlgorithm);
  const signedHeaders: Array<Record<string, string>> = [{ digest }];
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower === 'digest' || lower === 'authorization' || lower.startsWith('agid-jwt-'))
      throw new TramiteError('TRAMITE_ERR_INVALID_ARGUMENT', `header ${name} is written by the ModI REST builder, not given to it`);
    signedHeaders.push({ [lower]: value });
  }
  const claims = { ...standardClaims(spec, spec), signed_headers: signedHeaders, ...extraClaims };
  const token = await signCompactJws(joseHeaderFor(key), claims, key);
  return {
    headers: { [MODI_REST_HEADER_SPELLING.digest]: digest, [MODI_REST_HEADER_SPELLING.signature]: token },
    token,
    digest,
  };
}
