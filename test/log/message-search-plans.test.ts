/**
 * The searches use their indexes — checked by the databases' own plans, not by timing. SQLite: the
 * plan of each query shape (EXPLAIN QUERY PLAN) reads the index meant for it, never scans the table,
 * and sorts at most the rows of one created_at instant (or one page per party); SQLite plans these
 * without statistics, so the plan is the same at any size. PostgreSQL plans by its statistics: over a
 * table of 20 000 analysed messages, the selective shapes (EXPLAIN) read an index, never a Seq Scan.
 * The timings over a million messages are bench/search.bench.ts's (npm run bench:search).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogStore, MessageQuery } from '../../src/log/log-store.js';
import { messageCountsSql, messagePageSql, relatedSql } from '../../src/log/message-search-sql.js';
import { PostgresLogStore } from '../../src/log/postgres-log-store.js';
import { insertRowSql } from '../../src/log/projection-row.js';
import { SqliteLogStore } from '../../src/log/sqlite-log-store.js';
import { dropFileDatabase, newStoreSite, type StoreSite } from './log-fixtures.js';

afterAll(() => dropFileDatabase());

const ROWS = 20_000;
const HOSTED = Array.from({ length: 40 }, (_, i) => `SPC/Comune${i}`);
const PEERS = Array.from({ length: 12 }, (_, i) => `SPC/Ente${i}`);
const SERVICES = Array.from({ length: 12 }, (_, i) => `Servizio${i}`);
const T0 = Date.parse('2031-01-01T00:00:00.000Z');
const at = (i: number) => new Date(T0 + i * 60_000).toISOString();

/** The projection's INSERT parameters of the i-th message: a node's spread, mostly final, a few FAILED or in flight. */
function row(i: number): unknown[] {
  const direction = i % 5 < 3 ? 'out' : 'in';
  const owner = HOSTED[i % HOSTED.length]!;
  const other = PEERS[i % PEERS.length]!;
  const [from, to] = direction === 'out' ? [owner, other] : [other, owner];
  const state =
    i % 97 === 0
      ? 'FAILED'
      : i % 89 === 0
        ? direction === 'out'
          ? 'SENDING'
          : 'RECEIVED'
        : direction === 'out'
          ? 'DELIVERED'
          : 'DISPATCHED';
  const id = `M-${i}`;
  const refId = i % 20 === 0 ? `M-${i - 1}` : null;
  const conversationId = i % 10 === 0 ? `C-${Math.floor(i / 30)}` : null;
  const fields = JSON.stringify({ id, direction, from, to, service: SERVICES[i % SERVICES.length], status: state, createdAt: at(i) });
  return [id, direction, state, from, to, SERVICES[i % SERVICES.length]!, at(i), at(i), null, null, fields, refId, conversationId];
}

const cursor = { createdAt: at(ROWS / 3), id: `M-${ROWS / 3}`, from: HOSTED[(ROWS / 3) % HOSTED.length]! };
const week = { createdFrom: at(2000), createdTo: at(12_000) };

