import type Database from 'better-sqlite3';
import { TramiteError } from '../core/errors.js';
import type { ItemOutcome } from './group-commit.js';
import { chainRecords, GENESIS_HASH, type LogEntryInput, type LogRecord } from './log-entry.js';
import type { ProjectionChange } from './log-store.js';
import {
  entriesUnderLock,
  insertRowParams,
  insertRowSql,
  selectRowSql,
  updateRowParams,
  updateRowSql,
  type CurrentRow,
} from './projection-row.js';

const question = () => '?';
const INSERT_ROW_SQL = insertRowSql(question);
const UPDATE_ROW_SQL = updateRowSql(question);
const SELECT_ROW_SQL = selectRowSql(question);

/** One caller's append, waiting for its group's transaction. */
export interface AppendItem {
  readonly entries: readonly LogEntryInput[];
  readonly projection: ProjectionChange;
}

/** How every connection that writes the log is set: WAL (readers go on beside the writer), FULL commits, a 5 s wait for the lock. */
export function setWritePragmas(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
}

/**
 * The writing half of the SQLite message log: a group of appends in one IMMEDIATE transaction (the write
 * lock taken before the head is read, so two writers cannot fork the chain), each in a savepoint so a
 * refused append leaves the others in. Synchronous, as better-sqlite3 is: the node runs it in a worker
 * thread (sqlite-writer-worker.ts), so the commit's fsync never holds the event loop.
 */
export class SqliteLogWriter {
  private readonly statements = new Map<string, Database.Statement>();
  readonly commitGroup: (group: readonly AppendItem[]) => Array<ItemOutcome<LogRecord[]>>;

  constructor(private readonly db: Database.Database) {
    const appendOne = db.transaction((given: readonly LogEntryInput[], projection: ProjectionChange) => {
      // An update reads its row once, before the records are chained, as the PostgreSQL store does: what
      // it is checked against and the state it logs (entriesUnderLock). A SQLite log has one node process,
      // yet `tramite messages resend` writes from another: inside this IMMEDIATE transaction the row is the
      // one every writer sees.
      const row = projection.op === 'update' ? this.rowForUpdate(projection) : undefined;
      const entries = entriesUnderLock(projection, given, row);
      if (!entries) return [];
      const records = chainRecords(entries, this.head());
      const insert = this.sql(
        `INSERT INTO log_records (seq, time, kind, message_id, direction, ref_id, conversation_id, from_party, to_party, service, action, state, detail, envelope, envelope_digest, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const r of records) insert.run(...recordToParams(r));
      if (projection.op === 'insert') this.sql(INSERT_ROW_SQL).run(...insertRowParams(projection, records));
      else if (projection.op === 'update') this.sql(UPDATE_ROW_SQL).run(...updateRowParams(projection, records, row!));
      return records;
    });
    this.commitGroup = db.transaction((group: readonly AppendItem[]) =>
      group.map((item): ItemOutcome<LogRecord[]> => {
        try {
          return { ok: true, value: appendOne(item.entries, item.projection) };
        } catch (error) {
          // SQLITE_FULL, IOERR or NOMEM can roll back the whole group, not just this savepoint: then no
          // item may go on as a transaction of its own and be told "refused" once committed.
          if (!db.inTransaction) throw error;
          return { ok: false, error };
        }
      }),
    ).immediate;
  }

  /** A prepared statement, kept: preparing costs more than running the small statements of an append. */
  sql(text: string): Database.Statement {
    let stmt = this.statements.get(text);
    if (!stmt) {
      stmt = this.db.prepare(text);
      this.statements.set(text, stmt);
    }
    return stmt;
  }

  head(): { seq: number; hash: string } {
    const row = this.sql('SELECT seq, hash FROM log_records ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
    return row ? { seq: Number(row.seq), hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  /** The message's row an update changes; a change of a message not in the log is refused. */
  private rowForUpdate(p: { id: string; direction: 'in' | 'out'; from: string }): CurrentRow {
    const row = this.sql(SELECT_ROW_SQL).get(p.id, p.direction, p.from) as CurrentRow | undefined;
    if (!row) throw new TramiteError('TRAMITE_ERR_NOT_FOUND', `no ${p.direction}bound message ${p.id} in the log`);
    return row;
  }
}

/** A record as the log_records row's parameters, in column order. */
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
