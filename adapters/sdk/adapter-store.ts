/**
 * The SQLite file an adapter keeps its state in (registers, queues, cursors), opened one way for every
 * adapter: WAL, durable commits unless the store says otherwise (a commit survives a power cut: cursors
 * and "sent" marks are what prevent duplicates), a busy timeout for processes sharing the file, foreign
 * keys enforced, and numbered migrations recorded in `PRAGMA user_version`.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { TramiteError } from '../../src/core/errors.js';

export type AdapterDatabase = Database.Database;

/**
 * One schema step: SQL to run, or a function for steps SQL alone cannot say (add a column only where
 * it is missing). Migration n (1-based) runs once, when the file's user_version is below n; never edit
 * a released one, append the next. Write the first with IF NOT EXISTS: files created before the store
 * used this opener have user_version 0 and their tables already.
 */
export type LegacyStoreMigration = string | ((db: AdapterDatabase) => void);

const BUSY_TIMEOUT_MS = 10_000;

export interface LegacyStoreOptions {
  /**
   * `full` (default): a commit is on disk before it returns — for state whose loss would duplicate or
   * lose a message (cursors, numbering, "sent" marks). `normal`: a power cut may lose the last commits,
   * never corrupt the file, and a commit costs no fsync — for state written at every request that is
   * harmless to lose (usage counters, progress that is recomputed).
   */
  readonly durability?: 'full' | 'normal';
}

export function openAdapterStore(file: string, migrations: readonly LegacyStoreMigration[], opts: LegacyStoreOptions = {}): AdapterDatabase {
  let db: AdapterDatabase | undefined;
  try {
    mkdirSync(dirname(file), { recursive: true });
    db = new Database(file);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
    db.pragma('foreign_keys = ON');
    migrate(db, migrations, file);
    return db;
  } catch (cause) {
    if (db?.open) db.close();
    if (cause instanceof TramiteError) throw cause;
    throw new TramiteError('TRAMITE_ERR_ADAPTER_STORE', `adapter store ${file} cannot be opened: ${(cause as Error).message}`, { cause });
  }
}

function migrate(db: AdapterDatabase, migrations: readonly LegacyStoreMigration[], file: string): void {
  const version = (): number => db.pragma('user_version', { simple: true }) as number;
  if (version() >= migrations.length) {
    if (version() > migrations.length) {
      throw new TramiteError(
        'TRAMITE_ERR_ADAPTER_STORE',
        `adapter store ${file} is at schema version ${version()}, this adapter knows ${migrations.length}: it was written by a newer version`,
      );
    }
    return;
  }
  // Immediate: of several processes opening a new file at once, one migrates, the others wait and then find it done.
  db.transaction(() => {
    for (let n = version() + 1; n <= migrations.length; n++) {
      const step = migrations[n - 1]!;
      try {
        if (typeof step === 'string') db.exec(step);
        else step(db);
      } catch (cause) {
        throw new TramiteError('TRAMITE_ERR_ADAPTER_STORE', `adapter store ${file}: migration ${n} failed: ${(cause as Error).message}`, {
          cause,
        });
      }
      db.pragma(`user_version = ${n}`);
    }
  }).immediate();
}
