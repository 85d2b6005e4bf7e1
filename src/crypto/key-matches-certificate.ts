import { type KeyObject, type X509Certificate, createPublicKey } from 'node:crypto';

/** Compares the SubjectPublicKeyInfo DER of the key's public half with the certificate's. */
export function keyMatchesCertificate(privateKey: KeyObject, certificate: X509Certificate): boolean {
  const fromKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const fromCert = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return fromKey.equals(fromCert);
}
