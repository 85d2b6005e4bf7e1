import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QUOTA_MIGRATIONS, QUOTA_STORE, SiatelQuota, type QuotaTime, type SiatelLimits } from '../../../adapters/siatel/siatel-quota.js';
import type { AdapterStoreOpener } from '../../../adapters/sdk/index.js';
import { newStorePlace, STORE_ENGINES } from '../store-engines.js';

/** Virtual time: sleeping moves the clock, at once; every admission is recorded with its instant. */
class VirtualTime implements QuotaTime {
  constructor(public t: number) {}
  now = () => new Date(this.t);
  sleep = async (ms: number) => {
    this.t += ms;
  };
}

/** Virtual time whose sleeps wait until the test lets them go, to look at the queue meanwhile. */
class GatedTime implements QuotaTime {
  private readonly sleepers: Array<() => void> = [];
  constructor(public t: number) {}
  now = () => new Date(this.t);
  sleep = (ms: number) =>
    new Promise<void>((resolve) =>
      this.sleepers.push(() => {
        this.t += ms;
        resolve();
      }),
    );
  get sleeping(): number {
    return this.sleepers.length;
  }
  wakeAll(): void {
    for (const s of this.sleepers.splice(0)) s();
  }
}

const NOON_ROME = Date.parse('2026-11-23T11:00:00Z');
const flush = () => new Promise((r) => setImmediate(r));

