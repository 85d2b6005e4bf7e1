import type { X509Certificate } from 'node:crypto';
import { type CertificateOrigin, type InventoryEntry, inventoryEntry } from '../../crypto/certificate-inventory/inventory-entry.js';
import { type ExpirySummary, summarizeExpiry } from '../../crypto/certificate-inventory/expiry-bands.js';

/** Certificates of one origin: a file's, a party's key's, a peer's CA. */
export interface CertificateSource {
  readonly origin: CertificateOrigin;
  readonly certificates: readonly X509Certificate[];
}

/**
 * Every certificate the node uses or trusts, with what it is for and where it comes from: what
 * `tramite certs` prints, /health summarises and the expiry warnings watch. `list` is a plain typed
 * list (InventoryEntry), recomputed for the instant asked, which a metrics exporter can read as it is
 * (e.g. one gauge of days to expiry per fingerprint and role).
 */
export class CertificateInventory {
  /** Certificates met while running, by role: the latest one of a role replaces the one before. */
  private readonly observed = new Map<string, CertificateSource>();

  constructor(private readonly sources: readonly CertificateSource[]) {}

  /**
   * A certificate the node learns of only as it works (the TSA's, carried in its tokens). Kept under
   * its role, so a TSA that renews its certificate shows the new one.
   */
  observe(origin: CertificateOrigin, certificate: X509Certificate): void {
    this.observed.set(origin.role, { origin, certificates: [certificate] });
  }

  /** Each certificate once per role, the soonest to expire first. */
  list(now: Date): InventoryEntry[] {
    const seen = new Set<string>();
    const entries: InventoryEntry[] = [];
    for (const { origin, certificates } of [...this.sources, ...this.observed.values()]) {
      for (const cert of certificates) {
        const key = `${cert.fingerprint256} ${origin.role}`;
        if (seen.has(key)) continue;
        seen.add(key);
        entries.push(inventoryEntry(cert, origin, now));
      }
    }
    return entries.sort((a, b) => a.notAfter.localeCompare(b.notAfter) || a.role.localeCompare(b.role));
  }

  summary(now: Date): ExpirySummary {
    return summarizeExpiry(this.list(now), now);
  }
}
