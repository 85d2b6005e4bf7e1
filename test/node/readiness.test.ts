/** GET /health/ready's verdict: ready only when every dependency is up, each one named with why it is not. */
import { describe, expect, it } from 'vitest';
import { readiness } from '../../src/node/readiness.js';
import type { NodeHealth } from '../../src/node/node-health.js';

const healthy = {
  status: 'ok',
  problems: [],
  queue: { state: 'up', since: '2026-12-06T10:00:00.000Z', outages: 0, where: 'unix', embedded: true, restarts: 0 },
  log: { state: 'up' },
  certificates: { total: 0, expired: 0, within30Days: 0, within7Days: 0, list: [] },
} as unknown as NodeHealth;

const adapter = (status: 'up' | 'degraded' | 'down', detail?: string) => ({
  party: 'SPC/A',
  adapter: 'pec',
  status,
  ...(detail ? { detail } : {}),
});

describe('readiness', () => {
  it('is ready with every dependency up; a degraded adapter still serves', () => {
    const r = readiness(healthy, false, [adapter('degraded', 'slow IMAP')], { configured: true, status: { state: 'up', at: 't' } });
    expect(r.ready).toBe(true);
    expect(r.dependencies.map((d) => d.name)).toEqual(['redis', 'log', 'adapter SPC/A pec', 'tsa']);
  });

  it('names each missing dependency with why: the log, an adapter that is down, the TSA whose last answer failed', () => {
    const r = readiness(
      { ...healthy, log: { state: 'down', reason: 'SQLITE_IOERR' } },
      false,
      [adapter('down', 'IMAP refused the login')],
      { configured: true, status: { state: 'down', at: '2026-12-06T10:05:00.000Z', reason: 'TSA answered 503' } },
    );
    expect(r.ready).toBe(false);
    expect(r.dependencies.filter((d) => d.state === 'down')).toEqual([
      { name: 'log', state: 'down', reason: 'SQLITE_IOERR' },
      { name: 'adapter SPC/A pec', state: 'down', reason: 'IMAP refused the login' },
      { name: 'tsa', state: 'down', reason: 'TSA answered 503 (at 2026-12-06T10:05:00.000Z)' },
    ]);
  });

  it('a TSA that is not configured is no dependency; a stopping node is not ready whatever its dependencies', () => {
    const r = readiness(healthy, true, [], { configured: false, status: undefined });
    expect(r.dependencies.map((d) => d.name)).toEqual(['redis', 'log']);
    expect(r.ready).toBe(false);
  });
});
