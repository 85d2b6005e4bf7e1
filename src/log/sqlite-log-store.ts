import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { TramiteError } from '../core/errors.js';
import { TOKEN_PURGE_WINDOW, tokenItem, type TokenItem } from './accepted-token.js';
import { logTables, messageIndexes, SQLITE_RELATION_COLUMNS_MIGRATION, SQLITE_SENDER_KEY_MIGRATION } from './log-schema.js';
import { acknowledgeParams, alarmFromRow, alarmSql, raiseParams, type AlarmRowDb, type NewAlarm, type StoredAlarm } from './alarm-rows.js';
import type { StaffMember } from '../core/staff-member.js';
import type { LogEntryInput, LogRecord } from './log-entry.js';
import type { MessageKey } from '../core/message-record.js';
import { GroupCommit } from './group-commit.js';
import { SqliteLogWriter, setWritePragmas, type AppendItem } from './sqlite-log-writer.js';
import { SqliteWriterThread } from './sqlite-writer-thread.js';
import type {
  Checkpoint,
  LogStore,
  MessageCount,
  MessageCountsQuery,
  MessageQuery,
  MessageRow,
  ProjectionChange,
  RecordQuery,
  RelatedQuery,
} from './log-store.js';
import { messageCountsSql, messagePageSql, relatedSql } from './message-search-sql.js';
import { WhereBuilder } from './where-builder.js';

const TABLES = logTables('sqlite');

const question = () => '?';
const ALARM_SQL = alarmSql(question);

export type { AppendItem } from './sqlite-log-writer.js';
export { recordToParams } from './sqlite-log-writer.js';

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

export interface MessageCountRow {
  direction: 'in' | 'out';
  from_party: string;
  to_party: string;
  service: string;
  state: string;
  n: number | string;
  oldest: string;
}

