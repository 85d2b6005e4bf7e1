import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixedClock, systemClock } from '../../src/core/clock.js';
import { MESSAGE_ID_PATTERN, parseMessageId } from '../../src/core/message-id.js';
import { MessageIdAllocator } from '../../src/node/registry/message-id-allocator.js';

const run = promisify(execFile);
const compiled = fileURLToPath(new URL('../../dist/src/node/registry/message-id-allocator.js', import.meta.url));

describe('MessageIdAllocator', () => {
  it('issues ids in the e-Gov form, numbered within the minute', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tramite-ids-'));
    const ids = MessageIdAllocator.lease(dir, 'CSTChietiSPCoopIT', fixedClock(new Date('2026-11-23T10:15:42Z')));
    const a = await ids.next('ComuneOrtona');
    const b = await ids.next('ComuneOrtona');
    expect(a).toBe('ComuneOrtona_CSTChietiSPCoopIT_0000000_2026-11-23_10:15');
    expect(b).toBe('ComuneOrtona_CSTChietiSPCoopIT_0000001_2026-11-23_10:15');
    expect(a).toMatch(MESSAGE_ID_PATTERN);
    ids.release();
  });

  it('gives two allocators sharing a data dir disjoint serial ranges, and frees a slot on release', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tramite-ids-'));
    const first = MessageIdAllocator.lease(dir, 'P', systemClock);
    const second = MessageIdAllocator.lease(dir, 'P', systemClock);
    expect(first.slot).not.toBe(second.slot);
    first.release();
    const third = MessageIdAllocator.lease(dir, 'P', systemClock);
    expect(third.slot).toBe(first.slot);
    second.release();
    third.release();
    expect(readdirSync(join(dir, 'id-slots')).filter((f) => f.endsWith('.lock'))).toEqual([]);
  });

  it('continues past the serials of an earlier holder of the slot within the same minute', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tramite-ids-'));
    const clock = fixedClock(new Date('2026-11-23T10:15:00Z'));
    const first = MessageIdAllocator.lease(dir, 'P', clock);
    const issued = [await first.next('A'), await first.next('A')];
    first.release();
    const again = MessageIdAllocator.lease(dir, 'P', clock);
    expect(issued).not.toContain(await again.next('A'));
    again.release();
    const nextMinute = MessageIdAllocator.lease(dir, 'P', fixedClock(new Date('2026-11-23T10:16:00Z')));
    expect(await nextMinute.next('A')).toBe('A_P_0000000_2026-11-23_10:16');
    nextMinute.release();
  });

  it('takes over the slot of a process that died without releasing it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tramite-ids-'));
    const held = MessageIdAllocator.lease(dir, 'P', systemClock);
    // A lock naming a pid that no longer exists (pids are below 2^22 on Linux).
    writeFileSync(join(dir, 'id-slots', 'slot-01.lock'), '4194303');
    const next = MessageIdAllocator.lease(dir, 'P', systemClock);
    expect(next.slot).toBe(1);
    held.release();
    next.release();
  });

  it('never issues the same id twice across concurrent processes on one data dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tramite-ids-'));
    const script = `
      const { MessageIdAllocator } = await import(${JSON.stringify(compiled)});
      const ids = MessageIdAllocator.lease(process.argv[1], 'CSTSPCoopIT', { now: () => new Date() });
      const out = [];
      for (let i = 0; i < 2000; i++) out.push(await ids.next('ComuneA'));
      ids.release();
      process.stdout.write(JSON.stringify(out));`;
    const results = await Promise.all([0, 1, 2, 3].map(() => run(process.execPath, ['--input-type=module', '-e', script, dir])));
    const all = results.flatMap((r) => JSON.parse(r.stdout) as string[]);
    expect(all).toHaveLength(8000);
    expect(new Set(all).size).toBe(8000);
    expect(all.every((id) => parseMessageId(id) !== undefined)).toBe(true);
  });
});
