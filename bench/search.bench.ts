/**
 * Message-search benchmark: the console's and the APIs' searches over a projection of 1 M messages.
 *
 *   npm run bench:search                        # SQLite, plus PostgreSQL when --postgres URL (or
 *                                               # TRAMITE_BENCH_POSTGRES_URL) names an empty database
 *   npm run bench:search -- --messages 200000 --runs 9 --json
 *
 * Fills the messages projection with synthetic messages (40 hosted parties, 12 parties of 5 peer nodes,
 * 12 services with a skewed spread, the states a running node has — mostly final, a few FAILED or in
 * flight — over 90 days; some answers, polls and conversations), in batched inserts in one transaction
 * each, then opens the store, which builds its indexes as it would over an existing log. For each query
 * shape it prints p50 and max over `--runs` runs (after one untimed) of the first page (50, newest
 * first) and of a deep keyset page (the cursor two thirds of the way down the whole listing), and the
 * ratio of their p50 to a baseline measured in the same run: one message looked up by primary key. Then
 * the dashboard's grouped counts, the related messages of one message, and the write cost of the new
 * indexes: a message's lifecycle (insert and two state changes) appended at the full size with every
 * index, then with only the indexes the projection had before, then with every index again. Measures only; the log_records table is
 * left empty (the searches read the projection alone).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogEntryInput } from '../src/log/log-entry.js';
import type { LogStore, MessageQuery } from '../src/log/log-store.js';
import { messagePageSql } from '../src/log/message-search-sql.js';
import { messageIndexes } from '../src/log/log-schema.js';
import { PostgresLogStore } from '../src/log/postgres-log-store.js';
import { insertRowSql } from '../src/log/projection-row.js';
import { SqliteLogStore } from '../src/log/sqlite-log-store.js';
import { measureAsync } from './bench-stats.js';

interface Args {
  messages: number;
  runs: number;
  stores: Array<'sqlite' | 'postgres'>;
  json: boolean;
  postgres?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { messages: 1_000_000, runs: 7, stores: ['sqlite', 'postgres'], json: false };
  const pg = process.env['TRAMITE_BENCH_POSTGRES_URL'];
  if (pg) args.postgres = pg;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') args.json = true;
    else if (a === '--messages') args.messages = Number(argv[++i]);
    else if (a === '--runs') args.runs = Number(argv[++i]);
    else if (a === '--postgres') args.postgres = argv[++i]!;
    else if (a === '--stores') args.stores = argv[++i]!.split(',') as Args['stores'];
    else {
      process.stderr.write(
        `unknown argument ${a}\nusage: search.bench.js [--messages N] [--runs N] [--stores sqlite,postgres] [--postgres URL] [--json]\n`,
      );
      process.exit(2);
    }
  }
  if (!(args.messages >= 1000) || !(args.runs >= 1)) {
    process.stderr.write('--messages must be at least 1000 and --runs at least 1\n');
    process.exit(2);
  }
  return args;
}

// ---------------------------------------------------------------------------------------------
// Synthetic messages

const DAY_MS = 86_400_000;
const SPAN_DAYS = 90;
const PAGE = 50;
const HOSTED = Array.from({ length: 40 }, (_, i) => `SPC/Comune${String(i + 1).padStart(2, '0')}`);
/** Five peer nodes, with 1 to 4 parties each. */
const PEERS = [
  ['SPC/RegioneAbruzzo', 'SPC/ASLChieti', 'SPC/ASLPescara'],
  ['SPC/INPS'],
  ['SPC/AgenziaEntrate', 'SPC/AgenziaRiscossione'],
  ['SPC/ANPR', 'SPC/MinInterno', 'SPC/Prefettura', 'SPC/Questura'],
  ['SPC/Provincia', 'SPC/CameraCommercio'],
];
const COUNTERPARTS = PEERS.flat();
const SERVICES = Array.from({ length: 12 }, (_, i) => `Servizio${String(i + 1).padStart(2, '0')}`);

/** A small deterministic generator (mulberry32): the same data every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Index i of n with a skew: the first ones far more often (a few large Comuni, a few busy services). */
const skewed = (r: number, n: number): number => Math.min(n - 1, Math.floor(n * r * r));

function outState(r: number): string {
  return r < 0.955 ? 'DELIVERED' : r < 0.975 ? 'FAILED' : r < 0.99 ? 'SENDING' : 'ACCEPTED';
}
function inState(r: number): string {
  return r < 0.97 ? 'DISPATCHED' : r < 0.985 ? 'FAILED' : 'RECEIVED';
}