export function messageCountFromRow(r: MessageCountRow): MessageCount {
  return {
    direction: r.direction,
    from: r.from_party,
    to: r.to_party,
    service: r.service,
    state: r.state,
    count: Number(r.n),
    oldestCreatedAt: r.oldest,
  };
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

/** Rows a retention window touches in one transaction: milliseconds of write lock. */
const PURGE_WINDOW = 1000;

const freeEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The embedded message log: one SQLite file in WAL mode, synchronous=FULL so an append survives power loss. */
export class SqliteLogStore implements LogStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly appends: GroupCommit<AppendItem, LogRecord[]>;
  /** acceptToken calls, committed in groups of their own by the writer thread. */
  private readonly tokens: GroupCommit<TokenItem, boolean>;
  /** Prepared statements of this connection (reads; writes too when there is no writer thread). */
  private readonly writer: SqliteLogWriter;
  /** Where appends are committed, off the event loop (none for a read-only log). */
  private readonly thread: SqliteWriterThread | undefined;
  /** Records below this seq had their envelopes purged by this process already: the next purge starts there. */
  private purgedUpTo = 0;

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
    if (opts.readonly) this.db.pragma('busy_timeout = 5000');
    else {
      setWritePragmas(this.db);
      this.db.exec(TABLES);
      this.migrateToSenderKey();
      this.migrateToRelationColumns();
      // After the migrations: an index may need a column they add.
      this.db.exec(messageIndexes('sqlite'));
    }
    this.writer = new SqliteLogWriter(this.db);
    this.thread = opts.readonly ? undefined : new SqliteWriterThread(location);
    const thread = this.thread;
    this.appends = new GroupCommit<AppendItem, LogRecord[]>(async (group) =>
      thread ? thread.commit(group) : this.writer.commitGroup(group),
    );
    this.tokens = new GroupCommit<TokenItem, boolean>((group) => this.writerThread().acceptTokens(group));
  }

  /**
   * Committed with the appends of other concurrent callers — one transaction, one fsync (synchronous=FULL)
   * for all — in the writer thread, so the event loop goes on meanwhile; reads stay on this connection (WAL).
   */
  append(entries: readonly LogEntryInput[], projection: ProjectionChange): Promise<LogRecord[]> {
    return this.appends.submit({ entries, projection });
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

  /** A log made before the projection had ref_id and conversation_id gets them, filled from each row's fields (once). */
  private migrateToRelationColumns(): void {
    const hasColumns = () =>
      (this.db.prepare('PRAGMA table_info(messages)').all() as Array<{ name: string }>).some((c) => c.name === 'ref_id');
    if (hasColumns()) return;
    this.db
      .transaction(() => {
        if (!hasColumns()) this.db.exec(SQLITE_RELATION_COLUMNS_MIGRATION);
      })
      .immediate();
  }

  private headSync(): { seq: number; hash: string } {
    return this.writer.head();
  }

  private sql(text: string): Database.Statement {
    return this.writer.sql(text);
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
    const { sql, params } = messagePageSql(q, question);
    return (this.db.prepare(sql).all(...params) as MessageRowDb[]).map(messageFromRow);
  }

  async relatedMessages(q: RelatedQuery): Promise<MessageRow[]> {
    const { sql, params } = relatedSql(q, question);
    return (this.db.prepare(sql).all(...params) as MessageRowDb[]).map(messageFromRow);
  }

  async messagesInState(direction: 'in' | 'out', states: readonly string[]): Promise<MessageRow[]> {
    if (states.length === 0) return [];
    return (
      this.db
        .prepare(`SELECT * FROM messages WHERE direction = ? AND state IN (${states.map(() => '?').join(', ')}) ORDER BY created_at`)
        .all(direction, ...states) as MessageRowDb[]
    ).map(messageFromRow);
  }

  async messageCounts(q: MessageCountsQuery = {}): Promise<MessageCount[]> {
    const { sql, params } = messageCountsSql(q, question);
    return (this.db.prepare(sql).all(...params) as MessageCountRow[]).map(messageCountFromRow);
  }

  /** The one process that has the file writes its checkpoints. */
  async checkpointWriter(): Promise<boolean> {
    return true;
  }

  async addCheckpoint(cp: Checkpoint): Promise<void> {
    this.db
      .prepare('INSERT INTO checkpoints (seq, head_hash, time, node, signer_cert, signature, tsa_token) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(cp.seq, cp.headHash, cp.time, cp.node, cp.signerCert, cp.signature, cp.tsaToken ? Buffer.from(cp.tsaToken) : null);
  }

  async latestCheckpoint(): Promise<Checkpoint | undefined> {
    const row = this.db.prepare('SELECT * FROM checkpoints ORDER BY seq DESC LIMIT 1').get() as CheckpointRow | undefined;
    return row ? checkpointFromRow(row) : undefined;
  }

  async checkpoints(from = 0, to = Number.MAX_SAFE_INTEGER): Promise<Checkpoint[]> {
    return (this.db.prepare('SELECT * FROM checkpoints WHERE seq >= ? AND seq <= ? ORDER BY seq').all(from, to) as CheckpointRow[]).map(
      checkpointFromRow,
    );
  }

  /**
   * In windows of PURGE_WINDOW rows, each its own short transaction, with the event loop free between
   * them: one transaction over a large log held the write lock for longer than the writer thread's busy
   * timeout (its appends then failed with SQLITE_BUSY) and blocked this thread for as long.
   */
  async purgePayloads(before: string): Promise<number> {
    let purged = 0;
    // Records are appended in time order, near enough: one a clock step put out of it waits for a restart.
    const cut = this.db.prepare('SELECT seq FROM log_records WHERE time >= ? ORDER BY time LIMIT 1').get(before) as
      { seq: number } | undefined;
    const lastSeq = cut
      ? cut.seq - 1
      : ((this.db.prepare('SELECT max(seq) AS seq FROM log_records').get() as { seq: number | null }).seq ?? 0);
    const records = this.db.prepare(
      'UPDATE log_records SET envelope = NULL WHERE seq >= ? AND seq < ? AND time < ? AND envelope IS NOT NULL',
    );
    for (let from = this.purgedUpTo; from <= lastSeq; from += PURGE_WINDOW) {
      purged += records.run(from, from + PURGE_WINDOW, before).changes;
      await freeEventLoop();
    }
    this.purgedUpTo = lastSeq + 1;
    // A message gains nothing to purge once its updated_at is old, but the table is not in that order:
    // walked whole, by rowid windows, rewriting only the rows that still hold a payload.
    const messages = this.db.prepare(
      `UPDATE messages SET fields = json_remove(fields, '$.payload', '$.replyPayload', '$.rest.target')
        WHERE rowid >= ? AND rowid < ? AND updated_at < ?
          AND (instr(fields, '"payload"') > 0 OR instr(fields, '"replyPayload"') > 0 OR json_extract(fields, '$.rest.target') IS NOT NULL)`,
    );
    const lastRow = (this.db.prepare('SELECT max(rowid) AS id FROM messages').get() as { id: number | null }).id ?? 0;
    for (let from = 0; from <= lastRow; from += PURGE_WINDOW) {
      messages.run(from, from + PURGE_WINDOW, before);
      await freeEventLoop();
    }
    return purged;
  }

  /**
   * Committed with the other acceptToken calls of this turn — one transaction, one fsync — in the writer
   * thread, like appends; the IMMEDIATE transaction makes it atomic for every process on the file.
   */
  async acceptToken(namespace: string, id: string, until: Date, now: Date): Promise<boolean> {
    return this.tokens.submit(tokenItem(namespace, id, until, now));
  }

  /** Window by window through the writer thread: appends and token groups queued meanwhile go between two windows. */
  async purgeExpiredTokens(now: Date): Promise<number> {
    const thread = this.writerThread();
    let purged = 0;
    for (;;) {
      const n = await thread.purgeTokens(now.getTime(), TOKEN_PURGE_WINDOW);
      purged += n;
      if (n < TOKEN_PURGE_WINDOW) return purged;
    }
  }

  /*
   * Alarms: single statements on this connection (as checkpoints are), each its own IMMEDIATE write —
   * atomic for every process on the file; the unique active_key decides a race of raises.
   */
  async raiseAlarm(a: NewAlarm): Promise<StoredAlarm | undefined> {
    return this.alarmRow(ALARM_SQL.raise, raiseParams(a));
  }

  async acknowledgeAlarm(id: string, ack: { at: string; by: StaffMember; note?: string }): Promise<StoredAlarm | undefined> {
    return this.alarmRow(ALARM_SQL.acknowledge, acknowledgeParams(id, ack));
  }

  async clearAlarm(id: string, at: string): Promise<StoredAlarm | undefined> {
    return this.alarmRow(ALARM_SQL.clear, [at, id]);
  }

  async claimAlarmReminder(id: string, due: string, at: string): Promise<StoredAlarm | undefined> {
    return this.alarmRow(ALARM_SQL.remind, [at, id, due]);
  }

  async alarm(id: string): Promise<StoredAlarm | undefined> {
    return this.alarmRow(ALARM_SQL.one, [id]);
  }

  async activeAlarms(): Promise<StoredAlarm[]> {
    return (this.sql(ALARM_SQL.active).all() as AlarmRowDb[]).map(alarmFromRow);
  }

  async recentAlarms(limit: number): Promise<StoredAlarm[]> {
    return (this.sql(ALARM_SQL.recent).all(limit) as AlarmRowDb[]).map(alarmFromRow);
  }

  private alarmRow(text: string, params: unknown[]): StoredAlarm | undefined {
    try {
      const row = this.sql(text).get(...params) as AlarmRowDb | undefined;
      return row ? alarmFromRow(row) : undefined;
    } catch (cause) {
      throw new TramiteError(
        'TRAMITE_ERR_LOG_UNAVAILABLE',
        `the message log ${this.location} could not keep an alarm: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
  }

  private writerThread(): SqliteWriterThread {
    if (!this.thread) throw new TramiteError('TRAMITE_ERR_LOG_UNAVAILABLE', `the message log ${this.location} is open read-only`);
    return this.thread;
  }

  async close(): Promise<void> {
    await this.appends.idle();
    await this.tokens.idle();
    await this.thread?.close();
    this.db.close();
  }

  /** For tests and benchmarks that need to reach below the interface (tampering, bulk load). */
  get database(): Database.Database {
    return this.db;
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
