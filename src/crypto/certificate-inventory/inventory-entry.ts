import type { X509Certificate } from 'node:crypto';
import { type CertificateSummary, summarizeCertificate } from '../certificate-summary.js';

/** Where a certificate of the inventory comes from: what the node uses it for, and the file it is read from. */
export interface CertificateOrigin {
  /** What it is for, as an operator says it: `party SPC/ComuneA signing`, `trust anchor`, `peer regione CA`. */
  readonly role: string;
  /** The file it was read from (absolute), or where the node met it (`time-stamp token`). */
  readonly source: string;
}

/**
 * One certificate the node uses or trusts, in one role: plain data (no certificate objects), so the
 * CLI, /health and a metrics exporter read the same list. `daysToExpiry` is whole days, floored,
 * negative once expired.
 */
export interface InventoryEntry extends CertificateOrigin, CertificateSummary {}

export function inventoryEntry(cert: X509Certificate, origin: CertificateOrigin, now: Date): InventoryEntry {
  return { role: origin.role, source: origin.source, ...summarizeCertificate(cert, now) };
}
