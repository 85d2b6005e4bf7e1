import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteAdapterStore } from '../../../../adapters/sdk/store/sqlite-adapter-store.js';
import {
  isStoreUnavailable,
  isUniqueViolation,
  StoreError,
  type AdapterStore,
  type StoreMigration,
} from '../../../../adapters/sdk/store/adapter-store.js';
import { PostgresAdapterStore } from '../../../../adapters/sdk/store/postgres-adapter-store.js';
import { replyFor } from '../../../../adapters/sdk/adapter-http-server.js';
import { freePort } from '../../../../src/daemons/free-port.js';
import { numberedPlaceholders } from '../../../../adapters/sdk/store/postgres-placeholders.js';
import { StoreLease } from '../../../../adapters/sdk/store/store-lease.js';
import { newStorePlace, STORE_ENGINES } from '../../store-engines.js';

const COUNTERS: StoreMigration[] = [
  'CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)',
  { sqlite: 'CREATE INDEX counters_value ON counters (value)', postgres: 'CREATE INDEX counters_value ON counters (value)' },
];

describe.each(STORE_ENGINES)('an adapter store on %s', (engine) => {
  it('runs each migration once, across reopenings, and refuses a store written by a newer version', async () => {
    const place = newStorePlace(engine);
    const first = await place.openStore('counters', COUNTERS);
    await first.run('INSERT INTO counters (name, value) VALUES (?, ?)', ['a', 1]);
    await first.close();
    let ran = 0;
    const again = await place.openStore('counters', [
      ...COUNTERS,
      {
        sqlite: async (tx) => {
          ran++;
          await tx.run('ALTER TABLE counters ADD COLUMN note TEXT');
        },
        postgres: async (tx) => {
          ran++;
          await tx.run('ALTER TABLE counters ADD COLUMN note TEXT');
        },
      },
    ]);
    expect(ran).toBe(1);
    expect(await again.get('SELECT name, value, note FROM counters')).toEqual({ name: 'a', value: 1, note: null });
    await again.close();
    await expect(place.openStore('counters', COUNTERS.slice(0, 1))).rejects.toThrow(/written by a newer version/);
  });

  it('speaks one SQL on both engines: placeholders, ON CONFLICT, RETURNING, and integers as numbers', async () => {
    const store = await newStorePlace(engine).openStore('sql', COUNTERS);
    try {
      const big = 2 ** 40;
      await store.run('INSERT INTO counters (name, value) VALUES (?, ?)', ['big', big]);
      const kept = await store.run('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING', ['big', 0]);
      expect(kept.changes).toBe(0);
      const bumped = await store.get<{ value: number }>(
        'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value RETURNING value',
        ['big', 2],
      );
      expect(bumped).toEqual({ value: big + 2 });
      expect(await store.get("SELECT COUNT(*) AS n, SUM(value) AS total FROM counters WHERE name <> '?'")).toEqual({
        n: 1,
        total: big + 2,
      });
      expect(await store.all('SELECT name FROM counters WHERE value < ?', [0])).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('commits a transaction whole or not at all, and passes the caller’s own error through', async () => {
    const store = await newStorePlace(engine).openStore('tx', COUNTERS);
    try {
      class Refused extends Error {}
      await expect(
        store.transaction(async (tx) => {
          await tx.run('INSERT INTO counters (name, value) VALUES (?, ?)', ['x', 1]);
          throw new Refused('no');
        }),
      ).rejects.toBeInstanceOf(Refused);
      expect(await store.get('SELECT COUNT(*) AS n FROM counters')).toEqual({ n: 0 });
      await store.transaction(async (tx) => {
        await tx.run('INSERT INTO counters (name, value) VALUES (?, ?)', ['x', 1]);
        await tx.run('INSERT INTO counters (name, value) VALUES (?, ?)', ['y', 2]);
      });
      expect(await store.get('SELECT COUNT(*) AS n FROM counters')).toEqual({ n: 2 });
    } finally {
      await store.close();
    }
  });

  it('types what the engine refuses, and says when a unique key was taken first', async () => {
    const store = await newStorePlace(engine).openStore('refusals', COUNTERS);
    try {
      await store.run('INSERT INTO counters (name, value) VALUES (?, ?)', ['x', 1]);
      const taken = await store.run('INSERT INTO counters (name, value) VALUES (?, ?)', ['x', 2]).catch((e: unknown) => e);
      expect(taken).toBeInstanceOf(StoreError);
      expect((taken as StoreError).code).toBe('TRAMITE_ERR_ADAPTER_STORE');
      expect(isUniqueViolation(taken)).toBe(true);
      const wrong = await store.run('INSERT INTO no_such_table VALUES (?)', [1]).catch((e: unknown) => e);
      expect(wrong).toBeInstanceOf(StoreError);
      expect(isUniqueViolation(wrong)).toBe(false);
      // A refused statement is the request's problem, not an outage: an adapter's API answers it 422.
      expect(isStoreUnavailable(taken)).toBe(false);
      expect(isStoreUnavailable(wrong)).toBe(false);
      expect(replyFor(wrong).status).toBe(422);
    } finally {
      await store.close();
    }
  });

  it('loses no update when concurrent transactions read, then write, under one lock', async () => {
    const place = newStorePlace(engine);
    // On PostgreSQL, two stores are two processes' pools; a SQLite file is one process's connection here
    // (two in one process would wait on each other's file lock with the event loop blocked).
    const stores: AdapterStore[] = [await place.openStore('race', COUNTERS)];
    if (engine === 'postgres') stores.push(await place.openStore('race', COUNTERS));
    try {
      await stores[0]!.run('INSERT INTO counters (name, value) VALUES (?, ?)', ['n', 0]);
      const bump = (store: AdapterStore) =>
        store.transaction(async (tx) => {
          await tx.lock('n');
          const row = await tx.get<{ value: number }>('SELECT value FROM counters WHERE name = ?', ['n']);
          await new Promise((r) => setTimeout(r, 1));
          await tx.run('UPDATE counters SET value = ? WHERE name = ?', [row!.value + 1, 'n']);
        });
      await Promise.all(Array.from({ length: 40 }, (_, i) => bump(stores[i % stores.length]!)));
      expect(await stores[0]!.get('SELECT value FROM counters WHERE name = ?', ['n'])).toEqual({ value: 40 });
    } finally {
      for (const s of stores) await s.close();
    }
  });

  it('leases a name to one holder at a time, to another once it expires or is released', async () => {
    const store = await newStorePlace(engine).openStore('leases', COUNTERS);
    let now = Date.parse('2026-12-07T10:00:00Z');
    const clock = { now: () => new Date(now) };
    try {
      const a = new StoreLease(store, 'mailbox:ente@pec.it', 30_000, clock);
      const b = new StoreLease(store, 'mailbox:ente@pec.it', 30_000, clock);
      expect(await a.acquire()).toBe(true);
      expect(await b.acquire()).toBe(false);
      now += 20_000;
      expect(await a.acquire()).toBe(true); // renewed until 10:00:50
      now += 20_000;
      expect(await b.acquire()).toBe(false);
      expect(await store.transaction((tx) => a.heldIn(tx))).toBe(true);
      now += 11_000;
      expect(await store.transaction((tx) => a.heldIn(tx))).toBe(false);
      expect(await b.acquire()).toBe(true);
      expect(await a.acquire()).toBe(false);
      await b.release();
      expect(await a.acquire()).toBe(true);
    } finally {
      await store.close();
    }
  });
});

describe('a PostgreSQL store that cannot be reached', () => {
  it('is an outage, not a refusal: an adapter API answers 503 with Retry-After', async () => {
    const nobody = await freePort();
    const err = await PostgresAdapterStore.open({ url: `postgres://tramite@127.0.0.1:${nobody}/none`, schema: 'away' }, COUNTERS).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreError);
    expect(isStoreUnavailable(err)).toBe(true);
    expect(replyFor(err)).toMatchObject({
      status: 503,
      headers: { 'retry-after': '5' },
      body: { error: { code: 'TRAMITE_ERR_ADAPTER_STORE' } },
    });
  });
});

describe('a PostgreSQL store whose connection is cut at COMMIT (the server restarting)', () => {
  it('types the failure as a store error of an outage, not an untyped one the adapter API would answer 500', async () => {
    const place = newStorePlace('postgres');
    const store = await place.openStore('cut', COUNTERS);
    const other = await place.openStore('cut', COUNTERS);
    try {
      const err = await store
        .transaction(async (tx) => {
          await tx.run('INSERT INTO counters (name, value) VALUES (?, ?)', ['cut', 1]);
          const me = await tx.get<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          await other.get('SELECT pg_terminate_backend(?) AS done', [me!.pid]);
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect(isStoreUnavailable(err)).toBe(true);
      expect(replyFor(err).status).toBe(503);
      expect(await other.get('SELECT value FROM counters WHERE name = ?', ['cut'])).toBeUndefined();
    } finally {
      await store.close();
      await other.close();
    }
  });
});

describe.each(STORE_ENGINES)('a failing migration on %s', (engine) => {
  it('leaves the store as it was, with a coded error naming the step', async () => {
    const place = newStorePlace(engine);
    await (await place.openStore('failing', COUNTERS.slice(0, 1))).close();
    const bad = place.openStore('failing', [
      ...COUNTERS.slice(0, 1),
      'CREATE TABLE extra (x INTEGER)',
      'ALTER TABLE nowhere ADD COLUMN y TEXT',
    ]);
    await expect(bad).rejects.toThrow(
      expect.objectContaining({ code: 'TRAMITE_ERR_ADAPTER_STORE', message: expect.stringContaining('migration 3 failed') }),
    );
    const store = await place.openStore('failing', COUNTERS.slice(0, 1));
    try {
      // Step 2's table is not there: the whole migration was rolled back with step 3.
      await expect(store.run('INSERT INTO extra (x) VALUES (?)', [1])).rejects.toBeInstanceOf(StoreError);
    } finally {
      await store.close();
    }
  });
});

describe('an adapter store in a SQLite file', () => {
  it('creates the folder and sets the shared pragmas; normal durability skips the fsync per commit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tramite-adapter-store-'));
    try {
      const file = join(dir, 'nested', 'state.sqlite');
      await (await SqliteAdapterStore.open(file, COUNTERS)).close();
      const db = new Database(file, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBe(2);
      db.close();
      const full = await SqliteAdapterStore.open(file, COUNTERS);
      expect(await full.get('PRAGMA synchronous')).toEqual({ synchronous: 2 }); // FULL
      expect(await full.get('PRAGMA foreign_keys')).toEqual({ foreign_keys: 1 });
      expect(await full.get('PRAGMA busy_timeout')).toEqual({ timeout: 10_000 });
      await full.close();
      const normal = await SqliteAdapterStore.open(file, COUNTERS, { durability: 'normal' });
      expect(await normal.get('PRAGMA synchronous')).toEqual({ synchronous: 1 }); // NORMAL
      await normal.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('adopts a file written before numbered migrations (user_version 0, tables there) through IF NOT EXISTS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tramite-adapter-store-'));
    try {
      const file = join(dir, 'state.sqlite');
      const legacy = new Database(file);
      legacy.exec('CREATE TABLE item (id TEXT PRIMARY KEY, n INTEGER NOT NULL)');
      legacy.prepare('INSERT INTO item (id, n) VALUES (?, ?)').run('kept', 7);
      legacy.close();
      const store = await SqliteAdapterStore.open(file, ['CREATE TABLE IF NOT EXISTS item (id TEXT PRIMARY KEY, n INTEGER NOT NULL)']);
      expect(await store.get('SELECT n FROM item WHERE id = ?', ['kept'])).toEqual({ n: 7 });
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(STORE_ENGINES)('foreign keys on %s', (engine) => {
  it('are enforced', async () => {
    const store = await newStorePlace(engine).openStore('keys', [
      'CREATE TABLE parent (id TEXT PRIMARY KEY); CREATE TABLE child (parent TEXT NOT NULL REFERENCES parent (id))',
    ]);
    try {
      await expect(store.run('INSERT INTO child (parent) VALUES (?)', ['missing'])).rejects.toBeInstanceOf(StoreError);
    } finally {
      await store.close();
    }
  });
});

describe('PostgreSQL placeholders', () => {
  it('numbers the ? of the statement, never one in a literal, a quoted name or a comment', () => {
    expect(numberedPlaceholders(`SELECT '?', "a?b", x FROM t WHERE a = ? AND b = ? -- why?\nAND c = 'it''s ?' AND d = ?`)).toBe(
      `SELECT '?', "a?b", x FROM t WHERE a = $1 AND b = $2 -- why?\nAND c = 'it''s ?' AND d = $3`,
    );
  });
});
