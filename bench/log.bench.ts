/**
 * Message-log benchmark: records appended/s and verified/s for SQLite and PostgreSQL, and whether the
 * append cost stays flat as the log grows from 10 k to 1 M records.
 *
 *   npm run bench:log                          # SQLite, plus PostgreSQL when --postgres URL (or
 *                                              # TRAMITE_BENCH_POSTGRES_URL) names an empty database
 *   npm run bench:log -- --json --seconds 2 --sizes 10000,100000,1000000
 *
 * An append here is what the node does per message event: one transaction that reads the chain head,
 * hashes and inserts one record (a 3 KB envelope for envelope/receipt records) and updates the
 * projection — with SQLite in WAL mode and synchronous=FULL, so it includes an fsync. Baselines
 * measured in the same run: a plain INSERT of the same row without hash chain or projection (the
 * cost of the chain), and the append cost on an empty log (for flatness). Measures only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogEntryInput } from '../src/log/log-entry.js';
import type { LogStore } from '../src/log/log-store.js';
import { verifyChain } from '../src/log/chain-verifier.js';
import { PostgresLogStore } from '../src/log/postgres-log-store.js';
import { SqliteLogStore } from '../src/log/sqlite-log-store.js';
import { measureAsync, type Measurement } from './bench-stats.js';

interface Args {
  stores: Array<'sqlite' | 'postgres'>;
  seconds: number;
  sizes: number[];
  json: boolean;
  postgres?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { stores: ['sqlite', 'postgres'], seconds: 2, sizes: [10_000, 100_000, 1_000_000], json: false };
  const pg = process.env['TRAMITE_BENCH_POSTGRES_URL'];
  if (pg) args.postgres = pg;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') args.json = true;
    else if (a === '--seconds') args.seconds = Number(argv[++i]);
    else if (a === '--sizes') args.sizes = argv[++i]!.split(',').map(Number);
    else if (a === '--postgres') args.postgres = argv[++i]!;
    else if (a === '--stores') args.stores = argv[++i]!.split(',') as Args['stores'];
    else {
      process.stderr.write(
        `unknown argument ${a}\nusage: log.bench.js [--seconds N] [--sizes 10000,100000,1000000] [--stores sqlite,postgres] [--postgres URL] [--json]\n`,
      );
      process.exit(2);
    }
  }
  if (!(args.seconds > 0) || args.sizes.some((n) => !(n > 0))) {
    process.stderr.write('--seconds and --sizes must be positive\n');
    process.exit(2);
  }
  return args;
}

const ENVELOPE = Buffer.from(
  `<SOAP_ENV:Envelope xmlns:SOAP_ENV="http://schemas.xmlsoap.org/soap/envelope/">${'<x>0123456789abcdef0123456789abcdef</x>'.repeat(75)}</SOAP_ENV:Envelope>`,
);

let counter = 0;
/** The node's mix: an envelope record, a state change, a receipt — per message. */
function entry(small = false): LogEntryInput {
  counter += 1;
  const kind = (['envelope', 'state', 'receipt'] as const)[counter % 3]!;
  return {
    time: new Date().toISOString(),
    kind,
    messageId: `ComuneA_CSTSPCoopIT_${String(counter % 9_999_999).padStart(7, '0')}_2026-11-23_10:00`,
    direction: 'out',
    from: 'SPC/ComuneA',
    to: 'SPC/RegioneX',
    service: 'ComunicazioneVariazione',
    action: 'Notifica',
    state: kind === 'envelope' ? 'ACCEPTED' : kind === 'state' ? 'SENDING' : 'DELIVERED',
    detail: { attempts: 1 },
    ...(kind !== 'state' ? { envelope: small ? ENVELOPE.subarray(0, 200) : ENVELOPE } : {}),
  };
}

async function appendOne(store: LogStore): Promise<void> {
  await store.append([entry()], { op: 'none' });
}

/** Grows the log to `target` records in large transactions (small envelopes, to keep the file sane). */
async function fillTo(store: LogStore, target: number, progress: (s: string) => void): Promise<void> {
  let head = (await store.head()).seq;
  const batch = 5000;
  while (head < target) {
    const n = Math.min(batch, target - head);
    await store.append(
      Array.from({ length: n }, () => entry(true)),
      { op: 'none' },
    );
    head += n;
    if (head % 100_000 === 0) progress(`  filled to ${head.toLocaleString('en')} records\n`);
  }
}

async function verifyRate(store: LogStore): Promise<{ recordsPerSec: number; records: number; ok: boolean }> {
  const head = await store.head();
  const t0 = process.hrtime.bigint();
  const report = await verifyChain(store.range(1, head.seq, 5000), []);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { recordsPerSec: report.records / s, records: report.records, ok: report.ok };
}

/** INSERT of the same row with no chain and no projection, same durability: the floor of an append. */
async function rawInsertBaseline(kind: 'sqlite' | 'postgres', target: string, seconds: number): Promise<Measurement> {
  if (kind === 'sqlite') {
    const store = new SqliteLogStore(target);
    const db = store.database;
    db.exec('CREATE TABLE raw_rows (id INTEGER PRIMARY KEY, body BLOB, meta TEXT)');
    const stmt = db.prepare('INSERT INTO raw_rows (body, meta) VALUES (?, ?)');
    const m = await measureAsync(async () => stmt.run(ENVELOPE, JSON.stringify(entry())), { seconds, warmupSeconds: 0.3 });
    await store.close();
    return m;
  }
  const store = await PostgresLogStore.open(target);
  await store.query('CREATE TABLE IF NOT EXISTS raw_rows (id BIGSERIAL PRIMARY KEY, body BYTEA, meta TEXT)');
  const m = await measureAsync(
    () => store.query('INSERT INTO raw_rows (body, meta) VALUES ($1, $2)', [ENVELOPE, JSON.stringify(entry())]),
    { seconds, warmupSeconds: 0.3 },
  );
  await store.query('DROP TABLE raw_rows');
  await store.close();
  return m;
}

