/**
 * Fixtures for the message-log tests: both stores (SQLite in a temporary file; PostgreSQL in a fresh
 * schema of this test file's own database on the run's test server), a MessageLog over either with a dev-PKI checkpoint signer and a
 * stepping clock, sample messages (the envelope bytes are arbitrary XML here: nothing verifies their
 * signatures), and raw SQL access below the LogStore interface for tampering.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { outboundKey, keyOf, type MessageRecord } from '../../src/core/message-record.js';
import { createDevPki, devCaFiles, devPartyFiles, devPartyRef } from '../../src/crypto/dev-pki.js';
import type { CheckpointSigner } from '../../src/log/checkpoint.js';
import type { LogRecord } from '../../src/log/log-entry.js';
import type { LogStore } from '../../src/log/log-store.js';
import { MessageLog } from '../../src/log/message-log.js';
import { PostgresLogStore } from '../../src/log/postgres-log-store.js';
import { recordToParams, SqliteLogStore } from '../../src/log/sqlite-log-store.js';
import { dropDatabase, dropSchema, freshDatabase, freshSchema } from '../../test-support/postgres-server.js';
import { memorySigner } from '../../src/crypto/signer/memory-signer.js';

export type StoreKind = 'sqlite' | 'postgres';
export const STORE_KINDS: readonly StoreKind[] = ['sqlite', 'postgres'];

/** The node that signs checkpoints. */
export const NODE = 'SPC/NodoTest';
/** Every clock of these tests starts here (certificates are issued for this instant too). */
export const BASE_TIME = new Date('2031-03-03T09:00:00.000Z');

/** A clock that moves `stepMs` forward at every reading: distinct, increasing record times. */
export class SteppingClock implements Clock {
  private t: number;
  constructor(
    start: Date = BASE_TIME,
    private readonly stepMs = 1000,
  ) {
    this.t = start.getTime() - stepMs;
  }
  now(): Date {
    this.t += this.stepMs;
    return new Date(this.t);
  }
  /** The instant the next `now()` will return, without moving. */
  peek(): Date {
    return new Date(this.t + this.stepMs);
  }
}

// ---------------------------------------------------------------------------------------------
// PKI

export interface LogPki {
  readonly signer: CheckpointSigner;
  /** The dev CA that issued the signer: the trust anchor an auditor is given. */
  readonly caPem: string;
}

