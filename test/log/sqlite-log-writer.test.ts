/**
 * The SQLite writer's group transaction when the database itself fails (disk full): SQLite may roll the
 * whole transaction back, not just the failing append's savepoint. Then no append of the group may be
 * committed on its own while its caller is told it was refused.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { logSchema } from '../../src/log/log-schema.js';
import type { LogEntryInput } from '../../src/log/log-entry.js';
import { SqliteLogWriter, type AppendItem } from '../../src/log/sqlite-log-writer.js';
import { SqliteLogStore } from '../../src/log/sqlite-log-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function database(): Database.Database {
  const dir = mkdtempSync(join(tmpdir(), 'tramite-sqlite-writer-'));
  dirs.push(dir);
  const db = new Database(join(dir, 'log.db'));
  db.exec(logSchema('sqlite'));
  return db;
}

const append = (id: string, envelopeBytes = 100): AppendItem => {
  const entry: LogEntryInput = {
    time: '2031-03-03T09:00:00.000Z',
    kind: 'envelope',
    messageId: id,
    direction: 'out',
    from: 'SPC/ComuneA',
    to: 'SPC/Regione',
    service: 'Anagrafe',
    state: 'ACCEPTED',
    envelope: new Uint8Array(envelopeBytes).fill(0x41),
  };
  return { entries: [entry], projection: { op: 'insert', id, direction: 'out', fields: { from: 'SPC/ComuneA' }, envelopeFromEntry: 0 } };
};

const logged = (db: Database.Database) =>
  (db.prepare('SELECT message_id FROM log_records ORDER BY seq').all() as Array<{ message_id: string }>).map((r) => r.message_id);

describe('SqliteLogWriter: a group when the disk is full', () => {
  it('commits the appends of a group that fit, and refuses only the one that fails on its own (control)', () => {
    const db = database();
    const writer = new SqliteLogWriter(db);
    const outcomes = writer.commitGroup([append('X1'), { ...append('X2'), entries: [] }, append('X3')]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    expect(logged(db)).toEqual(['X1', 'X3']);
  });

  it('fails the whole group, committing nothing of it, when the database rolls the transaction back', () => {
    const db = database();
    const writer = new SqliteLogWriter(db);
    writer.commitGroup([append('X0')]);
    // "Disk full": the file may not grow past its size now; X2's envelope needs many more pages.
    const pages = (db.pragma('page_count', { simple: true }) as number) + 2;
    db.pragma(`max_page_count = ${pages}`);
    expect(() => writer.commitGroup([append('X1'), append('X2', 64 * 1024), append('X3')])).toThrow(/full/i);
    expect(db.inTransaction).toBe(false);
    expect(logged(db)).toEqual(['X0']);
  });
});

describe('SqliteLogStore: appends after close', () => {
  it('refuses an append that arrives once the log is closed (TRAMITE_ERR_LOG_UNAVAILABLE), and writes nothing of it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tramite-sqlite-closed-'));
    dirs.push(dir);
    const file = join(dir, 'log.sqlite');
    const store = new SqliteLogStore(file);
    const first = append('Y1');
    await store.append(first.entries, first.projection);
    await store.close();
    const late = append('Y2');
    await expect(store.append(late.entries, late.projection)).rejects.toMatchObject({ code: 'TRAMITE_ERR_LOG_UNAVAILABLE' });
    const db = new Database(file, { readonly: true });
    try {
      expect(logged(db)).toEqual(['Y1']);
    } finally {
      db.close();
    }
  });
});
