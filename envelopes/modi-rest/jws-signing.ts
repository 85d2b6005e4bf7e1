import { KeyObject, type X509Certificate, createHash } from 'node:crypto';
import { CompactSign, base64url, compactVerify, type CompactJWSHeaderParameters } from 'jose';
import { TramiteError } from '../../src/core/errors.js';
import type { Signer } from '../../src/core/signer.js';
import type { ModiRestAlgorithm } from './modi-rest-patterns.js';

/**
 * The key material a ModI REST token is signed with, and how the token names it.
 *
 * - X.509 trust (ID_AUTH_REST_01/02, INTEGRITY_REST_01, AUDIT_REST_01): `certificates` is the signer's
 *   certificate first, then its CAs; the token carries them in `x5c` (or only `x5t#S256`).
 * - PDND trust (INTEGRITY_REST_02, AUDIT_REST_02): `kid` is the identifier PDND gave the uploaded key.
 *
 * `privateKey` is a KeyObject, or the node's `Signer` (a key on a PKCS#11 token): see signCompactJws.
 */
export interface RestSigningKey {
  readonly privateKey: KeyObject | Signer;
  readonly alg: ModiRestAlgorithm;
  readonly certificates?: readonly X509Certificate[];
  readonly kid?: string;
  /** How the certificate is referenced: the whole chain (default) or its SHA-256 thumbprint only. */
  readonly certificateReference?: 'x5c' | 'x5t#S256';
}

/** `x5t#S256`: base64url of the SHA-256 of the certificate's DER. */
export function certificateThumbprint(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('base64url');
}

/** The JOSE header naming the key: typ JWT, the alg, and x5c / x5t#S256 / kid as the key says. */
export function joseHeaderFor(key: RestSigningKey): CompactJWSHeaderParameters {
  const header: CompactJWSHeaderParameters = { alg: key.alg, typ: 'JWT' };
  const [signer] = key.certificates ?? [];
  if (signer) {
    // x5c is standard base64 (RFC 7515 §4.1.6), not base64url.
    if ((key.certificateReference ?? 'x5c') === 'x5c') header.x5c = key.certificates!.map((c) => c.raw.toString('base64'));
    else header['x5t#S256'] = certificateThumbprint(signer);
  }
  if (key.kid !== undefined) header.kid = key.kid;
  if (!signer && key.kid === undefined)
    throw new TramiteError(
      'TRAMITE_ERR_INVALID_ARGUMENT',
      'a ModI REST signing key needs certificates (X.509 trust) or a kid (PDND trust)',
    );
  return header;
}

/** The curve each ECDSA alg signs with, by node:crypto's name. */
const ES_CURVES = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' } as const;

/** The one JWS alg each Signer algorithm makes (RFC 7518 §3.3, §3.4). */
const SIGNER_ALGS = { 'RSA-SHA256': 'RS256', 'ECDSA-P256-SHA256': 'ES256' } as const;

/**
 * The one place a ModI REST token is signed: compact JWS of `claims` under `header`. A KeyObject signs
 * through jose. A `Signer` (which may hold its key on a token) is asked to sign the JWS signing input —
 * `b64url(header).b64url(payload)`, encoded by jose's base64url — with the raw r||s form for ECDSA
 * (RFC 7518 §3.4); jose then verifies the token against the signer's certificate before it goes out,
 * so a token that misbehaves is refused here, not by the peer.
 */
export async function signCompactJws(
  header: CompactJWSHeaderParameters,
  claims: Record<string, unknown>,
  key: RestSigningKey,
): Promise<string> {
  const payload = new TextEncoder().encode(JSON.stringify(claims));
  if (!(key.privateKey instanceof KeyObject)) return signWithSigner(header, payload, key.alg, key.privateKey);
  const type = key.privateKey.asymmetricKeyType;
  if ((key.alg.startsWith('RS') && type !== 'rsa') || (key.alg.startsWith('ES') && type !== 'ec'))
    throw new TramiteError('TRAMITE_ERR_KEY_INVALID', `a ${type ?? 'secret'} key cannot sign ${key.alg}`);
  // Each ES alg names its curve (RFC 7518 §3.4); jose would otherwise fail with an untyped DOMException.
  const curve = key.privateKey.asymmetricKeyDetails?.namedCurve;
  if (key.alg.startsWith('ES') && curve !== ES_CURVES[key.alg as 'ES256' | 'ES384' | 'ES512'])
    throw new TramiteError('TRAMITE_ERR_KEY_INVALID', `a key on curve ${curve ?? 'unknown'} cannot sign ${key.alg}`);
  return new CompactSign(payload).setProtectedHeader(header).sign(key.privateKey);
}

async function signWithSigner(
  header: CompactJWSHeaderParameters,
  payload: Uint8Array,
  alg: ModiRestAlgorithm,
  signer: Signer,
): Promise<string> {
  if (SIGNER_ALGS[signer.algorithm] !== alg)
    throw new TramiteError('TRAMITE_ERR_KEY_INVALID', `${signer.keyDescription} signs ${SIGNER_ALGS[signer.algorithm]}, not ${alg}`);
  const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(payload)}`;
  const signature = await signer.sign(Buffer.from(input, 'ascii'), { ecdsaEncoding: 'ieee-p1363' });
  const token = `${input}.${base64url.encode(signature)}`;
  try {
    await compactVerify(token, signer.certificate.publicKey, { algorithms: [alg] });
  } catch (cause) {
    throw new TramiteError('TRAMITE_ERR_KEY_INVALID', `${signer.keyDescription} made a ${alg} signature its certificate does not verify`, {
      cause,
    });
  }
  return token;
}

/** The JWS alg a Signer makes: what `tramite modi sign-request` uses unless --alg says otherwise. */
export function signerAlgorithm(signer: Signer): ModiRestAlgorithm {
  return SIGNER_ALGS[signer.algorithm];
}
