/**
 * A log verification started from the console runs in the background and shares the node's event loop:
 * the POST answers at once, /health/live and the run's progress are answered while it goes on (checked by
 * order: the run is still `running` after they answered), concurrent POSTs join the one running run, and
 * the page's progress bar carries the run's state for verify-progress.js.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevNode, type DevNode } from './dev-node.js';

const A = 'SPC/ComuneA';
/** Records in the log: enough that a walk takes many slices of the event loop. */
const RECORDS = 4000;
let dev: DevNode;

beforeAll(async () => {
  dev = await startDevNode([A]);
  const node = dev.running.node;
  const by = node.registry.staffMember(dev.staff.operator)!;
  for (let i = 0; i < RECORDS; i += 200)
    await Promise.all(
      Array.from({ length: 200 }, (_, j) => node.store.recordOperatorAction({ by, action: 'test-filler', target: `filler-${i + j}` })),
    );
}, 120_000);

afterAll(async () => {
  await dev?.running.close();
});

async function signIn(token: string): Promise<{ cookie: string; csrf: string }> {
  const base = dev.running.baseUrl;
  const res = await request(`${base}/console/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ token }).toString(),
  });
  await res.body.dump();
  const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const cookie = set.find((c) => c.startsWith('tramite_console='))!.split(';')[0]!;
  const page = await (await request(`${base}/console`, { headers: { cookie } })).body.text();
  return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(page)![1]! };
}

async function startVerification(s: { cookie: string; csrf: string }): Promise<string> {
  const base = dev.running.baseUrl;
  const res = await request(`${base}/console/integrity/verify`, {
    method: 'POST',
    headers: { cookie: s.cookie, origin: base, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: s.csrf }).toString(),
  });
  await res.body.dump();
  expect(res.statusCode).toBe(303);
  return new URL(String(res.headers.location), base).searchParams.get('run')!;
}

async function runState(cookie: string, id: string): Promise<{ state: string; checked: number; total: number; ok?: boolean }> {
  const res = await request(`${dev.running.baseUrl}/console/integrity/runs/${id}`, { headers: { cookie, accept: 'application/json' } });
  return (await res.body.json()) as { state: string; checked: number; total: number; ok?: boolean };
}

async function untilEnded(cookie: string, id: string): Promise<{ state: string; ok?: boolean }> {
  for (;;) {
    const run = await runState(cookie, id);
    if (run.state !== 'running') return run;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('POST /console/integrity/verify', () => {
  it('answers at once; /health/live and the progress poll are answered while the run goes on, which then ends valid', async () => {
    const auditor = await signIn(dev.staff.auditor);
    const id = await startVerification(auditor);
    const health = await request(`${dev.running.baseUrl}/health/live`);
    await health.body.dump();
    expect(health.statusCode).toBe(200);
    // Answered after /health/live: the run had not ended when the node answered the probe.
    expect((await runState(auditor.cookie, id)).state).toBe('running');
    const page = await (
      await request(`${dev.running.baseUrl}/console/integrity?run=${id}`, { headers: { cookie: auditor.cookie } })
    ).body.text();
    expect(/<progress[^>]*data-state="running"/.test(page)).toBe(true);
    expect(await untilEnded(auditor.cookie, id)).toMatchObject({ state: 'done', ok: true });
    const after = await (
      await request(`${dev.running.baseUrl}/console/integrity?run=${id}`, { headers: { cookie: auditor.cookie } })
    ).body.text();
    expect(/<progress[^>]*data-state="done"/.test(after)).toBe(true);
  }, 120_000);

  it('runs one verification at a time: concurrent POSTs all get the running run', async () => {
    const operator = await signIn(dev.staff.operator);
    const ids = await Promise.all(Array.from({ length: 6 }, () => startVerification(operator)));
    expect(new Set(ids).size).toBe(1);
    expect(await untilEnded(operator.cookie, ids[0]!)).toMatchObject({ state: 'done', ok: true });
  }, 120_000);
});
