import type { KeyObject, X509Certificate } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, errors as joseErrors, type ProtectedHeaderParameters } from 'jose';
import { SecurityError, TramiteError } from '../../src/core/errors.js';
import { describeCertificate } from '../../src/core/certificate-description.js';
import { ModiRestError, type ModiRestPosition } from './modi-rest-error.js';
import { certificateThumbprint } from './jws-signing.js';
import { SignerCertificateCache } from '../security/signer-certificate-cache.js';
import { DEFAULT_MODI_REST_LIMITS, MODI_REST_ALGORITHMS, type ModiRestAlgorithm, type ModiRestLimits } from './modi-rest-patterns.js';

/**
 * The trust an X.509-referenced token is checked with, before its signature: src/crypto's TrustStore
 * is one (as for envelope signers). Returns the path from the signer to a trusted anchor, or throws a
 * SecurityError (untrusted, expired, revoked, unfit) whose reason becomes the refusal's code.
 */
export interface TokenSignerTrust {
  validateSigner(signer: X509Certificate, at: Date, intermediates?: readonly X509Certificate[]): X509Certificate[];
}

/** Replay filter seam (ID_AUTH_REST_02, integrity jti): true when this jti is new and now recorded until `until`. */
export interface JtiReplayFilter {
  accept(namespace: string, jti: string, until: Date): boolean | Promise<boolean>;
}

export interface RestVerifyPolicy {
  /** The instant the verdict is for (now, for live traffic). */
  readonly at: Date;
  /** Tolerated clock difference for exp, nbf and an iat in the future. */
  readonly skewSeconds: number;
  /**
   * Oldest acceptable iat, in seconds. Default DEFAULT_MAX_AGE_SECONDS (300, GovWay's claims.iat.minutes=5)
   * for live traffic; 'unbounded' only for offline audit of stored tokens (tramite modi verify-jwt).
   */
  readonly maxAgeSeconds?: number | 'unbounded';
  /** Longest accepted exp − iat, in seconds (default DEFAULT_MAX_LIFETIME_SECONDS, 3600); also bounds how long a jti is kept. */
  readonly maxLifetimeSeconds?: number;
  /** 'require' (default): the header's typ must be JWT; 'optional': a typ may be absent (a peer that omits it), never another value. */
  readonly typ?: 'require' | 'optional';
  /** The receiver's own audience: aud must equal it (or, as an array, contain it). Undefined: aud only required. */
  readonly audience?: string;
  /** The allow-list (default: the reference's RS256/384/512, ES256/384/512). */
  readonly algorithms?: readonly ModiRestAlgorithm[];
  /** X.509 trust, for x5c / x5t#S256 tokens. */
  readonly trust?: TokenSignerTrust;
  /** Certificates known by thumbprint (x5t#S256 without x5c), e.g. the parties' configured signers. */
  readonly certificateByThumbprint?: (x5tS256: string) => X509Certificate | undefined;
  /** PDND trust, for kid tokens (INTEGRITY_REST_02, AUDIT_REST_02): the public key registered under kid. */
  readonly keyByKid?: (kid: string) => KeyObject | undefined | Promise<KeyObject | undefined>;
  /**
   * Binds the trusted signer to the party expected; throws to refuse (the refusal is a ModiRestError,
   * TRAMITE_ERR_MODI_REST_BINDING unless it already is one). Called only once the signature verified.
   */
  readonly bindSigner?: (signer: X509Certificate, claims: RestTokenClaims) => void;
  /** Binds a PDND kid to the claims it may sign for (iss, sub, client_id); throws to refuse, as bindSigner. */
  readonly bindKid?: (kid: string, claims: RestTokenClaims) => void | Promise<void>;
  /** jti replay filter; absent: jti not checked for reuse (offline tools). */
  readonly replay?: JtiReplayFilter;
  readonly limits?: ModiRestLimits;
}

