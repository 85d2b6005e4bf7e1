import type { InventoryEntry } from './inventory-entry.js';

/** A certificate this close to its notAfter gets a warning in the log; /health counts them. */
export const EXPIRY_WARNING_DAYS = 30;
/** This close, an error: days are left to renew it, not weeks. */
export const EXPIRY_ALARM_DAYS = 7;

const DAY_MS = 86_400_000;

/**
 * How urgent a certificate is at `now`: `expired` (notAfter has passed), `within7` (it passes within
 * 7 × 24 h), `within30`, or `valid`. Measured in milliseconds to notAfter, not in floored days, so a
 * certificate with 7 days and 3 hours left is not yet within 7 days.
 */
export type ExpiryBand = 'expired' | 'within7' | 'within30' | 'valid';

export function expiryBand(notAfter: string, now: Date): ExpiryBand {
  const left = new Date(notAfter).getTime() - now.getTime();
  if (left < 0) return 'expired';
  if (left <= EXPIRY_ALARM_DAYS * DAY_MS) return 'within7';
  if (left <= EXPIRY_WARNING_DAYS * DAY_MS) return 'within30';
  return 'valid';
}

/** Whether the certificate's notAfter is at most `days` days away (or past). */
export function expiresWithin(notAfter: string, days: number, now: Date): boolean {
  return new Date(notAfter).getTime() - now.getTime() <= days * DAY_MS;
}

/** The inventory in numbers, each certificate counted once however many roles it has. */
export interface ExpirySummary {
  /** Distinct certificates (by SHA-256 fingerprint). */
  readonly total: number;
  readonly expired: number;
  /** Not expired, and expiring within 30 days (those within 7 included). */
  readonly within30Days: number;
  /** Not expired, and expiring within 7 days. */
  readonly within7Days: number;
  /** The certificate that expires first (expired ones included), absent for an empty inventory. */
  readonly soonest?: Pick<InventoryEntry, 'role' | 'subject' | 'notAfter' | 'daysToExpiry' | 'fingerprint256'>;
}

export function summarizeExpiry(entries: readonly InventoryEntry[], now: Date): ExpirySummary {
  const distinct = new Map<string, InventoryEntry>();
  for (const e of entries) if (!distinct.has(e.fingerprint256)) distinct.set(e.fingerprint256, e);
  let expired = 0;
  let within30Days = 0;
  let within7Days = 0;
  let soonest: InventoryEntry | undefined;
  for (const e of distinct.values()) {
    const band = expiryBand(e.notAfter, now);
    if (band === 'expired') expired++;
    if (band === 'within7') within7Days++;
    if (band === 'within7' || band === 'within30') within30Days++;
    if (!soonest || e.notAfter < soonest.notAfter) soonest = e;
  }
  return {
    total: distinct.size,
    expired,
    within30Days,
    within7Days,
    ...(soonest
      ? {
          soonest: {
            role: soonest.role,
            subject: soonest.subject,
            notAfter: soonest.notAfter,
            daysToExpiry: soonest.daysToExpiry,
            fingerprint256: soonest.fingerprint256,
          },
        }
      : {}),
  };
}
