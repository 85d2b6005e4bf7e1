/**
 * Message search, as the console and the APIs use it (MessageLog.list over LogStore.messages): every
 * filter and their combinations against a plain in-memory reading of the same messages, keyset pages
 * that together are the whole answer once each, the creation-time bounds, counterparts both ways, the
 * grouped counts since an instant and the related messages of one — on SQLite and PostgreSQL.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inboundKey, keyOf, outboundKey, type MessageListQuery, type MessageRecord } from '../../src/core/message-record.js';
import type { MessageLog } from '../../src/log/message-log.js';
import type { LogStore } from '../../src/log/log-store.js';
import { dropFileDatabase, messageLog, newStoreSite, sampleEnvelope, SteppingClock, STORE_KINDS, type StoreSite } from './log-fixtures.js';

afterAll(() => dropFileDatabase());

const HOSTED = ['SPC/ComuneA', 'SPC/ComuneB', 'SPC/ComuneC'];
const PEER = ['SPC/Regione', 'SPC/ASL'];
const OTHER_PEER = ['SPC/INPS'];
const SERVICES = ['Anagrafe', 'Tributi', 'Protocollo'];
const T0 = Date.parse('2031-03-01T00:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

/**
 * The i-th message of the search set: directions, hosted parties, peers, services and states rotate on
 * different periods, so every combination occurs; every third one shares its instant with the one
 * before (ties are broken by id and sender), and inbound ids repeat across senders.
 */
function searchMessage(i: number): MessageRecord {
  const direction = i % 3 === 0 ? 'in' : 'out';
  const owner = HOSTED[i % HOSTED.length]!;
  const other = [...PEER, ...OTHER_PEER][i % 4 === 3 ? 2 : i % 2]!;
  const [from, to] = direction === 'out' ? [owner, other] : [other, owner];
  const status =
    direction === 'out' ? (['DELIVERED', 'FAILED', 'SENDING'] as const)[(i % 5) % 3]! : (['DISPATCHED', 'FAILED'] as const)[i % 2]!;
  const createdAt = at(i - (i % 3 === 2 ? 1 : 0));
  return {
    id: direction === 'in' ? `IN-${Math.floor(i / 6)}` : `OUT-${String(i).padStart(3, '0')}`,
    direction,
    envelopeProfile: 'egov',
    collaboration: 'oneway',
    from,
    to,
    service: SERVICES[i % SERVICES.length]!,
    confermaRicezione: false,
    createdAt,
    updatedAt: createdAt,
    status,
    attempts: 1,
  };
}

/** The order of every listing: newest first, then id, then sender, all descending. */
function newestFirst(a: MessageRecord, b: MessageRecord): number {
  const cmp = (x: string, y: string) => (x < y ? 1 : x > y ? -1 : 0);
  return cmp(a.createdAt, b.createdAt) || cmp(a.id, b.id) || cmp(a.from, b.from);
}

/** What `q` selects, read plainly off the messages themselves. */
function expected(all: readonly MessageRecord[], q: MessageListQuery): string[] {
  const owner = (m: MessageRecord) => (m.direction === 'out' ? m.from : m.to);
  const other = (m: MessageRecord) => (m.direction === 'out' ? m.to : m.from);
  return all
    .filter(
      (m) =>
        (!q.direction || m.direction === q.direction) &&
        (q.id === undefined || m.id === q.id) &&
        (!q.status || m.status === q.status) &&
        (q.service === undefined || m.service === q.service) &&
        (!q.parties || q.parties.has(owner(m))) &&
        (!q.counterparts || q.counterparts.has(other(m))) &&
        (q.createdFrom === undefined || m.createdAt >= q.createdFrom) &&
        (q.createdTo === undefined || m.createdAt < q.createdTo),
    )
    .sort(newestFirst)
    .map(label);
}

const label = (m: Pick<MessageRecord, 'id' | 'direction' | 'from'>) => `${m.direction} ${m.id} ${m.from}`;