/** The claims every verified token has, typed; the rest are in `claims`. */
export interface RestTokenClaims {
  readonly iat: number;
  readonly exp: number;
  readonly nbf?: number;
  readonly aud: string | readonly string[];
  readonly iss?: string;
  readonly sub?: string;
  readonly jti?: string;
  readonly [claim: string]: unknown;
}

/** A token whose signature, signer and times were checked. */
export interface VerifiedRestToken {
  readonly token: string;
  readonly header: ProtectedHeaderParameters;
  readonly claims: RestTokenClaims;
  /** X.509 trust: the signer and its path to the anchor. */
  readonly signer?: X509Certificate;
  readonly chain?: readonly X509Certificate[];
  /** PDND trust: the kid the key was found under. */
  readonly kid?: string;
  /** Whose jti space the token's jti is in: the signer's x5t#S256, or `kid:<kid>`. */
  readonly replayNamespace: string;
}

/** What one position's pattern asks of its token beyond the policy. */
export interface RestTokenChecks {
  /** Refuse a token without jti. */
  readonly requireJti?: boolean;
  /** Pass the jti through the policy's replay filter. */
  readonly filterReplay?: boolean;
  /** The trust the pattern is anchored in: 'x509' (ID_AUTH, INTEGRITY_REST_01) or 'kid' (PDND); refused before any key is looked up. */
  readonly signerKind?: 'x509' | 'kid';
  /** A jti this message already recorded (its other token's, same namespace): the message's id, filtered once. */
  readonly messageJti?: { readonly namespace: string; readonly jti: string };
}

/** Longest jti accepted (a UUID has 36 characters; the replay store keeps at most 200). */
export const MAX_JTI_CHARS = 200;

/** GovWay's default maximum age of iat (claims.iat.minutes=5). */
export const DEFAULT_MAX_AGE_SECONDS = 300;
/** ModI asks for a short window (GovWay's TTL is 300 s); an hour leaves room for slow peers and nothing for a token that never expires. */
export const DEFAULT_MAX_LIFETIME_SECONDS = 3600;

/** Parsed x5c certificates by their base64 (a peer sends the same one every time; parsing costs more than the signature check). */
const CERTIFICATES = new SignerCertificateCache(256);
/** Each parsed certificate's public key, made once. */
const PUBLIC_KEYS = new WeakMap<X509Certificate, KeyObject>();

