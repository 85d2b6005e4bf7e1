/**
 * Console sessions in the shared PostgreSQL database (several node processes behind a load balancer):
 * the same rules as in memory, and a session opened through one process is known to another.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ConsoleSessions, MemorySessionStore, type ConsoleSessionStore } from '../../src/http/console/console-sessions.js';
import { PostgresLogStore } from '../../src/log/postgres-log-store.js';
import { dropFileDatabase, newStoreSite } from '../log/log-fixtures.js';

afterAll(dropFileDatabase);

const member = { role: 'operator' as const, name: 'mario' };

/** Two processes' views of one shared database (two stores, two pools), or one process's memory twice. */
async function twoProcesses(
  kind: 'memory' | 'postgres',
): Promise<{ a: ConsoleSessionStore; b: ConsoleSessionStore; close(): Promise<void> }> {
  if (kind === 'memory') {
    const one = new MemorySessionStore();
    return { a: one, b: one, close: async () => undefined };
  }
  const site = await newStoreSite('postgres');
  const [x, y] = [(await site.open()) as PostgresLogStore, (await site.open()) as PostgresLogStore];
  return { a: x.consoleSessions, b: y.consoleSessions, close: async () => void (await Promise.all([x.close(), y.close()])) };
}

describe.each(['memory', 'postgres'] as const)('console sessions (%s)', (kind) => {
  it('a session opened on one process is found on the other, with its CSRF token, and ends there at sign-out', async () => {
    const { a, b, close } = await twoProcesses(kind);
    const limits = { idleMs: 60_000, maxMs: 3_600_000, now: () => 1_000_000 };
    const [onA, onB] = [new ConsoleSessions(limits, a), new ConsoleSessions(limits, b)];
    const s = await onA.open(member);
    expect(await onB.find(s.id)).toEqual({ ...s, lastSeenAt: 1_000_000 });
    expect(await onB.find('nope')).toBeUndefined();
    await onB.close(s.id);
    expect(await onA.find(s.id)).toBeUndefined();
    await close();
  });

  it('ends a session after its idle time and after its lifetime; a request on either process restarts the idle clock', async () => {
    const { a, b, close } = await twoProcesses(kind);
    let now = 0;
    const limits = { idleMs: 1000, maxMs: 2500, now: () => now };
    const [onA, onB] = [new ConsoleSessions(limits, a), new ConsoleSessions(limits, b)];
    const s = await onA.open(member);
    now = 999;
    expect(await onB.find(s.id)).toBeDefined();
    now = 1998;
    expect(await onA.find(s.id)).toBeDefined(); // restarted by B's request at 999
    now = 2500;
    expect(await onB.find(s.id)).toBeUndefined();
    const quiet = await onB.open(member);
    now += 1000;
    expect(await onA.find(quiet.id)).toBeUndefined();
    await close();
  });

  it('with touchEveryMs, a request writes the idle clock only when it was last written that long ago', async () => {
    const { a, close } = await twoProcesses(kind);
    let now = 0;
    const sessions = new ConsoleSessions({ idleMs: 1000, maxMs: 10_000, now: () => now, touchEveryMs: 100 }, a);
    const s = await sessions.open(member);
    now = 50;
    await sessions.find(s.id); // not written: 50 ms since the last write
    expect((await a.get(s.id))?.lastSeenAt).toBe(0);
    now = 150;
    await sessions.find(s.id);
    expect((await a.get(s.id))?.lastSeenAt).toBe(150);
    await close();
  });
});

describe('console sessions in PostgreSQL', () => {
  it('keeps no cookie id in the database: a copy of the table signs nobody in; expired sessions go at the next sign-in', async () => {
    const site = await newStoreSite('postgres');
    const store = (await site.open()) as PostgresLogStore;
    let now = 0;
    const sessions = new ConsoleSessions({ idleMs: 1000, maxMs: 10_000, now: () => now }, store.consoleSessions);
    const old = await sessions.open(member);
    const { rows } = await store.query('SELECT * FROM console_sessions');
    expect(JSON.stringify(rows)).not.toContain(old.id);
    now = 5000;
    await sessions.open(member);
    const left = await store.query('SELECT count(*)::int AS n FROM console_sessions');
    expect(left.rows[0].n).toBe(1);
    await store.close();
    await site.dispose();
  });
});
