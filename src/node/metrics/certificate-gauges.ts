import { Gauge, type Registry } from 'prom-client';
import type { InventoryEntry } from '../../crypto/certificate-inventory/inventory-entry.js';

export interface CertificateSource {
  /** The certificate inventory as of `now` (CertificateInventory.list). */
  list(now: Date): InventoryEntry[];
  now(): Date;
}

/**
 * Every certificate of the inventory — parties' keys, trust anchors, peers' CAs, TLS, the TSA's once
 * met — with the time left until it expires and its notAfter, per role and fingerprint (the inventory is the
 * configuration's, so the label set is bounded).
 */
export class CertificateGauges {
  private source: CertificateSource | undefined;

  constructor(registry: Registry) {
    const entries = (): InventoryEntry[] => this.entries();
    const clock = (): number => this.source?.now().getTime() ?? 0;
    const labelNames = ['role', 'subject', 'fingerprint_sha256'];
    // In seconds, as Prometheus's base unit (promtool's lint refuses days): an alert divides by 86400.
    new Gauge({
      name: 'tramite_certificate_expires_in_seconds',
      help: 'Seconds until the certificate expires (negative once expired); divide by 86400 for days',
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        const now = clock();
        for (const c of entries()) this.set(labelsOf(c), (Date.parse(c.notAfter) - now) / 1000);
      },
    });
    new Gauge({
      name: 'tramite_certificate_not_after_timestamp_seconds',
      help: "The certificate's notAfter, seconds since the epoch",
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const c of entries()) this.set(labelsOf(c), Date.parse(c.notAfter) / 1000);
      },
    });
  }

  attach(source: CertificateSource): void {
    this.source = source;
  }

  private entries(): InventoryEntry[] {
    return this.source ? this.source.list(this.source.now()) : [];
  }
}

function labelsOf(c: InventoryEntry): Record<string, string> {
  return { role: c.role, subject: c.subject, fingerprint_sha256: c.fingerprint256 };
}