function publicKeyOf(cert: X509Certificate): KeyObject {
  let key = PUBLIC_KEYS.get(cert);
  if (!key) PUBLIC_KEYS.set(cert, (key = cert.publicKey));
  return key;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Verifies one compact JWS as RFC 8725 and the ModI processing order ask: size, form, alg allow-list,
 * typ, signer (x5c chain to trust, x5t#S256, or kid), signature over the bytes received, then
 * exp / nbf / iat with skew, aud; `requireJti` refuses a token without jti, `filterReplay` passes its jti
 * through the policy's replay filter (not every token is single-use: an ID_AUTH_REST_01 or audit token may
 * be reused until it expires).
 */
export async function verifyRestToken(
  token: string,
  position: ModiRestPosition,
  policy: RestVerifyPolicy,
  opts: RestTokenChecks = {},
): Promise<VerifiedRestToken> {
  const limits = policy.limits ?? DEFAULT_MODI_REST_LIMITS;
  const refuse = (code: ConstructorParameters<typeof ModiRestError>[0], message: string, signer?: X509Certificate, cause?: unknown) =>
    new ModiRestError(code, position, message, { ...(signer ? { signer: describeCertificate(signer) } : {}), ...(cause ? { cause } : {}) });

  if (token.length > limits.maxTokenChars)
    throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', `token of ${token.length} characters, more than ${limits.maxTokenChars}`);
  // Decoding the header first is safe: it only chooses the key; nothing in it is trusted until the signature is.
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch (err) {
    throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'the token is not a compact JWS with a JSON header', undefined, err);
  }
  const allowed: readonly string[] = policy.algorithms ?? MODI_REST_ALGORITHMS;
  if (typeof header.alg !== 'string' || !allowed.includes(header.alg))
    throw refuse('TRAMITE_ERR_MODI_REST_ALG', `alg ${JSON.stringify(header.alg)} is not accepted (allowed: ${allowed.join(', ')})`);
  if (!COMPACT_JWS.test(token))
    throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'the token is not a compact JWS of three non-empty base64url parts');
  // RFC 7515 §4.1.9: typ is a media type, compared case-insensitively; the reference's value is JWT.
  if (
    header.typ === undefined
      ? (policy.typ ?? 'require') === 'require'
      : typeof header.typ !== 'string' || header.typ.toUpperCase() !== 'JWT'
  )
    throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', `typ ${JSON.stringify(header.typ) ?? 'absent'} is not JWT`);

  const { key, signer, chain, kid } = await resolveKey(header, policy, limits, refuse, opts.signerKind);

  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(token, key, { algorithms: [...allowed] }));
  } catch (err) {
    if (err instanceof joseErrors.JOSEAlgNotAllowed) throw refuse('TRAMITE_ERR_MODI_REST_ALG', err.message, signer, err);
    throw refuse(
      'TRAMITE_ERR_MODI_REST_SIGNATURE',
      `the signature does not verify with the signer's key (${(err as Error).message})`,
      signer,
      err,
    );
  }
  const claims = readClaims(payload, limits, refuse);
  checkTimes(claims, policy, refuse, signer);
  checkAudience(claims.aud, policy.audience, refuse, signer);
  // Binding after the signature: until then the claims (and whose they are) are not the signer's word.
  await bind(signer, kid, claims, policy, refuse);
  if (opts.requireJti && (typeof claims.jti !== 'string' || claims.jti.length === 0))
    throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'claim jti is missing (required by this pattern)', signer);
  const replayNamespace = signer ? certificateThumbprint(signer) : `kid:${kid}`;
  const sameMessageJti = opts.messageJti?.namespace === replayNamespace && opts.messageJti.jti === claims.jti;
  if (opts.filterReplay && policy.replay && typeof claims.jti === 'string' && !sameMessageJti) {
    // exp − iat is bounded by maxLifetimeSeconds and iat by now + skew, so `until` is a real, near date.
    const until = new Date((claims.exp + policy.skewSeconds) * 1000);
    if (!(await policy.replay.accept(replayNamespace, claims.jti, until)))
      throw refuse('TRAMITE_ERR_MODI_REST_REPLAY', `jti ${claims.jti} was already accepted`, signer);
  }
  return {
    token,
    header,
    claims,
    ...(signer ? { signer } : {}),
    ...(chain ? { chain } : {}),
    ...(kid !== undefined ? { kid } : {}),
    replayNamespace,
  };
}

/** bindSigner / bindKid; whatever they throw becomes a ModiRestError (BINDING unless it is one already). */
async function bind(
  signer: X509Certificate | undefined,
  kid: string | undefined,
  claims: RestTokenClaims,
  policy: RestVerifyPolicy,
  refuse: Refuse,
): Promise<void> {
  try {
    if (signer) policy.bindSigner?.(signer, claims);
    else if (kid !== undefined) await policy.bindKid?.(kid, claims);
  } catch (err) {
    if (err instanceof ModiRestError) throw err;
    throw refuse('TRAMITE_ERR_MODI_REST_BINDING', err instanceof Error ? err.message : String(err), signer, err);
  }
}

type Refuse = (
  code: ConstructorParameters<typeof ModiRestError>[0],
  message: string,
  signer?: X509Certificate,
  cause?: unknown,
) => ModiRestError;

