import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { TramiteError } from '../core/errors.js';
import { logSchema, SQLITE_SENDER_KEY_MIGRATION } from './log-schema.js';
import { chainRecords, GENESIS_HASH, type LogEntryInput, type LogRecord } from './log-entry.js';
import type { MessageKey } from '../core/message-record.js';
import { GroupCommit, type ItemOutcome } from './group-commit.js';
import type { Checkpoint, LogStore, MessageQuery, MessageRow, ProjectionChange, RecordQuery } from './log-store.js';

const SCHEMA = logSchema('sqlite');

/** One caller's append, waiting for its group's transaction. */
export interface AppendItem {
  readonly entries: readonly LogEntryInput[];
  readonly projection: ProjectionChange;
}

interface RecordRow {
  seq: number;
  time: string;
  kind: string;
  message_id: string;
  direction: string;
  ref_id: string | null;
  conversation_id: string | null;
  from_party: string;
  to_party: string;
  service: string;
  action: string | null;
  state: string;
  detail: string | null;
  envelope: Buffer | null;
  envelope_digest: string | null;
  prev_hash: string;
  hash: string;
}

/**
 * A detail column that is no longer JSON was tampered with: keep its text so the record still loads
 * and its recomputed hash exposes it, instead of failing the whole verification.
 */
function parseDetail(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { unparseableDetail: text };
  }
}

