import pg from 'pg';
import { TramiteError } from '../core/errors.js';
import { TOKEN_PURGE_WINDOW, tokenItem } from './accepted-token.js';
import {
  logTables,
  messageIndexes,
  POSTGRES_NODE_STATE_TABLES,
  POSTGRES_RELATION_COLUMNS_MIGRATION,
  POSTGRES_SENDER_KEY_MIGRATION,
} from './log-schema.js';
import { chainRecords, GENESIS_HASH, type LogEntryInput, type LogRecord } from './log-entry.js';
import type { MessageKey } from '../core/message-record.js';
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
import {
  entriesUnderLock,
  insertRowParams,
  insertRowSql,
  selectRowSql,
  updateRowParams,
  updateRowSql,
  type CurrentRow,
} from './projection-row.js';
import {
  checkpointFromRow,
  messageCountFromRow,
  messageFromRow,
  recordFromRow,
  recordToParams,
  recordWhere,
  type AppendItem,
  type CheckpointRow,
  type MessageCountRow,
} from './sqlite-log-store.js';
import { GroupCommit, type ItemOutcome } from './group-commit.js';
import { acknowledgeParams, alarmFromRow, alarmSql, raiseParams, type AlarmRowDb, type NewAlarm, type StoredAlarm } from './alarm-rows.js';
import type { StaffMember } from '../core/staff-member.js';
import { PostgresConsoleSessions } from './postgres-console-sessions.js';

const TABLES = logTables('postgres');

/** Serialises appends across every process that shares the database: one chain, one head. */
const CHAIN_LOCK = 0x7472616d; // "tram"
/** Serialises schema creation: concurrent CREATE TABLE IF NOT EXISTS races in PostgreSQL. */
const SCHEMA_LOCK = 0x7472616e;
/**
 * The checkpoint writer's session lock, in the two-key space (apart from the one-key locks above), its
 * second key the schema's: one writer per log, also where several logs share a database.
 */
const CHECKPOINT_LOCK = 0x74726170;

const dollar = (i: number) => `$${i}`;
const ALARM_SQL = alarmSql(dollar);

const INSERT_ROW_SQL = insertRowSql(dollar);
const UPDATE_ROW_SQL = updateRowSql(dollar);
const ROW_FOR_UPDATE_SQL = `${selectRowSql(dollar)} FOR UPDATE`;

/**
 * The shared message log: several node processes append to one chain. Each append takes a
 * transaction-scoped advisory lock before reading the head, so the chain never forks.
 */
