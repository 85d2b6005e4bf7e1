import type { X509Certificate } from 'node:crypto';

/**
 * The two signature algorithms a party key signs with: RSA PKCS#1 v1.5 over SHA-256, and ECDSA on
 * P-256 over SHA-256. They are what ModI and the e-Gov busta accept, and what every HSM offers.
 */
export type SignatureAlgorithm = 'RSA-SHA256' | 'ECDSA-P256-SHA256';

/**
 * How an ECDSA value is written: `ieee-p1363` is the raw r||s of XML-DSig (RFC 4050 / RFC 6931), `der`
 * the ASN.1 SEQUENCE of X.509 and CMS. RSA values have one form and ignore it.
 */
export type EcdsaEncoding = 'ieee-p1363' | 'der';

/**
 * A private key that signs, with the certificate that names it. Every signing site (WS-Security
 * envelopes, receipts and replies, XAdES seals, log checkpoints) signs through this and nothing else,
 * so where the key lives — a KeyObject in memory, a PKCS#11 token — is the implementation's business.
 *
 * `sign` is asynchronous on purpose: a network HSM answers in milliseconds to hundreds of them, and the
 * event loop must go on serving meanwhile. An in-memory key signs at once and returns a settled promise
 * (one microtask more than a synchronous call).
 */
export interface Signer {
  readonly algorithm: SignatureAlgorithm;
  /** The signer's certificate: the one a WS-Security BinarySecurityToken carries and peers check. */
  readonly certificate: X509Certificate;
  /**
   * PEM of `certificate`; for a PEM certificate file, the file as it is (which may go on with CA
   * certificates). Envelopes take the first certificate of it.
   */
  readonly certPem: string;
  /** The CA certificates that came with the certificate, its issuer first (empty when none did). */
  readonly chain: readonly X509Certificate[];
  /** Where the key is, for messages: never key material, never a PIN or passphrase. */
  readonly keyDescription: string;
  /** Signs `data` (the whole message: the hash is taken here or on the token) with SHA-256. */
  sign(data: Buffer, opts?: { readonly ecdsaEncoding?: EcdsaEncoding }): Promise<Buffer>;
}
