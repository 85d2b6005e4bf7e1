/**
 * Bundle exports over HTTP (auditor API, console): a range holding more than log.maxExportRecords is
 * refused before it is read (413), one export at a time per node (429 + Retry-After, the console and the
 * API sharing the one slot), and each export is recorded in the chained log with who took it.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogAuditor } from '../../src/node/audit/log-auditor.js';
import { startDevNode, type DevNode } from './dev-node.js';

const A = 'SPC/ComuneA';
const CAP = 100;
let dev: DevNode;
/** Record times of the filler: the export ranges are cut between them. */
let times: string[] = [];

beforeAll(async () => {
  dev = await startDevNode([A], (c) => {
    c.log.maxExportRecords = CAP;
  });
  const node = dev.running.node;
  const by = node.registry.staffMember(dev.staff.operator)!;
  for (let i = 0; i < 150; i++) {
    const r = await node.store.recordOperatorAction({ by, action: 'test-filler', target: `filler-${i}` });
    times.push(r.time);
  }
  times = [...new Set(times)];
}, 60_000);

afterAll(async () => {
  await dev?.running.close();
});

function exportUrl(from: string, to: string): string {
  return `${dev.running.baseUrl}/api/v1/audit/export?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
}

async function apiExport(from: string, to: string) {
  const res = await request(exportUrl(from, to), { headers: { authorization: `Bearer ${dev.staff.auditor}` } });
  return { status: res.statusCode, headers: res.headers, json: (await res.body.json()) as Record<string, any> };
}

async function head(): Promise<number> {
  return (await dev.running.node.store.store.head()).seq;
}

describe('GET /api/v1/audit/export', () => {
  it('refuses a range holding more than log.maxExportRecords with 413 before building anything', async () => {
    const before = await head();
    const res = await apiExport('2000-01-01T00:00:00Z', '2999-01-01T00:00:00Z');
    expect(res.status).toBe(413);
    expect(res.json.error.code).toBe('TRAMITE_ERR_EXPORT_TOO_LARGE');
    expect(res.json.error.message).toContain('narrower range');
    expect(await head()).toBe(before);
  });

  it('exports a range within the cap and records the export, by the auditor, in the chained log', async () => {
    const from = times[10]!;
    const to = times[40]!;
    const res = await apiExport(from, to);
    expect(res.status).toBe(200);
    const records = (res.json.records as unknown[]).length;
    expect(records).toBeGreaterThan(0);
    expect(records).toBeLessThanOrEqual(CAP);
    const last = await dev.running.node.store.store.recordsOf(`${new Date(from).toISOString()}..${new Date(to).toISOString()}`);
    expect(last).toHaveLength(1);
    expect(last[0]!.kind).toBe('operator');
    expect(last[0]!.action).toBe('bundle-exported');
    expect(last[0]!.detail).toMatchObject({
      by: { name: dev.running.node.registry.staffMember(dev.staff.auditor)!.name, role: 'auditor' },
      records,
    });
    expect((await dev.running.node.auditor().verify({ signatures: false })).ok).toBe(true);
  });

  it('builds one export at a time per node: another, from the API or the console, gets 429 with Retry-After', async () => {
    const node = dev.running.node;
    const real = node.auditor.bind(node);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const building = new Promise<void>((r) => (entered = r));
    // The first export waits inside the build until the test lets it go: the slot is taken, deterministically.
    node.auditor = () => {
      const auditor = real();
      const exportBundle = auditor.exportBundle.bind(auditor);
      auditor.exportBundle = (async (...args: Parameters<LogAuditor['exportBundle']>) => {
        entered();
        await held;
        return exportBundle(...args);
      }) as LogAuditor['exportBundle'];
      return auditor;
    };
    try {
      const first = apiExport(times[1]!, times[5]!);
      await building;
      const second = await apiExport(times[1]!, times[5]!);
      expect(second.status).toBe(429);
      expect(second.json.error.code).toBe('TRAMITE_ERR_EXPORT_BUSY');
      expect(Number(second.headers['retry-after'])).toBeGreaterThan(0);
      const session = await signIn(dev.staff.operator);
      const fromConsole = await request(
        `${dev.running.baseUrl}/console/integrity/export?from=${times[1]!.slice(0, 19)}&to=${times[5]!.slice(0, 19)}`,
        { headers: { cookie: session } },
      );
      await fromConsole.body.dump();
      expect(fromConsole.statusCode).toBe(429);
      expect(Number(fromConsole.headers['retry-after'])).toBeGreaterThan(0);
      release();
      expect((await first).status).toBe(200);
    } finally {
      release();
      node.auditor = real;
    }
    expect((await apiExport(times[1]!, times[5]!)).status).toBe(200);
  });
});

async function signIn(token: string): Promise<string> {
  const base = dev.running.baseUrl;
  const res = await request(`${base}/console/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ token }).toString(),
  });
  await res.body.dump();
  const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  return set.find((c) => c.startsWith('tramite_console='))!.split(';')[0]!;
}
