import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import {
  STORE_NAME,
  StoreError,
  statementLabel,
  type AdapterStore,
  type AdapterStoreOpener,
  type AdapterStoreOptions,
  type SqlRow,
  type SqlValue,
  type StoreMigration,
  type StoreQueries,
  type StoreRunResult,
  type StoreTransaction,
} from './adapter-store.js';
import { StoreTurns } from './store-turns.js';

const BUSY_TIMEOUT_MS = 10_000;

/**
 * An adapter store in one SQLite file: WAL, durable commits unless the store says otherwise, a busy
 * timeout for processes sharing the file, foreign keys enforced, the schema version in
 * `PRAGMA user_version` (so files made before this interface migrate on from where they are).
 * A transaction is `BEGIN IMMEDIATE`: it holds the file's write lock from its first statement, which is
 * what `lock(name)` asks for on this engine.
 */
export class SqliteAdapterStore implements AdapterStore {
  readonly dialect = 'sqlite' as const;
  private readonly turns = new StoreTurns();
  private readonly queries: StoreQueries;

  private constructor(
    private readonly db: Database.Database,
    readonly location: string,
  ) {
    this.queries = sqliteQueries(db);
  }

  static async open(file: string, migrations: readonly StoreMigration[], opts: AdapterStoreOptions = {}): Promise<SqliteAdapterStore> {
    let db: Database.Database | undefined;
    try {
      mkdirSync(dirname(file), { recursive: true });
      db = new Database(file);
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${opts.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
      db.pragma('foreign_keys = ON');
    } catch (cause) {
      if (db?.open) db.close();
      throw StoreError.from(cause, `adapter store ${file} cannot be opened`);
    }
    const store = new SqliteAdapterStore(db, file);
    try {
      await store.migrate(migrations);
    } catch (cause) {
      db.close();
      throw cause;
    }
    return store;
  }

  all<R extends SqlRow = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    return this.turns.run(() => this.queries.all<R>(sql, params));
  }

  get<R extends SqlRow = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<R | undefined> {
    return this.turns.run(() => this.queries.get<R>(sql, params));
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<StoreRunResult> {
    return this.turns.run(() => this.queries.run(sql, params));
  }

  transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    return this.turns.run(() => this.inTransaction(work));
  }

  async close(): Promise<void> {
    await this.turns.run(async () => {
      if (this.db.open) this.db.close();
    });
  }

  private async inTransaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (cause) {
      throw StoreError.from(cause, `adapter store ${this.location}: BEGIN`);
    }
    try {
      // The whole file is locked from BEGIN IMMEDIATE on: every named lock is already held.
      const result = await work({ ...this.queries, lock: () => Promise.resolve() });
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  private async migrate(migrations: readonly StoreMigration[]): Promise<void> {
    const version = (): number => this.db.pragma('user_version', { simple: true }) as number;
    if (version() > migrations.length) {
      throw new StoreError(
        `adapter store ${this.location} is at schema version ${version()}, this adapter knows ${migrations.length}: it was written by a newer version`,
      );
    }
    if (version() === migrations.length) return;
    // Immediate: of several processes opening a new file at once, one migrates, the others wait and then find it done.
    await this.transaction(async (tx) => {
      for (let n = version() + 1; n <= migrations.length; n++) {
        const m = migrations[n - 1]!;
        const step = typeof m === 'string' ? m : m.sqlite;
        try {
          if (typeof step === 'string') this.db.exec(step);
          else if (step) await step(tx);
        } catch (cause) {
          throw StoreError.from(cause, `adapter store ${this.location}: migration ${n} failed`);
        }
        this.db.pragma(`user_version = ${n}`);
      }
    });
  }
}

/** Statements on the connection, as they are (the caller decides whether a turn or a transaction holds it). */
function sqliteQueries(db: Database.Database): StoreQueries {
  const bind = (params: readonly SqlValue[]): unknown[] => params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
  const statement = (sql: string) => {
    try {
      return db.prepare(sql);
    } catch (cause) {
      throw StoreError.from(cause, statementLabel(sql));
    }
  };
  const guarded = <T>(sql: string, step: () => T): Promise<T> => {
    try {
      return Promise.resolve(step());
    } catch (cause) {
      return Promise.reject(StoreError.from(cause, statementLabel(sql)));
    }
  };
  return {
    all: <R extends SqlRow>(sql: string, params: readonly SqlValue[] = []) =>
      guarded(sql, () => statement(sql).all(...bind(params)) as R[]),
    get: <R extends SqlRow>(sql: string, params: readonly SqlValue[] = []) =>
      guarded(sql, () => statement(sql).get(...bind(params)) as R | undefined),
    run: (sql: string, params: readonly SqlValue[] = []) => guarded(sql, () => ({ changes: statement(sql).run(...bind(params)).changes })),
  };
}

/** The opener of SQLite stores in `dataDir` (`<dataDir>/<name>.sqlite`): a one-host node's, and tests'. */
export function sqliteStoreOpener(dataDir: string): AdapterStoreOpener {
  return (name, migrations, opts) => {
    if (!STORE_NAME.test(name)) return Promise.reject(new StoreError(`store name ${JSON.stringify(name)} is not a short lower-case word`));
    return SqliteAdapterStore.open(join(dataDir, `${name}.sqlite`), migrations, opts);
  };
}

/** An adapter's folder and the SQLite stores in it, as a context gets them on a one-host node (tests, tools). */
export function sqliteAdapterFolder(dataDir: string): { readonly dataDir: string; readonly openStore: AdapterStoreOpener } {
  return { dataDir, openStore: sqliteStoreOpener(dataDir) };
}