async function resolveKey(
  header: ProtectedHeaderParameters,
  policy: RestVerifyPolicy,
  limits: ModiRestLimits,
  refuse: Refuse,
  signerKind: RestTokenChecks['signerKind'],
): Promise<{ key: KeyObject; signer?: X509Certificate; chain?: X509Certificate[]; kid?: string }> {
  const x5c = header.x5c;
  const x5t = header['x5t#S256'];
  const x509 = x5c !== undefined || x5t !== undefined;
  if (signerKind === 'x509' && !x509)
    throw refuse('TRAMITE_ERR_MODI_REST_CERT_MISSING', 'this pattern needs an X.509 signer (x5c or x5t#S256), not only a kid or x5u');
  if (signerKind === 'kid' && (x509 || typeof header.kid !== 'string'))
    throw refuse('TRAMITE_ERR_MODI_REST_CERT_MISSING', 'this pattern needs a PDND kid and no certificate');
  let signer: X509Certificate | undefined;
  let intermediates: X509Certificate[] = [];
  if (x5c !== undefined) {
    if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > limits.maxChainLength || x5c.some((c) => typeof c !== 'string'))
      throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', `x5c must be an array of 1 to ${limits.maxChainLength} base64 certificates`);
    let certs: X509Certificate[];
    try {
      certs = x5c.map((c) => {
        if (!/^[A-Za-z0-9+/]+={0,2}$/.test(c)) throw new TramiteError('TRAMITE_ERR_MODI_REST_MALFORMED', 'not standard base64');
        return CERTIFICATES.get(c);
      });
    } catch (err) {
      throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'an x5c entry is not a base64 DER certificate', undefined, err);
    }
    [signer, ...intermediates] = certs as [X509Certificate, ...X509Certificate[]];
    if (x5t !== undefined && x5t !== certificateThumbprint(signer))
      throw refuse('TRAMITE_ERR_MODI_REST_THUMBPRINT', 'x5t#S256 is not the thumbprint of the x5c signer certificate', signer);
  } else if (x5t !== undefined) {
    signer = typeof x5t === 'string' ? policy.certificateByThumbprint?.(x5t) : undefined;
    if (!signer) throw refuse('TRAMITE_ERR_MODI_REST_CERT_MISSING', 'the token has no x5c and its x5t#S256 names no known certificate');
  }
  if (signer) {
    if (!policy.trust)
      throw refuse('TRAMITE_ERR_MODI_REST_CERT_MISSING', 'the token is X.509-referenced and no trust store is configured', signer);
    let chain: X509Certificate[];
    try {
      chain = policy.trust.validateSigner(signer, policy.at, intermediates);
    } catch (err) {
      // The trust store's precise reason (TRAMITE_ERR_CERT_UNTRUSTED, _EXPIRED, _USAGE) is the refusal's code.
      if (err instanceof SecurityError) throw refuse(err.reason, err.message, signer, err);
      throw err;
    }
    return { key: publicKeyOf(signer), signer, chain };
  }
  if (typeof header.kid === 'string' && header.kid.length > 0) {
    if (!policy.keyByKid)
      throw refuse(
        'TRAMITE_ERR_MODI_REST_CERT_MISSING',
        `the token names only kid ${header.kid}, and this verifier trusts X.509 certificates (x5c)`,
      );
    const key = await policy.keyByKid(header.kid);
    if (!key) throw refuse('TRAMITE_ERR_MODI_REST_KID_UNKNOWN', `no key is known under kid ${header.kid}`);
    return { key, kid: header.kid };
  }
  throw refuse(
    'TRAMITE_ERR_MODI_REST_CERT_MISSING',
    header.x5u !== undefined
      ? 'the token names its certificate only by x5u, which is not dereferenced'
      : 'the token carries no x5c, x5t#S256 or kid',
  );
}

