import Database from 'better-sqlite3';
import { TramiteError } from '../../src/core/errors.js';

/** SIATEL's client-side limits: an operator who exceeds them is blocked by the Agenzia's alarms. */
export interface SiatelLimits {
  /** Queries in any rolling minute (SIATEL: 60). */
  readonly queriesPerMinute: number;
  /** Codici fiscali per calendar day, Italian time (SIATEL: 500). */
  readonly codesPerDay: number;
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

/**
 * The per-operator quota of SIATEL queries: a request that would exceed a limit is queued (in order,
 * per operator) until the limit allows it, never refused. Usage is kept in SQLite, so a restart does
 * not hand an operator a fresh day.
 */
export class SiatelQuota {
  private readonly db: Database.Database;
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly waiting = new Map<string, { requests: number; codes: number }>();

  constructor(
    file: string,
    readonly limits: SiatelLimits = SIATEL_LIMITS,
    private readonly time: QuotaTime = realTime,
  ) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS usage (operator TEXT NOT NULL, at_ms INTEGER NOT NULL, codes INTEGER NOT NULL)');
    this.db.exec('CREATE INDEX IF NOT EXISTS usage_by_operator ON usage (operator, at_ms)');
  }

  /**
   * Resolves when `operator` may send one query about `codes` codici fiscali, and counts it. Requests of
   * one operator are admitted in the order they were made.
   */
  acquire(operator: string, codes = 1): Promise<void> {
    if (!Number.isInteger(codes) || codes < 1 || codes > this.limits.codesPerDay) {
      return Promise.reject(new TramiteError('TRAMITE_ERR_BAD_REQUEST', `a query carries 1 to ${this.limits.codesPerDay} codici fiscali, not ${codes}`));
    }
    const w = this.waiting.get(operator) ?? { requests: 0, codes: 0 };
    this.waiting.set(operator, { requests: w.requests + 1, codes: w.codes + codes });
    const turn = (this.queues.get(operator) ?? Promise.resolve()).then(async () => {
      for (;;) {
        const wait = this.waitBefore(operator, codes);
        if (wait === 0) break;
        await this.time.sleep(wait);
      }
      this.db.prepare('INSERT INTO usage (operator, at_ms, codes) VALUES (?, ?, ?)').run(operator, this.time.now().getTime(), codes);
      const left = this.waiting.get(operator)!;
      this.waiting.set(operator, { requests: left.requests - 1, codes: left.codes - codes });
    });
    this.queues.set(operator, turn.catch(() => undefined));
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

  /** Drops usage older than two days (only the current minute and day matter). */
  prune(): void {
    this.db.prepare('DELETE FROM usage WHERE at_ms < ?').run(this.time.now().getTime() - 2 * 86_400_000);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Milliseconds to wait before a query of `codes` fits both limits (0: now). */
  private waitBefore(operator: string, codes: number): number {
    const now = this.time.now().getTime();
    let wait = 0;
    const inMinute = this.db.prepare('SELECT at_ms FROM usage WHERE operator = ? AND at_ms > ? ORDER BY at_ms').all(operator, now - 60_000) as Array<{ at_ms: number }>;
    if (inMinute.length + 1 > this.limits.queriesPerMinute) {
      // The oldest query that must leave the window before this one fits.
      const oldest = inMinute[inMinute.length + 1 - this.limits.queriesPerMinute - 1]!;
      wait = Math.max(wait, oldest.at_ms + 60_000 - now + 1);
    }
    const midnight = romeMidnight(now);
    if (this.codesSince(operator, midnight) + codes > this.limits.codesPerDay) wait = Math.max(wait, nextRomeMidnight(now) - now);
    return wait;
  }

  private queriesSince(operator: string, fromMs: number): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM usage WHERE operator = ? AND at_ms > ?').get(operator, fromMs) as { n: number }).n;
  }

  private codesSince(operator: string, fromMs: number): number {
    return (this.db.prepare('SELECT COALESCE(SUM(codes), 0) AS n FROM usage WHERE operator = ? AND at_ms >= ?').get(operator, fromMs) as { n: number }).n;
  }
}

/** The instant the Italian calendar day containing `ms` began. */
function romeMidnight(ms: number): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Rome', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  const sinceMidnight = (Number(parts['hour']) * 3600 + Number(parts['minute']) * 60 + Number(parts['second'])) * 1000 + (ms % 1000);
  return ms - sinceMidnight;
}

function nextRomeMidnight(ms: number): number {
  // 25 hours past today's midnight is always inside tomorrow (DST days last 23 or 25 hours).
  return romeMidnight(romeMidnight(ms) + 25 * 3_600_000);
}
