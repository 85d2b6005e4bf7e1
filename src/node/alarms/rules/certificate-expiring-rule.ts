import type { InventoryEntry } from '../../../crypto/certificate-inventory/inventory-entry.js';
import type { AlarmRuleCheck } from './alarm-rule-check.js';

/** Under this many days left (or expired) the alarm is critical. */
const CRITICAL_DAYS = 7;

/**
 * `certificate-expiring`: a certificate of the node's inventory (the one `tramite certs` and the
 * metrics show) with fewer than `days` days left. One alarm per role and fingerprint: the same
 * certificate in two roles is two things to fix.
 */
export function certificateExpiringRule(inventory: { list(now: Date): InventoryEntry[] }, days: number): AlarmRuleCheck {
  return {
    rule: 'certificate-expiring',
    async check(now) {
      return inventory
        .list(now)
        .filter((c) => c.daysToExpiry < days)
        .map((c) => ({
          rule: 'certificate-expiring' as const,
          subject: `${c.role}: ${c.subject} (${c.fingerprint256.slice(0, 11)})`,
          severity: c.daysToExpiry < CRITICAL_DAYS ? ('critical' as const) : ('warning' as const),
          summary:
            c.daysToExpiry < 0
              ? `certificato ${c.subject} (${c.role}) scaduto il ${c.notAfter.slice(0, 10)}`
              : `certificato ${c.subject} (${c.role}) scade tra ${c.daysToExpiry} giorni (${c.notAfter.slice(0, 10)})`,
          facts: {
            role: c.role,
            subject: c.subject,
            source: c.source,
            notAfter: c.notAfter,
            daysToExpiry: c.daysToExpiry,
            fingerprint256: c.fingerprint256,
          },
        }));
    },
  };
}
