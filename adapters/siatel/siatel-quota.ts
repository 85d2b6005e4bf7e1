import { TramiteError } from '../../src/core/errors.js';
import { nextRomeMidnight, openAdapterStore, romeMidnight, type AdapterDatabase, type LegacyStoreMigration } from '../sdk/index.js';

/** SIATEL's client-side limits: an operator who exceeds them is blocked by the Agenzia's alarms. */
export interface SiatelLimits {
  /** Queries in any rolling minute (SIATEL: 60). */
  readonly queriesPerMinute: number;
  /** Codici fiscali per calendar day, Italian time (SIATEL: 500). */
  readonly codesPerDay: number;
  /**
   * How much longer than a minute the client's window is (ms). SIATEL counts a query when it arrives,
   * the client when it admits it: without a margin, two queries with different latencies could land
   * 61 in SIATEL's minute. Default 1000.
   */
  readonly marginMs?: number;
}

export const SIATEL_LIMITS: SiatelLimits = { queriesPerMinute: 60, codesPerDay: 500 };

/**
 * Time for the quota: now, and a way to wait. The demo runs a faster clock (an hour in seconds) with the
 * same limits logic; tests run a virtual one.
 */
export interface QuotaTime {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export const realTime: QuotaTime = { now: () => new Date(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

/** What an operator's quota looks like now (shown in the adapter's status). */
export interface QuotaStatus {
  readonly operator: string;
  readonly queriesLastMinute: number;
  readonly codesToday: number;
  /** Requests waiting for the quota, and the codici fiscali they carry. */
  readonly queuedRequests: number;
  readonly queuedCodes: number;
  readonly limits: SiatelLimits;
}

const MIGRATIONS: readonly LegacyStoreMigration[] = [
  `CREATE TABLE IF NOT EXISTS usage (operator TEXT NOT NULL, at_ms INTEGER NOT NULL, codes INTEGER NOT NULL);
   CREATE INDEX IF NOT EXISTS usage_by_operator ON usage (operator, at_ms)`,
];

/**
 * The per-operator quota of SIATEL queries: a request that would exceed a limit is queued (in order,
 * per operator) until the limit allows it, never refused. Usage is kept in SQLite, so a restart does
 * not hand an operator a fresh day.
 */
export class SiatelQuota {
  private readonly db: AdapterDatabase;
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly waiting = new Map<string, { requests: number; codes: number }>();

  constructor(
    file: string,
    readonly limits: SiatelLimits = SIATEL_LIMITS,
    private readonly time: QuotaTime = realTime,
  ) {
    // No fsync per commit: usage is written at every query, and losing the last rows on a power cut only lets a query or two more through.
    this.db = openAdapterStore(file, MIGRATIONS, { durability: 'normal' });
  }

  /**
   * Resolves when `operator` may send one query about `codes` codici fiscali, and counts it. Requests of
   * one operator are admitted in the order they were made.
   */
  acquire(operator: string, codes = 1): Promise<void> {
    if (!Number.isInteger(codes) || codes < 1 || codes > this.limits.codesPerDay) {
      return Promise.reject(
        new TramiteError('TRAMITE_ERR_BAD_REQUEST', `a query carries 1 to ${this.limits.codesPerDay} codici fiscali, not ${codes}`),
      );
    }
    const w = this.waiting.get(operator) ?? { requests: 0, codes: 0 };
    this.waiting.set(operator, { requests: w.requests + 1, codes: w.codes + codes });
    const turn = (this.queues.get(operator) ?? Promise.resolve()).then(async () => {
      try {
        for (;;) {
          const wait = this.waitBefore(operator, codes);
          if (wait === 0) break;
          await this.time.sleep(wait);
        }
        this.db.prepare('INSERT INTO usage (operator, at_ms, codes) VALUES (?, ?, ?)').run(operator, this.time.now().getTime(), codes);
      } finally {
        // Admitted or given up (a sleep that ends with the adapter): no longer waiting either way.
        const left = this.waiting.get(operator)!;
        this.waiting.set(operator, { requests: left.requests - 1, codes: left.codes - codes });
      }
    });
    this.queues.set(
      operator,
      turn.catch(() => undefined),
    );
    return turn;
  }

  status(operator: string): QuotaStatus {
    const now = this.time.now().getTime();
    const w = this.waiting.get(operator) ?? { requests: 0, codes: 0 };
    return {
      operator,
      queriesLastMinute: this.queriesSince(operator, now - 60_000),
      codesToday: this.codesSince(operator, romeMidnight(now)),
      queuedRequests: w.requests,
      queuedCodes: w.codes,
      limits: this.limits,
    };
  }

  /** When the operator's next one-code query would be admitted, and which limit holds it (if any). */
  nextAdmission(operator: string): { at: Date; limit: 'minute' | 'day' | 'none' } {
    const now = this.time.now().getTime();
    const { minute, day } = this.waits(operator, 1, now);
    const wait = Math.max(minute, day);
    return { at: new Date(now + wait), limit: wait === 0 ? 'none' : day >= minute ? 'day' : 'minute' };
  }

  /** Drops usage older than two days (only the current minute and day matter). */
  prune(): void {
    this.db.prepare('DELETE FROM usage WHERE at_ms < ?').run(this.time.now().getTime() - 2 * 86_400_000);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Milliseconds to wait before a query of `codes` fits both limits (0: now). */
  private waitBefore(operator: string, codes: number): number {
    const { minute, day } = this.waits(operator, codes, this.time.now().getTime());
    return Math.max(minute, day);
  }

  /** The wait each limit imposes on a query of `codes` at `now`. */
  private waits(operator: string, codes: number, now: number): { minute: number; day: number } {
    let wait = 0;
    const windowMs = 60_000 + (this.limits.marginMs ?? 1000);
    const inMinute = this.db
      .prepare('SELECT at_ms FROM usage WHERE operator = ? AND at_ms > ? ORDER BY at_ms')
      .all(operator, now - windowMs) as Array<{ at_ms: number }>;
    if (inMinute.length + 1 > this.limits.queriesPerMinute) {
      // The oldest query that must leave the window before this one fits.
      const oldest = inMinute[inMinute.length + 1 - this.limits.queriesPerMinute - 1]!;
      wait = Math.max(wait, oldest.at_ms + windowMs - now + 1);
    }
    const day = this.codesSince(operator, romeMidnight(now)) + codes > this.limits.codesPerDay ? nextRomeMidnight(now) - now : 0;
    return { minute: wait, day };
  }

  private queriesSince(operator: string, fromMs: number): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM usage WHERE operator = ? AND at_ms > ?').get(operator, fromMs) as { n: number }).n;
  }

  private codesSince(operator: string, fromMs: number): number {
    return (
      this.db.prepare('SELECT COALESCE(SUM(codes), 0) AS n FROM usage WHERE operator = ? AND at_ms >= ?').get(operator, fromMs) as {
        n: number;
      }
    ).n;
  }
}
