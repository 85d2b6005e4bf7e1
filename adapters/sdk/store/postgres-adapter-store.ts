import { TramiteError } from '../../../src/core/errors.js';
import pg from 'pg';
import {
  StoreError,
  statementLabel,
  type AdapterStore,
  type AdapterStoreOptions,
  type SqlRow,
  type SqlValue,
  type StoreMigration,
  type StoreQueries,
  type StoreRunResult,
  type StoreTransaction,
} from './adapter-store.js';
import { numberedPlaceholders } from './postgres-placeholders.js';

/** Where a PostgreSQL adapter store lives: the database, and the schema of its own. */
export interface PostgresStoreLocation {
  /** `postgres://user:password@host:port/database` — the node's log store URL. */
  readonly url: string;
  /** The store's schema: a lower-case identifier (letters, digits, `_`), at most 63 bytes. */
  readonly schema: string;
  /** Connections this store may hold (default 2): adapters' traffic is light, and every process has its own pool. */
  readonly maxConnections?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** BIGINT (COUNT, SUM of integers, BIGSERIAL) and NUMERIC as JavaScript numbers, as SQLite gives them. */
const NUMBERS = new pg.TypeOverrides();
NUMBERS.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
NUMBERS.setTypeParser(pg.types.builtins.NUMERIC, (v: string) => Number(v));

/**
 * An adapter store in a schema of its own in PostgreSQL, shared by every node process that opens it:
 * the schema and its version table are created, and migrations run, under an advisory lock, so
 * processes starting together migrate once. `lock(name)` is a transaction-scoped advisory lock keyed
 * by schema and name. Statements outside a transaction run on the pool beside it, and see only what
 * is committed.
 */
export class PostgresAdapterStore implements AdapterStore {
  readonly dialect = 'postgres' as const;
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    readonly location: string,
  ) {}

  static async open(
    where: PostgresStoreLocation,
    migrations: readonly StoreMigration[],
    opts: AdapterStoreOptions = {},
  ): Promise<PostgresAdapterStore> {
    if (!SCHEMA_NAME.test(where.schema))
      throw new StoreError(`adapter store schema ${JSON.stringify(where.schema)} is not a lower-case identifier`);
    const location = `${where.url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')} schema ${where.schema}`;
    const settings = [`-c search_path=${where.schema}`, ...(opts.durability === 'normal' ? ['-c synchronous_commit=off'] : [])];
    const pool = new pg.Pool({
      connectionString: where.url,
      max: where.maxConnections ?? 2,
      idleTimeoutMillis: 10_000,
      options: settings.join(' '),
      types: NUMBERS,
    });
    pool.on('error', () => undefined); // an idle connection's error surfaces on the next statement instead
    const store = new PostgresAdapterStore(pool, where.schema, location);
    try {
      await store.migrate(migrations);
    } catch (cause) {
      await pool.end().catch(() => undefined);
      throw StoreError.from(cause, `adapter store ${location} cannot be opened`);
    }
    return store;
  }

  all<R extends SqlRow = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    return clientQueries(this.pool).all<R>(sql, params);
  }

  get<R extends SqlRow = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<R | undefined> {
    return clientQueries(this.pool).get<R>(sql, params);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<StoreRunResult> {
    return clientQueries(this.pool).run(sql, params);
  }

  async transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (cause) {
      throw StoreError.from(cause, `adapter store ${this.location}: no connection`);
    }
    let broken = false;
    let inWork = false;
    // A lent-out connection the server ends (PostgreSQL restarting) emits 'error' with nobody listening,
    // which would end the process: here it fails the statement instead, and the connection is dropped.
    const lost = () => (broken = true);
    client.on('error', lost);
    try {
      await client.query('BEGIN');
      const queries = clientQueries(client);
      inWork = true;
      const result = await work({
        ...queries,
        lock: async (name) => {
          await queries.run('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [`${this.schema}:${name}`]);
        },
      });
      inWork = false;
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      // The engine's own refusals and cut connections (BEGIN, COMMIT: a server restarting) typed; the
      // caller's errors and StoreErrors as they are.
      const engines = err instanceof pg.DatabaseError || (!inWork && !(err instanceof TramiteError));
      throw engines ? StoreError.from(err, `adapter store ${this.location}`) : err;
    } finally {
      client.off('error', lost);
      // A connection whose ROLLBACK failed may be broken: dropped rather than handed to the next caller.
      client.release(broken || undefined);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async migrate(migrations: readonly StoreMigration[]): Promise<void> {
    const client = await this.pool.connect();
    let broken = false;
    const lost = () => (broken = true); // as in transaction(): the statement fails, the process goes on
    client.on('error', lost);
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tramite-adapter-store:${this.schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await client.query('CREATE TABLE IF NOT EXISTS store_schema_version (version INTEGER NOT NULL)');
      const row = (await client.query<{ version: number }>('SELECT version FROM store_schema_version')).rows[0];
      const version = row?.version ?? 0;
      if (version > migrations.length) {
        throw new StoreError(
          `adapter store ${this.location} is at schema version ${version}, this adapter knows ${migrations.length}: it was written by a newer version`,
        );
      }
      const queries = clientQueries(client);
      for (let n = version + 1; n <= migrations.length; n++) {
        const m = migrations[n - 1]!;
        const step = typeof m === 'string' ? m : m.postgres;
        try {
          if (typeof step === 'string') await client.query(step);
          else if (step) await step(queries);
        } catch (cause) {
          throw StoreError.from(cause, `adapter store ${this.location}: migration ${n} failed`);
        }
      }
      if (version < migrations.length) {
        await client.query(
          row ? 'UPDATE store_schema_version SET version = $1' : 'INSERT INTO store_schema_version (version) VALUES ($1)',
          [migrations.length],
        );
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      client.off('error', lost);
      client.release(broken || undefined);
    }
  }
}

/** Statements on a pool (each its own transaction) or on one connection (inside the caller's). */
function clientQueries(on: pg.Pool | pg.PoolClient): StoreQueries {
  const query = async <R extends SqlRow>(sql: string, params: readonly SqlValue[]): Promise<pg.QueryResult<R>> => {
    try {
      return await on.query<R>(
        numberedPlaceholders(sql),
        params.map((p) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p) : p)),
      );
    } catch (cause) {
      throw StoreError.from(cause, statementLabel(sql));
    }
  };
  return {
    all: async <R extends SqlRow>(sql: string, params: readonly SqlValue[] = []) => (await query<R>(sql, params)).rows,
    get: async <R extends SqlRow>(sql: string, params: readonly SqlValue[] = []) => (await query<R>(sql, params)).rows[0] as R | undefined,
    run: async (sql: string, params: readonly SqlValue[] = []) => ({ changes: (await query(sql, params)).rowCount ?? 0 }),
  };
}
