import type { X509Certificate } from 'node:crypto';
import { TramiteError } from '../../core/errors.js';
import { describeCertificate } from '../../core/certificate-description.js';

/** What a CRL or OCSP response said about one certificate, and until when it may be believed. */
export type CertificateStatus =
  | { readonly status: 'good'; readonly source: string; readonly freshUntil: Date }
  | {
      readonly status: 'revoked';
      readonly source: string;
      readonly freshUntil: Date;
      readonly revokedAt: Date;
      readonly reason?: string;
    };

/** CRLReason names (RFC 5280 §5.3.1), by their ENUMERATED value. */
const REASONS: readonly string[] = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  '(7)',
  'removeFromCRL',
  'privilegeWithdrawn',
  'aACompromise',
];

export function reasonName(code: number | undefined): string | undefined {
  return code === undefined ? undefined : (REASONS[code] ?? `(${code})`);
}

/** A serial number as comparable text: upper-case hex, without the leading zeros DER may add. */
export function serialText(hex: string): string {
  return hex.toUpperCase().replace(/^0+(?=.)/, '');
}

/** "CN=…, O=… (serial 1A2B)": how a message names a certificate whose status is in question. */
export function certificateLabel(cert: X509Certificate): string {
  return `"${describeCertificate(cert)}" (serial ${serialText(cert.serialNumber)})`;
}

/** A source answered, but with something that cannot be believed (corrupt, badly signed, about another certificate). */
export function invalidStatus(message: string, cause?: unknown): TramiteError {
  return new TramiteError('TRAMITE_ERR_REVOCATION_INVALID', message, cause === undefined ? undefined : { cause });
}

/** A source gave no fresh answer (unreachable, stale, no address). */
export function noStatus(message: string, cause?: unknown): TramiteError {
  return new TramiteError('TRAMITE_ERR_CERT_STATUS_UNKNOWN', message, cause === undefined ? undefined : { cause });
}