/** Each search shape, the index SQLite must read for it, and whether PostgreSQL's plan is checked (selective shapes). */
const SHAPES: ReadonlyArray<{ name: string; q: MessageQuery; sqlite: string; selective: boolean }> = [
  { name: 'everything', q: {}, sqlite: 'messages_created', selective: false },
  { name: 'time range', q: week, sqlite: 'messages_created', selective: false },
  { name: 'direction', q: { direction: 'in' }, sqlite: 'messages_direction_created', selective: false },
  { name: 'state', q: { state: 'FAILED' }, sqlite: 'messages_state_created', selective: true },
  { name: 'state + time', q: { state: 'FAILED', ...week }, sqlite: 'messages_state_created', selective: true },
  { name: 'service', q: { service: SERVICES[3]! }, sqlite: 'messages_service_created', selective: false },
  { name: 'service + time', q: { service: SERVICES[3]!, ...week }, sqlite: 'messages_service_created', selective: false },
  { name: 'party', q: { parties: [HOSTED[7]!] }, sqlite: 'messages_owner_created', selective: true },
  { name: 'party + state', q: { parties: [HOSTED[7]!], state: 'FAILED' }, sqlite: 'messages_owner_state', selective: true },
  { name: 'parties', q: { parties: HOSTED.slice(0, 3) }, sqlite: 'messages_owner_created', selective: true },
  // The back-office API always filters by the caller's parties: the party's index leads whatever else is asked.
  { name: 'party + service', q: { parties: [HOSTED[7]!], service: SERVICES[3]! }, sqlite: 'messages_owner_created', selective: true },
  {
    name: 'party + direction + service + state',
    q: { parties: [HOSTED[7]!], direction: 'out', service: SERVICES[3]!, state: 'FAILED' },
    sqlite: 'messages_owner_state',
    selective: true,
  },
  { name: 'parties + direction', q: { parties: HOSTED.slice(0, 3), direction: 'in' }, sqlite: 'messages_owner_created', selective: true },
  { name: 'counterpart', q: { counterparts: [PEERS[2]!] }, sqlite: 'messages_counterpart_created', selective: true },
  { name: 'counterparts + time', q: { counterparts: PEERS.slice(0, 3), ...week }, sqlite: 'messages_counterpart_created', selective: true },
  { name: 'direction + state', q: { direction: 'out', state: 'SENDING' }, sqlite: 'messages_direction_state', selective: true },
  { name: 'id', q: { messageId: 'M-77' }, sqlite: 'sqlite_autoindex_messages_1', selective: true },
  // What GET /api/v1/messages/{id} looks up (received-lookup.ts): the id leads, whatever else is given.
  {
    name: 'id + parties + direction',
    q: { messageId: 'M-77', parties: HOSTED.slice(0, 3), direction: 'in' },
    sqlite: 'sqlite_autoindex_messages_1',
    selective: true,
  },
  {
    name: 'id + state + service + counterparts',
    q: { messageId: 'M-77', state: 'FAILED', service: SERVICES[3]!, counterparts: [PEERS[2]!] },
    sqlite: 'sqlite_autoindex_messages_1',
    selective: true,
  },
  {
    name: 'party + counterpart',
    q: { parties: [HOSTED[7]!], counterparts: [PEERS[2]!] },
    sqlite: 'messages_owner_created',
    selective: true,
  },
];

async function fill(store: LogStore): Promise<void> {
  const rows = Array.from({ length: ROWS }, (_, i) => row(i + 1));
  if (store instanceof SqliteLogStore) {
    const insert = store.database.prepare(insertRowSql(() => '?'));
    store.database.transaction(() => rows.forEach((r) => insert.run(...r)))();
    return;
  }
  const pg = store as PostgresLogStore;
  const columns = Array.from({ length: 13 }, (_, c) => rows.map((r) => r[c]));
  await pg.query(
    `INSERT INTO messages (id, direction, state, from_party, to_party, service, created_at, updated_at, envelope_seq, reply_seq, fields, ref_id, conversation_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::text[], $12::text[], $13::text[])`,
    columns,
  );
  await pg.query('ANALYZE messages');
}

