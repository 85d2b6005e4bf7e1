/**
 * The two queries the metrics read from the log store, on both stores: messages grouped by direction,
 * sender, recipient, service and state with the oldest's creation time, and the latest checkpoint.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { outboundKey } from '../../src/core/message-record.js';
import {
  dropFileDatabase,
  messageLog,
  newStoreSite,
  sampleEnvelope,
  sampleMessage,
  SteppingClock,
  STORE_KINDS,
  type StoreKind,
} from '../log/log-fixtures.js';

afterAll(() => dropFileDatabase());

describe.each(STORE_KINDS)('%s log store, for the metrics', (kind: StoreKind) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('counts messages per direction, parties, service and state in one grouped read, with the oldest of each group', async () => {
    const site = await newStoreSite(kind);
    cleanups.push(() => site.dispose());
    const store = await site.open();
    const clock = new SteppingClock();
    const log = messageLog(store, { clock });
    cleanups.push(() => log.close());
    expect(await store.messageCounts()).toEqual([]);
    const from = 'SPC/ComuneA';
    const to = 'SPC/Regione';
    const made = [];
    for (let i = 1; i <= 5; i++) {
      const rec = sampleMessage(i, clock, { id: `M-${i}`, direction: 'out', status: 'ACCEPTED', from, to, service: 'Anagrafe' });
      await log.create(rec, sampleEnvelope(rec.id));
      made.push(rec);
    }
    // Two delivered; one of another service.
    await log.transition(outboundKey('M-1'), { status: 'DELIVERED' });
    await log.transition(outboundKey('M-2'), { status: 'DELIVERED' });
    const other = sampleMessage(6, clock, { id: 'M-6', direction: 'out', status: 'ACCEPTED', from, to, service: 'Tributi' });
    await log.create(other, sampleEnvelope(other.id));
    const counts = await store.messageCounts();
    const sorted = [...counts].sort((a, b) => `${a.service} ${a.state}`.localeCompare(`${b.service} ${b.state}`));
    expect(sorted).toEqual([
      { direction: 'out', from, to, service: 'Anagrafe', state: 'ACCEPTED', count: 3, oldestCreatedAt: made[2]!.createdAt },
      { direction: 'out', from, to, service: 'Anagrafe', state: 'DELIVERED', count: 2, oldestCreatedAt: made[0]!.createdAt },
      { direction: 'out', from, to, service: 'Tributi', state: 'ACCEPTED', count: 1, oldestCreatedAt: other.createdAt },
    ]);
  });

  it('gives the latest checkpoint, none before the first', async () => {
    const site = await newStoreSite(kind);
    cleanups.push(() => site.dispose());
    const store = await site.open();
    const log = messageLog(store, { checkpoints: {} });
    cleanups.push(() => log.close());
    expect(await store.latestCheckpoint()).toBeUndefined();
    const clock = new SteppingClock();
    const rec = sampleMessage(1, clock, { id: 'M-1', direction: 'out', status: 'ACCEPTED' });
    await log.create(rec, sampleEnvelope(rec.id));
    const first = await log.checkpointNow();
    await log.transition(outboundKey('M-1'), { status: 'SENDING' });
    await log.transition(outboundKey('M-1'), { status: 'DELIVERED' });
    const second = await log.checkpointNow();
    expect(first!.seq).toBe(1);
    expect(second!.seq).toBe(3);
    expect(await store.latestCheckpoint()).toMatchObject({ seq: 3, time: second!.time, headHash: second!.headHash });
  });
});
