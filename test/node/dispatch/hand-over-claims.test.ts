/**
 * A message's hand-over is held by one attempt at a time: in one process (SQLite log), and across the
 * processes sharing a PostgreSQL log through the node's store (two stores on one place are two processes).
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  HAND_OVER_CLAIM_TTL_MS,
  InProcessHandOverClaims,
  SharedHandOverClaims,
  type HandOverClaims,
} from '../../../src/node/dispatch/hand-over-claims.js';
import { newStorePlace, STORE_ENGINES } from '../../adapters/store-engines.js';

const opened: HandOverClaims[] = [];
afterAll(async () => {
  for (const c of opened.splice(0)) await c.close();
});

describe('InProcessHandOverClaims', () => {
  it('holds a key for one attempt until released', async () => {
    const claims = new InProcessHandOverClaims();
    const first = await claims.take('["SPC/A","M-1"]');
    expect(first).toBeDefined();
    expect(await claims.take('["SPC/A","M-1"]')).toBeUndefined();
    expect(await claims.take('["SPC/B","M-1"]')).toBeDefined(); // another sender's message of that id
    await first!.release();
    expect(await claims.take('["SPC/A","M-1"]')).toBeDefined();
  });
});

describe.each(STORE_ENGINES)('SharedHandOverClaims on %s', (engine) => {
  async function twoProcesses(now: () => number = Date.now) {
    const place = newStorePlace(engine);
    const a = await SharedHandOverClaims.open(place.openStore, now);
    opened.push(a);
    if (engine === 'sqlite') return { a, b: a }; // one file, one process: the second "process" is the same store
    const b = await SharedHandOverClaims.open(place.openStore, now);
    opened.push(b);
    return { a, b };
  }

  it('one holder at a time across processes; released, the key is free for the next', async () => {
    const { a, b } = await twoProcesses();
    const held = await a.take('["SPC/A","M-1"]');
    expect(held).toBeDefined();
    expect(await b.take('["SPC/A","M-1"]')).toBeUndefined();
    expect(await a.take('["SPC/A","M-1"]')).toBeUndefined(); // a second attempt of the same process too
    expect(await b.take('["SPC/A","M-2"]')).toBeDefined();
    await held!.release();
    expect(await b.take('["SPC/A","M-1"]')).toBeDefined();
  });

  it('many attempts at once: exactly one holds the key', async () => {
    const { a, b } = await twoProcesses();
    const taken = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).take('["SPC/A","M-3"]')));
    expect(taken.filter((c) => c !== undefined)).toHaveLength(1);
  });

  it('a holder that died leaves its claim to lapse, then another takes it; the late release of the dead one frees nothing', async () => {
    let t = Date.parse('2031-03-03T09:00:00Z');
    const { a, b } = await twoProcesses(() => t);
    const dead = await a.take('["SPC/A","M-4"]');
    expect(dead).toBeDefined();
    t += HAND_OVER_CLAIM_TTL_MS - 1;
    expect(await b.take('["SPC/A","M-4"]')).toBeUndefined();
    t += 2;
    const next = await b.take('["SPC/A","M-4"]');
    expect(next).toBeDefined();
    await dead!.release(); // the first holder comes back late: the claim is no longer its own
    expect(await a.take('["SPC/A","M-4"]')).toBeUndefined();
    await next!.release();
    expect(await a.take('["SPC/A","M-4"]')).toBeDefined();
  });
});
