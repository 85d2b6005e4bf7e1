/**
 * Long walks over the log share the event loop: with SQLite a walk does no real I/O, so without turns
 * of its own the node would answer nothing until it ended. Each test schedules a macrotask before the
 * walk and checks (by order, not by time) that it ran while the walk was still going.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/log/chain-verifier.js';
import type { LogStore } from '../../src/log/log-store.js';
import type { MessageLog } from '../../src/log/message-log.js';
import { fillLog, messageLog, newStoreSite, SteppingClock, type StoreSite } from './log-fixtures.js';

let site: StoreSite;
let store: LogStore;
let log: MessageLog;

beforeAll(async () => {
  site = await newStoreSite('sqlite');
  store = await site.open();
  log = messageLog(store);
  await fillLog(log, new SteppingClock(), 400); // 1000 records: outbound 3 each, inbound 2
});

afterAll(async () => {
  await log?.close();
  await site?.dispose();
});

describe('verifyChain', () => {
  it('gives the event loop turns while it walks: a macrotask queued before it runs before the walk ends', async () => {
    const head = (await store.head()).seq;
    let walked = 0;
    let walkedWhenTheLoopTurned: number | undefined;
    setImmediate(() => (walkedWhenTheLoopTurned = walked));
    const report = await verifyChain(store.range(1, head), [], { onRecord: () => (walked += 1) });
    expect(report.ok).toBe(true);
    expect(report.records).toBe(head);
    expect(walkedWhenTheLoopTurned).toBeDefined();
    expect(walkedWhenTheLoopTurned!).toBeLessThan(head);
  });
});