function readClaims(payload: Uint8Array, limits: ModiRestLimits, refuse: Refuse): RestTokenClaims {
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (err) {
    throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'the payload is not JSON', undefined, err);
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims))
    throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'the payload is not a JSON object');
  const depth = nestingDepth(claims);
  if (depth > limits.maxClaimDepth)
    throw refuse(
      'TRAMITE_ERR_MODI_REST_MALFORMED',
      `the claims nest ${depth > 10 * limits.maxClaimDepth ? 'far ' : ''}deeper than ${limits.maxClaimDepth} levels`,
    );
  const c = claims as Record<string, unknown>;
  for (const name of ['iat', 'exp'] as const) {
    if (!Number.isFinite(c[name])) throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', `claim ${name} is missing or not a NumericDate`);
  }
  if (c.nbf !== undefined && !Number.isFinite(c.nbf)) throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'claim nbf is not a NumericDate');
  const aud = c.aud;
  if (!(typeof aud === 'string' || (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string'))))
    throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'claim aud is missing or not a string or array of strings');
  for (const name of ['iss', 'sub', 'jti'] as const) {
    if (c[name] !== undefined && typeof c[name] !== 'string')
      throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', `claim ${name} is not a string`);
  }
  // A jti is kept by the replay filter: a longer one (or one a database cannot hold) is refused as malformed, not cut.
  if (typeof c.jti === 'string' && (c.jti.length > MAX_JTI_CHARS || c.jti.includes('\u0000')))
    throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', `claim jti is longer than ${MAX_JTI_CHARS} characters or holds U+0000`);
  return c as RestTokenClaims;
}

/** How deep arrays and objects nest (1 = a flat object), counted without recursion; stops once past 1000. */
function nestingDepth(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) max = depth;
    if (max > 1000) break;
    for (const child of Object.values(v as object)) stack.push([child, depth + 1]);
  }
  return max;
}

function checkTimes(claims: RestTokenClaims, policy: RestVerifyPolicy, refuse: Refuse, signer: X509Certificate | undefined): void {
  const now = policy.at.getTime() / 1000;
  const skew = policy.skewSeconds;
  const iso = (s: number) => new Date(s * 1000).toISOString();
  if (claims.exp <= now - skew) throw refuse('TRAMITE_ERR_MODI_REST_EXPIRED', `the token expired at ${iso(claims.exp)}`, signer);
  if (claims.nbf !== undefined && claims.nbf > now + skew)
    throw refuse('TRAMITE_ERR_MODI_REST_NOT_YET_VALID', `the token is not valid before ${iso(claims.nbf)}`, signer);
  if (claims.iat > now + skew)
    throw refuse('TRAMITE_ERR_MODI_REST_NOT_YET_VALID', `the token was issued in the future (${iso(claims.iat)})`, signer);
  // A window that ends before it starts, or never ends, is no window (and would keep a jti forever).
  if (claims.exp <= claims.iat) throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'claim exp is not after iat', signer);
  if (claims.nbf !== undefined && claims.exp <= claims.nbf)
    throw refuse('TRAMITE_ERR_MODI_REST_MALFORMED', 'claim exp is not after nbf: the token is never valid', signer);
  const maxLifetime = policy.maxLifetimeSeconds ?? DEFAULT_MAX_LIFETIME_SECONDS;
  if (claims.exp - claims.iat > maxLifetime)
    throw refuse(
      'TRAMITE_ERR_MODI_REST_MALFORMED',
      `the token is valid for ${claims.exp - claims.iat} s, more than ${maxLifetime} s`,
      signer,
    );
  const maxAge = policy.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  if (maxAge !== 'unbounded' && claims.iat < now - maxAge - skew)
    throw refuse('TRAMITE_ERR_MODI_REST_EXPIRED', `the token was issued at ${iso(claims.iat)}, more than ${maxAge} s ago`, signer);
}

function checkAudience(
  aud: string | readonly string[],
  expected: string | undefined,
  refuse: Refuse,
  signer: X509Certificate | undefined,
): void {
  if (expected === undefined) return;
  const ok = typeof aud === 'string' ? aud === expected : aud.includes(expected);
  if (!ok) throw refuse('TRAMITE_ERR_MODI_REST_AUDIENCE', `aud ${JSON.stringify(aud)} is not ${JSON.stringify(expected)}`, signer);
}
