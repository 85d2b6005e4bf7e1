/**
 * The two engines an adapter's store runs on, for tests that must hold on both: a temporary SQLite
 * folder, or this test file's own database on the test PostgreSQL server (a fresh schema per store).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { STORE_NAME, StoreError, type AdapterStoreOpener } from '../../adapters/sdk/store/adapter-store.js';
import { PostgresAdapterStore } from '../../adapters/sdk/store/postgres-adapter-store.js';
import { sqliteStoreOpener } from '../../adapters/sdk/store/sqlite-adapter-store.js';
import { dropDatabase, freshDatabase } from '../../test-support/postgres-server.js';
import { postgresUrl } from '../log/log-fixtures.js';

export const STORE_ENGINES = ['sqlite', 'postgres'] as const;
export type StoreEngine = (typeof STORE_ENGINES)[number];

/**
 * Where one adapter's stores go: open them with `openStore`. On PostgreSQL a second store opened on the
 * same place behaves as a second process. On SQLite it does not: two connections to one file in one
 * process wait for each other's write lock with the event loop blocked, so cross-process tests of a
 * SQLite file spawn real processes.
 */
export interface StorePlace {
  readonly engine: StoreEngine;
  /** The adapter's folder (SQLite files go here; on PostgreSQL it holds nothing). */
  readonly dataDir: string;
  readonly openStore: AdapterStoreOpener;
}

let database: Promise<string> | undefined;
const folders: string[] = [];

afterAll(async () => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
  const db = database;
  database = undefined;
  const url = await db?.catch(() => undefined);
  if (url) await dropDatabase(url);
});

/** A new, empty place for an adapter's stores on `engine`. */
export function newStorePlace(engine: StoreEngine): StorePlace {
  const dataDir = mkdtempSync(join(tmpdir(), 'tramite-adapter-store-'));
  folders.push(dataDir);
  if (engine === 'sqlite') return { engine, dataDir, openStore: sqliteStoreOpener(dataDir) };
  const prefix = `t${randomBytes(5).toString('hex')}`;
  return {
    engine,
    dataDir,
    openStore: async (name, migrations, opts) => {
      if (!STORE_NAME.test(name)) throw new StoreError(`store name ${JSON.stringify(name)} is not a short lower-case word`);
      const url = await (database ??= freshDatabase(postgresUrl()));
      return PostgresAdapterStore.open({ url, schema: `${prefix}_${name.replace(/-/g, '_')}` }, migrations, opts);
    },
  };
}
