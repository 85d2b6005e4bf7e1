/** The signature algorithms a CRL or OCSP response may use, as the hash node:crypto verifies them with. */
const ALGORITHMS: ReadonlyMap<string, { readonly hash: string; readonly name: string }> = new Map([
  ['1.2.840.113549.1.1.5', { hash: 'sha1', name: 'sha1WithRSAEncryption' }],
  ['1.2.840.113549.1.1.11', { hash: 'sha256', name: 'sha256WithRSAEncryption' }],
  ['1.2.840.113549.1.1.12', { hash: 'sha384', name: 'sha384WithRSAEncryption' }],
  ['1.2.840.113549.1.1.13', { hash: 'sha512', name: 'sha512WithRSAEncryption' }],
  ['1.2.840.10045.4.1', { hash: 'sha1', name: 'ecdsa-with-SHA1' }],
  ['1.2.840.10045.4.3.2', { hash: 'sha256', name: 'ecdsa-with-SHA256' }],
  ['1.2.840.10045.4.3.3', { hash: 'sha384', name: 'ecdsa-with-SHA384' }],
  ['1.2.840.10045.4.3.4', { hash: 'sha512', name: 'ecdsa-with-SHA512' }],
]);

/** The hash of a signature algorithm OID, or undefined for one not accepted (RSA-PSS, DSA, MD5…). */
export function signatureAlgorithm(oid: string): { readonly hash: string; readonly name: string } | undefined {
  return ALGORITHMS.get(oid);
}
