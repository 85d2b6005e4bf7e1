import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SiatelQuota, type QuotaTime } from '../../../adapters/siatel/siatel-quota.js';

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

const file = () => join(mkdtempSync(join(tmpdir(), 'tramite-quota-')), 'quota.sqlite');
const NOON_ROME = Date.parse('2026-11-23T11:00:00Z');
const flush = () => new Promise((r) => setImmediate(r));

describe('the SIATEL quota', () => {
  it('admits 60 queries in a minute and queues the 61st until the first leaves the window', async () => {
    const time = new VirtualTime(NOON_ROME);
    const quota = new SiatelQuota(file(), undefined, time);
    const at: number[] = [];
    await Promise.all(Array.from({ length: 61 }, () => quota.acquire('op1').then(() => at.push(time.t))));
    expect(at.slice(0, 60).every((t) => t === NOON_ROME)).toBe(true);
    // The window is a minute plus a safety margin (1 s by default): SIATEL counts at arrival.
    expect(at[60]).toBe(NOON_ROME + 61_001);
    quota.close();
  });

  it('admits 500 codici fiscali a day and queues the rest until Italian midnight, also across a restart', async () => {
    const time = new VirtualTime(NOON_ROME);
    const f = file();
    const quota = new SiatelQuota(f, undefined, time);
    await quota.acquire('op1', 400);
    quota.close();
    const again = new SiatelQuota(f, undefined, time);
    expect(again.status('op1').codesToday).toBe(400);
    await again.acquire('op1', 100);
    await again.acquire('op1', 1);
    // 2026-11-24 00:00 in Rome is 2026-11-23 23:00 UTC.
    expect(time.t).toBe(Date.parse('2026-11-23T23:00:00Z'));
    expect(again.status('op1').codesToday).toBe(1);
    again.close();
  });

  it('shows what waits, keeps each operator in order, and lets another operator through meanwhile', async () => {
    const time = new GatedTime(NOON_ROME);
    const quota = new SiatelQuota(file(), { queriesPerMinute: 2, codesPerDay: 500 }, time);
    const order: string[] = [];
    const done = ['a1', 'a2', 'a3', 'a4'].map((n) => quota.acquire('opA').then(() => order.push(n)));
    await flush();
    expect(quota.status('opA')).toMatchObject({ queriesLastMinute: 2, queuedRequests: 2, queuedCodes: 2 });
    await quota.acquire('opB');
    expect(quota.status('opB')).toMatchObject({ queriesLastMinute: 1, queuedRequests: 0 });
    while (order.length < 4) {
      time.wakeAll();
      await flush();
    }
    await Promise.all(done);
    expect(order).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(quota.status('opA').queuedRequests).toBe(0);
    quota.close();
  });

  it('counts an Italian day that starts at midnight Rome time, also on the day the clocks go back', async () => {
    // 2026-10-25: CEST ends; midnight in Rome is 2026-10-24T22:00Z. 500 codes used at 00:30 that day.
    const time = new VirtualTime(Date.parse('2026-10-24T22:30:00Z'));
    const quota = new SiatelQuota(file(), undefined, time);
    await quota.acquire('op1', 500);
    time.t = Date.parse('2026-10-25T12:00:00Z');
    expect(quota.status('op1').codesToday).toBe(500);
    await quota.acquire('op1', 1);
    expect(time.t).toBe(Date.parse('2026-10-25T23:00:00Z')); // next midnight, CET
    quota.close();
  });

  it('refuses a query that could never fit a day', async () => {
    const quota = new SiatelQuota(file(), undefined, new VirtualTime(NOON_ROME));
    await expect(quota.acquire('op1', 501)).rejects.toMatchObject({ code: 'TRAMITE_ERR_BAD_REQUEST' });
    await expect(quota.acquire('op1', 0)).rejects.toMatchObject({ code: 'TRAMITE_ERR_BAD_REQUEST' });
    quota.close();
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
          const quota = new SiatelQuota(file(), limits, time);
          const admitted: Array<{ at: number; codes: number; i: number }> = [];
          let arrival = time.t;
          const pending: Promise<unknown>[] = [];
          for (const [i, a] of arrivals.entries()) {
            arrival += a.gapMs;
            if (time.t < arrival) time.t = arrival;
            pending.push(quota.acquire('op', a.codes).then(() => admitted.push({ at: time.t, codes: a.codes, i })));
          }
          await Promise.all(pending);
          quota.close();
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
      { numRuns: 60 },
    );
  });
});
