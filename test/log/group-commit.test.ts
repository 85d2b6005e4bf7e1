/**
 * Group commit: appends made concurrently are committed together, each caller's promise settles only
 * after its group's transaction, and one refused append refuses its own caller only — on SQLite and
 * PostgreSQL alike (real servers, as in log-store.test.ts).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TramiteError } from '../../src/core/errors.js';
import { GroupCommit } from '../../src/log/group-commit.js';
import type { LogStore } from '../../src/log/log-store.js';
import {
  collect,
  dropFileDatabase,
  messageLog,
  newStoreSite,
  sampleEnvelope,
  sampleMessage,
  SteppingClock,
  STORE_KINDS,
} from './log-fixtures.js';
import { keyOf, outboundKey } from '../../src/core/message-record.js';

afterAll(() => dropFileDatabase());

describe('GroupCommit', () => {
  it('commits the calls of one turn of the event loop as one group, in call order, and later calls as the next group', async () => {
    const groups: number[][] = [];
    const gc = new GroupCommit<number, number>(async (items) => {
      groups.push([...items]);
      return items.map((i) => ({ ok: true, value: i * 10 }));
    });
    const first = await Promise.all([1, 2, 3, 4].map((i) => gc.submit(i)));
    const second = await Promise.all([5, 6].map((i) => gc.submit(i)));
    expect(first).toEqual([10, 20, 30, 40]);
    expect(second).toEqual([50, 60]);
    expect(groups).toEqual([
      [1, 2, 3, 4],
      [5, 6],
    ]);
  });

  it('calls made while a group commits wait for the next group; a caller settles only after its own group', async () => {
    const groups: number[][] = [];
    let release!: () => void;
    const firstCommit = new Promise<void>((r) => (release = r));
    const gc = new GroupCommit<number, number>(async (items) => {
      groups.push([...items]);
      if (groups.length === 1) await firstCommit;
      return items.map((i) => ({ ok: true, value: i }));
    });
    let settled = false;
    const a = gc.submit(1).then((v) => ((settled = true), v));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    const later = [gc.submit(2), gc.submit(3)];
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false); // its transaction has not committed yet
    expect(groups).toEqual([[1]]);
    release();
    expect(await a).toBe(1);
    expect(await Promise.all(later)).toEqual([2, 3]);
    expect(groups).toEqual([[1], [2, 3]]);
  });

  it('an item refused alone rejects its caller only; a group that fails rejects every caller in it', async () => {
    const gc = new GroupCommit<number, number>(async (items) => {
      if (items.includes(99)) throw new Error('the transaction failed');
      return items.map((i) => (i === 2 ? { ok: false, error: new Error(`item ${i} refused`) } : { ok: true, value: i }));
    });
    const outcomes = await Promise.allSettled([1, 2, 3].map((i) => gc.submit(i)));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const failed = await Promise.allSettled([98, 99].map((i) => gc.submit(i)));
    expect(failed.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    await gc.idle();
  });

  it('keeps a group within its bound', async () => {
    const sizes: number[] = [];
    const gc = new GroupCommit<number, number>(async (items) => {
      sizes.push(items.length);
      return items.map((i) => ({ ok: true, value: i }));
    }, 4);
    await Promise.all(Array.from({ length: 10 }, (_, i) => gc.submit(i)));
    expect(sizes).toEqual([4, 4, 2]);
  });
});

describe.each(STORE_KINDS)('%s log store: group commit', (kind) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function fresh(): Promise<LogStore> {
    const s = await newStoreSite(kind);
    const store = await s.open();
    cleanups.push(async () => {
      await store.close();
      await s.dispose();
    });
    return store;
  }

  it('two concurrent changes of one message both land, the later on top of the earlier: a DELIVERED is not put back by an answer logged beside it', async () => {
    const store = await fresh();
    const clock = new SteppingClock(undefined, 10);
    const log = messageLog(store, { clock, checkpoints: false });
    const m = sampleMessage(1, clock, { direction: 'out', status: 'SENDING' });
    await log.create(m, sampleEnvelope(m.id));
    await Promise.all([
      log.transition(keyOf(m), { status: 'DELIVERED', attempts: 1 }),
      log.transition(keyOf(m), { answer: { at: clock.now().toISOString(), id: 'ANSWER-1' } }),
    ]);
    expect(await log.get(keyOf(m))).toMatchObject({ status: 'DELIVERED', answer: { id: 'ANSWER-1' } });
    const states = (await collect(store.range(1, Number.MAX_SAFE_INTEGER))).map((r) => r.state);
    expect(states).toEqual(['SENDING', 'DELIVERED', 'DELIVERED']);
  });

  it('concurrent appends with one refused among them: the others are in the chain, the refused one is not, and the log verifies', async () => {
    const store = await fresh();
    const clock = new SteppingClock(undefined, 10);
    const log = messageLog(store, { clock, checkpoints: false });
    const msgs = Array.from({ length: 40 }, (_, i) => sampleMessage(i + 1, clock, { direction: 'out', status: 'ACCEPTED' }));
    await Promise.all(msgs.slice(0, 20).map((m) => log.create(m, sampleEnvelope(m.id))));
    // In one turn: 20 creates, 20 transitions of the first ones, and one transition of a message never logged.
    const outcomes = await Promise.allSettled([
      ...msgs.slice(20).map((m) => log.create(m, sampleEnvelope(m.id))),
      ...msgs.slice(0, 20).map((m) => log.transition(keyOf(m), { status: 'SENDING', attempts: 1 })),
      store.append(
        [
          {
            time: clock.now().toISOString(),
            kind: 'state',
            messageId: 'NEVER',
            direction: 'out',
            from: 'SPC/ComuneA',
            to: 'SPC/Regione',
            service: 'Anagrafe',
            state: 'SENDING',
          },
        ],
        { op: 'update', id: 'NEVER', direction: 'out', from: 'SPC/ComuneA', fields: { status: 'SENDING' } },
      ),
    ]);
    expect(outcomes.slice(0, 40).every((o) => o.status === 'fulfilled')).toBe(true);
    const refused = outcomes[40]!;
    expect(refused.status).toBe('rejected');
    expect(((refused as PromiseRejectedResult).reason as TramiteError).code).toBe('TRAMITE_ERR_NOT_FOUND');

    const records = await collect(store.range(1, 10_000));
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(records.some((r) => r.messageId === 'NEVER')).toBe(false);
    for (const m of msgs.slice(0, 20)) expect((await log.get(outboundKey(m.id)))!.status).toBe('SENDING');
    for (const m of msgs.slice(20)) expect((await log.get(outboundKey(m.id)))!.status).toBe(m.status);
    expect(await log.verify()).toMatchObject({ ok: true, records: 60, firstBad: null });
  });
});
