import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { EXPIRY_ALARM_DAYS, EXPIRY_WARNING_DAYS, expiryBand, type ExpiryBand } from '../../crypto/certificate-inventory/expiry-bands.js';
import type { InventoryEntry } from '../../crypto/certificate-inventory/inventory-entry.js';
import type { CertificateInventory } from './certificate-inventory.js';

const DAY_MS = 86_400_000;

/**
 * Tells the node's log about certificates close to expiry: at start, then once a day. Within 30 days a
 * warning, within 7 days (or expired) an error, each certificate at most once per band per UTC day
 * however often it is checked — never per message — with every role it has on one line.
 */
export class ExpiryWarnings {
  private timer: NodeJS.Timeout | undefined;
  /** `<day> <band> <fingerprint>` of what today's lines already said. */
  private said = new Set<string>();

  constructor(
    private readonly deps: {
      readonly inventory: CertificateInventory;
      readonly log: Pick<Logger, 'warn' | 'error'>;
      readonly clock: Clock;
      /** Between two checks; a day unless a test says otherwise. */
      readonly everyMs?: number;
    },
  ) {}

  /** Checks now, then every day; the timer keeps no process alive. */
  start(): void {
    this.check();
    this.timer ??= setInterval(() => this.check(), this.deps.everyMs ?? DAY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Logs what has not been said today; returns how many lines it wrote. */
  check(): number {
    const now = this.deps.clock.now();
    const day = now.toISOString().slice(0, 10);
    // Yesterday's lines do not keep today's from being written.
    this.said = new Set([...this.said].filter((key) => key.startsWith(day)));
    const byCertificate = new Map<string, InventoryEntry[]>();
    for (const entry of this.deps.inventory.list(now)) {
      const roles = byCertificate.get(entry.fingerprint256);
      if (roles) roles.push(entry);
      else byCertificate.set(entry.fingerprint256, [entry]);
    }
    let written = 0;
    for (const [fingerprint, entries] of byCertificate) {
      const first = entries[0]!;
      const band = expiryBand(first.notAfter, now);
      if (band === 'valid') continue;
      const key = `${day} ${band} ${fingerprint}`;
      if (this.said.has(key)) continue;
      this.said.add(key);
      this.say(band, entries);
      written++;
    }
    return written;
  }

  private say(band: Exclude<ExpiryBand, 'valid'>, entries: readonly InventoryEntry[]): void {
    const first = entries[0]!;
    const certificate = {
      subject: first.subject,
      issuer: first.issuer,
      serial: first.serial,
      notAfter: first.notAfter,
      daysToExpiry: first.daysToExpiry,
      fingerprint256: first.fingerprint256,
      roles: entries.map((e) => e.role),
      sources: [...new Set(entries.map((e) => e.source))],
    };
    const line = { event: 'certificate-expiry', band, certificate };
    if (band === 'within30') this.deps.log.warn(line, `certificate expires within ${EXPIRY_WARNING_DAYS} days: renew it`);
    else if (band === 'within7') this.deps.log.error(line, `certificate expires within ${EXPIRY_ALARM_DAYS} days: renew it now`);
    else this.deps.log.error(line, 'certificate has expired: replace it');
  }
}
