import type { X509Certificate } from 'node:crypto';

/**
 * The issuers of `leaf` among `candidates`, direct issuer first, up to a self-signed root or the first
 * issuer not present. Each link is checked by signature, not by name alone; certificates that are not
 * on the path are left out.
 */
export function issuerChain(leaf: X509Certificate, candidates: readonly X509Certificate[]): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let current = leaf;
  while (!isSelfSigned(current)) {
    const issuer = candidates.find((c) => c !== current && !chain.includes(c) && current.checkIssued(c) && current.verify(c.publicKey));
    if (!issuer) break;
    chain.push(issuer);
    current = issuer;
  }
  return chain;
}

function isSelfSigned(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}
