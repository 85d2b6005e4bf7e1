/**
 * The node's own redis-server (what `tramite start` runs without TRAMITE_REDIS_URL) killed with -9 in
 * real processes: the node restarts it with its append-only file, health says so while it is away,
 * the log makes good what the queue lost, and a SIGTERM still ends the process within
 * node.shutdown.timeoutSeconds — also when that Redis is dead for good.
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { DemoNode } from '../../src/demo/demo-federation.js';
import { startDemo, type RunningDemo } from '../../src/demo/run-demo.js';
import { EmbeddedRedis } from '../../src/daemons/redis-launcher.js';
import { expectDeliveredOnce, logsVerify, send, statusOf } from './delivered-once.js';

/** node.shutdown.timeoutSeconds in these tests. */
const BOUND_S = 10;

let demo: RunningDemo | undefined;

afterEach(async () => {
  await demo?.stop();
  demo = undefined;
});

function startBoundedDemo(prefix: string): Promise<RunningDemo> {
  return startDemo(
    mkdtempSync(join(tmpdir(), prefix)),
    (raw) => {
      raw['node'] = { ...raw['node'], shutdown: { drainSeconds: 0, timeoutSeconds: BOUND_S } };
    },
    { plainHttp: true },
  );
}

/** The pid of the CST's own redis-server, checked to be a child of the CST's node process. */
async function cstRedisPid(d: RunningDemo): Promise<number> {
  const pid = await EmbeddedRedis.running(join(d.nodes.cst.dir, 'data'));
  expect(pid).toBeGreaterThan(0);
  const parent = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
  expect(parent).toBe(d.processOf('cst').pid);
  return pid;
}

async function publicHealth(node: DemoNode): Promise<{ code: number; body: unknown }> {
  const res = await request(`${node.baseUrl}/health`);
  return { code: res.statusCode, body: await res.body.json() };
}

async function operatorHealth(
  node: DemoNode,
): Promise<{ status: string; queue: { state: string; reason?: string; outages: number; restarts: number; embedded: boolean } }> {
  const res = await request(`${node.baseUrl}/health`, { headers: { authorization: `Bearer ${node.operatorToken}` } });
  return (await res.body.json()) as never;
}

/** Asks the public /health every 25 ms and keeps each answer's status code, until stopped. */
function watchHealth(node: DemoNode): { readonly seen: number[]; stop(): Promise<void> } {
  const seen: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      seen.push(
        await publicHealth(node).then(
          (h) => h.code,
          () => 0,
        ),
      );
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return {
    seen,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** SIGTERMs a node process and waits for it to end (killing it, and failing, if it outlives the bound by far). */
async function sigterm(child: ChildProcess): Promise<{ ms: number; code: number | null; signal: NodeJS.Signals | null }> {
  const started = Date.now();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const guard = setTimeout(() => child.kill('SIGKILL'), (BOUND_S + 20) * 1000);
  child.kill('SIGTERM');
  const how = await exited;
  clearTimeout(guard);
  return { ms: Date.now() - started, ...how };
}

describe("the node's own Redis killed", () => {
  it('kill -9 of the redis-server under load: health reports the outage, the node restarts it and catches up, every message arrives once, and SIGTERM ends it within the bound', async () => {
    demo = await startBoundedDemo('tramite-fault-own-redis-');
    const d = demo;
    // The Regione is away, so the CST's queue holds retrying jobs when its Redis dies.
    await d.control.stopNode('regione');
    const before = await Promise.all(Array.from({ length: 10 }, (_, i) => send(d, i)));
    await expect.poll(async () => (await statusOf(d, before[0]!)).attempts, { timeout: 15_000, interval: 100 }).toBeGreaterThanOrEqual(1);

    const killed = await cstRedisPid(d);
    const health = watchHealth(d.nodes.cst);
    process.kill(killed, 'SIGKILL');
    await expect.poll(() => health.seen.includes(503), { timeout: 10_000, interval: 20 }).toBe(true);
    expect(await publicHealth(d.nodes.cst)).toMatchObject({ body: { status: expect.stringMatching(/^(degraded|ok)$/) } });
    // Accepted while (or right after) Redis is away: into the log, scheduled when it answers again.
    const during = await Promise.all(Array.from({ length: 5 }, (_, i) => send(d, 100 + i)));

    // It comes back by itself: a new redis-server, child of the same node process.
    await expect.poll(async () => (await publicHealth(d.nodes.cst)).code, { timeout: 20_000, interval: 100 }).toBe(200);
    await health.stop();
    expect(await cstRedisPid(d)).not.toBe(killed);
    // The supervisor counts the start once its own check of the new server returns, which may come just after the monitor's.
    await expect
      .poll(async () => (await operatorHealth(d.nodes.cst)).queue, { timeout: 10_000, interval: 100 })
      .toMatchObject({ state: 'up', embedded: true, outages: 1, restarts: 1 });

    const after = await Promise.all(Array.from({ length: 5 }, (_, i) => send(d, 200 + i)));
    await d.control.startNode('regione');
    await expectDeliveredOnce(d, [...before, ...during, ...after]);

    const exit = await sigterm(d.processOf('cst'));
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(BOUND_S * 1000);
    await d.stop();
    demo = undefined;
    await logsVerify(d);
  }, 180_000);

  it('SIGTERM while the redis-server is dead and cannot start again (its append-only file is corrupt): the process exits within the bound, and the messages accepted meanwhile are delivered once it can', async () => {
    demo = await startBoundedDemo('tramite-fault-dead-redis-');
    const d = demo;
    const manifest = join(d.nodes.cst.dir, 'data', 'redis', 'appendonlydir', 'appendonly.aof.manifest');
    copyFileSync(manifest, `${manifest}.good`);
    writeFileSync(manifest, 'this is not an AOF manifest\n');
    process.kill(await cstRedisPid(d), 'SIGKILL');

    await expect.poll(async () => (await publicHealth(d.nodes.cst)).code, { timeout: 10_000, interval: 50 }).toBe(503);
    expect((await publicHealth(d.nodes.cst)).body).toEqual({ status: 'degraded' });
    await expect
      .poll(async () => (await operatorHealth(d.nodes.cst)).queue.reason, { timeout: 15_000, interval: 100 })
      .toMatch(/cannot be started again/);
    // The API neither hangs nor refuses: the log is the outbox.
    const ids = await Promise.all(Array.from({ length: 3 }, (_, i) => send(d, i)));

    const exit = await sigterm(d.processOf('cst'));
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(BOUND_S * 1000);

    // Repaired, the node starts again and sends what it accepted while its Redis was gone.
    copyFileSync(`${manifest}.good`, manifest);
    await d.control.startNode('cst');
    await expectDeliveredOnce(d, ids);
    await d.stop();
    demo = undefined;
    await logsVerify(d);
  }, 180_000);
});
