import type Database from 'better-sqlite3';
import type { TokenItem } from './accepted-token.js';
import type { ItemOutcome } from './group-commit.js';

/**
 * The SQLite side of the replay filter, run by the log's writer thread on its write connection: a group
 * of acceptToken calls in one IMMEDIATE transaction (one fsync for all), and the purge of expired rows a
 * window at a time. Synchronous, as better-sqlite3 is; the thread keeps it off the event loop.
 */
export class SqliteTokenWriter {
  readonly acceptGroup: (group: readonly TokenItem[]) => Array<ItemOutcome<boolean>>;
  private readonly take: Database.Statement;
  private readonly purge: Database.Statement;

  constructor(db: Database.Database) {
    // Inserted (new), or updated because the row held had expired: one change, the token is taken.
    // Held and not expired: the WHERE leaves the row alone, no change, a replay.
    this.take = db.prepare(
      `INSERT INTO accepted_tokens (namespace, id, expires_ms) VALUES (?, ?, ?)
         ON CONFLICT (namespace, id) DO UPDATE SET expires_ms = excluded.expires_ms WHERE accepted_tokens.expires_ms <= ?`,
    );
    this.purge = db.prepare(
      `DELETE FROM accepted_tokens WHERE expires_ms <= ? AND rowid IN (SELECT rowid FROM accepted_tokens WHERE expires_ms <= ? LIMIT ?)`,
    );
    this.acceptGroup = db.transaction((group: readonly TokenItem[]) =>
      group.map((t): ItemOutcome<boolean> => {
        try {
          return { ok: true, value: this.take.run(t.namespace, t.id, t.untilMs, t.nowMs).changes === 1 };
        } catch (error) {
          // As for appends: an error that ended the transaction fails the whole group, never only this item.
          if (!db.inTransaction) throw error;
          return { ok: false, error };
        }
      }),
    ).immediate;
  }

  /** Deletes at most `limit` rows expired at `nowMs` (one short transaction); how many it deleted. */
  purgeWindow(nowMs: number, limit: number): number {
    return this.purge.run(nowMs, nowMs, limit).changes;
  }
}
