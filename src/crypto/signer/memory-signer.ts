import { sign as signData, type KeyObject, type X509Certificate } from 'node:crypto';
import { ConfigError } from '../../core/errors.js';
import { keyMatchesCertificate } from '../key-matches-certificate.js';
import type { EcdsaEncoding, SignatureAlgorithm, Signer } from '../../core/signer.js';

export interface MemorySignerSource {
  readonly privateKey: KeyObject;
  readonly certificate: X509Certificate;
  /** PEM of the certificate (default: the certificate's own PEM). */
  readonly certPem?: string;
  readonly chain?: readonly X509Certificate[];
  /** Where the key came from, for messages (default: "in-memory key"). */
  readonly keyDescription?: string;
}

/**
 * A Signer over a KeyObject the process holds (from a PEM file, encrypted PKCS#8 or a PKCS#12 keystore).
 * It signs synchronously and hands back a settled promise: the fast path stays what node:crypto gives,
 * and a caller awaiting a token-held key's signature is written the same way.
 */
export function memorySigner(source: MemorySignerSource): Signer {
  const { privateKey, certificate } = source;
  const algorithm = algorithmOfKey(privateKey);
  if (!keyMatchesCertificate(privateKey, certificate)) {
    throw new ConfigError(
      'TRAMITE_ERR_KEY_INVALID',
      `${source.keyDescription ?? 'in-memory key'}: the private key does not belong to the certificate ${certificate.subject.replace(/\n/g, ', ')}`,
    );
  }
  const ec = algorithm === 'ECDSA-P256-SHA256';
  return {
    algorithm,
    certificate,
    certPem: source.certPem ?? certificate.toString(),
    chain: source.chain ?? [],
    keyDescription: source.keyDescription ?? 'in-memory key',
    // async: a throw (a key node:crypto cannot use) becomes the rejection the interface promises.
    async sign(data: Buffer, opts?: { readonly ecdsaEncoding?: EcdsaEncoding }): Promise<Buffer> {
      return signData('sha256', data, ec ? { key: privateKey, dsaEncoding: opts?.ecdsaEncoding ?? 'ieee-p1363' } : privateKey);
    },
  };
}

/** RSA → RSA-SHA256, EC on P-256 → ECDSA-P256-SHA256; any other key is refused. */
export function algorithmOfKey(key: KeyObject): SignatureAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'RSA-SHA256';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === 'ec' && curve === 'prime256v1') return 'ECDSA-P256-SHA256';
  throw new ConfigError(
    'TRAMITE_ERR_KEY_INVALID',
    `cannot sign with a ${key.asymmetricKeyType ?? 'unknown'}${curve ? ` (${curve})` : ''} key: signatures need an RSA key or an EC key on P-256`,
  );
}
