import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openAdapterStore, type AdapterDatabase, type LegacyStoreMigration } from '../../../adapters/sdk/index.js';

const dirs: string[] = [];
const open: AdapterDatabase[] = [];
afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function storeFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tramite-adapter-store-'));
  dirs.push(dir);
  return join(dir, 'nested', 'state.sqlite');
}

function opened(file: string, migrations: readonly LegacyStoreMigration[]): AdapterDatabase {
  const db = openAdapterStore(file, migrations);
  open.push(db);
  return db;
}

const V1 = 'CREATE TABLE IF NOT EXISTS item (id TEXT PRIMARY KEY, n INTEGER NOT NULL)';

describe('the adapter store opener', () => {
  it('creates the folder and sets the shared pragmas', () => {
    const db = opened(storeFile(), [V1]);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(10_000);
  });

  it('skips the fsync per commit when the store asks for normal durability', () => {
    const db = openAdapterStore(storeFile(), [V1], { durability: 'normal' });
    open.push(db);
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
  });

  it('runs each numbered migration once, in order, and only the new ones on a later open', () => {
    const file = storeFile();
    const ran: number[] = [];
    const counted =
      (n: number, sql: string): LegacyStoreMigration =>
      (db) => {
        ran.push(n);
        db.exec(sql);
      };
    const v1 = counted(1, V1);
    const v2 = counted(2, 'ALTER TABLE item ADD COLUMN note TEXT');
    opened(file, [v1]).close();
    expect(ran).toEqual([1]);
    opened(file, [v1]).close();
    expect(ran).toEqual([1]);
    const db = opened(file, [v1, v2]);
    expect(ran).toEqual([1, 2]);
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    db.prepare('INSERT INTO item (id, n, note) VALUES (?, ?, ?)').run('a', 1, 'x');
    expect(db.prepare('SELECT note FROM item').get()).toEqual({ note: 'x' });
  });

  it('adopts a file written before numbered migrations (user_version 0, tables there) through IF NOT EXISTS', () => {
    const file = storeFile();
    openAdapterStore(file, []).close(); // makes the folder
    const legacy = new Database(file);
    legacy.exec(V1);
    legacy.prepare('INSERT INTO item (id, n) VALUES (?, ?)').run('kept', 7);
    legacy.close();
    const db = opened(file, [V1]);
    expect(db.prepare('SELECT n FROM item WHERE id = ?').get('kept')).toEqual({ n: 7 });
    expect(db.pragma('user_version', { simple: true })).toBe(1);
  });

  it('leaves the file as it was when a migration fails, with a coded error naming it', () => {
    const file = storeFile();
    opened(file, [V1]).close();
    const bad = () => openAdapterStore(file, [V1, 'CREATE TABLE extra (x INTEGER)', 'ALTER TABLE nowhere ADD COLUMN y TEXT']);
    expect(bad).toThrow(
      expect.objectContaining({ code: 'TRAMITE_ERR_ADAPTER_STORE', message: expect.stringContaining('migration 3 failed') }),
    );
    const db = opened(file, [V1]);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'extra'").get()).toBeUndefined();
  });

  it('refuses a file written by a newer version of the adapter', () => {
    const file = storeFile();
    opened(file, [V1, 'CREATE TABLE IF NOT EXISTS more (x INTEGER)']).close();
    expect(() => openAdapterStore(file, [V1])).toThrow(
      expect.objectContaining({ code: 'TRAMITE_ERR_ADAPTER_STORE', message: expect.stringContaining('newer version') }),
    );
  });

  it('enforces foreign keys', () => {
    const db = opened(storeFile(), [
      'CREATE TABLE parent (id TEXT PRIMARY KEY); CREATE TABLE child (parent TEXT NOT NULL REFERENCES parent (id))',
    ]);
    expect(() => db.prepare('INSERT INTO child (parent) VALUES (?)').run('missing')).toThrow(/FOREIGN KEY/);
  });
});
