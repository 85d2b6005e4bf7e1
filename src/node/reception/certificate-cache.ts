import { createHash, X509Certificate } from 'node:crypto';

const MAX_CERTIFICATES = 4096;
const known = new Map<string, X509Certificate>();

/**
 * The certificate of these DER bytes, parsed once: a verification worker hands back the signer and its
 * chain as bytes with every envelope, and the same few peers' certificates come back each time.
 * X509Certificate is immutable, so one object serves every caller. Bounded: the oldest goes first.
 */
export function certificateFromDer(der: Uint8Array): X509Certificate {
  const key = createHash('sha256').update(der).digest('base64');
  let cert = known.get(key);
  if (!cert) {
    cert = new X509Certificate(der);
    if (known.size >= MAX_CERTIFICATES) known.delete(known.keys().next().value!);
    known.set(key, cert);
  }
  return cert;
}
