import type { X509Certificate } from 'node:crypto';

export interface ChainCheck {
  /** The instant the certificates must have been unrevoked at; default now (a TSA's genTime for a time-stamp). */
  readonly at?: Date;
  /** What the chain is for, in messages: "envelope signer", "TSA certificate", "TLS client"… */
  readonly role?: string;
}

/**
 * What a place that judges a certificate chain calls for its revocation status (RevocationChecker
 * implements it): envelope and reply signers, TSA certificates, TLS client certificates. Rejects with
 * SecurityError TRAMITE_ERR_CERT_REVOKED, TRAMITE_ERR_CERT_STATUS_UNKNOWN or TRAMITE_ERR_REVOCATION_INVALID.
 */
export interface CertificateChainCheck {
  /** `chain`: leaf first, the trust anchor last (as TrustStore.validateSigner returns it). */
  checkChain(chain: readonly X509Certificate[], check?: ChainCheck): Promise<void>;
}