interface StoreResult {
  store: 'sqlite' | 'postgres';
  rawInsert: Measurement;
  appendEmpty: Measurement;
  bySize: Array<{ records: number; append: Measurement; ratioToEmpty: number }>;
  verify: { recordsPerSec: number; records: number; ok: boolean };
  chainOverhead: number;
}

async function benchStore(
  kind: 'sqlite' | 'postgres',
  open: () => Promise<LogStore>,
  baselineTarget: string,
  args: Args,
  progress: (s: string) => void,
): Promise<StoreResult> {
  progress(`${kind}: raw INSERT baseline… `);
  const rawInsert = await rawInsertBaseline(kind, baselineTarget, args.seconds);
  progress('done\n');
  const store = await open();
  try {
    progress(`${kind}: append on an empty log… `);
    const appendEmpty = await measureAsync(() => appendOne(store), { seconds: args.seconds, warmupSeconds: 0.3 });
    progress('done\n');
    const bySize: StoreResult['bySize'] = [];
    for (const size of args.sizes) {
      progress(`${kind}: growing the log to ${size.toLocaleString('en')} records…\n`);
      await fillTo(store, size, progress);
      // Steady state: the bulk fill's write-ahead log is folded into the database first, as a running
      // node's periodic checkpoints would have done, so the timing is of appends, not of that backlog.
      if (store instanceof SqliteLogStore) store.database.pragma('wal_checkpoint(TRUNCATE)');
      if (store instanceof PostgresLogStore) {
        await store.query('CHECKPOINT');
        await store.query('VACUUM ANALYZE log_records');
      }
      const append = await measureAsync(() => appendOne(store), { seconds: args.seconds, warmupSeconds: 0.3 });
      bySize.push({ records: size, append, ratioToEmpty: append.meanUs / appendEmpty.meanUs });
    }
    progress(`${kind}: verifying the whole chain… `);
    const verify = await verifyRate(store);
    progress('done\n');
    return { store: kind, rawInsert, appendEmpty, bySize, verify, chainOverhead: appendEmpty.meanUs / rawInsert.meanUs };
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const progress = (s: string) => {
    if (!args.json) process.stderr.write(s);
  };
  const dir = mkdtempSync(join(tmpdir(), 'tramite-log-bench-'));
  const results: StoreResult[] = [];
  try {
    if (args.stores.includes('sqlite'))
      results.push(
        await benchStore('sqlite', async () => new SqliteLogStore(join(dir, 'log.sqlite')), join(dir, 'raw.sqlite'), args, progress),
      );
    if (!args.stores.includes('postgres')) {
      // not asked for
    } else if (args.postgres) {
      const url = args.postgres;
      results.push(await benchStore('postgres', () => PostgresLogStore.open(url), url, args, progress));
    } else {
      progress('postgres: skipped (give --postgres URL of an empty database, or TRAMITE_BENCH_POSTGRES_URL)\n');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (args.json) {
    process.stdout.write(
      `${JSON.stringify({ seconds: args.seconds, envelopeBytes: ENVELOPE.length, node: process.version, cpu: cpus()[0]?.model ?? 'unknown', results })}\n`,
    );
    return;
  }
  const n = (x: number) => Math.round(x).toLocaleString('en');
  process.stdout.write(
    `\nTramite message-log benchmark — node ${process.version}, ${cpus()[0]?.model ?? ''}; envelope records carry ${n(ENVELOPE.length)} B\n`,
  );
  for (const r of results) {
    process.stdout.write(`\n${r.store}\n`);
    process.stdout.write(
      `  raw INSERT (no chain, no projection)   ${n(r.rawInsert.opsPerSec).padStart(8)} /s   mean ${r.rawInsert.meanUs.toFixed(0)} µs\n`,
    );
    process.stdout.write(
      `  append, empty log                      ${n(r.appendEmpty.opsPerSec).padStart(8)} /s   mean ${r.appendEmpty.meanUs.toFixed(0)} µs   p99 ${r.appendEmpty.p99us.toFixed(0)} µs   (${r.chainOverhead.toFixed(2)}× raw INSERT)\n`,
    );
    for (const s of r.bySize) {
      process.stdout.write(
        `  append at ${n(s.records).padStart(9)} records          ${n(s.append.opsPerSec).padStart(8)} /s   mean ${s.append.meanUs.toFixed(0)} µs   p99 ${s.append.p99us.toFixed(0)} µs   (${s.ratioToEmpty.toFixed(2)}× empty)\n`,
      );
    }
    process.stdout.write(
      `  verify (chain, no signatures)          ${n(r.verify.recordsPerSec).padStart(8)} records/s over ${n(r.verify.records)} records (${r.verify.ok ? 'intact' : 'NOT intact'})\n`,
    );
  }
}

await main();
