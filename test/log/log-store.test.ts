/**
 * The two LogStore implementations — SQLite (embedded) and PostgreSQL (shared by several node
 * processes) — held to the same assertions: the hash chain, the projection MessageLog keeps, paging,
 * search, checkpoints, retention purges, and concurrent appends that must never fork the chain.
 * PostgreSQL is a real throwaway server (test-support/postgres-server.ts), one fresh database per test.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TramiteError } from '../../src/core/errors.js';
import { outboundKey, inboundKey, keyOf, type MessageRecord } from '../../src/core/message-record.js';
import { verifyChain } from '../../src/log/chain-verifier.js';
import { checkpointSignatureValid } from '../../src/log/checkpoint.js';
import { canonicalRecord, chainHash, GENESIS_HASH, sha256Hex, type LogEntryInput, type LogRecord } from '../../src/log/log-entry.js';
import type { LogStore } from '../../src/log/log-store.js';
import {
  collect,
  dropFileDatabase,
  fillLog,
  logPki,
  messageLog,
  newStoreSite,
  NODE,
  PARTIES,
  rawSql,
  sampleEnvelope,
  sampleMessage,
  sampleReceipt,
  settleCheckpoints,
  SteppingClock,
  STORE_KINDS,
  type StoreKind,
  type StoreSite,
} from './log-fixtures.js';

/** A plain entry for direct `store.append` calls. */
function entry(n: number, time: string, over: Partial<LogEntryInput> = {}): LogEntryInput {
  return {
    time,
    kind: 'state',
    messageId: `M-${n}`,
    direction: 'out',
    from: PARTIES[n % 3]!,
    to: PARTIES[(n + 1) % 3]!,
    service: 'Anagrafe',
    state: 'SENDING',
    detail: { attempts: n },
    ...over,
  };
}

/** What a record's hash must be, recomputed from its content. */
const expectedHash = (r: LogRecord) => chainHash(r.prevHash, canonicalRecord(r));

afterAll(() => dropFileDatabase());