export class PostgresLogStore implements LogStore {
  readonly kind = 'postgres' as const;
  readonly location: string;
  private readonly appends = new GroupCommit<AppendItem, LogRecord[]>((group) => this.commitGroup(group));
  /** The connection that holds, or keeps asking for, the checkpoint writer's lock (checkpointWriter). */
  private writerConnection: Promise<pg.Client> | undefined;
  private writing = false;
  /** The console's sign-in sessions, one set for every process sharing the database. */
  readonly consoleSessions: PostgresConsoleSessions;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
  ) {
    this.location = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
    this.consoleSessions = new PostgresConsoleSessions(pool);
  }

  static async open(url: string): Promise<PostgresLogStore> {
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    pool.on('error', () => undefined); // idle-client errors surface on the next query instead
    const store = new PostgresLogStore(pool, url);
    try {
      // One multi-statement query runs as one transaction, so the lock covers the whole schema.
      // Tables, then their migrations, then the indexes (which may need a column a migration adds).
      await pool.query(
        `SELECT pg_advisory_xact_lock(${SCHEMA_LOCK});\n${TABLES}\n${POSTGRES_SENDER_KEY_MIGRATION}\n${POSTGRES_RELATION_COLUMNS_MIGRATION}\n${messageIndexes('postgres')}\n${POSTGRES_NODE_STATE_TABLES}`,
      );
    } catch (cause) {
      await pool.end().catch(() => undefined);
      throw new TramiteError(
        'TRAMITE_ERR_LOG_UNAVAILABLE',
        `cannot open the message log at ${store.location}: ${(cause as Error).message}`,
        { cause },
      );
    }
    return store;
  }

  /** Committed with the appends of this process's other concurrent callers: one transaction, one WAL flush for all. */
  append(entries: readonly LogEntryInput[], projection: ProjectionChange): Promise<LogRecord[]> {
    return this.appends.submit({ entries, projection });
  }

  /**
   * A group in one transaction. Should it fail, it is rolled back whole and each append is tried again
   * in a transaction of its own, so one refused append (a message row that is not there) refuses only
   * its caller.
   */
  private async commitGroup(group: readonly AppendItem[]): Promise<Array<ItemOutcome<LogRecord[]>>> {
    if (group.length > 1) {
      let committing = false;
      try {
        const done = await this.inTransaction(async (client, head) => {
          const out: LogRecord[][] = [];
          for (const item of group) {
            const records = await this.appendWith(client, head, item);
            head = records[records.length - 1] ?? head;
            out.push(records);
          }
          committing = true;
          return out;
        });
        return done.map((value) => ({ ok: true, value }));
      } catch (err) {
        // A COMMIT that failed may still have gone through: trying the appends again could double them.
        if (committing) throw err;
        // One of them was refused: each on its own below.
      }
    }
    const outcomes: Array<ItemOutcome<LogRecord[]>> = [];
    for (const item of group) {
      try {
        outcomes.push({ ok: true, value: await this.inTransaction((client, head) => this.appendWith(client, head, item)) });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  }

  /** A transaction holding the chain lock, given the head it starts from. */
  private async inTransaction<T>(work: (client: pg.PoolClient, head: { seq: number; hash: string }) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [CHAIN_LOCK]);
        const result = await work(client, await this.headWith(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /**
   * A pooled connection for `work`. A checked-out client has no pool listener, so a connection the
   * server ends meanwhile (PostgreSQL restarted) would emit an unhandled 'error' and end the process:
   * here the error reaches the query instead, and the broken connection is discarded, not reused.
   */
  private async withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    const onError = () => (broken = true);
    client.on('error', onError);
    try {
      return await work(client);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  private async appendWith(client: pg.PoolClient, head: { seq: number; hash: string }, item: AppendItem): Promise<LogRecord[]> {
    const p = item.projection;
    // An update reads its row once, under the lock, before the records are chained: what it is checked
    // against and the state it logs (entriesUnderLock), and what the projection's update merges with.
    const row = p.op === 'update' ? await this.rowForUpdate(client, p) : undefined;
    const entries = entriesUnderLock(p, item.entries, row);
    if (!entries) return [];
    const records = chainRecords(entries, head);
    for (const r of records) {
      await client.query(
        `INSERT INTO log_records (seq, time, kind, message_id, direction, ref_id, conversation_id, from_party, to_party, service, action, state, detail, envelope, envelope_digest, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
        recordToParams(r),
      );
    }
    if (p.op === 'insert') await client.query(INSERT_ROW_SQL, insertRowParams(p, records));
    else if (p.op === 'update') await client.query(UPDATE_ROW_SQL, updateRowParams(p, records, row!));
    return records;
  }

  /** The message's row, locked until the append's transaction ends; a change of a message not in the log is refused. */
  private async rowForUpdate(client: pg.PoolClient, p: { id: string; direction: 'in' | 'out'; from: string }): Promise<CurrentRow> {
    const { rows } = await client.query<CurrentRow>(ROW_FOR_UPDATE_SQL, [p.id, p.direction, p.from]);
    if (!rows[0]) throw new TramiteError('TRAMITE_ERR_NOT_FOUND', `no ${p.direction}bound message ${p.id} in the log`);
    return rows[0];
  }

  private async headWith(q: pg.Pool | pg.PoolClient): Promise<{ seq: number; hash: string }> {
    const { rows } = await q.query<{ seq: string; hash: string }>('SELECT seq, hash FROM log_records ORDER BY seq DESC LIMIT 1');
    return rows[0] ? { seq: Number(rows[0].seq), hash: rows[0].hash } : { seq: 0, hash: GENESIS_HASH };
  }

  async head(): Promise<{ seq: number; hash: string }> {
    return this.headWith(this.pool);
  }

  async *range(from: number, to: number, pageSize = 1000): AsyncIterable<LogRecord> {
    let next = from;
    for (;;) {
      const { rows } = await this.pool.query('SELECT * FROM log_records WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3', [
        next,
        to,
        pageSize,
      ]);
      for (const r of rows) yield recordFromRow(r);
      if (rows.length < pageSize) return;
      next = Number(rows[rows.length - 1].seq) + 1;
    }
  }

  async record(seq: number): Promise<LogRecord | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM log_records WHERE seq = $1', [seq]);
    return rows[0] ? recordFromRow(rows[0]) : undefined;
  }

  async recordsOf(messageId: string): Promise<LogRecord[]> {
    const { rows } = await this.pool.query('SELECT * FROM log_records WHERE message_id = $1 ORDER BY seq', [messageId]);
    return rows.map(recordFromRow);
  }

  async searchRecords(q: RecordQuery & { fromTime?: string; toTime?: string }): Promise<LogRecord[]> {
    const { sql, params } = recordWhere(q, dollar);
    const { rows } = await this.pool.query(`SELECT * FROM log_records ${sql} ORDER BY seq LIMIT $${params.length + 1}`, [
      ...params,
      q.limit ?? 1000,
    ]);
    return rows.map(recordFromRow);
  }

  async seqRangeForTime(fromTime: string, toTime: string): Promise<{ first: number; last: number } | undefined> {
    const { rows } = await this.pool.query<{ first: string | null; last: string | null }>(
      'SELECT MIN(seq) AS first, MAX(seq) AS last FROM log_records WHERE time >= $1 AND time <= $2',
      [fromTime, toTime],
    );
    const r = rows[0]!;
    return r.first === null || r.last === null ? undefined : { first: Number(r.first), last: Number(r.last) };
  }

  async message(key: MessageKey): Promise<MessageRow | undefined> {
    const { rows } =
      key.direction === 'in'
        ? await this.pool.query("SELECT * FROM messages WHERE id = $1 AND direction = 'in' AND from_party = $2", [key.id, key.from])
        : await this.pool.query("SELECT * FROM messages WHERE id = $1 AND direction = 'out'", [key.id]);
    return rows[0] ? messageFromRow(rows[0]) : undefined;
  }

  async messages(q: MessageQuery): Promise<MessageRow[]> {
    const { sql, params } = messagePageSql(q, dollar);
    const { rows } = await this.pool.query(sql, params);
    return rows.map(messageFromRow);
  }

  async relatedMessages(q: RelatedQuery): Promise<MessageRow[]> {
    const { sql, params } = relatedSql(q, dollar);
    const { rows } = await this.pool.query(sql, params);
    return rows.map(messageFromRow);
  }

  async messagesInState(direction: 'in' | 'out', states: readonly string[]): Promise<MessageRow[]> {
    const { rows } = await this.pool.query('SELECT * FROM messages WHERE direction = $1 AND state = ANY($2) ORDER BY created_at', [
      direction,
      [...states],
    ]);
    return rows.map(messageFromRow);
  }

  async messageCounts(q: MessageCountsQuery = {}): Promise<MessageCount[]> {
    const { sql, params } = messageCountsSql(q, dollar);
    const { rows } = await this.pool.query<MessageCountRow>(sql, params);
    return rows.map(messageCountFromRow);
  }

  /**
   * Whether this process writes the checkpoints now: it holds a session advisory lock on a connection of
   * its own, which PostgreSQL releases when that connection ends — the process stopped, died, or lost
   * the server — so another process's next try takes over. A process that does not hold it asks again
   * on that same connection at its next try (one cheap query, no new connection).
   */
  async checkpointWriter(): Promise<boolean> {
    if (this.writing) return true;
    const client = await (this.writerConnection ??= this.connectWriter());
    const { rows } = await client.query<{ held: boolean }>('SELECT pg_try_advisory_lock($1, hashtext(current_schema())) AS held', [
      CHECKPOINT_LOCK,
    ]);
    this.writing = rows[0]?.held === true;
    return this.writing;
  }

  /** Not `async`: the promise kept in writerConnection must be `connected` itself, for `lost` to recognise it. */
  private connectWriter(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url });
    const lost = (): void => {
      // The lock went with the connection: the next try connects again and asks again.
      if (this.writerConnection === connected) this.writerConnection = undefined;
      this.writing = false;
    };
    client.on('error', lost);
    client.on('end', lost);
    const connected = client.connect().then(
      () => client,
      async (err: unknown) => {
        lost();
        throw err;
      },
    );
    return connected;
  }

  async addCheckpoint(cp: Checkpoint): Promise<void> {
    // Written on the writer's own connection when this process holds the lock: should that connection
    // have gone (and the lock with it), the write fails rather than race the process that took over.
    // Several processes may still checkpoint the same head (an import, a test): the first one written stands.
    const writer = this.writing ? await this.writerConnection : undefined;
    await (writer ?? this.pool).query(
      'INSERT INTO checkpoints (seq, head_hash, time, node, signer_cert, signature, tsa_token) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (seq) DO NOTHING',
      [cp.seq, cp.headHash, cp.time, cp.node, cp.signerCert, cp.signature, cp.tsaToken ? Buffer.from(cp.tsaToken) : null],
    );
  }

  async latestCheckpoint(): Promise<Checkpoint | undefined> {
    const { rows } = await this.pool.query<CheckpointRow>('SELECT * FROM checkpoints ORDER BY seq DESC LIMIT 1');
    return rows[0] ? checkpointFromRow(rows[0]) : undefined;
  }

  async checkpoints(from = 0, to = Number.MAX_SAFE_INTEGER): Promise<Checkpoint[]> {
    const { rows } = await this.pool.query<CheckpointRow>('SELECT * FROM checkpoints WHERE seq >= $1 AND seq <= $2 ORDER BY seq', [
      from,
      to,
    ]);
    return rows.map(checkpointFromRow);
  }

  async purgePayloads(before: string): Promise<number> {
    return this.withClient(async (client) => {
      try {
        await client.query('BEGIN');
        const res = await client.query('UPDATE log_records SET envelope = NULL WHERE time < $1 AND envelope IS NOT NULL', [before]);
        // Only the rows that still hold a payload: rewriting every old row each sweep left dead tuples behind.
        await client.query(
          `UPDATE messages SET fields = (((fields::jsonb) - 'payload' - 'replyPayload') #- '{rest,target}')::text
          WHERE updated_at < $1 AND ((fields::jsonb) ?| array['payload', 'replyPayload'] OR (fields::jsonb) -> 'rest' ? 'target')`,
          [before],
        );
        await client.query('COMMIT');
        return res.rowCount ?? 0;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /**
   * One statement, so every process sharing the database agrees: of two racing inserts of one key the
   * second waits for the first and then finds the row held; two racing takes of an expired row lock it
   * in turn, and the second sees the first's new expiry (ON CONFLICT re-reads the row it locked).
   */
  async acceptToken(namespace: string, id: string, until: Date, now: Date): Promise<boolean> {
    const t = tokenItem(namespace, id, until, now);
    const { rowCount } = await this.written('accept a token', () =>
      this.pool.query(
        `INSERT INTO accepted_tokens (namespace, id, expires_ms) VALUES ($1, $2, $3)
           ON CONFLICT (namespace, id) DO UPDATE SET expires_ms = EXCLUDED.expires_ms WHERE accepted_tokens.expires_ms <= $4
           RETURNING 1`,
        [t.namespace, t.id, t.untilMs, t.nowMs],
      ),
    );
    return rowCount === 1;
  }

  /**
   * A window at a time, each its own statement. The outer `expires_ms <= $1` is not redundant: a row taken
   * again while the DELETE waits for its lock is re-checked against it, and kept.
   */
  async purgeExpiredTokens(now: Date): Promise<number> {
    let purged = 0;
    for (;;) {
      const { rowCount } = await this.written('purge expired tokens', () =>
        this.pool.query(
          `DELETE FROM accepted_tokens WHERE expires_ms <= $1
             AND (namespace, id) IN (SELECT namespace, id FROM accepted_tokens WHERE expires_ms <= $1 LIMIT $2)`,
          [now.getTime(), TOKEN_PURGE_WINDOW],
        ),
      );
      purged += rowCount ?? 0;
      if ((rowCount ?? 0) < TOKEN_PURGE_WINDOW) return purged;
    }
  }

  /*
   * Alarms: one statement each, so every process sharing the database agrees — of two racing raises of
   * one (rule, subject) the second waits on the unique active_key and then does nothing.
   */
  async raiseAlarm(a: NewAlarm): Promise<StoredAlarm | undefined> {
    return this.alarmRow('raise an alarm', ALARM_SQL.raise, raiseParams(a));
  }

  async acknowledgeAlarm(id: string, ack: { at: string; by: StaffMember; note?: string }): Promise<StoredAlarm | undefined> {
    return this.alarmRow('acknowledge an alarm', ALARM_SQL.acknowledge, acknowledgeParams(id, ack));
  }

  async clearAlarm(id: string, at: string): Promise<StoredAlarm | undefined> {
    return this.alarmRow('clear an alarm', ALARM_SQL.clear, [at, id]);
  }

  async claimAlarmReminder(id: string, due: string, at: string): Promise<StoredAlarm | undefined> {
    return this.alarmRow('claim an alarm reminder', ALARM_SQL.remind, [at, id, due]);
  }

  async alarm(id: string): Promise<StoredAlarm | undefined> {
    return this.alarmRow('read an alarm', ALARM_SQL.one, [id]);
  }

  async activeAlarms(): Promise<StoredAlarm[]> {
    const { rows } = await this.written('read the alarms', () => this.pool.query<AlarmRowDb>(ALARM_SQL.active));
    return rows.map(alarmFromRow);
  }

  async recentAlarms(limit: number): Promise<StoredAlarm[]> {
    const { rows } = await this.written('read the alarms', () => this.pool.query<AlarmRowDb>(ALARM_SQL.recent, [limit]));
    return rows.map(alarmFromRow);
  }

  private async alarmRow(what: string, text: string, params: unknown[]): Promise<StoredAlarm | undefined> {
    const { rows } = await this.written(what, () => this.pool.query<AlarmRowDb>(text, params));
    return rows[0] ? alarmFromRow(rows[0]) : undefined;
  }

  /** A statement's failure as the log's typed error: the replay filter's callers get a code, not a driver error. */
  private async written<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (cause) {
      throw new TramiteError(
        'TRAMITE_ERR_LOG_UNAVAILABLE',
        `the message log at ${this.location} could not ${what}: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
  }

  /**
   * Reserves `count` more of the minute's serials for PdD `pdd`: one statement, so every process sharing
   * the database gets a block of its own (the row lock orders concurrent reservations). Returns the end
   * (exclusive) of the block; it starts `count` below.
   */
  async reserveMessageSerials(pdd: string, minute: string, count: number): Promise<number> {
    const { rows } = await this.written('reserve message ids', () =>
      this.pool.query<{ reserved: number }>(
        `INSERT INTO message_id_blocks (pdd, minute, reserved) VALUES ($1, $2, $3)
           ON CONFLICT (pdd, minute) DO UPDATE SET reserved = message_id_blocks.reserved + EXCLUDED.reserved
           RETURNING reserved`,
        [pdd, minute, count],
      ),
    );
    return rows[0]!.reserved;
  }

  /** Forgets the reservations of minutes before `minute`: ids of those minutes are no longer issued. */
  async forgetMessageSerialsBefore(minute: string): Promise<number> {
    const { rowCount } = await this.written('forget old message id blocks', () =>
      this.pool.query('DELETE FROM message_id_blocks WHERE minute < $1', [minute]),
    );
    return rowCount ?? 0;
  }

  async close(): Promise<void> {
    const writer = this.writerConnection;
    this.writerConnection = undefined;
    this.writing = false;
    await writer?.then(
      (c) => c.end(),
      () => undefined,
    );
    await this.pool.end();
  }

  /** For tests and benchmarks that need to reach below the interface. */
  query(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
    return this.pool.query(sql, params);
  }
}