/** The combinations searched: each filter alone, the console's common pairs, and a few of three or more. */
const QUERIES: ReadonlyArray<[string, MessageListQuery]> = [
  ['everything', {}],
  ['direction', { direction: 'in' }],
  ['state', { status: 'FAILED' }],
  ['service', { service: 'Tributi' }],
  ['one party', { parties: new Set(['SPC/ComuneB']) }],
  ['two parties', { parties: new Set(['SPC/ComuneA', 'SPC/ComuneC']) }],
  ['no party', { parties: new Set() }],
  ['a peer (two counterparts)', { counterparts: new Set(PEER) }],
  ['one counterpart', { counterparts: new Set(OTHER_PEER) }],
  ['time range', { createdFrom: at(20), createdTo: at(50) }],
  ['id (inbound, several senders)', { id: 'IN-3' }],
  ['state + time', { status: 'DELIVERED', createdFrom: at(10), createdTo: at(70) }],
  ['service + time', { service: 'Anagrafe', createdFrom: at(30) }],
  ['party + state', { parties: new Set(['SPC/ComuneA']), status: 'FAILED' }],
  ['counterparts + time', { counterparts: new Set(PEER), createdTo: at(40) }],
  ['direction + state', { direction: 'out', status: 'FAILED' }],
  ['direction + state that never meet', { direction: 'in', status: 'DELIVERED' }],
  ['parties + counterparts', { parties: new Set(['SPC/ComuneA', 'SPC/ComuneB']), counterparts: new Set(PEER) }],
  [
    'everything at once',
    {
      direction: 'out',
      status: 'DELIVERED',
      service: 'Tributi',
      parties: new Set(HOSTED),
      counterparts: new Set(PEER),
      createdFrom: at(5),
      createdTo: at(85),
    },
  ],
];

const COUNT = 90;

