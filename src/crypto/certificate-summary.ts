import type { KeyObject, X509Certificate } from 'node:crypto';
import { describeCertificate, describeIssuer } from '../core/certificate-description.js';

/** A certificate as an operator checks it: who, by whom, until when, which key, which fingerprint. */
export interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  /** Hexadecimal, as openssl x509 -serial prints it. */
  readonly serial: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** Whole days from `now` to notAfter; negative once expired. */
  readonly daysToExpiry: number;
  readonly keyType: string;
  /** As `openssl x509 -noout -fingerprint -sha256` prints it, and as `signers[].fingerprint256` takes it. */
  readonly fingerprint256: string;
}

const DAY_MS = 86_400_000;

export function summarizeCertificate(cert: X509Certificate, now: Date): CertificateSummary {
  const notAfter = new Date(cert.validTo);
  return {
    subject: describeCertificate(cert),
    issuer: describeIssuer(cert),
    serial: cert.serialNumber.toUpperCase(),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    daysToExpiry: Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS),
    keyType: describeKeyType(cert.publicKey),
    fingerprint256: cert.fingerprint256,
  };
}

const CURVES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** `rsa 2048`, `ec P-256`, `ed25519`: the key's algorithm and size as a person names them. */
export function describeKeyType(key: KeyObject): string {
  const type = key.asymmetricKeyType ?? key.type;
  const details = key.asymmetricKeyDetails;
  if (details?.modulusLength !== undefined) return `${type} ${details.modulusLength}`;
  if (details?.namedCurve !== undefined) return `${type} ${CURVES[details.namedCurve] ?? details.namedCurve}`;
  return type;
}