describe('sqlite: the plan of each search shape', () => {
  let site: StoreSite;
  let store: SqliteLogStore;
  beforeAll(async () => {
    site = await newStoreSite('sqlite');
    store = (await site.open()) as SqliteLogStore;
    await fill(store);
  });
  afterAll(async () => {
    await store.close();
    await site.dispose();
  });

  const plan = (sql: string, params: unknown[]) =>
    (store.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail);

  /** The plan's lines on the messages table: each must read an index by its equality or range terms. */
  const onMessages = (lines: string[]) => lines.filter((l) => /\bmessages\b/.test(l));

  it.each(SHAPES)('$name: reads $sqlite, first page and deep page', ({ q, sqlite }) => {
    for (const page of [q, { ...q, olderThan: cursor }]) {
      const { sql, params } = messagePageSql({ ...page, limit: 50 }, () => '?');
      const lines = plan(sql, params);
      const reads = onMessages(lines);
      expect(reads.length, lines.join('\n')).toBeGreaterThan(0);
      // With no term at all (the whole listing's first page) the index is walked from its end: a SCAN that stops at the limit.
      const read =
        Object.keys(page).length === 0 ? `SCAN messages USING INDEX ${sqlite}$` : `SEARCH messages USING (COVERING )?INDEX ${sqlite} \\(`;
      for (const l of reads) expect(l, lines.join('\n')).toMatch(new RegExp(`^${read}`));
      // A sort of everything matched would read every match for a page: only the ties of one instant
      // (LAST 2 TERMS), or the small pages of a split party set, or the rows of one id, are sorted.
      const fullSorts = lines.filter((l) => l === 'USE TEMP B-TREE FOR ORDER BY').length;
      const splitPages = lines.filter((l) => /^SCAN page\d+$/.test(l)).length;
      if (!q.messageId) expect(fullSorts, lines.join('\n')).toBe(splitPages);
    }
  });

  it('the counts since an instant read the created_at range', () => {
    const { sql, params } = messageCountsSql({ since: at(ROWS - 60) }, () => '?');
    expect(onMessages(plan(sql, params))).toEqual(['SEARCH messages USING INDEX messages_created (created_at>? AND created_at<?)']);
  });

  it('the related messages are read by messages_ref, messages_conversation and the primary key', () => {
    const { sql, params } = relatedSql({ id: 'M-40', refId: 'M-39', conversationId: 'C-1' }, () => '?');
    const reads = onMessages(plan(sql, params)).join('\n');
    expect(reads).not.toMatch(/^SCAN messages/m);
    for (const index of ['messages_ref', 'messages_conversation', 'sqlite_autoindex_messages_1']) expect(reads).toContain(index);
  });

  it('the shapes find what they should in this table (the plans above are of real queries)', async () => {
    expect((await store.messages({ state: 'FAILED', limit: 1000 })).length).toBe(Math.floor(ROWS / 97));
    expect(
      (await store.messages({ parties: HOSTED.slice(0, 3), olderThan: cursor, limit: 5 })).map((m) => m.createdAt < cursor.createdAt),
    ).toEqual([true, true, true, true, true]);
  });
});

describe('postgres: the selective search shapes read an index', () => {
  let site: StoreSite;
  let store: PostgresLogStore;
  beforeAll(async () => {
    site = await newStoreSite('postgres');
    store = (await site.open()) as PostgresLogStore;
    await fill(store);
  });
  afterAll(async () => {
    await store.close();
    await site.dispose();
  });

  const dollar = (i: number) => `$${i}`;
  const explain = async (sql: string, params: unknown[]) =>
    ((await store.query(`EXPLAIN ${sql}`, params)).rows as Array<{ 'QUERY PLAN': string }>).map((r) => r['QUERY PLAN']).join('\n');

  it.each(SHAPES.filter((s) => s.selective))('$name: no Seq Scan, first page and deep page', async ({ q }) => {
    for (const page of [q, { ...q, olderThan: cursor }]) {
      const { sql, params } = messagePageSql({ ...page, limit: 50 }, dollar);
      const text = await explain(sql, params);
      expect(text).not.toMatch(/Seq Scan on messages/);
      expect(text).toMatch(/Index (Only )?Scan|Bitmap Index Scan/);
    }
  });

  it('a direction and a state that never meet are answered by their pair index, not by walking the direction', async () => {
    const { sql, params } = messagePageSql({ direction: 'in', state: 'DELIVERED', limit: 50 }, dollar);
    expect(await explain(sql, params)).toMatch(
      /Index (Only )?Scan (Backward )?using messages_direction_state on messages|Bitmap Index Scan on messages_direction_state/,
    );
  });

  it('related messages and the counts of the last hour: no Seq Scan', async () => {
    const related = relatedSql({ id: 'M-40', refId: 'M-39', conversationId: 'C-1' }, dollar);
    expect(await explain(related.sql, related.params)).not.toMatch(/Seq Scan on messages/);
    const counts = messageCountsSql({ since: at(ROWS - 60) }, dollar);
    expect(await explain(counts.sql, counts.params)).not.toMatch(/Seq Scan on messages/);
  });
});