export function recordFromRow(r: RecordRow): LogRecord {
  return {
    seq: Number(r.seq),
    time: r.time,
    kind: r.kind as LogRecord['kind'],
    messageId: r.message_id,
    direction: r.direction as LogRecord['direction'],
    ...(r.ref_id !== null ? { refId: r.ref_id } : {}),
    ...(r.conversation_id !== null ? { conversationId: r.conversation_id } : {}),
    from: r.from_party,
    to: r.to_party,
    service: r.service,
    ...(r.action !== null ? { action: r.action } : {}),
    state: r.state,
    ...(r.detail !== null ? { detail: parseDetail(r.detail) } : {}),
    ...(r.envelope_digest !== null ? { envelopeDigest: r.envelope_digest } : {}),
    ...(r.envelope !== null ? { envelope: new Uint8Array(r.envelope) } : {}),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export function recordToParams(r: LogRecord): unknown[] {
  return [
    r.seq,
    r.time,
    r.kind,
    r.messageId,
    r.direction,
    r.refId ?? null,
    r.conversationId ?? null,
    r.from,
    r.to,
    r.service,
    r.action ?? null,
    r.state,
    r.detail ? JSON.stringify(r.detail) : null,
    r.envelope ? Buffer.from(r.envelope) : null,
    r.envelopeDigest ?? null,
    r.prevHash,
    r.hash,
  ];
}

export interface CheckpointRow {
  seq: number | string;
  head_hash: string;
  time: string;
  node: string;
  signer_cert: string;
  signature: string;
  tsa_token: Buffer | null;
}

export function checkpointFromRow(r: CheckpointRow): Checkpoint {
  return {
    seq: Number(r.seq),
    headHash: r.head_hash,
    time: r.time,
    node: r.node,
    signerCert: r.signer_cert,
    signature: r.signature,
    ...(r.tsa_token ? { tsaToken: new Uint8Array(r.tsa_token) } : {}),
  };
}

interface MessageRowDb {
  id: string;
  direction: string;
  from_party: string;
  state: string;
  created_at: string;
  updated_at: string;
  envelope_seq: number | null;
  reply_seq: number | null;
  fields: string;
}

export function messageFromRow(r: MessageRowDb): MessageRow {
  return {
    id: r.id,
    direction: r.direction as MessageRow['direction'],
    from: r.from_party,
    state: r.state,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    envelopeSeq: r.envelope_seq === null ? null : Number(r.envelope_seq),
    replySeq: r.reply_seq === null ? null : Number(r.reply_seq),
    fields: JSON.parse(r.fields) as Record<string, unknown>,
  };
}

/** The embedded message log: one SQLite file in WAL mode, synchronous=FULL so an append survives power loss. */
export class SqliteLogStore implements LogStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly insertRecord: Database.Statement;
  private readonly appends: GroupCommit<AppendItem, LogRecord[]>;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    readonly location: string,
    opts: { readonly?: boolean } = {},
  ) {
    if (!opts.readonly) mkdirSync(dirname(location), { recursive: true });
    try {
      this.db = new Database(location, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    } catch (cause) {
      throw new TramiteError('TRAMITE_ERR_LOG_UNAVAILABLE', `cannot open the message log ${location}: ${(cause as Error).message}`, {
        cause,
      });
    }
    if (!opts.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.exec(SCHEMA);
      this.migrateToSenderKey();
    }
    this.db.pragma('busy_timeout = 5000');
    this.insertRecord = opts.readonly
      ? (undefined as never)
      : this.db.prepare(
          `INSERT INTO log_records (seq, time, kind, message_id, direction, ref_id, conversation_id, from_party, to_party, service, action, state, detail, envelope, envelope_digest, prev_hash, hash)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
    // One append, inside the group's transaction: a savepoint, so a refused append leaves the others in.
    const appendOne = this.db.transaction((entries: readonly LogEntryInput[], projection: ProjectionChange) => {
      const records = chainRecords(entries, this.headSync());
      for (const r of records) this.insertRecord.run(...recordToParams(r));
      this.applyProjection(projection, records);
      return records;
    });
    // IMMEDIATE: the write lock is taken before the head is read, so two writers cannot fork the chain.
    const commitGroup = this.db.transaction((group: readonly AppendItem[]) =>
      group.map((item): ItemOutcome<LogRecord[]> => {
        try {
          return { ok: true, value: appendOne(item.entries, item.projection) };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    ).immediate;
    this.appends = new GroupCommit<AppendItem, LogRecord[]>(async (group) => commitGroup(group));
  }

  /** Committed with the appends of other concurrent callers: one transaction, one fsync (synchronous=FULL) for all. */
  append(entries: readonly LogEntryInput[], projection: ProjectionChange): Promise<LogRecord[]> {
    return this.appends.submit({ entries, projection });
  }

  /** A prepared statement, kept: preparing costs more than running the small statements of an append. */
  private sql(text: string): Database.Statement {
    let stmt = this.statements.get(text);
    if (!stmt) {
      stmt = this.db.prepare(text);
      this.statements.set(text, stmt);
    }
    return stmt;
  }

  /** A log made before the projection was keyed by sender gets the wider key (once, under the write lock). */
  private migrateToSenderKey(): void {
    const keyedBySender = () =>
      (this.db.prepare('PRAGMA table_info(messages)').all() as Array<{ name: string; pk: number }>).some(
        (c) => c.name === 'from_party' && c.pk > 0,
      );
    if (keyedBySender()) return;
    this.db
      .transaction(() => {
        if (!keyedBySender()) this.db.exec(SQLITE_SENDER_KEY_MIGRATION);
      })
      .immediate();
  }

  private headSync(): { seq: number; hash: string } {
    const row = this.sql('SELECT seq, hash FROM log_records ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
    return row ? { seq: Number(row.seq), hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  private applyProjection(p: ProjectionChange, records: readonly LogRecord[]): void {
    if (p.op === 'none') return;
    const last = records[records.length - 1]!;
    if (p.op === 'insert') {
      const envelopeSeq = p.envelopeFromEntry !== undefined ? records[p.envelopeFromEntry]!.seq : null;
      this.sql(
        `INSERT INTO messages (id, direction, state, from_party, to_party, service, created_at, updated_at, envelope_seq, reply_seq, fields)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
      ).run(p.id, p.direction, last.state, last.from, last.to, last.service, last.time, last.time, envelopeSeq, JSON.stringify(p.fields));
      return;
    }
    const current = this.sql('SELECT fields, reply_seq, envelope_seq FROM messages WHERE id = ? AND direction = ? AND from_party = ?').get(
      p.id,
      p.direction,
      p.from,
    ) as { fields: string; reply_seq: number | null; envelope_seq: number | null } | undefined;
    if (!current) throw new TramiteError('TRAMITE_ERR_NOT_FOUND', `no ${p.direction}bound message ${p.id} in the log`);
    const fields = { ...(JSON.parse(current.fields) as Record<string, unknown>), ...p.fields };
    const replySeq = p.replyFromEntry !== undefined ? records[p.replyFromEntry]!.seq : current.reply_seq;
    const envelopeSeq = p.envelopeFromEntry !== undefined ? records[p.envelopeFromEntry]!.seq : current.envelope_seq;
    this.sql(
      'UPDATE messages SET state = ?, updated_at = ?, reply_seq = ?, envelope_seq = ?, fields = ? WHERE id = ? AND direction = ? AND from_party = ?',
    ).run(last.state, last.time, replySeq, envelopeSeq, JSON.stringify(fields), p.id, p.direction, p.from);
  }

  async head(): Promise<{ seq: number; hash: string }> {
    return this.headSync();
  }

  async *range(from: number, to: number, pageSize = 1000): AsyncIterable<LogRecord> {
    const stmt = this.db.prepare('SELECT * FROM log_records WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?');
    let next = from;
    for (;;) {
      const rows = stmt.all(next, to, pageSize) as RecordRow[];
      for (const r of rows) yield recordFromRow(r);
      if (rows.length < pageSize) return;
      next = Number(rows[rows.length - 1]!.seq) + 1;
    }
  }

  async record(seq: number): Promise<LogRecord | undefined> {
    const r = this.sql('SELECT * FROM log_records WHERE seq = ?').get(seq) as RecordRow | undefined;
    return r ? recordFromRow(r) : undefined;
  }

  async recordsOf(messageId: string): Promise<LogRecord[]> {
    return (this.db.prepare('SELECT * FROM log_records WHERE message_id = ? ORDER BY seq').all(messageId) as RecordRow[]).map(
      recordFromRow,
    );
  }

  async searchRecords(q: RecordQuery & { fromTime?: string; toTime?: string }): Promise<LogRecord[]> {
    const { sql, params } = recordWhere(q, () => '?');
    return (this.db.prepare(`SELECT * FROM log_records ${sql} ORDER BY seq LIMIT ?`).all(...params, q.limit ?? 1000) as RecordRow[]).map(
      recordFromRow,
    );
  }

  async seqRangeForTime(fromTime: string, toTime: string): Promise<{ first: number; last: number } | undefined> {
    const r = this.db
      .prepare('SELECT MIN(seq) AS first, MAX(seq) AS last FROM log_records WHERE time >= ? AND time <= ?')
      .get(fromTime, toTime) as { first: number | null; last: number | null };
    return r.first === null || r.last === null ? undefined : { first: Number(r.first), last: Number(r.last) };
  }

  async message(key: MessageKey): Promise<MessageRow | undefined> {
    const r = (
      key.direction === 'in'
        ? this.sql("SELECT * FROM messages WHERE id = ? AND direction = 'in' AND from_party = ?").get(key.id, key.from)
        : this.sql("SELECT * FROM messages WHERE id = ? AND direction = 'out'").get(key.id)
    ) as MessageRowDb | undefined;
    return r ? messageFromRow(r) : undefined;
  }

  async messages(q: MessageQuery): Promise<MessageRow[]> {
    const { sql, params } = messageWhere(q, () => '?');
    return (
      this.db.prepare(`SELECT * FROM messages ${sql} ORDER BY created_at DESC LIMIT ?`).all(...params, q.limit ?? 100) as MessageRowDb[]
    ).map(messageFromRow);
  }

  async messagesInState(direction: 'in' | 'out', states: readonly string[]): Promise<MessageRow[]> {
    if (states.length === 0) return [];
    return (
      this.db
        .prepare(`SELECT * FROM messages WHERE direction = ? AND state IN (${states.map(() => '?').join(', ')}) ORDER BY created_at`)
        .all(direction, ...states) as MessageRowDb[]
    ).map(messageFromRow);
  }

  async addCheckpoint(cp: Checkpoint): Promise<void> {
    this.db
      .prepare('INSERT INTO checkpoints (seq, head_hash, time, node, signer_cert, signature, tsa_token) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(cp.seq, cp.headHash, cp.time, cp.node, cp.signerCert, cp.signature, cp.tsaToken ? Buffer.from(cp.tsaToken) : null);
  }

  async checkpoints(from = 0, to = Number.MAX_SAFE_INTEGER): Promise<Checkpoint[]> {
    return (this.db.prepare('SELECT * FROM checkpoints WHERE seq >= ? AND seq <= ? ORDER BY seq').all(from, to) as CheckpointRow[]).map(
      checkpointFromRow,
    );
  }

  async purgePayloads(before: string): Promise<number> {
    const tx = this.db.transaction(() => {
      const n = this.db.prepare('UPDATE log_records SET envelope = NULL WHERE time < ? AND envelope IS NOT NULL').run(before).changes;
      this.db.prepare(`UPDATE messages SET fields = json_remove(fields, '$.payload', '$.replyPayload') WHERE updated_at < ?`).run(before);
      return n;
    });
    return tx();
  }

  async close(): Promise<void> {
    await this.appends.idle();
    this.db.close();
  }

  /** For tests and benchmarks that need to reach below the interface (tampering, bulk load). */
  get database(): Database.Database {
    return this.db;
  }
}

/**
 * Builds a WHERE clause. `ph(i)` writes the i-th placeholder (`?` for SQLite, `$i` for PostgreSQL);
 * a value used twice is bound twice, so both styles work.
 */
class WhereBuilder {
  readonly parts: string[] = [];
  readonly params: unknown[] = [];
  constructor(private readonly ph: (i: number) => string) {}
  /** Adds `clause` with one placeholder per use of `value`. */
  add(value: unknown, uses: number, clause: (...p: string[]) => string): void {
    const ps = Array.from({ length: uses }, () => {
      this.params.push(value);
      return this.ph(this.params.length);
    });
    this.parts.push(clause(...ps));
  }
  result(): { sql: string; params: unknown[] } {
    return { sql: this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '', params: this.params };
  }
}

/** WHERE clause over log_records for an auditor's search. */
export function recordWhere(
  q: RecordQuery & { fromTime?: string; toTime?: string },
  ph: (i: number) => string,
): { sql: string; params: unknown[] } {
  const w = new WhereBuilder(ph);
  if (q.messageId) w.add(q.messageId, 3, (a, b, c) => `(message_id = ${a} OR ref_id = ${b} OR conversation_id = ${c})`);
  if (q.party) w.add(q.party, 2, (a, b) => `(from_party = ${a} OR to_party = ${b})`);
  if (q.from) w.add(q.from, 1, (a) => `from_party = ${a}`);
  if (q.to) w.add(q.to, 1, (a) => `to_party = ${a}`);
  if (q.service) w.add(q.service, 1, (a) => `service = ${a}`);
  if (q.state) w.add(q.state, 1, (a) => `state = ${a}`);
  if (q.direction) w.add(q.direction, 1, (a) => `direction = ${a}`);
  if (q.fromTime) w.add(q.fromTime, 1, (a) => `time >= ${a}`);
  if (q.toTime) w.add(q.toTime, 1, (a) => `time <= ${a}`);
  return w.result();
}

/** WHERE clause over the messages projection. */
export function messageWhere(q: MessageQuery, ph: (i: number) => string): { sql: string; params: unknown[] } {
  const w = new WhereBuilder(ph);
  if (q.direction) w.add(q.direction, 1, (a) => `direction = ${a}`);
  if (q.state) w.add(q.state, 1, (a) => `state = ${a}`);
  if (q.service) w.add(q.service, 1, (a) => `service = ${a}`);
  if (q.messageId) w.add(q.messageId, 1, (a) => `id = ${a}`);
  if (q.from) w.add(q.from, 1, (a) => `from_party = ${a}`);
  if (q.to) w.add(q.to, 1, (a) => `to_party = ${a}`);
  if (q.parties) {
    const ors = q.parties.map((party) => {
      const before = w.parts.length;
      // A party's own records, as GET /api/v1/messages/{id} sees them: what it sent, what it received.
      w.add(party, 2, (a, b) => `(direction = 'out' AND from_party = ${a}) OR (direction = 'in' AND to_party = ${b})`);
      return w.parts.splice(before, 1)[0]!;
    });
    w.parts.push(ors.length ? `(${ors.join(' OR ')})` : '1 = 0');
  }
  return w.result();
}