/** The messages table's INSERT parameters of the i-th synthetic message, created at `at`. */
function syntheticRow(i: number, at: number, rnd: () => number): unknown[] {
  const direction = rnd() < 0.6 ? 'out' : 'in';
  const owner = HOSTED[skewed(rnd(), HOSTED.length)]!;
  const other = COUNTERPARTS[skewed(rnd(), COUNTERPARTS.length)]!;
  const [from, to] = direction === 'out' ? [owner, other] : [other, owner];
  const service = SERVICES[skewed(rnd(), SERVICES.length)]!;
  const state = direction === 'out' ? outState(rnd()) : inState(rnd());
  const createdAt = new Date(at).toISOString();
  const id = `${owner.slice(4)}_TramiteSPCoopIT_${String(i).padStart(7, '0')}_${createdAt.slice(0, 10)}_${createdAt.slice(11, 16)}`;
  const kind = rnd();
  // One in twenty answers or polls an earlier message; one in ten belongs to a longer conversation.
  const refId = kind < 0.05 && i > 1000 ? `REF_${i - 1 - Math.floor(rnd() * 1000)}` : undefined;
  const conversationId = kind < 0.15 ? `CONV_${Math.floor(i / 7)}` : undefined;
  const fields = {
    id,
    direction,
    envelopeProfile: 'egov',
    collaboration: refId && kind < 0.02 ? 'asincronoAsimmetrico' : 'oneway',
    from,
    to,
    service,
    action: 'Notifica',
    ...(refId ? { refId } : {}),
    ...(conversationId ? { conversationId } : {}),
    confermaRicezione: true,
    createdAt,
    updatedAt: createdAt,
    status: state,
    attempts: 1,
    payload: `<dati xmlns="urn:esempio"><pratica>${i}</pratica><esito>ok</esito></dati>`,
  };
  return [
    id,
    direction,
    state,
    from,
    to,
    service,
    createdAt,
    createdAt,
    null,
    null,
    JSON.stringify(fields),
    refId ?? null,
    conversationId ?? null,
  ];
}

/** The creation instants, oldest first, spread over 90 days up to `end`. */
function* creationTimes(n: number, end: number): Generator<number> {
  const start = end - SPAN_DAYS * DAY_MS;
  const step = (SPAN_DAYS * DAY_MS) / n;
  for (let i = 0; i < n; i++) yield Math.floor(start + i * step);
}

// ---------------------------------------------------------------------------------------------
// Stores

/** Fills an SQLite file's projection (tables only: the store builds its indexes when opened). */
function fillSqlite(file: string, n: number, end: number): number {
  const store = new SqliteLogStore(file);
  const db = store.database;
  // The bench's own file: dropping the indexes first makes the fill a bulk load; reopening rebuilds them.
  const names = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' AND sql IS NOT NULL")
    .all() as Array<{
    name: string;
  }>;
  for (const { name } of names) db.exec(`DROP INDEX ${name}`);
  const insert = db.prepare(insertRowSql(() => '?'));
  const rnd = random(17);
  const t0 = performance.now();
  const times = creationTimes(n, end);
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) insert.run(...syntheticRow(i, times.next().value as number, rnd));
  });
  for (let i = 0; i < n; i += 50_000) batch(i, Math.min(n, i + 50_000));
  const ms = performance.now() - t0;
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return ms;
}

async function fillPostgres(url: string, n: number, end: number): Promise<number> {
  const store = await PostgresLogStore.open(url);
  const { rows } = await store.query(
    "SELECT indexname FROM pg_indexes WHERE tablename = 'messages' AND schemaname = current_schema() AND indexname <> 'messages_pkey'",
  );
  for (const r of rows as Array<{ indexname: string }>) await store.query(`DROP INDEX ${r.indexname}`);
  await store.query('TRUNCATE messages');
  const rnd = random(17);
  const times = creationTimes(n, end);
  const t0 = performance.now();
  await store.query('BEGIN');
  for (let i = 0; i < n; i += 10_000) {
    const cols: unknown[][] = Array.from({ length: 13 }, () => []);
    for (let j = i; j < Math.min(n, i + 10_000); j++)
      syntheticRow(j, times.next().value as number, rnd).forEach((v, c) => cols[c]!.push(v));
    await store.query(
      `INSERT INTO messages (id, direction, state, from_party, to_party, service, created_at, updated_at, envelope_seq, reply_seq, fields, ref_id, conversation_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::text[], $12::text[], $13::text[])`,
      cols,
    );
  }
  await store.query('COMMIT');
  const ms = performance.now() - t0;
  await store.close();
  return ms;
}

