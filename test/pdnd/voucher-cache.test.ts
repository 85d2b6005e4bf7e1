/**
 * The voucher cache against the real simulator on loopback: one token request for many concurrent
 * callers, renewal in the background before expiry, and AUDIT_REST_02 vouchers kept per digest.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PdndSimulator, PdndSimulatorEndpoints } from '../../src/pdnd-simulator/pdnd-simulator.js';
import { VoucherCache } from '../../src/pdnd/voucher-cache.js';
import { PdndTokenError } from '../../src/pdnd/pdnd-token-error.js';
import { OTHER_PURPOSE, PURPOSE, comuneClient, startSimulator } from './pdnd-fixture.js';

let simulator: PdndSimulator;
let endpoints: PdndSimulatorEndpoints;
beforeAll(async () => ({ simulator, endpoints } = await startSimulator({ lifespan: 600 })));
afterAll(() => simulator.stop());

describe('VoucherCache', () => {
  it('makes one token request for 50 concurrent callers of a purpose, and none for later ones', async () => {
    const cache = new VoucherCache({ source: comuneClient(endpoints) });
    const before = simulator.tokenRequests;
    const vouchers = await Promise.all(Array.from({ length: 50 }, () => cache.get(PURPOSE)));
    expect(simulator.tokenRequests - before).toBe(1);
    expect(new Set(vouchers.map((v) => v.token)).size).toBe(1);
    await cache.get(PURPOSE);
    expect(simulator.tokenRequests - before).toBe(1);
    // Another purpose is another voucher.
    const other = await cache.get(OTHER_PURPOSE);
    expect(decodeJwt(other.token).purposeId).toBe(OTHER_PURPOSE);
    expect(simulator.tokenRequests - before).toBe(2);
    cache.close();
  });

  it('keeps a voucher bound to an audit digest per digest, never handing it out for another', async () => {
    const cache = new VoucherCache({ source: comuneClient(endpoints) });
    const d1 = { alg: 'SHA256' as const, value: '11'.repeat(32) };
    const d2 = { alg: 'SHA256' as const, value: '22'.repeat(32) };
    const [a, b, a2, plain] = await Promise.all([
      cache.get(PURPOSE, d1),
      cache.get(PURPOSE, d2),
      cache.get(PURPOSE, d1),
      cache.get(PURPOSE),
    ]);
    expect(decodeJwt(a.token).digest).toEqual(d1);
    expect(decodeJwt(b.token).digest).toEqual(d2);
    expect(a2.token).toBe(a.token);
    expect(decodeJwt(plain.token).digest).toBeUndefined();
    cache.close();
  });

  it('passes the token endpoint refusal to every waiting caller, then asks again', async () => {
    const cache = new VoucherCache({ source: comuneClient(endpoints) });
    const results = await Promise.allSettled([cache.get('purpose-unknown'), cache.get('purpose-unknown')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(PdndTokenError);
    const before = simulator.tokenRequests;
    await expect(cache.get('purpose-unknown')).rejects.toBeInstanceOf(PdndTokenError);
    expect(simulator.tokenRequests - before).toBe(1);
    cache.close();
  });
});

describe('VoucherCache renewal', () => {
  let short: { simulator: PdndSimulator; endpoints: PdndSimulatorEndpoints };
  beforeAll(async () => (short = await startSimulator({ lifespan: 10 })));
  afterAll(() => short.simulator.stop());

  it('renews in the background before expiry, so callers get the new voucher without waiting for a request', async () => {
    const cache = new VoucherCache({ source: comuneClient(short.endpoints), renewAtFraction: 0.25, expiryMarginSeconds: 1 });
    const first = await cache.get(PURPOSE);
    expect(short.simulator.tokenRequests).toBe(1);
    // Callers meanwhile get the first voucher at once; 25 % of 10 s in, the timer renews, long before exp
    // (lifetimes of a few seconds only: a loaded machine must still renew well within them).
    let second = first;
    while (second.jti === first.jti && Date.now() < first.expiresAt.getTime()) {
      second = await cache.get(PURPOSE);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(second.jti).not.toBe(first.jti);
    expect(Date.now()).toBeLessThan(first.expiresAt.getTime() - 1000);
    // One renewal request, whatever the number of calls made meanwhile.
    expect(short.simulator.tokenRequests).toBe(2);
    cache.close();
  });
});

describe('VoucherCache when PDND goes away', () => {
  it('keeps handing out the voucher it has until the margin, with one failed background renewal, not one per caller', async () => {
    const gone = await startSimulator({ lifespan: 8 });
    const errors: unknown[] = [];
    const cache = new VoucherCache({
      source: comuneClient(gone.endpoints),
      renewAtFraction: 0.25,
      expiryMarginSeconds: 1,
      onRenewalError: (err) => errors.push(err),
    });
    const first = await cache.get(PURPOSE);
    await gone.simulator.stop();
    // Until 7 s (8 s lifetime, 1 s margin) callers get the voucher at once, though renewal (at 2 s) fails behind
    // them, and is not tried again within the 5 s pause after a failure.
    const end = first.expiresAt.getTime() - 1500;
    let calls = 0;
    while (Date.now() < end) {
      expect((await cache.get(PURPOSE)).jti).toBe(first.jti);
      calls++;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(calls).toBeGreaterThan(5);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(PdndTokenError);
    cache.close();
  });
});
