import { TramiteError } from '../../src/core/errors.js';
import {
  nextRomeMidnight,
  romeMidnight,
  type AdapterStore,
  type AdapterStoreOpener,
  type StoreMigration,
  type StoreQueries,
} from '../sdk/index.js';

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
  /**
   * Real milliseconds before an Italian midnight in which no query is admitted (default 1000): a query
   * admitted then would arrive after midnight, where SIATEL counts it against the next day — a day the
   * quota may fill all the same. Real time, because latency is: on a demo's fast clock it is that many
   * real ms (at most a quarter of the fast day). The query client also gives every query a Scadenza half
   * this margin before its day ends (arrivalWindowMs), so one delayed beyond it is refused, not counted then.
   */
  readonly dayEndMarginMs?: number;
}

export const SIATEL_LIMITS: SiatelLimits = { queriesPerMinute: 60, codesPerDay: 500 };

/**
 * Time for the quota: now, and a way to wait. The demo runs a faster clock (an hour in seconds) with the
 * same limits logic; tests run a virtual one.
 */
export interface QuotaTime {
  now(): Date;
  sleep(ms: number): Promise<void>;
  /** How many of this clock's milliseconds pass in a real one: 1 (the default), or a demo's clockFactor. */
  readonly factor?: number;
}

export const realTime: QuotaTime = { now: () => new Date(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

const DAY_MS = 86_400_000;

/** What an operator's quota looks like now (shown in the adapter's status). */
export interface QuotaStatus {
  readonly operator: string;
  readonly queriesLastMinute: number;
  readonly codesToday: number;
  /** Requests of this process waiting for the quota, and the codici fiscali they carry. */
  readonly queuedRequests: number;
  readonly queuedCodes: number;
  readonly limits: SiatelLimits;
}

/** The store's name: on SQLite the file `siatel-quota.sqlite` the adapter has always used. */
export const QUOTA_STORE = 'siatel-quota';

export const QUOTA_MIGRATIONS: readonly StoreMigration[] = [
  {
    sqlite: `CREATE TABLE IF NOT EXISTS usage (operator TEXT NOT NULL, at_ms INTEGER NOT NULL, codes INTEGER NOT NULL);
   CREATE INDEX IF NOT EXISTS usage_by_operator ON usage (operator, at_ms)`,
    postgres: `CREATE TABLE usage (operator TEXT NOT NULL, at_ms BIGINT NOT NULL, codes INTEGER NOT NULL);
   CREATE INDEX usage_by_operator ON usage (operator, at_ms)`,
  },
];

/**
 * The per-operator quota of SIATEL queries: a request that would exceed a limit is queued (in order,
 * per operator) until the limit allows it, never refused. Usage is kept in the adapter's store, so a
 * restart does not hand an operator a fresh day, and every node process sharing the store shares the
 * limits: an admission is one transaction under the operator's lock that reads the window and counts
 * the query only if it fits.
 */
export class SiatelQuota {
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly waiting = new Map<string, { requests: number; codes: number }>();

  private constructor(
    private readonly store: AdapterStore,
    readonly limits: SiatelLimits,
    private readonly time: QuotaTime,
  ) {}

  static async open(openStore: AdapterStoreOpener, limits: SiatelLimits = SIATEL_LIMITS, time: QuotaTime = realTime): Promise<SiatelQuota> {
    // No fsync per commit: usage is written at every query, and losing the last rows on a power cut only lets a query or two more through.
    return new SiatelQuota(await openStore(QUOTA_STORE, QUOTA_MIGRATIONS, { durability: 'normal' }), limits, time);
  }

  /**
   * Resolves when `operator` may send one query about `codes` codici fiscali, and counts it; with the
   * instant it was counted at (this quota's clock). Requests of one operator are admitted in the order
   * they were made in this process; across processes, in the order they find the operator's lock.
   */
  acquire(operator: string, codes = 1): Promise<Date> {
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
          const { wait, at } = await this.admit(operator, codes);
          if (wait === 0) return new Date(at);
          // The lock is left while sleeping: other processes' queries of the operator are counted meanwhile, and re-read on waking.
          await this.time.sleep(wait);
        }
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

  async status(operator: string): Promise<QuotaStatus> {
    const now = this.time.now().getTime();
    const w = this.waiting.get(operator) ?? { requests: 0, codes: 0 };
    return {
      operator,
      queriesLastMinute: await this.queriesSince(this.store, operator, now - 60_000),
      codesToday: await this.codesSince(this.store, operator, romeMidnight(now)),
      queuedRequests: w.requests,
      queuedCodes: w.codes,
      limits: this.limits,
    };
  }

  /** When the operator's next one-code query would be admitted, and which limit holds it (if any). */
  async nextAdmission(operator: string): Promise<{ at: Date; limit: 'minute' | 'day' | 'none' }> {
    const now = this.time.now().getTime();
    const { minute, day } = await this.waits(this.store, operator, 1, now);
    const wait = Math.max(minute, day);
    return { at: new Date(now + wait), limit: wait === 0 ? 'none' : day >= minute ? 'day' : 'minute' };
  }

  /**
   * Real milliseconds from now within which a query admitted at `admittedAt` (an instant `acquire`
   * answered) must reach SIATEL to count on the day the quota counted it: until half the day-end margin
   * before that day's midnight — the other half is for the hop behind the Agenzia's last check of the
   * Scadenza, and for clocks that differ a little. At admission it is at least that half.
   */
  arrivalWindowMs(admittedAt: Date): number {
    const lastArrival = nextRomeMidnight(admittedAt) - this.dayEndMarginClockMs() / 2;
    return (lastArrival - this.time.now().getTime()) / (this.time.factor ?? 1);
  }

  /** Drops usage older than two days (only the current minute and day matter). */
  async prune(): Promise<void> {
    await this.store.run('DELETE FROM usage WHERE at_ms < ?', [this.time.now().getTime() - 2 * DAY_MS]);
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  /**
   * One try at admitting a query: under the operator's lock, the window is read and the query counted
   * if it fits both limits (0), or left out with the milliseconds to wait before trying again.
   */
  private admit(operator: string, codes: number): Promise<{ wait: number; at: number }> {
    return this.store.transaction(async (tx) => {
      await tx.lock(`operator:${operator}`);
      // Read after the lock: the time spent waiting for it counts.
      const now = this.time.now().getTime();
      const { minute, day } = await this.waits(tx, operator, codes, now);
      const wait = Math.max(minute, day);
      if (wait === 0) await tx.run('INSERT INTO usage (operator, at_ms, codes) VALUES (?, ?, ?)', [operator, now, codes]);
      return { wait, at: now };
    });
  }

  /** The wait each limit imposes on a query of `codes` at `now`. */
  private async waits(q: StoreQueries, operator: string, codes: number, now: number): Promise<{ minute: number; day: number }> {
    let wait = 0;
    const windowMs = 60_000 + (this.limits.marginMs ?? 1000);
    const inMinute = await q.all<{ at_ms: number }>('SELECT at_ms FROM usage WHERE operator = ? AND at_ms > ? ORDER BY at_ms', [
      operator,
      now - windowMs,
    ]);
    if (inMinute.length + 1 > this.limits.queriesPerMinute) {
      // The oldest query that must leave the window before this one fits.
      const oldest = inMinute[inMinute.length + 1 - this.limits.queriesPerMinute - 1]!;
      wait = Math.max(wait, oldest.at_ms + windowMs - now + 1);
    }
    const dayEnd = nextRomeMidnight(now);
    const full = (await this.codesSince(q, operator, romeMidnight(now))) + codes > this.limits.codesPerDay;
    return { minute: wait, day: full || now >= dayEnd - this.dayEndMarginClockMs() ? dayEnd - now : 0 };
  }

  /** dayEndMarginMs on this quota's clock: real ms × the clock's factor, at most a quarter of a day. */
  private dayEndMarginClockMs(): number {
    return Math.min((this.limits.dayEndMarginMs ?? 1000) * (this.time.factor ?? 1), DAY_MS / 4);
  }

  private async queriesSince(q: StoreQueries, operator: string, fromMs: number): Promise<number> {
    const row = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM usage WHERE operator = ? AND at_ms > ?', [operator, fromMs]);
    return row!.n;
  }

  private async codesSince(q: StoreQueries, operator: string, fromMs: number): Promise<number> {
    const row = await q.get<{ n: number }>('SELECT COALESCE(SUM(codes), 0) AS n FROM usage WHERE operator = ? AND at_ms >= ?', [
      operator,
      fromMs,
    ]);
    return row!.n;
  }
}
