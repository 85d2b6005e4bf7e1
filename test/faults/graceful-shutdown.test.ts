/**
 * A stop as a service manager or a rolling restart makes it: SIGTERM to a real `tramite start` process.
 * Readiness turns 503 at once while liveness still answers and the node still serves (the drain, for
 * a load balancer's next health checks); a request in flight completes; the process exits 0 within
 * node.shutdown.timeoutSeconds, saying what it handed back; and every message it accepted is delivered
 * exactly once — by this process, or after the restart by reconciliation.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startDemo, type RunningDemo } from '../../src/demo/run-demo.js';
import { expectDeliveredOnce, FROM, logsVerify, send, TO } from './delivered-once.js';

const DRAIN_S = 2;
const TIMEOUT_S = 15;

let demo: RunningDemo | undefined;

afterEach(async () => {
  await demo?.stop();
  demo = undefined;
});

function startDrainingDemo(prefix: string): Promise<RunningDemo> {
  return startDemo(
    mkdtempSync(join(tmpdir(), prefix)),
    (raw) => {
      raw['node'] = { ...raw['node'], shutdown: { drainSeconds: DRAIN_S, timeoutSeconds: TIMEOUT_S } };
    },
    { plainHttp: true },
  );
}

/** Sends SIGTERM; resolves with the exit code and how long the process took to exit. */
function terminate(child: ChildProcess): Promise<{ code: number | null; signal: string | null; ms: number }> {
  const t0 = Date.now();
  const exited = new Promise<{ code: number | null; signal: string | null; ms: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - t0 })),
  );
  child.kill('SIGTERM');
  return exited;
}

async function statusCode(url: string): Promise<number> {
  const res = await request(url);
  await res.body.dump();
  return res.statusCode;
}

/** The node's own log lines (pino JSON), as it wrote them to its data dir. */
function nodeLogLines(d: RunningDemo): Array<Record<string, unknown>> {
  return readFileSync(join(d.nodes.cst.dir, 'data', 'tramite.log'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('graceful shutdown (SIGTERM)', () => {
  it('readiness 503 at once, liveness 200 and still serving while it drains; the request in flight completes; exit 0 in time; all delivered once after restart', async () => {
    demo = await startDrainingDemo('tramite-graceful-');
    const d = demo;
    const cst = d.nodes.cst;
    // The Regione away: accepted messages wait at the CST, and a ?wait= request is held open.
    await d.control.stopNode('regione');
    const before = await Promise.all(Array.from({ length: 5 }, (_, i) => send(d, i)));
    expect(await statusCode(`${cst.baseUrl}/health/ready`)).toBe(200);
    const inFlight = request(`${cst.baseUrl}/api/v1/messages?wait=4`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cst.tokens[FROM]}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        from: FROM,
        to: TO,
        service: 'ComunicazioneVariazione',
        action: 'Notifica',
        payload: '<v:N xmlns:v="urn:t">w</v:N>',
      }),
    });
    await new Promise((r) => setTimeout(r, 300)); // the request is in the node's hands
    const stopped = terminate(d.processOf('cst'));
    const t0 = Date.now();
    await expect.poll(() => statusCode(`${cst.baseUrl}/health/ready`), { timeout: 1000, interval: 20 }).toBe(503);
    const readyAfterMs = Date.now() - t0;
    expect(await statusCode(`${cst.baseUrl}/health/live`)).toBe(200);
    // Still serving during the drain: what a balancer sends before its next check is taken, not refused.
    const during = await send(d, 100);
    expect(Date.now() - t0).toBeLessThan(DRAIN_S * 1000);
    const answered = await inFlight;
    expect([200, 202]).toContain(answered.statusCode);
    const held = ((await answered.body.json()) as { id: string }).id;
    const exit = await stopped;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(TIMEOUT_S * 1000);
    const stoppedLine = nodeLogLines(d).find((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('node stopped'));
    expect(stoppedLine, 'the stop logs what it handed back and its last checkpoint').toMatchObject({
      handedBack: { deliverFirstAttempts: expect.any(Number), deliverJobs: expect.any(Number) },
      lastCheckpoint: expect.any(Number),
    });
    process.stdout.write(
      `graceful stop: readiness 503 after ${readyAfterMs} ms, exit 0 after ${exit.ms} ms (drain ${DRAIN_S} s, bound ${TIMEOUT_S} s); ${String(stoppedLine!['msg'])}\n`,
    );
    await d.control.startNode('regione');
    await d.control.startNode('cst');
    await expectDeliveredOnce(d, [...before, during, held]);
    await d.stop();
    demo = undefined;
    await logsVerify(d);
  }, 240_000);

  it('a second SIGTERM while draining exits at once (1), and what was accepted is still delivered once after the restart', async () => {
    demo = await startDrainingDemo('tramite-graceful-twice-');
    const d = demo;
    await d.control.stopNode('regione');
    const ids = await Promise.all(Array.from({ length: 5 }, (_, i) => send(d, i)));
    const child = d.processOf('cst');
    const exited = terminate(child);
    await expect.poll(() => statusCode(`${d.nodes.cst.baseUrl}/health/ready`), { timeout: 1000, interval: 20 }).toBe(503);
    child.kill('SIGTERM');
    const exit = await exited;
    expect(exit).toMatchObject({ code: 1, signal: null });
    expect(exit.ms).toBeLessThan(DRAIN_S * 1000);
    await d.control.startNode('regione');
    await d.control.startNode('cst');
    await expectDeliveredOnce(d, ids);
    await d.stop();
    demo = undefined;
    await logsVerify(d);
  }, 240_000);

  it('SIGTERM right after a burst of accepted messages, the peer up: first attempts finish or are handed back, exit 0, each delivered once', async () => {
    demo = await startDrainingDemo('tramite-graceful-burst-');
    const d = demo;
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => send(d, i)));
    const exit = await terminate(d.processOf('cst'));
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(TIMEOUT_S * 1000);
    await d.control.startNode('cst');
    await expectDeliveredOnce(d, ids);
    await d.stop();
    demo = undefined;
    await logsVerify(d);
  }, 240_000);
});