describe.each(STORE_KINDS)('%s log: message search', (kind) => {
  let site: StoreSite;
  let store: LogStore;
  let log: MessageLog;
  const all: MessageRecord[] = [];

  beforeAll(async () => {
    site = await newStoreSite(kind);
    store = await site.open();
    log = messageLog(store, { clock: new SteppingClock(new Date(T0 + 7 * 86_400_000)), checkpoints: false });
    for (let i = 1; i <= COUNT; i++) {
      const m = searchMessage(i);
      await log.create(m, sampleEnvelope(m.id));
      all.push(m);
    }
  });
  afterAll(async () => {
    await store.close();
    await site.dispose();
  });

  it.each(QUERIES)('%s: the messages it selects, newest first', async (_name, q) => {
    const want = expected(all, q);
    expect((await log.list({ ...q, limit: 1000 })).map(label)).toEqual(want);
  });

  it('the sample is not trivial: each query selects some messages and leaves others', () => {
    const sizes = QUERIES.map(([name, q]) => [name, expected(all, q).length] as const);
    const empty = new Set(['no party', 'direction + state that never meet']);
    for (const [name, n] of sizes) {
      if (empty.has(name)) expect(n, name).toBe(0);
      else expect(n, name).toBeGreaterThan(0);
      if (name !== 'everything') expect(n, name).toBeLessThan(COUNT);
    }
  });

  it.each(QUERIES)('%s: keyset pages are disjoint and together the whole answer', async (_name, q) => {
    const pages: string[][] = [];
    let olderThan: MessageListQuery['olderThan'];
    for (;;) {
      const page = await log.list({ ...q, limit: 7, ...(olderThan ? { olderThan } : {}) });
      if (page.length > 0) pages.push(page.map(label));
      if (page.length < 7) break;
      const last = page[page.length - 1]!;
      olderThan = { createdAt: last.createdAt, id: last.id, from: last.from };
    }
    expect(pages.slice(0, -1).every((p) => p.length === 7)).toBe(true);
    expect(pages.flat()).toEqual(expected(all, q));
  });

  it('the time bounds: createdFrom is inclusive, createdTo exclusive', async () => {
    const instant = at(30);
    const atInstant = all.filter((m) => m.createdAt === instant).map(label);
    expect(atInstant.length).toBeGreaterThan(0);
    const from = (await log.list({ createdFrom: instant, limit: 1000 })).map(label);
    const to = (await log.list({ createdTo: instant, limit: 1000 })).map(label);
    for (const m of atInstant) {
      expect(from).toContain(m);
      expect(to).not.toContain(m);
    }
    expect((await log.list({ createdFrom: instant, createdTo: instant })).length).toBe(0);
    expect(from.length + to.length).toBe(COUNT);
  });

  it('counterparts are the recipients of outbound messages and the senders of inbound ones', async () => {
    const found = await log.list({ counterparts: new Set(OTHER_PEER), limit: 1000 });
    expect(new Set(found.map((m) => m.direction))).toEqual(new Set(['in', 'out']));
    for (const m of found) expect(m.direction === 'out' ? m.to : m.from).toBe('SPC/INPS');
    // The hosted side is never a counterpart: a Comune is the owner of every message here.
    expect(await log.list({ counterparts: new Set(['SPC/ComuneA']) })).toEqual([]);
  });

  it('grouped counts since an instant: only the messages created at or after it', async () => {
    const since = at(60);
    const counts = await store.messageCounts({ since });
    const total = counts.reduce((n, c) => n + c.count, 0);
    expect(total).toBe(all.filter((m) => m.createdAt >= since).length);
    const failedOut = counts.filter((c) => c.direction === 'out' && c.state === 'FAILED').reduce((n, c) => n + c.count, 0);
    expect(failedOut).toBe(all.filter((m) => m.createdAt >= since && m.direction === 'out' && m.status === 'FAILED').length);
    for (const c of counts) expect(c.oldestCreatedAt >= since).toBe(true);
    const until = at(70);
    const window = (await store.messageCounts({ since, until })).reduce((n, c) => n + c.count, 0);
    expect(window).toBe(all.filter((m) => m.createdAt >= since && m.createdAt < until).length);
    // Without `since`: every message, as the metrics count them.
    expect((await store.messageCounts()).reduce((n, c) => n + c.count, 0)).toBe(COUNT);
  });
});