// ---------------------------------------------------------------------------------------------
// Query shapes

interface Shape {
  readonly name: string;
  readonly q: MessageQuery;
}

function shapes(end: number): Shape[] {
  const day = (d: number) => new Date(end - d * DAY_MS).toISOString();
  const week = { createdFrom: day(70), createdTo: day(63) };
  return [
    { name: 'all, newest first', q: {} },
    { name: 'direction', q: { direction: 'in' } },
    { name: 'time range (a day)', q: { createdFrom: day(61), createdTo: day(60) } },
    { name: 'state FAILED', q: { state: 'FAILED' } },
    { name: 'state + time (a week)', q: { state: 'DELIVERED', ...week } },
    { name: 'service (rare) + time', q: { service: SERVICES[11]!, ...week } },
    { name: 'service (busy)', q: { service: SERVICES[0]! } },
    { name: 'party', q: { parties: [HOSTED[5]!] } },
    { name: 'party + state FAILED', q: { parties: [HOSTED[5]!], state: 'FAILED' } },
    { name: 'parties (3) + direction', q: { parties: HOSTED.slice(10, 13), direction: 'out' } },
    { name: 'counterparts (peer, 3) + time', q: { counterparts: PEERS[0]!, ...week } },
    { name: 'counterparts (peer, 4)', q: { counterparts: PEERS[3]! } },
    { name: 'direction + state', q: { direction: 'out', state: 'SENDING' } },
    { name: 'direction in + state DELIVERED (none)', q: { direction: 'in', state: 'DELIVERED' } },
    { name: 'party + service + state', q: { parties: [HOSTED[0]!], service: SERVICES[2]!, state: 'FAILED' } },
    { name: 'message id', q: { messageId: 'placeholder' } },
  ];
}

interface Timing {
  readonly p50ms: number;
  readonly maxMs: number;
  readonly rows: number;
}

async function timeRuns(runs: number, op: () => Promise<number>): Promise<Timing> {
  let rows = await op();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    rows = await op();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { p50ms: samples[Math.floor((samples.length - 1) / 2)]!, maxMs: samples[samples.length - 1]!, rows };
}

interface ShapeResult {
  readonly shape: string;
  readonly first: Timing;
  readonly deep: Timing;
  readonly plan?: string;
}

interface StoreResult {
  readonly store: 'sqlite' | 'postgres';
  readonly messages: number;
  readonly fillSeconds: number;
  readonly indexSeconds: number;
  readonly sizeMb?: number;
  readonly baseline: Timing;
  readonly shapes: ShapeResult[];
  readonly counts: { all: Timing; lastHour: Timing; lastDay: Timing };
  readonly related: Timing;
  readonly lifecycle: { allIndexesUs: number; previousIndexesUs: number; allAgainUs: number };
}

/** What SQLite plans for a shape, one line (the proof of an index, next to its timing). */
function sqlitePlan(store: SqliteLogStore, q: MessageQuery): string {
  const { sql, params } = messagePageSql(q, () => '?');
  const rows = store.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>;
  return rows.map((r) => r.detail).join('; ');
}

/** Appends a message's lifecycle: the envelope record inserting its row, then two state changes. */
async function lifecycle(store: LogStore, n: number): Promise<void> {
  const id = `BENCH_${n}_${process.hrtime.bigint()}`;
  const now = new Date().toISOString();
  const base: Omit<LogEntryInput, 'kind' | 'state'> = {
    time: now,
    messageId: id,
    direction: 'out',
    from: HOSTED[n % HOSTED.length]!,
    to: COUNTERPARTS[n % COUNTERPARTS.length]!,
    service: SERVICES[n % SERVICES.length]!,
  };
  const fields = { id, direction: 'out', from: base.from, to: base.to, service: base.service, createdAt: now, status: 'ACCEPTED' };
  await store.append([{ ...base, kind: 'envelope', state: 'ACCEPTED' }], {
    op: 'insert',
    id,
    direction: 'out',
    fields,
    envelopeFromEntry: 0,
  });
  for (const state of ['SENDING', 'DELIVERED']) {
    await store.append([{ ...base, kind: 'state', state }], {
      op: 'update',
      id,
      direction: 'out',
      from: base.from,
      fields: { status: state },
    });
  }
}

const NEW_INDEXES = [
  'messages_direction_created',
  'messages_state_created',
  'messages_direction_state',
  'messages_service_created',
  'messages_owner_created',
  'messages_owner_state',
  'messages_counterpart_created',
  'messages_ref',
  'messages_conversation',
];

