/**
 * Faults a CST really sees, with real processes (`tramite start` children), real Redis and kill -9:
 * every accepted message reaches the destination back office exactly once, nothing is lost, and
 * both nodes' logs verify afterwards.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startChildDaemon } from '../../src/daemons/child-daemon.js';
import { freePort } from '../../src/daemons/free-port.js';
import { startDemo, type RunningDemo } from '../../src/demo/run-demo.js';
import { findRedisServer } from '../../src/daemons/redis-launcher.js';
import { expectDeliveredOnce, logsVerify, send, statusOf, TO } from './delivered-once.js';

let demo: RunningDemo | undefined;

afterEach(async () => {
  await demo?.stop();
  demo = undefined;
});

describe('fault tests', () => {
  it('kill -9 of the sending node while it retries: after restart every message arrives exactly once', async () => {
    demo = await startDemo(mkdtempSync(join(tmpdir(), 'tramite-fault-sender-')), undefined, { plainHttp: true });
    const d = demo;
    await d.control.stopNode('regione');
    const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => send(d, i)));
    await expect.poll(async () => (await statusOf(d, ids[0]!)).attempts, { timeout: 15_000, interval: 100 }).toBeGreaterThanOrEqual(1);
    await d.control.stopNode('cst', 'SIGKILL');
    await d.control.startNode('regione');
    await d.control.startNode('cst');
    // A job the killed process held is taken up again when its 10 s lock lapses.
    await expectDeliveredOnce(d, ids);
    await d.stop();
    demo = undefined;
    await logsVerify(d);
  }, 120_000);

  it('kill -9 of the receiving node after its riscontro, before the hand-over: dispatched once after restart', async () => {
    demo = await startDemo(mkdtempSync(join(tmpdir(), 'tramite-fault-receiver-')), undefined, { plainHttp: true });
    const d = demo;
    // The back office refuses for a while, so messages sit RECEIVED-but-undispatched at the Regione.
    d.backOffice.unavailable = true;
    const ids = await Promise.all(Array.from({ length: 5 }, (_, i) => send(d, i)));
    for (const id of ids)
      await expect.poll(async () => (await statusOf(d, id)).status, { timeout: 20_000, interval: 100 }).toBe('DELIVERED');
    await d.control.stopNode('regione', 'SIGKILL');
    d.backOffice.unavailable = false;
    await d.control.startNode('regione');
    await expect.poll(() => ids.every((id) => d.backOffice.receivedBy(TO, id)), { timeout: 30_000, interval: 200 }).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    for (const id of ids)
      expect(
        d.backOffice.received.filter((m) => m.id === id),
        id,
      ).toHaveLength(1);
    await d.stop();
    demo = undefined;
    await logsVerify(d);
  }, 120_000);

  it('Redis killed and restarted under load (losing what it had not written): every message still arrives once', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tramite-fault-redis-'));
    const port = await freePort();
    const redisDir = join(root, 'redis');
    mkdirSync(redisDir);
    const startRedis = () =>
      startChildDaemon({
        name: 'redis-server',
        output: 'ignore',
        command: () => ({
          command: findRedisServer(),
          args: [
            '--port',
            String(port),
            '--bind',
            '127.0.0.1',
            '--dir',
            redisDir,
            '--appendonly',
            'yes',
            '--appendfsync',
            'everysec',
            '--save',
            '',
          ],
          ready: { kind: 'port', port },
        }),
      });
    let redis = await startRedis();
    try {
      demo = await startDemo(
        root,
        (raw) => {
          raw['queue'] = { ...raw['queue'], redisUrl: `redis://127.0.0.1:${port}`, reconcileEverySeconds: 2 };
        },
        { plainHttp: true },
      );
      const d = demo;
      await d.control.stopNode('regione');
      const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => send(d, i)));
      await expect.poll(async () => (await statusOf(d, ids[0]!)).attempts, { timeout: 15_000, interval: 100 }).toBeGreaterThanOrEqual(1);
      redis.kill('SIGKILL');
      await redis.exited;
      rmSync(join(redisDir, 'appendonlydir'), { recursive: true, force: true }); // the worst case: every queued job gone
      redis = await startRedis();
      await d.control.startNode('regione');
      await expectDeliveredOnce(d, ids);
      await d.stop();
      demo = undefined;
      await logsVerify(d);
    } finally {
      redis.kill('SIGKILL');
      await redis.stop();
    }
  }, 150_000);
});
