import { createHash, X509Certificate } from 'node:crypto';
import { LRUCache } from 'lru-cache';

const known = new LRUCache<string, X509Certificate>({ max: 4096 });

/**
 * The certificate of these DER bytes, parsed once: a verification worker hands back the signer and its
 * chain as bytes with every envelope, and the same few peers' certificates come back each time.
 * X509Certificate is immutable, so one object serves every caller. Bounded, least recently used out first.
 */
export function certificateFromDer(der: Uint8Array): X509Certificate {
  const key = createHash('sha256').update(der).digest('base64');
  let cert = known.get(key);
  if (!cert) {
    cert = new X509Certificate(der);
    known.set(key, cert);
  }
  return cert;
}