async function benchStore(
  kind: 'sqlite' | 'postgres',
  fill: () => Promise<number>,
  open: () => Promise<LogStore>,
  args: Args,
  end: number,
  progress: (s: string) => void,
  sizeOf?: () => number,
): Promise<StoreResult> {
  progress(`${kind}: filling ${args.messages.toLocaleString('en')} messages… `);
  const fillMs = await fill();
  progress(`${(fillMs / 1000).toFixed(1)} s\n${kind}: opening (building the indexes)… `);
  const t0 = performance.now();
  const store = await open();
  const indexSeconds = (performance.now() - t0) / 1000;
  progress(`${indexSeconds.toFixed(1)} s\n`);
  try {
    if (store instanceof PostgresLogStore) await store.query('ANALYZE messages');
    const raw = store instanceof SqliteLogStore ? store.database : undefined;
    const cursorRow = raw
      ? (raw
          .prepare('SELECT created_at, id, from_party FROM messages ORDER BY created_at DESC, id DESC, from_party DESC LIMIT 1 OFFSET ?')
          .get(Math.floor((args.messages * 2) / 3)) as { created_at: string; id: string; from_party: string })
      : ((
          await (store as PostgresLogStore).query(
            'SELECT created_at, id, from_party FROM messages ORDER BY created_at DESC, id DESC, from_party DESC LIMIT 1 OFFSET $1',
            [Math.floor((args.messages * 2) / 3)],
          )
        ).rows[0] as { created_at: string; id: string; from_party: string });
    const cursor = { createdAt: cursorRow.created_at, id: cursorRow.id, from: cursorRow.from_party };
    const sample = (await store.messages({ limit: 1, olderThan: cursor }))[0]!;
    const key =
      sample.direction === 'out'
        ? ({ direction: 'out', id: sample.id } as const)
        : ({ direction: 'in', id: sample.id, from: sample.from } as const);
    progress(`${kind}: baseline (primary key)… `);
    const baseline = await timeRuns(args.runs * 3, async () => ((await store.message(key)) ? 1 : 0));
    progress('done\n');
    const results: ShapeResult[] = [];
    for (const s of shapes(end)) {
      const q = s.name === 'message id' ? { messageId: sample.id } : s.q;
      progress(`${kind}: ${s.name}… `);
      const first = await timeRuns(args.runs, async () => (await store.messages({ ...q, limit: PAGE })).length);
      const deep = await timeRuns(args.runs, async () => (await store.messages({ ...q, limit: PAGE, olderThan: cursor })).length);
      progress('done\n');
      results.push({
        shape: s.name,
        first,
        deep,
        ...(store instanceof SqliteLogStore ? { plan: sqlitePlan(store, { ...q, olderThan: cursor }) } : {}),
      });
    }
    progress(`${kind}: grouped counts, related… `);
    const counts = {
      all: await timeRuns(args.runs, async () => (await store.messageCounts()).length),
      lastHour: await timeRuns(
        args.runs,
        async () => (await store.messageCounts({ since: new Date(end - 3_600_000).toISOString() })).length,
      ),
      lastDay: await timeRuns(args.runs, async () => (await store.messageCounts({ since: new Date(end - DAY_MS).toISOString() })).length),
    };
    const conversation = (await store.messages({ limit: 1, olderThan: cursor, parties: [HOSTED[0]!] }))[0]!;
    const related = await timeRuns(
      args.runs,
      async () =>
        (await store.relatedMessages({ id: conversation.id, conversationId: `CONV_${Math.floor(args.messages / 3 / 7)}` })).length,
    );
    progress('done\n');
    progress(`${kind}: write cost (lifecycle appends, every index, then the previous ones only)… `);
    let n = 0;
    const all = await measureAsync(() => lifecycle(store, n++), { seconds: 2, warmupSeconds: 0.3 });
    for (const name of NEW_INDEXES) {
      if (raw) raw.exec(`DROP INDEX ${name}`);
      else await (store as PostgresLogStore).query(`DROP INDEX ${name}`);
    }
    if (raw) raw.exec('CREATE INDEX messages_state ON messages (direction, state)');
    else await (store as PostgresLogStore).query('CREATE INDEX messages_state ON messages (direction, state)');
    const previous = await measureAsync(() => lifecycle(store, n++), { seconds: 2, warmupSeconds: 0.3 });
    // And every index again, so that a drift of the machine's load shows as two different figures.
    if (raw) raw.exec(messageIndexes('sqlite'));
    else await (store as PostgresLogStore).query(messageIndexes('postgres'));
    const again = await measureAsync(() => lifecycle(store, n++), { seconds: 2, warmupSeconds: 0.3 });
    progress('done\n');
    return {
      store: kind,
      messages: args.messages,
      fillSeconds: fillMs / 1000,
      indexSeconds,
      ...(sizeOf ? { sizeMb: sizeOf() / 1e6 } : {}),
      baseline,
      shapes: results,
      counts,
      related,
      lifecycle: { allIndexesUs: all.meanUs, previousIndexesUs: previous.meanUs, allAgainUs: again.meanUs },
    };
  } finally {
    await store.close();
  }
}