describe.each(STORE_KINDS)('%s log store', (kind: StoreKind) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A new empty site; its stores are closed and it is removed after the test. */
  async function site(): Promise<StoreSite> {
    const s = await newStoreSite(kind);
    cleanups.push(() => s.dispose());
    return s;
  }
  async function open(s: StoreSite): Promise<LogStore> {
    const store = await s.open();
    let closed = false;
    const close = store.close.bind(store);
    store.close = async () => {
      if (closed) return;
      closed = true;
      await close();
    };
    cleanups.push(() => store.close());
    return store;
  }
  const fresh = async () => open(await site());

  it('appends continue the chain: seq 1, 2, 3…, each prev_hash the previous hash, from the genesis hash', async () => {
    const s = await site();
    const store = await open(s);
    expect(store.kind).toBe(kind);
    expect(await store.head()).toEqual({ seq: 0, hash: GENESIS_HASH });
    expect(GENESIS_HASH).toBe('0'.repeat(64));

    const envelope = new TextEncoder().encode(sampleEnvelope('M-1'));
    const first = await store.append(
      [
        entry(1, '2031-03-03T09:00:01.000Z', {
          kind: 'envelope',
          state: 'ACCEPTED',
          envelope,
          refId: 'R-1',
          conversationId: 'C-1',
          action: 'Notifica',
        }),
        entry(2, '2031-03-03T09:00:02.000Z'),
        entry(3, '2031-03-03T09:00:03.000Z', { detail: { nested: { list: [1, 'due', null], ok: true }, accentato: 'perché' } }),
      ],
      { op: 'none' },
    );
    const second = await store.append([entry(4, '2031-03-03T09:00:04.000Z')], { op: 'none' });
    const third = await store.append([entry(5, '2031-03-03T09:00:05.000Z', { detail: undefined })], { op: 'none' });
    const appended = [...first, ...second, ...third];

    expect(appended.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(appended[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < appended.length; i++) expect(appended[i]!.prevHash).toBe(appended[i - 1]!.hash);
    for (const r of appended) expect(r.hash).toBe(expectedHash(r));
    expect(await store.head()).toEqual({ seq: 5, hash: appended[4]!.hash });

    // What was stored is what was appended, byte for byte and field for field.
    const stored = await collect(store.range(1, 5));
    expect(stored).toEqual(appended);
    const r1 = (await store.record(1))!;
    expect(Buffer.from(r1.envelope!).equals(Buffer.from(envelope))).toBe(true);
    expect(r1.envelopeDigest).toBe(sha256Hex(envelope));
    expect(r1).toMatchObject({ refId: 'R-1', conversationId: 'C-1', action: 'Notifica', kind: 'envelope', state: 'ACCEPTED' });
    const r5 = (await store.record(5))!;
    expect(r5).not.toHaveProperty('refId');
    expect(r5).not.toHaveProperty('detail');
    expect(r5).not.toHaveProperty('envelope');
    expect(r5).not.toHaveProperty('envelopeDigest');
    expect((await store.record(3))!.detail).toEqual({ nested: { list: [1, 'due', null], ok: true }, accentato: 'perché' });
    expect(await store.record(6)).toBeUndefined();

    // Reopened, the store carries on from its stored head.
    await store.close();
    const again = await open(s);
    expect(await again.head()).toEqual({ seq: 5, hash: appended[4]!.hash });
    const [sixth] = await again.append([entry(6, '2031-03-03T09:00:06.000Z')], { op: 'none' });
    expect(sixth).toMatchObject({ seq: 6, prevHash: appended[4]!.hash });
    expect((await verifyChain(again.range(1, 6), [])).ok).toBe(true);
  });

  it('the projection follows MessageLog create / transition / get / list / envelopeOf / replyEnvelopeOf', async () => {
    const store = await fresh();
    const clock = new SteppingClock();
    const log = messageLog(store, { clock });

    const out = sampleMessage(1, clock, { conversationId: 'CONV-1' });
    const outEnvelope = sampleEnvelope(out.id);
    await log.create(out, outEnvelope);
    expect(await log.get(outboundKey(out.id))).toEqual(out);
    expect(await log.get(inboundKey(out.id, out.to))).toBeUndefined();
    expect(await log.envelopeOf(outboundKey(out.id))).toBe(outEnvelope);
    expect(await log.replyEnvelopeOf(outboundKey(out.id))).toBeUndefined();

    const sending = await log.transition(outboundKey(out.id), { status: 'SENDING', attempts: 1 });
    expect(sending).toMatchObject({ status: 'SENDING', attempts: 1, payload: out.payload });
    const receiptAt = clock.peek().toISOString();
    const receipt = sampleReceipt(out.id);
    const delivered = await log.transition(
      outboundKey(out.id),
      { status: 'DELIVERED', receipt: { at: receiptAt, signer: out.to } },
      receipt,
    );
    expect(delivered.updatedAt).toBe(receiptAt);
    expect(await log.get(outboundKey(out.id))).toEqual({
      ...out,
      status: 'DELIVERED',
      attempts: 1,
      receipt: { at: receiptAt, signer: out.to },
      updatedAt: receiptAt,
    });
    expect(await log.envelopeOf(outboundKey(out.id))).toBe(outEnvelope);
    expect(await log.replyEnvelopeOf(outboundKey(out.id))).toBe(receipt);

    // The same id inbound is another message.
    const inbound = sampleMessage(4, clock, { id: out.id, direction: 'in', status: 'RECEIVED', from: out.to, to: out.from });
    await log.create(inbound, sampleEnvelope(inbound.id, 'ingresso'));
    await log.transition(keyOf(inbound), { status: 'FAILED', error: { code: 'EGOV_IT_100', message: 'rifiutato' } });
    expect(await log.get(keyOf(inbound))).toMatchObject({
      direction: 'in',
      status: 'FAILED',
      error: { code: 'EGOV_IT_100', message: 'rifiutato' },
    });
    expect(await log.get(outboundKey(out.id))).toMatchObject({ status: 'DELIVERED' });
    expect(await log.envelopeOf(keyOf(inbound))).toBe(sampleEnvelope(inbound.id, 'ingresso'));

    // The chain holds every step: the envelope, each change of state, the receipt with its bytes.
    const history = await store.recordsOf(out.id);
    expect(history.map((r) => [r.seq, r.direction, r.kind, r.state])).toEqual([
      [1, 'out', 'envelope', 'ACCEPTED'],
      [2, 'out', 'state', 'SENDING'],
      [3, 'out', 'receipt', 'DELIVERED'],
      [4, 'in', 'envelope', 'RECEIVED'],
      [5, 'in', 'state', 'FAILED'],
    ]);
    expect(history[0]).toMatchObject({ conversationId: 'CONV-1', from: out.from, to: out.to, service: out.service, action: out.action });
    // Payloads stay out of the chained detail (they live in the envelope bytes).
    expect(history[0]!.detail).not.toHaveProperty('payload');
    expect(history[0]!.detail).toMatchObject({ attempts: 0, status: 'ACCEPTED', confermaRicezione: true });
    expect(history[2]!.detail).toEqual({ status: 'DELIVERED', receipt: { at: receiptAt, signer: out.to } });
    const row = (await store.message(outboundKey(out.id)))!;
    expect(row).toMatchObject({ envelopeSeq: 1, replySeq: 3, state: 'DELIVERED', createdAt: out.createdAt, updatedAt: receiptAt });

    // More messages, then list by direction, state, parties, limit (newest first).
    const others: MessageRecord[] = [];
    for (let i = 2; i <= 9; i++) {
      const m = sampleMessage(i, clock, { id: `SPC_NodoTest_${i}` });
      await log.create(m, sampleEnvelope(m.id));
      others.push(m);
    }
    const ids = (ms: readonly MessageRecord[]) => ms.map((m) => `${m.direction}:${m.id}`);
    const all = [inbound, out, ...others];
    const byNewest = (ms: MessageRecord[]) => [...ms].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    expect(ids(await log.list({}))).toEqual(ids(byNewest(all)));
    expect(ids(await log.list({ direction: 'in' }))).toEqual(ids(byNewest(all.filter((m) => m.direction === 'in'))));
    expect(ids(await log.list({ status: 'ACCEPTED' }))).toEqual(ids(byNewest(others.filter((m) => m.status === 'ACCEPTED'))));
    const regione = new Set(['SPC/Regione']);
    // A party owns the outbound records it sent and the inbound records sent to it — nothing else.
    const ownedBy = (parties: ReadonlySet<string>) => (m: MessageRecord) =>
      m.direction === 'out' ? parties.has(m.from) : parties.has(m.to);
    expect(ids(await log.list({ parties: regione }))).toEqual(ids(byNewest(all.filter(ownedBy(regione)))));
    const two = new Set(['SPC/Regione', 'SPC/ComuneB']);
    expect(ids(await log.list({ parties: two, direction: 'out' }))).toEqual(
      ids(byNewest(all.filter((m) => m.direction === 'out' && ownedBy(two)(m)))),
    );
    expect(ids(await log.list({ parties: two, direction: 'in' }))).toEqual(
      ids(byNewest(all.filter((m) => m.direction === 'in' && ownedBy(two)(m)))),
    );
    expect(await log.list({ parties: new Set() })).toEqual([]);
    expect(ids(await log.list({ limit: 3 }))).toEqual(ids(byNewest(all)).slice(0, 3));
    expect((await store.messagesInState('out', ['ACCEPTED', 'SENDING'])).map((m) => m.id)).toEqual(
      others.filter((m) => m.direction === 'out').map((m) => m.id),
    );
    expect(await store.messagesInState('out', [])).toEqual([]);

    // A transition of an unknown message is refused and leaves no record behind.
    const head = await store.head();
    await expect(log.transition(outboundKey('nessuno'), { status: 'FAILED' })).rejects.toMatchObject({ code: 'TRAMITE_ERR_NOT_FOUND' });
    // So is creating a message twice: the record and the projection row go in together or not at all.
    await expect(log.create(out, outEnvelope)).rejects.toBeInstanceOf(TramiteError);
    expect(await store.head()).toEqual(head);
    expect((await log.verify()).ok).toBe(true);
  });

  it('pages through ranges across page boundaries (2,500 records, pages of 1,000)', async () => {
    const store = await fresh();
    const base = Date.parse('2031-03-03T00:00:00.000Z');
    const time = (n: number) => new Date(base + n * 1000).toISOString();
    for (let batch = 0; batch < 5; batch++) {
      const entries = Array.from({ length: 500 }, (_, i) => entry(batch * 500 + i + 1, time(batch * 500 + i + 1)));
      await store.append(entries, { op: 'none' });
    }
    expect((await store.head()).seq).toBe(2500);

    const seqs = async (from: number, to: number, pageSize?: number) => (await collect(store.range(from, to, pageSize))).map((r) => r.seq);
    const span = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
    expect(await seqs(1, 2500)).toEqual(span(1, 2500)); // default page size 1000: 1000 + 1000 + 500
    expect(await seqs(1, 2500, 1000)).toEqual(span(1, 2500));
    expect(await seqs(1, 2000, 1000)).toEqual(span(1, 2000)); // exactly two full pages, then an empty one
    expect(await seqs(999, 2001, 1000)).toEqual(span(999, 2001)); // straddles both boundaries
    expect(await seqs(2400, 99_999, 7)).toEqual(span(2400, 2500));
    expect(await seqs(1000, 1000, 1)).toEqual([1000]);
    expect(await seqs(2501, 3000)).toEqual([]);
    expect(await seqs(10, 9)).toEqual([]);

    const report = await verifyChain(store.range(1, 2500, 1000), []);
    expect(report).toMatchObject({ ok: true, records: 2500, firstSeq: 1, lastSeq: 2500, headHash: (await store.head()).hash });
    expect(await store.seqRangeForTime(time(1001), time(1500))).toEqual({ first: 1001, last: 1500 });
    expect(await store.seqRangeForTime(time(3000), time(4000))).toBeUndefined();
    expect((await messageLog(store).verify()).records).toBe(2500);
  });

  it('searches records by party, service, state, message id and time', async () => {
    const store = await fresh();
    const clock = new SteppingClock();
    const log = messageLog(store, { clock });
    await fillLog(log, clock, 12);
    // Correlated messages: a reply whose refId and conversationId point at message 1.
    const first = sampleMessage(1, new SteppingClock());
    const reply = sampleMessage(13, clock, { refId: first.id, conversationId: 'CONV-X' });
    await log.create(reply, sampleEnvelope(reply.id));
    const all = await collect(store.range(1, (await store.head()).seq));
    expect(all.length).toBe(12 * 3 - 3 + 1); // 9 outbound × 3 records, 3 inbound × 2, the reply

    const seqs = (rs: readonly LogRecord[]) => rs.map((r) => r.seq);
    const where = (p: (r: LogRecord) => boolean) => seqs(all.filter(p));

    expect(seqs(await store.searchRecords({ party: 'SPC/Regione' }))).toEqual(
      where((r) => r.from === 'SPC/Regione' || r.to === 'SPC/Regione'),
    );
    expect(seqs(await store.searchRecords({ from: 'SPC/ComuneA' }))).toEqual(where((r) => r.from === 'SPC/ComuneA'));
    expect(seqs(await store.searchRecords({ to: 'SPC/ComuneA', service: 'Tributi' }))).toEqual(
      where((r) => r.to === 'SPC/ComuneA' && r.service === 'Tributi'),
    );
    expect(seqs(await store.searchRecords({ service: 'Anagrafe' }))).toEqual(where((r) => r.service === 'Anagrafe'));
    expect(seqs(await store.searchRecords({ state: 'DELIVERED' }))).toEqual(where((r) => r.state === 'DELIVERED'));
    expect(seqs(await store.searchRecords({ state: 'DISPATCHED', direction: 'in' }))).toEqual(where((r) => r.state === 'DISPATCHED'));
    expect(await store.searchRecords({ state: 'DISPATCHED', direction: 'out' })).toEqual([]);
    // By id: the message's own records, and those that refer to it.
    expect(seqs(await store.searchRecords({ messageId: first.id }))).toEqual(
      where((r) => r.messageId === first.id || r.refId === first.id),
    );
    expect(seqs(await store.searchRecords({ messageId: 'CONV-X' }))).toEqual(where((r) => r.messageId === reply.id));
    expect(await store.searchRecords({ messageId: 'nessuno' })).toEqual([]);
    // By time, bounds included.
    const [t1, t2] = [all[4]!.time, all[14]!.time];
    expect(seqs(await store.searchRecords({ fromTime: t1, toTime: t2 }))).toEqual(seqs(all.slice(4, 15)));
    expect(seqs(await store.searchRecords({ fromTime: t2 }))).toEqual(seqs(all.slice(14)));
    expect(seqs(await store.searchRecords({ toTime: t1, party: 'SPC/ComuneB' }))).toEqual(
      seqs(all.slice(0, 5).filter((r) => r.from === 'SPC/ComuneB' || r.to === 'SPC/ComuneB')),
    );
    expect(seqs(await store.searchRecords({ limit: 4 }))).toEqual([1, 2, 3, 4]);
    expect(seqs(await store.recordsOf(first.id))).toEqual(where((r) => r.messageId === first.id));

    // The projection's own filters.
    const msgs = await store.messages({ service: 'Tributi', direction: 'out' });
    expect(msgs.length).toBeGreaterThan(0);
    expect(msgs.every((m) => m.direction === 'out' && all.find((r) => r.messageId === m.id)!.service === 'Tributi')).toBe(true);
    expect((await store.messages({ messageId: reply.id })).map((m) => m.id)).toEqual([reply.id]);
    expect(
      (await store.messages({ from: 'SPC/Regione', to: 'SPC/ComuneA' })).every(
        (m) => m.fields.from === 'SPC/Regione' && m.fields.to === 'SPC/ComuneA',
      ),
    ).toBe(true);
  });

  it('signs a checkpoint every N records and one more on close', async () => {
    const s = await site();
    const store = await open(s);
    const clock = new SteppingClock();
    const log = messageLog(store, { clock, checkpoints: { everyRecords: 5 } });
    for (let i = 1; i <= 12; i++) {
      const m = sampleMessage(i, clock);
      await log.create(m, sampleEnvelope(m.id));
      await settleCheckpoints(log);
    }
    const before = await store.checkpoints();
    expect(before.map((c) => c.seq)).toEqual([5, 10]);
    for (const cp of before) {
      expect(cp.headHash).toBe((await store.record(cp.seq))!.hash);
      expect(checkpointSignatureValid(cp)).toBe(true);
      expect(cp).toMatchObject({ node: NODE, signerCert: logPki().signer.certPem });
      expect(cp.tsaToken).toBeUndefined();
    }
    expect(await store.checkpoints(6, 10)).toEqual([before[1]]);

    await log.close(); // seals the tail, and closes the store
    const reopened = await open(s);
    const head = await reopened.head();
    const after = await reopened.checkpoints();
    expect(after.map((c) => c.seq)).toEqual([5, 10, 12]);
    expect(after[2]).toMatchObject({ seq: 12, headHash: head.hash });
    expect(checkpointSignatureValid(after[2]!)).toBe(true);

    // Closing again with nothing new adds nothing; verifying finds the chain and its 3 checkpoints sound.
    const again = messageLog(reopened, { checkpoints: { everyRecords: 5 } });
    expect(await again.verify()).toMatchObject({ ok: true, records: 12, checkpoints: 3, firstBad: null });
    await again.close();
    const third = await open(s);
    expect((await third.checkpoints()).map((c) => c.seq)).toEqual([5, 10, 12]);
  });

  it('purging payloads drops the envelope bytes but the log still verifies', async () => {
    const store = await fresh();
    const clock = new SteppingClock();
    const log = messageLog(store, { clock, checkpoints: { everyRecords: 7 } });
    const made = await fillLog(log, clock, 8);
    await settleCheckpoints(log);
    const all = await collect(store.range(1, (await store.head()).seq));
    const cut = all[12]!.time; // purge what is older than the 13th record
    const older = all.slice(0, 12).filter((r) => r.envelope);
    expect(older.length).toBeGreaterThan(0);

    expect(await store.purgePayloads(cut)).toBe(older.length);
    expect(await store.purgePayloads(cut)).toBe(0); // nothing left to purge there

    for (const r of older) {
      const now = (await store.record(r.seq))!;
      expect(now.envelope).toBeUndefined();
      expect(now.envelopeDigest).toBe(r.envelopeDigest);
      expect(now.hash).toBe(r.hash);
    }
    const early = made[0]!;
    const late = made[made.length - 1]!;
    expect(await log.envelopeOf(keyOf(early))).toBeUndefined();
    expect((await log.get(keyOf(early)))!.payload).toBeUndefined();
    expect(await log.envelopeOf(keyOf(late))).toBe(sampleEnvelope(late.id));
    expect((await log.get(keyOf(late)))!.payload).toBe(late.payload);

    const report = await log.verify();
    expect(report).toMatchObject({ ok: true, envelopesPurged: older.length, firstBad: null });
    expect(report.checkpoints).toBeGreaterThan(0);
  });

  it('purging a log of many windows, again as it ages and while messages keep coming, drops exactly the aged payloads', async () => {
    const store = await fresh();
    const clock = new SteppingClock(undefined, 10);
    const log = messageLog(store, {});
    const msgs = Array.from({ length: 1600 }, (_, i) => sampleMessage(i + 1, clock));
    for (let i = 0; i < 1500; i += 250) await Promise.all(msgs.slice(i, i + 250).map((m) => log.create(m, sampleEnvelope(m.id))));
    const cutAt = async (seq: number) => (await store.record(seq))!.time;

    expect(await store.purgePayloads(await cutAt(1101))).toBe(1100);
    // Appends go on while the next purge runs: neither waits the other out.
    const [purged] = await Promise.all([
      store.purgePayloads(await cutAt(1401)),
      Promise.all(msgs.slice(1500).map((m) => log.create(m, sampleEnvelope(m.id)))),
    ]);
    expect(purged).toBe(300);
    expect((await store.record(1400))!.envelope).toBeUndefined();
    expect((await store.record(1401))!.envelope).toBeDefined();
    expect((await log.get(keyOf(msgs[1399]!)))!.payload).toBeUndefined();
    expect((await log.get(keyOf(msgs[1400]!)))!.payload).toBe(msgs[1400]!.payload);
    expect(await log.verify()).toMatchObject({ ok: true, records: 1600, envelopesPurged: 1400, firstBad: null });
  });

  it('200 concurrent creates leave one unforked chain that verifies', async () => {
    const store = await fresh();
    const clock = new SteppingClock(undefined, 10);
    const log = messageLog(store, { clock, checkpoints: { everyRecords: 25 } });
    const msgs = Array.from({ length: 200 }, (_, i) => sampleMessage(i + 1, clock));
    await Promise.all(msgs.map((m) => log.create(m, sampleEnvelope(m.id))));
    await settleCheckpoints(log);

    const records = await collect(store.range(1, 10_000));
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(new Set(records.map((r) => r.messageId)).size).toBe(200);
    expect(new Set(records.map((r) => r.prevHash)).size).toBe(200); // no two records hang on the same predecessor
    for (const m of msgs) expect((await store.message(keyOf(m)))!.envelopeSeq).toBe(records.find((r) => r.messageId === m.id)!.seq);
    const report = await log.verify();
    expect(report).toMatchObject({ ok: true, records: 200, firstBad: null });
    expect(report.checkpoints).toBeGreaterThan(0);
  });

  it('two store instances on one database (two node processes) append to one chain', async () => {
    const s = await site();
    const storeA = await open(s);
    const storeB = await open(s);
    const clock = new SteppingClock(undefined, 10);
    const logA = messageLog(storeA, { clock, checkpoints: { everyRecords: 20 } });
    const logB = messageLog(storeB, { clock, checkpoints: { everyRecords: 20 } });
    const msgs = Array.from({ length: 200 }, (_, i) => sampleMessage(i + 1, clock));
    // Each instance creates half of the messages, and moves the other half's messages along too.
    await Promise.all(
      msgs.map(async (m, i) => {
        const [mine, other] = i % 2 === 0 ? [logA, logB] : [logB, logA];
        await mine.create(m, sampleEnvelope(m.id));
        if (i % 5 === 0) await other.transition(keyOf(m), { attempts: 1 });
      }),
    );
    await Promise.all([settleCheckpoints(logA), settleCheckpoints(logB)]);

    const head = await storeA.head();
    expect(head).toEqual(await storeB.head());
    expect(head.seq).toBe(240);
    const records = await collect(storeB.range(1, head.seq));
    expect(new Set(records.map((r) => r.prevHash)).size).toBe(records.length);
    for (const log of [logA, logB]) expect(await log.verify()).toMatchObject({ ok: true, records: 240, firstBad: null });
    const cps = await storeA.checkpoints();
    expect(cps.length).toBeGreaterThan(0);
    expect(new Set(cps.map((c) => c.seq)).size).toBe(cps.length);
    for (const m of msgs.filter((_, i) => i % 5 === 0)) expect((await logA.get(keyOf(m)))!.attempts).toBe(1);
  });

  /**
   * Two processes on one log: A, and B whose reads of a message are held (after reading) until released
   * — B then appends what it read before A's change, as a process that was slower would.
   */
  async function twoProcesses() {
    const s = await site();
    const storeA = await open(s);
    const storeB = await open(s);
    const clock = new SteppingClock(undefined, 10);
    let releaseB!: () => void;
    const gate = new Promise<void>((r) => (releaseB = r));
    let bRead = false;
    const slowReaderB = new Proxy(storeB, {
      get(target, prop) {
        if (prop === 'message')
          return async (key: Parameters<LogStore['message']>[0]) => {
            const row = await target.message(key);
            bRead = true;
            await gate;
            return row;
          };
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    return {
      storeA,
      logA: messageLog(storeA, { clock }),
      logB: messageLog(slowReaderB, { clock }),
      clock,
      bHasRead: () => bRead,
      releaseB,
    };
  }

  it('a change that sets no state never writes back a state another process recorded meanwhile', async () => {
    // Process B reads the message (RECEIVED) to keep its riscontro; before B appends, process A records the
    // hand-over (DISPATCHED). B's append must keep DISPATCHED: writing back what it read would put the
    // message back to RECEIVED, and the next dispatch attempt would hand it to the back office again.
    const { storeA, logA, logB, clock, bHasRead, releaseB } = await twoProcesses();
    const m = sampleMessage(8, clock, { direction: 'in', status: 'RECEIVED', to: 'SPC/Regione' });
    await logA.create(m, sampleEnvelope(m.id));
    const riscontro = logB.transition(keyOf(m), {}, sampleReceipt(m.id));
    await expect.poll(bHasRead).toBe(true);
    await logA.transition(keyOf(m), { status: 'DISPATCHED' });
    releaseB();
    await riscontro;
    expect(await logA.get(keyOf(m))).toMatchObject({ status: 'DISPATCHED' });
    expect(await logA.replyEnvelopeOf(keyOf(m))).toBe(sampleReceipt(m.id));
    const records = await storeA.recordsOf(m.id);
    expect(records.map((r) => [r.kind, r.state])).toEqual([
      ['envelope', 'RECEIVED'],
      ['state', 'DISPATCHED'],
      ['receipt', 'DISPATCHED'],
    ]);
    expect((await logA.verify()).ok).toBe(true);
  });

  it('a conditional change is not made when another process settled the message after it was read', async () => {
    // Process B reads an outbound message (SENDING) for a retry's SENDING; before B appends, process A
    // records DELIVERED. B's conditional change (only from ACCEPTED or SENDING) must log nothing: written,
    // it would put a delivered message back on the road, and the next attempt would send it again.
    const { storeA, logA, logB, clock, bHasRead, releaseB } = await twoProcesses();
    const m = sampleMessage(9, clock, { status: 'SENDING' });
    await logA.create(m, sampleEnvelope(m.id));
    const retry = logB.transitionIf(keyOf(m), ['ACCEPTED', 'SENDING'], { status: 'SENDING', error: { code: 'X', message: 'late' } });
    await expect.poll(bHasRead).toBe(true);
    await logA.transition(keyOf(m), { status: 'DELIVERED' }, sampleReceipt(m.id));
    releaseB();
    expect(await retry).toBeUndefined();
    expect(await logA.get(keyOf(m))).toMatchObject({ status: 'DELIVERED' });
    expect((await logA.get(keyOf(m)))!.error).toBeUndefined();
    expect((await storeA.recordsOf(m.id)).map((r) => [r.kind, r.state])).toEqual([
      ['envelope', 'SENDING'],
      ['receipt', 'DELIVERED'],
    ]);
    // Made when the message is in a state it applies from; refused at once when it is not.
    expect(await logA.transitionIf(keyOf(m), ['DELIVERED'], { error: { code: 'Y', message: 'noted' } })).toMatchObject({
      status: 'DELIVERED',
      error: { code: 'Y' },
    });
    expect(await logA.transitionIf(keyOf(m), ['FAILED'], { status: 'ACCEPTED' })).toBeUndefined();
    expect((await storeA.recordsOf(m.id)).length).toBe(3);
    expect((await logA.verify()).ok).toBe(true);
  });

  /** An inbound message `id` from `from` to the Regione, as the inbound pipeline logs it. */
  function received(clock: SteppingClock, id: string, from: string, payload: string): MessageRecord {
    return sampleMessage(4, clock, {
      id,
      direction: 'in',
      status: 'RECEIVED',
      from,
      to: 'SPC/Regione',
      collaboration: 'sincrono',
      payload,
    });
  }

  it("two senders' inbound messages with one id are two messages: each read, changed and answered on its own", async () => {
    const store = await fresh();
    const clock = new SteppingClock();
    const log = messageLog(store, { clock });
    const id = 'bf1c0f6e-4a0e-4d3c-9a51-6c3f8f2f0e11';
    const fromA = received(clock, id, 'SPC/ComuneA', '<cf>A</cf>');
    await log.create(fromA, sampleEnvelope(id, 'richiestaA'));
    await log.transition(keyOf(fromA), { status: 'DISPATCHED', replyPayload: '<esito>A</esito>' }, sampleReceipt(id));

    const fromB = received(clock, id, 'SPC/ComuneB', '<cf>B</cf>');
    await log.create(fromB, sampleEnvelope(id, 'richiestaB'));
    expect(await log.get(keyOf(fromB))).toMatchObject({ from: 'SPC/ComuneB', status: 'RECEIVED', payload: '<cf>B</cf>' });
    expect((await log.get(keyOf(fromB)))!.replyPayload).toBeUndefined();
    expect(await log.replyEnvelopeOf(keyOf(fromB))).toBeUndefined();
    expect(await log.envelopeOf(keyOf(fromB))).toBe(sampleEnvelope(id, 'richiestaB'));

    await log.transition(keyOf(fromB), { status: 'FAILED', error: { code: 'EGOV_IT_300', message: 'no' } });
    expect(await log.get(keyOf(fromA))).toMatchObject({ from: 'SPC/ComuneA', status: 'DISPATCHED', replyPayload: '<esito>A</esito>' });
    expect(await log.replyEnvelopeOf(keyOf(fromA))).toBe(sampleReceipt(id));
    expect((await log.list({ direction: 'in', id })).map((m) => m.from).sort()).toEqual(['SPC/ComuneA', 'SPC/ComuneB']);
    // The same sender's id twice is still one message.
    await expect(log.create(received(clock, id, 'SPC/ComuneA', '<cf>A2</cf>'), sampleEnvelope(id))).rejects.toBeInstanceOf(TramiteError);
    expect((await log.verify()).ok).toBe(true);
  });

  it('a log written before messages were keyed by sender is migrated on open: its messages stay, a second sender fits', async () => {
    const s = await site();
    const clock = new SteppingClock();
    const id = 'c7f1d0aa-0c55-4a8e-8f6f-3a1c2b9d7e44';
    const fromA = received(clock, id, 'SPC/ComuneA', '<cf>A</cf>');
    const first = await open(s);
    await messageLog(first, { clock, checkpoints: false }).create(fromA, sampleEnvelope(id));
    // What an earlier version left: the projection keyed by (id, direction) alone.
    const sql = rawSql(first);
    if (kind === 'postgres') {
      await sql.run('ALTER TABLE messages DROP CONSTRAINT messages_pkey, ADD PRIMARY KEY (id, direction)');
    } else {
      await sql.run('DROP INDEX IF EXISTS messages_state'); // replaced by messages_direction_state since
      await sql.run('DROP INDEX messages_created');
      await sql.run('ALTER TABLE messages RENAME TO messages_now');
      await sql.run(
        'CREATE TABLE messages (id TEXT NOT NULL, direction TEXT NOT NULL, state TEXT NOT NULL, from_party TEXT NOT NULL, to_party TEXT NOT NULL, service TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, envelope_seq INTEGER, reply_seq INTEGER, fields TEXT NOT NULL, PRIMARY KEY (id, direction))',
      );
      await sql.run(
        'INSERT INTO messages SELECT id, direction, state, from_party, to_party, service, created_at, updated_at, envelope_seq, reply_seq, fields FROM messages_now',
      );
      await sql.run('DROP TABLE messages_now');
    }
    await first.close();

    const store = await open(s);
    const log = messageLog(store, { clock, checkpoints: false });
    expect(await log.get(keyOf(fromA))).toMatchObject({ from: 'SPC/ComuneA', status: 'RECEIVED', payload: '<cf>A</cf>' });
    const fromB = received(clock, id, 'SPC/ComuneB', '<cf>B</cf>');
    await log.create(fromB, sampleEnvelope(id, 'altro'));
    expect(await log.get(keyOf(fromB))).toMatchObject({ from: 'SPC/ComuneB', payload: '<cf>B</cf>' });
    expect(await log.get(keyOf(fromA))).toMatchObject({ from: 'SPC/ComuneA', payload: '<cf>A</cf>' });
    expect((await log.verify()).ok).toBe(true);
    // Opening it again finds nothing left to migrate.
    await open(s);
  });

  it('several node processes can start at once on an empty database', async () => {
    // Each process opens its store (creating the schema if missing) at the same moment: none may fail.
    const s = await site();
    const opened = await Promise.allSettled(Array.from({ length: 4 }, () => open(s)));
    const failures = opened.flatMap((o) => (o.status === 'rejected' ? [(o.reason as Error).message] : []));
    expect(failures).toEqual([]);
    const stores = opened.map((o) => (o as PromiseFulfilledResult<LogStore>).value);
    await Promise.all(stores.map((st, i) => st.append([entry(i + 1, `2031-03-03T09:00:0${i + 1}.000Z`)], { op: 'none' })));
    expect((await verifyChain(stores[0]!.range(1, 4), [])).records).toBe(4);
  });
});
