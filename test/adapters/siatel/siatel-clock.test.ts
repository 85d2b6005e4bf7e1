import { describe, expect, it } from 'vitest';
import { fastClock, stoppable, stoppableQuotaTime } from '../../../adapters/siatel/siatel-clock.js';
import { nextRomeMidnight, romeDay, romeMidnight } from '../../../adapters/sdk/calendar/rome-day.js';
import { GatedTime } from './siatel-harness.js';

describe('the clock SIATEL limits are counted in', () => {
  it('runs `clockFactor` times faster from the start of the UTC day, the same in two processes started apart', () => {
    let real = Date.parse('2026-11-23T10:00:00Z');
    const client = fastClock(60, () => new Date(real));
    real += 7_000; // the simulator's node starts seven seconds later
    const simulator = fastClock(60, () => new Date(real));
    expect(client().getTime()).toBe(simulator().getTime());
    expect(client().toISOString()).toBe(new Date(Date.parse('2026-11-23T00:00:00Z') + (10 * 3_600_000 + 7_000) * 60).toISOString());
    real += 1_000;
    expect(simulator().getTime() - client().getTime()).toBe(0);
    const before = client().getTime();
    real += 1_000;
    expect(client().getTime() - before).toBe(60_000); // a real second is a minute
    expect(fastClock(1, () => new Date(real))().getTime()).toBe(real);
    expect(() => fastClock(0.5, () => new Date())).toThrow(RangeError);
  });

  it('keeps processes started on either side of 00:00 UTC on one timeline when they share a clockAnchor', () => {
    let real = Date.parse('2026-12-06T23:59:50Z');
    const anchor = new Date('2026-12-06T23:00:00Z'); // the run's start
    const before = fastClock(2_880, () => new Date(real), anchor);
    const unanchoredBefore = fastClock(2_880, () => new Date(real));
    real += 20_000; // a process (re)started after midnight, twenty real seconds later
    const after = fastClock(2_880, () => new Date(real), anchor);
    const unanchoredAfter = fastClock(2_880, () => new Date(real));
    expect(after().getTime()).toBe(before().getTime());
    expect(before().getTime()).toBe(anchor.getTime() + (real - anchor.getTime()) * 2_880);
    // Without it each starts at its own UTC day: the restarted one is a day × (factor − 1) behind.
    expect(unanchoredBefore().getTime() - unanchoredAfter().getTime()).toBe(86_400_000 * (2_880 - 1));
    real += 1_000;
    expect(after().getTime() - before().getTime()).toBe(0);
    expect(() => fastClock(60, () => new Date(), new Date('not a date'))).toThrow(RangeError);
  });

  it('scales the quota’s sleeps, and ends them, rejected, when the adapter stops', async () => {
    const abort = new AbortController();
    const time = stoppableQuotaTime(() => new Date(), 1000, abort.signal);
    const started = Date.now();
    await time.sleep(60_000); // a fast minute: 60 real ms
    expect(Date.now() - started).toBeLessThan(1_000);
    const long = time.sleep(86_400_000);
    abort.abort();
    await expect(long).rejects.toMatchObject({ code: 'TRAMITE_ERR_ADAPTER_UNAVAILABLE' });
    await expect(time.sleep(1)).rejects.toMatchObject({ code: 'TRAMITE_ERR_ADAPTER_UNAVAILABLE' });

    const gated = new GatedTime(0);
    const stop = new AbortController();
    const held = stoppable(gated, stop.signal).sleep(1_000);
    expect(gated.sleeping).toBe(1);
    stop.abort();
    await expect(held).rejects.toMatchObject({ code: 'TRAMITE_ERR_ADAPTER_UNAVAILABLE' });
  });

  it('knows the Italian day across DST changes', () => {
    // 2026-03-29: clocks go forward in Rome (a 23-hour day); 2026-10-25: back (25 hours).
    expect(romeDay(Date.parse('2026-03-28T23:30:00Z'))).toBe('2026-03-29');
    expect(romeMidnight(Date.parse('2026-03-29T12:00:00Z'))).toBe(Date.parse('2026-03-28T23:00:00Z'));
    expect(nextRomeMidnight(Date.parse('2026-03-29T12:00:00Z'))).toBe(Date.parse('2026-03-29T22:00:00Z'));
    expect(romeMidnight(Date.parse('2026-10-25T12:00:00Z'))).toBe(Date.parse('2026-10-24T22:00:00Z'));
    expect(nextRomeMidnight(Date.parse('2026-10-25T12:00:00Z'))).toBe(Date.parse('2026-10-25T23:00:00Z'));
    // Every hour of a year: midnight reads 00:00 the same Italian day, and the next one the next day.
    for (let ms = Date.parse('2026-01-01T00:17:00Z'); ms < Date.parse('2027-01-01T00:00:00Z'); ms += 3_600_000) {
      const midnight = romeMidnight(ms);
      expect(romeDay(midnight)).toBe(romeDay(ms));
      expect(romeDay(midnight - 1)).not.toBe(romeDay(ms));
      expect(romeDay(nextRomeMidnight(ms) - 1)).toBe(romeDay(ms));
      expect(romeDay(nextRomeMidnight(ms))).not.toBe(romeDay(ms));
    }
  });
});