function report(r: StoreResult, load: string): void {
  const ms = (t: Timing) => `${t.p50ms.toFixed(2).padStart(8)} ${t.maxMs.toFixed(2).padStart(8)}`;
  const ratio = (t: Timing) => `${(t.p50ms / r.baseline.p50ms).toFixed(0).padStart(6)}×`;
  const out = process.stdout;
  out.write(
    `\n${r.store}: ${r.messages.toLocaleString('en')} messages; fill ${r.fillSeconds.toFixed(1)} s, indexes built at open ${r.indexSeconds.toFixed(1)} s`,
  );
  out.write(`${r.sizeMb !== undefined ? `, file ${r.sizeMb.toFixed(0)} MB` : ''}; load average ${load}\n`);
  out.write(`  baseline: one message by primary key   p50 ${r.baseline.p50ms.toFixed(3)} ms   max ${r.baseline.maxMs.toFixed(3)} ms\n`);
  out.write(
    `  ${'shape'.padEnd(40)} ${'first page p50/max ms'.padStart(21)} ${'×pk'.padStart(7)}   ${'deep page p50/max ms'.padStart(21)} ${'×pk'.padStart(7)}  rows\n`,
  );
  for (const s of r.shapes) {
    out.write(
      `  ${s.shape.padEnd(40)}     ${ms(s.first)} ${ratio(s.first)}       ${ms(s.deep)} ${ratio(s.deep)}  ${s.first.rows}/${s.deep.rows}\n`,
    );
    if (s.plan) out.write(`      plan: ${s.plan}\n`);
  }
  out.write(`  grouped counts, all                          ${ms(r.counts.all)}   (${r.counts.all.rows} groups)\n`);
  out.write(`  grouped counts, last hour                    ${ms(r.counts.lastHour)}   (${r.counts.lastHour.rows} groups)\n`);
  out.write(`  grouped counts, last day                     ${ms(r.counts.lastDay)}   (${r.counts.lastDay.rows} groups)\n`);
  out.write(`  related messages of one                      ${ms(r.related)}   (${r.related.rows} rows)\n`);
  out.write(
    `  a message's lifecycle appended (insert + 2 changes, 3 commits): mean ${r.lifecycle.allIndexesUs.toFixed(0)} µs with every index, ${r.lifecycle.previousIndexesUs.toFixed(0)} µs with the previous ones, ${r.lifecycle.allAgainUs.toFixed(0)} µs with every index again\n`,
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const progress = (s: string) => {
    if (!args.json) process.stderr.write(s);
  };
  const end = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'tramite-search-bench-'));
  const results: StoreResult[] = [];
  try {
    if (args.stores.includes('sqlite')) {
      const file = join(dir, 'log.sqlite');
      results.push(
        await benchStore(
          'sqlite',
          async () => fillSqlite(file, args.messages, end),
          async () => new SqliteLogStore(file),
          args,
          end,
          progress,
          () => statSync(file).size,
        ),
      );
    }
    if (!args.stores.includes('postgres')) {
      // not asked for
    } else if (args.postgres) {
      const url = args.postgres;
      results.push(
        await benchStore(
          'postgres',
          () => fillPostgres(url, args.messages, end),
          () => PostgresLogStore.open(url),
          args,
          end,
          progress,
        ),
      );
    } else {
      progress('postgres: skipped (give --postgres URL of an empty database, or TRAMITE_BENCH_POSTGRES_URL)\n');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ node: process.version, cpu: cpus()[0]?.model ?? 'unknown', load, results })}\n`);
    return;
  }
  process.stdout.write(
    `\nTramite message-search benchmark — node ${process.version}, ${cpus()[0]?.model ?? ''}; pages of ${PAGE}, ${args.runs} runs each\n`,
  );
  for (const r of results) report(r, load);
}

await main();
