import { describe, expect, it } from 'vitest';
import { retryDelayMs, type RetryPolicy } from '../../src/queue/retry-policy.js';

const policy: RetryPolicy = { initialDelayMs: 1000, factor: 2, maxDelayMs: 30_000, maxAttempts: 10 };

describe('retryDelayMs', () => {
  it('grows exponentially up to the cap, with the jitter between a tenth of the ceiling and the ceiling', () => {
    for (const [attempts, ceiling] of [
      [1, 1000],
      [2, 2000],
      [3, 4000],
      [5, 16_000],
      [6, 30_000],
      [20, 30_000],
    ] as const) {
      expect(retryDelayMs(attempts, policy, { random: () => 1 })).toBe(ceiling);
      expect(retryDelayMs(attempts, policy, { random: () => 0 })).toBe(ceiling / 10);
    }
  });

  it('spreads retries of many messages instead of sending them back in lockstep', () => {
    const delays = new Set(Array.from({ length: 50 }, () => retryDelayMs(4, policy)));
    expect(delays.size).toBeGreaterThan(40);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(800);
  });

  it('never waits past the message expiry', () => {
    expect(retryDelayMs(6, policy, { random: () => 1, msUntilExpiry: 1500 })).toBe(1500);
    expect(retryDelayMs(6, policy, { random: () => 1, msUntilExpiry: -10 })).toBe(0);
  });
});