/** Waits (real time) until `probe` holds: the store answers asynchronously. */
async function until(probe: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.each(STORE_ENGINES)('the SIATEL quota on %s', (engine) => {
  const open = (limits?: SiatelLimits, time?: QuotaTime, openStore: AdapterStoreOpener = newStorePlace(engine).openStore) =>
    SiatelQuota.open(openStore, limits, time);

  it('admits 60 queries in a minute and queues the 61st until the first leaves the window', async () => {
    const time = new VirtualTime(NOON_ROME);
    const quota = await open(undefined, time);
    const at: number[] = [];
    await Promise.all(Array.from({ length: 61 }, () => quota.acquire('op1').then(() => at.push(time.t))));
    expect(at.slice(0, 60).every((t) => t === NOON_ROME)).toBe(true);
    // The window is a minute plus a safety margin (1 s by default): SIATEL counts at arrival.
    expect(at[60]).toBe(NOON_ROME + 61_001);
    await quota.close();
  });

  it('admits 500 codici fiscali a day and queues the rest until Italian midnight, also across a restart', async () => {
    const time = new VirtualTime(NOON_ROME);
    const place = newStorePlace(engine);
    const quota = await open(undefined, time, place.openStore);
    await quota.acquire('op1', 400);
    await quota.close();
    const again = await open(undefined, time, place.openStore);
    expect((await again.status('op1')).codesToday).toBe(400);
    await again.acquire('op1', 100);
    await again.acquire('op1', 1);
    // 2026-11-24 00:00 in Rome is 2026-11-23 23:00 UTC.
    expect(time.t).toBe(Date.parse('2026-11-23T23:00:00Z'));
    expect((await again.status('op1')).codesToday).toBe(1);
    await again.close();
  });

  it('shows what waits, keeps each operator in order, and lets another operator through meanwhile', async () => {
    const time = new GatedTime(NOON_ROME);
    const quota = await open({ queriesPerMinute: 2, codesPerDay: 500 }, time);
    const order: string[] = [];
    const done = ['a1', 'a2', 'a3', 'a4'].map((n) => quota.acquire('opA').then(() => order.push(n)));
    await until(() => time.sleeping === 1);
    expect(await quota.status('opA')).toMatchObject({ queriesLastMinute: 2, queuedRequests: 2, queuedCodes: 2 });
    await quota.acquire('opB');
    expect(await quota.status('opB')).toMatchObject({ queriesLastMinute: 1, queuedRequests: 0 });
    while (order.length < 4) {
      time.wakeAll();
      await flush();
    }
    await Promise.all(done);
    expect(order).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect((await quota.status('opA')).queuedRequests).toBe(0);
    await quota.close();
  });

  it("admits nothing in a day's last real second: a query asked then waits for midnight, as SIATEL would count it on arrival", async () => {
    const MIDNIGHT = Date.parse('2026-11-23T23:00:00Z'); // 2026-11-24 00:00 in Rome
    const time = new VirtualTime(MIDNIGHT - 1_001);
    const quota = await open(undefined, time);
    expect(await quota.acquire('op1')).toEqual(new Date(MIDNIGHT - 1_001)); // just outside the margin
    // A query admitted then must arrive by half the margin before midnight: 501 ms from now.
    expect(quota.arrivalWindowMs(new Date(MIDNIGHT - 1_001))).toBe(501);
    time.t = MIDNIGHT - 1_000;
    expect(await quota.nextAdmission('op1')).toEqual({ at: new Date(MIDNIGHT), limit: 'day' });
    expect(await quota.acquire('op1')).toEqual(new Date(MIDNIGHT));
    expect(time.t).toBe(MIDNIGHT);
    await quota.close();
  });

  it("on a demo's fast clock, keeps the margin before midnight in real time (latency is real), at most a quarter of the day", async () => {
    const MIDNIGHT = Date.parse('2026-11-23T23:00:00Z');
    // ×60: the last real second is the last fast minute; a fast-clock second before midnight is a real 17 ms.
    const fast = Object.assign(new VirtualTime(MIDNIGHT - 61_000), { factor: 60 });
    const quota = await open(undefined, fast);
    expect(await quota.acquire('op1')).toEqual(new Date(MIDNIGHT - 61_000));
    expect(quota.arrivalWindowMs(new Date(MIDNIGHT - 61_000))).toBeCloseTo((61_000 - 30_000) / 60, 6);
    fast.t = MIDNIGHT - 59_000;
    expect(await quota.acquire('op1')).toEqual(new Date(MIDNIGHT));
    await quota.close();
    // ×100,000 a real second is more than a day: the margin is six fast hours.
    const faster = Object.assign(new VirtualTime(MIDNIGHT - 6 * 3_600_000 - 1), { factor: 100_000 });
    const again = await open(undefined, faster);
    expect(await again.acquire('op2')).toEqual(new Date(MIDNIGHT - 6 * 3_600_000 - 1));
    faster.t = MIDNIGHT - 6 * 3_600_000;
    expect(await again.acquire('op2')).toEqual(new Date(MIDNIGHT));
    await again.close();
  });

  it('counts an Italian day that starts at midnight Rome time, also on the day the clocks go back', async () => {
    // 2026-10-25: CEST ends; midnight in Rome is 2026-10-24T22:00Z. 500 codes used at 00:30 that day.
    const time = new VirtualTime(Date.parse('2026-10-24T22:30:00Z'));
    const quota = await open(undefined, time);
    await quota.acquire('op1', 500);
    time.t = Date.parse('2026-10-25T12:00:00Z');
    expect((await quota.status('op1')).codesToday).toBe(500);
    await quota.acquire('op1', 1);
    expect(time.t).toBe(Date.parse('2026-10-25T23:00:00Z')); // next midnight, CET
    await quota.close();
  });

  it('refuses a query that could never fit a day', async () => {
    const quota = await open(undefined, new VirtualTime(NOON_ROME));
    await expect(quota.acquire('op1', 501)).rejects.toMatchObject({ code: 'TRAMITE_ERR_BAD_REQUEST' });
    await expect(quota.acquire('op1', 0)).rejects.toMatchObject({ code: 'TRAMITE_ERR_BAD_REQUEST' });
    await quota.close();
  });

  it('never lets any rolling minute or Italian day exceed the limits, whatever the arrivals (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 5 * 60_000 }), codes: fc.integer({ min: 1, max: 40 }) }), {
          minLength: 1,
          maxLength: 80,
        }),
        fc.integer({ min: 2, max: 12 }),
        async (arrivals, perMinute) => {
          const limits = { queriesPerMinute: perMinute, codesPerDay: 120 };
          const time = new VirtualTime(Date.parse('2026-03-28T22:00:00Z')); // across the spring DST change in Rome
          const quota = await open(limits, time);
          const admitted: Array<{ at: number; codes: number; i: number }> = [];
          let arrival = time.t;
          const pending: Promise<unknown>[] = [];
          for (const [i, a] of arrivals.entries()) {
            arrival += a.gapMs;
            if (time.t < arrival) time.t = arrival;
            pending.push(quota.acquire('op', a.codes).then(() => admitted.push({ at: time.t, codes: a.codes, i })));
          }
          await Promise.all(pending);
          await quota.close();
          expect(admitted.map((x) => x.i)).toEqual(arrivals.map((_, i) => i));
          for (const x of admitted) {
            expect(admitted.filter((y) => y.at > x.at - 61_000 && y.at <= x.at).length).toBeLessThanOrEqual(perMinute);
          }
          const day = (ms: number) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Rome' }).format(new Date(ms));
          const perDay = new Map<string, number>();
          for (const x of admitted) perDay.set(day(x.at), (perDay.get(day(x.at)) ?? 0) + x.codes);
          for (const total of perDay.values()) expect(total).toBeLessThanOrEqual(120);
        },
      ),
      // Each run opens a store of its own: fewer on PostgreSQL, where that is a schema and its migration.
      { numRuns: engine === 'sqlite' ? 60 : 15 },
    );
  });

  // PostgreSQL only: on SQLite, stores sharing a file in one process would wait for each other's lock on
  // the event loop they share (a SQLite file's processes are separate, and its writer lock serializes them anyway).
  it.runIf(engine === 'postgres')(
    'holds the limits across processes: three quotas on one store admitting for one operator at once',
    async () => {
      const place = newStorePlace(engine);
      const limits = { queriesPerMinute: 5, codesPerDay: 40 };
      // One clock for the three processes (hosts agree on the time); a sleep lets the others run, then ends at its instant.
      const time: QuotaTime & { t: number } = {
        t: Date.parse('2026-11-23T21:30:00Z'), // 22:30 in Rome: the day limit is met, then a new day starts
        now: () => new Date(time.t),
        sleep: async (ms) => {
          const until = time.t + ms;
          await new Promise((r) => setTimeout(r, 2));
          time.t = Math.max(time.t, until);
        },
      };
      const quotas = await Promise.all([1, 2, 3].map(() => open(limits, time, place.openStore)));
      const codes = [1, 3, 2, 1, 4, 1, 2, 5, 1, 3, 1, 2];
      await Promise.all(quotas.flatMap((q) => codes.map((c) => q.acquire('op', c))));
      await Promise.all(quotas.map((q) => q.close()));
      const store = await place.openStore(QUOTA_STORE, QUOTA_MIGRATIONS);
      const rows = await store.all<{ at_ms: number; codes: number }>("SELECT at_ms, codes FROM usage WHERE operator = 'op' ORDER BY at_ms");
      await store.close();
      expect(rows).toHaveLength(3 * codes.length);
      // Every window of a minute (plus the margin) that ends at an admission holds at most the limit.
      for (const x of rows) expect(rows.filter((y) => y.at_ms > x.at_ms - 61_000 && y.at_ms <= x.at_ms).length).toBeLessThanOrEqual(5);
      const day = (ms: number) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Rome' }).format(new Date(ms));
      const perDay = new Map<string, number>();
      for (const x of rows) perDay.set(day(x.at_ms), (perDay.get(day(x.at_ms)) ?? 0) + x.codes);
      expect([...perDay.values()].every((total) => total <= 40)).toBe(true);
      expect(perDay.size).toBeGreaterThan(1);
    },
  );
});

describe('the SIATEL quota on a node upgraded in place', () => {
  it('opens the siatel-quota.sqlite written by the previous version and counts its usage', async () => {
    const place = newStorePlace('sqlite');
    const old = new Database(join(place.dataDir, 'siatel-quota.sqlite'));
    old.exec(`CREATE TABLE IF NOT EXISTS usage (operator TEXT NOT NULL, at_ms INTEGER NOT NULL, codes INTEGER NOT NULL);
   CREATE INDEX IF NOT EXISTS usage_by_operator ON usage (operator, at_ms)`);
    old.pragma('user_version = 1');
    old.prepare('INSERT INTO usage (operator, at_ms, codes) VALUES (?, ?, ?)').run('op1', NOON_ROME - 10_000, 499);
    old.close();
    const time = new VirtualTime(NOON_ROME);
    const quota = await SiatelQuota.open(place.openStore, undefined, time);
    expect(await quota.status('op1')).toMatchObject({ queriesLastMinute: 1, codesToday: 499 });
    await quota.acquire('op1', 2);
    expect(time.t).toBe(Date.parse('2026-11-23T23:00:00Z'));
    await quota.close();
  });
});
