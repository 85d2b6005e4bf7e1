import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/core/clock.js';
import { MESSAGE_ID_PATTERN, parseMessageId } from '../../src/core/message-id.js';
import { PostgresLogStore } from '../../src/log/postgres-log-store.js';
import { messageIdsFor } from '../../src/node/registry/message-ids-for.js';
import { SharedMessageIdAllocator } from '../../src/node/registry/shared-message-id-allocator.js';
import { dropFileDatabase, newStoreSite } from '../log/log-fixtures.js';

const run = promisify(execFile);
const dist = (path: string): string => fileURLToPath(new URL(`../../dist/src/${path}`, import.meta.url));

afterAll(dropFileDatabase);

async function sharedLog(): Promise<{ url: string; store: PostgresLogStore }> {
  const site = await newStoreSite('postgres');
  return { url: site.location, store: (await site.open()) as PostgresLogStore };
}

describe('SharedMessageIdAllocator (PostgreSQL log)', () => {
  it('issues ids in the e-Gov form; a second allocator in the same minute continues past the first one’s block', async () => {
    const { store } = await sharedLog();
    const clock = fixedClock(new Date('2026-11-23T10:15:42Z'));
    const first = new SharedMessageIdAllocator(store, 'CSTChietiSPCoopIT', clock);
    const a = await first.next('ComuneOrtona');
    expect(a).toBe('ComuneOrtona_CSTChietiSPCoopIT_0000000_2026-11-23_10:15');
    expect(await first.next('ComuneOrtona')).toBe('ComuneOrtona_CSTChietiSPCoopIT_0000001_2026-11-23_10:15');
    expect(a).toMatch(MESSAGE_ID_PATTERN);
    // A restarted process (or another one) gets the next block, never a serial of the first's.
    const second = new SharedMessageIdAllocator(store, 'CSTChietiSPCoopIT', clock);
    expect(await second.next('ComuneOrtona')).toBe('ComuneOrtona_CSTChietiSPCoopIT_0001000_2026-11-23_10:15');
    // A new minute starts at 0 again; another PdD has serials of its own.
    const later = new SharedMessageIdAllocator(store, 'CSTChietiSPCoopIT', fixedClock(new Date('2026-11-23T10:16:00Z')));
    expect(await later.next('A')).toBe('A_CSTChietiSPCoopIT_0000000_2026-11-23_10:16');
    expect(await new SharedMessageIdAllocator(store, 'AltraPdD', clock).next('A')).toBe('A_AltraPdD_0000000_2026-11-23_10:15');
    await store.close();
  });

  it('gives concurrent callers in one process distinct ids across block boundaries', async () => {
    const { store } = await sharedLog();
    const ids = new SharedMessageIdAllocator(store, 'P', fixedClock(new Date('2026-11-23T10:15:00Z')));
    const all = await Promise.all(Array.from({ length: 2500 }, () => ids.next('A')));
    expect(new Set(all).size).toBe(2500);
    expect(all.map((id) => parseMessageId(id)!.serial).sort((x, y) => x - y)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
    await store.close();
  });

  it('with a PostgreSQL log the node takes its ids from the database and leaves no slot files in its data dir', async () => {
    const { store } = await sharedLog();
    const dir = mkdtempSync(join(tmpdir(), 'tramite-ids-'));
    const ids = messageIdsFor(store, dir, 'P', fixedClock(new Date('2026-11-23T10:15:00Z')));
    expect(ids).toBeInstanceOf(SharedMessageIdAllocator);
    await ids.next('A');
    ids.release();
    expect(existsSync(join(dir, 'id-slots'))).toBe(false);
    await store.close();
  });

  it('never issues the same id twice across 4 processes × 2 000 ids on different data dirs sharing PostgreSQL', async () => {
    const { url, store } = await sharedLog();
    await store.close();
    const script = `
      const { PostgresLogStore } = await import(${JSON.stringify(dist('log/postgres-log-store.js'))});
      const { messageIdsFor } = await import(${JSON.stringify(dist('node/registry/message-ids-for.js'))});
      const store = await PostgresLogStore.open(process.argv[1]);
      const ids = messageIdsFor(store, process.argv[2], 'CSTSPCoopIT', { now: () => new Date() });
      const out = [];
      for (let i = 0; i < 2000; i++) out.push(await ids.next('ComuneA'));
      ids.release();
      await store.close();
      process.stdout.write(JSON.stringify(out));`;
    const results = await Promise.all(
      [0, 1, 2, 3].map(() =>
        run(process.execPath, ['--input-type=module', '-e', script, url, mkdtempSync(join(tmpdir(), 'tramite-ids-'))]),
      ),
    );
    const all = results.flatMap((r) => JSON.parse(r.stdout) as string[]);
    expect(all).toHaveLength(8000);
    expect(new Set(all).size).toBe(8000);
    expect(all.every((id) => parseMessageId(id) !== undefined)).toBe(true);
  });
});