function makePki(name: string): LogPki {
  const dir = mkdtempSync(join(tmpdir(), 'tramite-log-pki-'));
  try {
    createDevPki({ dir, parties: [name], now: BASE_TIME });
    const files = devPartyFiles(dir, devPartyRef(name));
    const certPem = readFileSync(files.certFile, 'utf8');
    const signer: CheckpointSigner = memorySigner({
      privateKey: createPrivateKey(readFileSync(files.keyFile, 'utf8')),
      certificate: new X509Certificate(certPem),
      certPem,
    });
    return { signer, caPem: readFileSync(devCaFiles(dir).certFile, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let pki: LogPki | undefined;
let rogue: LogPki | undefined;

/** The node's dev PKI, made once per test file (RSA key generation is the slow part) and kept in memory. */
export function logPki(): LogPki {
  return (pki ??= makePki(NODE));
}

/** Same node name, but a CA of its own that nobody trusts: what an attacker with database access could make. */
export function roguePki(): LogPki {
  return (rogue ??= makePki(NODE));
}

// ---------------------------------------------------------------------------------------------
// Stores

/** URL of the run's PostgreSQL server; fails (never skips) with the harness's reason when there is none. */
export function postgresUrl(): string {
  const url = inject('postgresUrl');
  if (!url) throw new Error(`no PostgreSQL server for the tests: ${inject('postgresError') || 'the vitest global setup did not run'}`);
  return url;
}

/** Where a store's data lives: reopen it, or reach it with raw SQL. */
export interface StoreSite {
  readonly kind: StoreKind;
  /** The SQLite file or the PostgreSQL database URL. */
  readonly location: string;
  open(): Promise<LogStore>;
  /** Removes the file, or drops the schema (stores must be closed). */
  dispose(): Promise<void>;
}

/**
 * A new, empty place for a log: a temp SQLite file, or a fresh schema in this test file's own database
 * on the test server (so files run in parallel on one server, and tests in a file never share tables).
 */
export async function newStoreSite(kind: StoreKind): Promise<StoreSite> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'tramite-log-'));
    const file = join(dir, 'log.sqlite');
    return {
      kind,
      location: file,
      open: async () => new SqliteLogStore(file),
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const url = await freshSchema(await fileDatabase());
  return { kind, location: url, open: () => PostgresLogStore.open(url), dispose: () => dropSchema(url) };
}

let fileDb: Promise<string> | undefined;

/** This test file's own database on the test server, made on first use; each site is a schema in it. */
function fileDatabase(): Promise<string> {
  return (fileDb ??= freshDatabase(postgresUrl()));
}

/** Drops this test file's database (call in afterAll; its stores must be closed). */
export async function dropFileDatabase(): Promise<void> {
  const db = fileDb;
  fileDb = undefined;
  const url = await db?.catch(() => undefined); // never made: the tests that needed it failed already
  if (url) await dropDatabase(url);
}

export interface CheckpointOptions {
  readonly everyRecords?: number;
  readonly everySeconds?: number;
}

/** A MessageLog over `store`, signing checkpoints with the dev PKI when `checkpoints` is given. */
export function messageLog(store: LogStore, opts: { clock?: Clock; checkpoints?: CheckpointOptions | false } = {}): MessageLog {
  const cp = opts.checkpoints === false || opts.checkpoints === undefined ? undefined : opts.checkpoints;
  return new MessageLog({
    store,
    node: NODE,
    clock: opts.clock ?? new SteppingClock(),
    ...(cp
      ? { checkpoints: { signer: logPki().signer, everyRecords: cp.everyRecords ?? 1_000_000, everySeconds: cp.everySeconds ?? 3600 } }
      : {}),
  });
}

// ---------------------------------------------------------------------------------------------
// Sample messages

export const PARTIES = ['SPC/ComuneA', 'SPC/ComuneB', 'SPC/Regione'] as const;
export const SERVICES = ['Anagrafe', 'Tributi'] as const;

/** The i-th sample message (i ≥ 1): parties, services and directions rotate so searches have something to tell apart. */
export function sampleMessage(i: number, clock: Clock, over: Partial<MessageRecord> = {}): MessageRecord {
  const createdAt = clock.now().toISOString();
  const from = PARTIES[i % PARTIES.length]!;
  const to = PARTIES[(i + 1) % PARTIES.length]!;
  return {
    id: `SPC_NodoTest_${String(i).padStart(7, '0')}_2031-03-03_09:00`,
    direction: i % 4 === 0 ? 'in' : 'out',
    envelopeProfile: 'egov',
    collaboration: 'oneway',
    from,
    to,
    service: SERVICES[i % SERVICES.length]!,
    action: 'Notifica',
    confermaRicezione: true,
    createdAt,
    updatedAt: createdAt,
    status: i % 4 === 0 ? 'RECEIVED' : 'ACCEPTED',
    attempts: 0,
    payload: `<dati n="${i}"/>`,
    ...over,
  };
}

/** Arbitrary XML standing in for a signed envelope. */
export function sampleEnvelope(id: string, what = 'richiesta'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body><${what} id="${id}"><testo>è già là — ${id}</testo></${what}></env:Body></env:Envelope>`;
}

/** Sample riscontro (receipt) envelope. */
export function sampleReceipt(id: string): string {
  return sampleEnvelope(id, 'riscontro');
}

/**
 * Fills a log: for each message i = 1…messages, `create`, then (outbound) SENDING and DELIVERED with a
 * receipt, (inbound) DISPATCHED. With `settle`, waits for each background checkpoint, so checkpoints
 * fall exactly every `everyRecords`. Returns the messages as created.
 */
export async function fillLog(
  log: MessageLog,
  clock: SteppingClock,
  messages: number,
  opts: { settle?: boolean } = {},
): Promise<MessageRecord[]> {
  const made: MessageRecord[] = [];
  const step = async (append: Promise<unknown>) => {
    await append;
    if (opts.settle) await settleCheckpoints(log);
  };
  for (let i = 1; i <= messages; i++) {
    const rec = sampleMessage(i, clock);
    await step(log.create(rec, sampleEnvelope(rec.id)));
    if (rec.direction === 'out') {
      await step(log.transition(outboundKey(rec.id), { status: 'SENDING', attempts: 1 }));
      await step(
        log.transition(
          outboundKey(rec.id),
          { status: 'DELIVERED', receipt: { at: clock.peek().toISOString(), signer: rec.to } },
          sampleReceipt(rec.id),
        ),
      );
    } else {
      await step(log.transition(keyOf(rec), { status: 'DISPATCHED' }));
    }
    made.push(rec);
  }
  return made;
}

/** Waits until the checkpoints MessageLog writes in the background (after `everyRecords`) are stored. */
export async function settleCheckpoints(log: MessageLog): Promise<void> {
  // checkpointNow() queues behind any running checkpoint; the private run is what we want to drain.
  await (log as unknown as { checkpointRun: Promise<unknown> }).checkpointRun;
}

// ---------------------------------------------------------------------------------------------
// Raw SQL below the interface (tampering)

export interface RawSql {
  /** Runs one statement written with `?` placeholders (rewritten to $1… for PostgreSQL). */
  run(sql: string, params?: unknown[]): Promise<void>;
  all<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export function rawSql(store: LogStore): RawSql {
  if (store instanceof SqliteLogStore) {
    const db = store.database;
    return {
      run: async (sql, params = []) => void db.prepare(sql).run(...params),
      all: async <T>(sql: string, params: unknown[] = []) => db.prepare(sql).all(...params) as T[],
    };
  }
  if (store instanceof PostgresLogStore) {
    const dollars = (sql: string) => {
      let n = 0;
      return sql.replace(/\?/g, () => `$${++n}`);
    };
    return {
      run: async (sql, params = []) => void (await store.query(dollars(sql), params)),
      all: async <T>(sql: string, params: unknown[] = []) => (await store.query(dollars(sql), params)).rows as T[],
    };
  }
  throw new Error(`no raw SQL access to a ${store.kind} store`);
}

const RECORD_COLUMNS = [
  'time',
  'kind',
  'message_id',
  'direction',
  'ref_id',
  'conversation_id',
  'from_party',
  'to_party',
  'service',
  'action',
  'state',
  'detail',
  'envelope',
  'envelope_digest',
  'prev_hash',
  'hash',
];

/** Overwrites every column of row `seq` (but seq itself) with the content of `r`. */
export async function overwriteRecord(sql: RawSql, seq: number, r: LogRecord): Promise<void> {
  const [, ...values] = recordToParams(r);
  await sql.run(`UPDATE log_records SET ${RECORD_COLUMNS.map((c) => `${c} = ?`).join(', ')} WHERE seq = ?`, [...values, seq]);
}

/** Flips one byte of `data` at `at` (default: the middle), as a bit-rot or a forger would. */
export function flipByte(data: Uint8Array, at = Math.floor(data.length / 2)): Buffer {
  const copy = Buffer.from(data);
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}

/** Collects an async iterable. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
