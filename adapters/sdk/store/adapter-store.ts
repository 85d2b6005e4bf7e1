/**
 * The store an adapter keeps its state in (registers, queues, cursors, quotas), the same code on two
 * engines: an embedded SQLite file in the adapter's own folder (the default), or a schema of its own in
 * the node's PostgreSQL when the node's log is there — so that several node processes on several hosts,
 * sharing no disk, share one register, one quota, one cursor.
 *
 * Statements are written once, in the SQL both engines speak (`?` placeholders, `INSERT … ON CONFLICT`,
 * `RETURNING`, INTEGER/BIGINT/TEXT/BLOB columns); a migration step may say each engine's DDL apart.
 * Integers come back as JavaScript numbers on both (PostgreSQL's BIGINT and COUNT included).
 */
import { isEngineOutage } from '../../../src/core/engine-outage.js';
import { TramiteError } from '../../../src/core/errors.js';

/** A value bound to a `?` placeholder. */
export type SqlValue = string | number | bigint | boolean | null | Uint8Array;

/** A row as the engine returns it: column name → value. */
export type SqlRow = Record<string, unknown>;

/** What a statement changed. */
export interface StoreRunResult {
  /** Rows inserted, updated or deleted. */
  readonly changes: number;
}

/** Statements, inside a transaction or each on its own. */
export interface StoreQueries {
  /** Every row of a query (or of a statement with RETURNING). */
  all<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]>;
  /** The first row, or undefined. */
  get<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R | undefined>;
  /** A statement that returns no rows. */
  run(sql: string, params?: readonly SqlValue[]): Promise<StoreRunResult>;
}

/** The statements of one transaction. */
export interface StoreTransaction extends StoreQueries {
  /**
   * Waits until no other transaction — of this process or another sharing the store — holds the lock
   * `name`, then holds it until this transaction ends. What makes read-then-write steps (the next
   * protocol number, an operator's quota) safe across processes: SQLite already runs one writing
   * transaction at a time per file, PostgreSQL takes a transaction-scoped advisory lock.
   */
  lock(name: string): Promise<void>;
}

export type StoreDialect = 'sqlite' | 'postgres';

/** One migration step for an engine: SQL (several statements allowed), or code for what SQL alone cannot say. */
export type DialectStep = string | ((tx: StoreQueries) => Promise<void>);

/**
 * One schema step. A string is run on both engines; an object gives each engine its own step (an
 * engine left out has nothing to do at this step). Step n (1-based) runs once, in order, in one
 * transaction with the version it sets; never edit a released one, append the next.
 */
export type StoreMigration = string | { readonly sqlite?: DialectStep; readonly postgres?: DialectStep };

export interface AdapterStore extends StoreQueries {
  readonly dialect: StoreDialect;
  /** Where the state is, for logs and errors: the file, or the database (password hidden) and schema. */
  readonly location: string;
  /**
   * Runs `work` in one transaction: its statements commit together, or not at all when it throws (the
   * error is rethrown). Statements of this process outside `work` wait until it ends.
   */
  transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  /** Closes the store; statements after it reject. Harmless twice. */
  close(): Promise<void>;
}

/** How durable a commit must be. */
export interface AdapterStoreOptions {
  /**
   * `full` (default): a commit is on disk before it returns — for state whose loss would duplicate or
   * lose a message (cursors, numbering, "sent" marks). `normal`: a power cut may lose the last commits,
   * never corrupt the store — for state written at every request that is harmless to lose (usage
   * counters, progress that is recomputed). PostgreSQL: `synchronous_commit` off for the store's sessions.
   */
  readonly durability?: 'full' | 'normal';
}

/**
 * Opens (creating and migrating) a store of the adapter's: `name` is a short lower-case word
 * (`registro`, `pec`) — the SQLite file `<dataDir>/<name>.sqlite`, or its own PostgreSQL schema.
 * Given to an adapter in its context; the node decides the engine.
 */
export type AdapterStoreOpener = (name: string, migrations: readonly StoreMigration[], opts?: AdapterStoreOptions) => Promise<AdapterStore>;

/**
 * A statement the engine refused, or a store that cannot be opened or migrated. Errors thrown by the
 * caller's own code inside `transaction` pass through unchanged.
 */
export class StoreError extends TramiteError {
  /** The engine's own code (`SQLITE_BUSY`, PostgreSQL's SQLSTATE `23505`), when it gave one. */
  readonly engineCode: string | undefined;
  constructor(message: string, options: { cause?: unknown; engineCode?: string } = {}) {
    super('TRAMITE_ERR_ADAPTER_STORE', message, { cause: options.cause });
    this.engineCode = options.engineCode;
  }

  /** Wraps what the engine threw for `what` (a statement's first words, a file). */
  static from(cause: unknown, what: string): StoreError {
    if (cause instanceof StoreError) return cause;
    const engineCode = (cause as { code?: unknown } | null)?.code;
    return new StoreError(`${what}: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
      ...(typeof engineCode === 'string' ? { engineCode } : {}),
    });
  }
}

/** A refused unique or primary key — what "someone else did it first" looks like on either engine. */
export function isUniqueViolation(err: unknown): boolean {
  const code = err instanceof StoreError ? err.engineCode : undefined;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * A store that is away for now — PostgreSQL restarting or unreachable (SQLSTATE 08 connection, 53
 * resources, 57P01–57P03 shutdown or starting; a refused or cut connection), or a transaction to run again
 * (40001 serialisation, 40P01 deadlock) — not a statement it refused: the same request will do later.
 */
export function isStoreUnavailable(err: unknown): boolean {
  return err instanceof StoreError && isEngineOutage(err.engineCode, err.message);
}

/** What a failing statement is called in its error: its first words, never its parameters. */
export function statementLabel(sql: string): string {
  const words = sql.trim().replace(/\s+/g, ' ');
  return words.length > 60 ? `${words.slice(0, 60)}…` : words;
}

/** Store names: what may be a file name and part of a PostgreSQL identifier alike. */
export const STORE_NAME = /^[a-z][a-z0-9-]{0,30}$/;