describe.each(STORE_KINDS)('%s log: related messages', (kind) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function freshLog(): Promise<{ log: MessageLog; site: StoreSite }> {
    const site = await newStoreSite(kind);
    const store = await site.open();
    cleanups.push(async () => {
      await store.close();
      await site.dispose();
    });
    return { log: messageLog(store, { clock: new SteppingClock(), checkpoints: false }), site };
  }

  const base = (id: string, direction: 'in' | 'out', minute: number, over: Partial<MessageRecord> = {}): MessageRecord => ({
    id,
    direction,
    envelopeProfile: 'egov',
    collaboration: 'asincronoSimmetrico',
    from: direction === 'out' ? 'SPC/ComuneA' : 'SPC/Regione',
    to: direction === 'out' ? 'SPC/Regione' : 'SPC/ComuneA',
    service: 'Pratiche',
    confermaRicezione: false,
    createdAt: at(minute),
    updatedAt: at(minute),
    status: direction === 'out' ? 'DELIVERED' : 'DISPATCHED',
    attempts: 1,
    ...over,
  });

  it('names the request, its answers, the polls about it and the rest of its conversation', async () => {
    const { log } = await freshLog();
    const request = base('REQ-1', 'out', 1);
    const answer = base('ANS-1', 'in', 2, { refId: 'REQ-1', conversationId: 'REQ-1' });
    const followUp = base('REQ-2', 'out', 3, { conversationId: 'REQ-1' });
    const polled = base('REQ-3', 'out', 4, { collaboration: 'asincronoAsimmetrico' });
    const poll = base('POLL-1', 'out', 5, { collaboration: 'asincronoAsimmetrico', refId: 'REQ-3', conversationId: 'REQ-3' });
    const unrelated = base('OTHER', 'out', 6);
    // Another sender's message with the request's id, and one that refers to it: not between these two parties.
    const stranger = base('REQ-1', 'in', 7, { from: 'SPC/Intruso', to: 'SPC/ComuneA' });
    const strangerRef = base('X-1', 'in', 8, { from: 'SPC/Intruso', to: 'SPC/ComuneA', refId: 'REQ-1' });
    for (const m of [request, answer, followUp, polled, poll, unrelated, stranger, strangerRef]) await log.create(m, sampleEnvelope(m.id));

    const named = async (key: Parameters<MessageLog['related']>[0]) =>
      (await log.related(key)).map((r) => `${r.relation} ${label(r.message)}`);
    expect(await named(outboundKey('REQ-1'))).toEqual([`answer ${label(answer)}`, `conversation ${label(followUp)}`]);
    expect(await named(keyOf(answer))).toEqual([`request ${label(request)}`, `conversation ${label(followUp)}`]);
    expect(await named(outboundKey('REQ-2'))).toEqual([`conversation ${label(request)}`, `conversation ${label(answer)}`]);
    expect(await named(outboundKey('REQ-3'))).toEqual([`poll ${label(poll)}`]);
    expect(await named(outboundKey('POLL-1'))).toEqual([`request ${label(polled)}`]);
    expect(await named(outboundKey('OTHER'))).toEqual([]);
    await expect(log.related(inboundKey('NONE', 'SPC/Regione'))).rejects.toMatchObject({ code: 'TRAMITE_ERR_NOT_FOUND' });
  });

  it('a message whose sender and recipient are both on this node: the other side is named as such', async () => {
    const { log } = await freshLog();
    const sent = base('LOCAL-1', 'out', 1, { to: 'SPC/ComuneB', collaboration: 'oneway' });
    const received = { ...sent, direction: 'in' as const, status: 'DISPATCHED' as const };
    await log.create(sent, sampleEnvelope(sent.id));
    await log.create(received, sampleEnvelope(sent.id));
    expect((await log.related(keyOf(sent))).map((r) => `${r.relation} ${label(r.message)}`)).toEqual([`other-side ${label(received)}`]);
  });

  it('a log made before the projection had ref_id and conversation_id is migrated on open: related messages are found', async () => {
    const site = await newStoreSite(kind);
    const first = await site.open();
    const log = messageLog(first, { clock: new SteppingClock(), checkpoints: false });
    const request = base('REQ-9', 'out', 1);
    const answer = base('ANS-9', 'in', 2, { refId: 'REQ-9', conversationId: 'REQ-9' });
    for (const m of [request, answer]) await log.create(m, sampleEnvelope(m.id));
    // What an earlier version left: no such columns (and so none of the indexes on them).
    if (kind === 'sqlite') {
      const db = (first as unknown as { database: import('better-sqlite3').Database }).database;
      db.exec(
        'DROP INDEX messages_ref; DROP INDEX messages_conversation; ALTER TABLE messages DROP COLUMN ref_id; ALTER TABLE messages DROP COLUMN conversation_id',
      );
    } else {
      await (first as unknown as { query(sql: string): Promise<unknown> }).query(
        'ALTER TABLE messages DROP COLUMN ref_id, DROP COLUMN conversation_id',
      );
    }
    await first.close();
    const store = await site.open();
    cleanups.push(async () => {
      await store.close();
      await site.dispose();
    });
    const reopened = messageLog(store, { clock: new SteppingClock(), checkpoints: false });
    expect((await reopened.related(outboundKey('REQ-9'))).map((r) => `${r.relation} ${r.message.id}`)).toEqual(['answer ANS-9']);
    expect((await reopened.related(keyOf(answer))).map((r) => `${r.relation} ${r.message.id}`)).toEqual(['request REQ-9']);
  });
});
