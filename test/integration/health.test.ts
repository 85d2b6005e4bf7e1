/**
 * GET /health with real nodes: anyone gets the status alone, an operator the details; and an external
 * Redis (queue.redisUrl) that goes away is reported while it is away — the node does not run it, so
 * it waits for it — with the messages accepted meanwhile delivered once it is back.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startChildDaemon, type ChildDaemon } from '../../src/daemons/child-daemon.js';
import { freePort } from '../../src/daemons/free-port.js';
import type { DemoNode } from '../../src/demo/demo-federation.js';
import { findRedisServer } from '../../src/daemons/redis-launcher.js';
import { callApi, patchConfig, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';

const FROM = 'SPC/ComuneOrtona';
const TO = 'SPC/RegioneAbruzzo';

async function health(node: DemoNode, token?: string): Promise<{ code: number; body: Record<string, any> }> {
  const res = await request(`${node.baseUrl}/health`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  return { code: res.statusCode, body: (await res.body.json()) as Record<string, any> };
}

async function get(node: DemoNode, path: string, token?: string): Promise<{ code: number; body: Record<string, any> }> {
  const res = await request(`${node.baseUrl}${path}`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  return { code: res.statusCode, body: (await res.body.json()) as Record<string, any> };
}

describe('GET /health', () => {
  let federation: InProcessFederation;
  beforeAll(async () => {
    federation = await startFederation('health');
  });
  afterAll(async () => {
    await federation?.close();
  });

  it('answers anyone with its status alone: no node name, parties or adapters', async () => {
    expect(await health(federation.nodes.cst)).toEqual({ code: 200, body: { status: 'ok' } });
  });

  it('shows an operator the node, its parties, adapters, queue and log', async () => {
    const { code, body } = await health(federation.nodes.cst, federation.nodes.cst.operatorToken);
    expect(code).toBe(200);
    expect(body).toMatchObject({
      status: 'ok',
      problems: [],
      node: 'cst-chieti',
      parties: ['SPC/ComuneFrancavillaAlMare', 'SPC/ComuneOrtona'],
      queue: { state: 'up', embedded: true, outages: 0, restarts: 0 },
      log: { state: 'up' },
    });
    expect(body['adapters']).toEqual(
      expect.arrayContaining([expect.objectContaining({ party: 'SPC/ComuneFrancavillaAlMare', adapter: 'protocollo', status: 'up' })]),
    );
  });

  it('refuses a token that is not an operator token (a party token, here) with 401 TRAMITE_ERR_OPERATOR_ONLY', async () => {
    const { code, body } = await health(federation.nodes.cst, federation.nodes.cst.tokens[FROM]);
    expect(code).toBe(401);
    expect(body).toMatchObject({ error: { code: 'TRAMITE_ERR_OPERATOR_ONLY' } });
  });

  it('/health/live answers while the process serves; /health/ready says ready, and to an operator every dependency', async () => {
    expect(await get(federation.nodes.cst, '/health/live')).toEqual({ code: 200, body: { status: 'live' } });
    expect(await get(federation.nodes.cst, '/health/ready')).toEqual({ code: 200, body: { status: 'ready', failing: [] } });
    const { body } = await get(federation.nodes.cst, '/health/ready', federation.nodes.cst.operatorToken);
    expect(body['dependencies'].map((d: { name: string }) => d.name)).toEqual(
      expect.arrayContaining(['redis', 'log', 'adapter SPC/ComuneFrancavillaAlMare protocollo']),
    );
    expect((await get(federation.nodes.cst, '/health/ready', federation.nodes.cst.tokens[FROM])).code).toBe(401);
  });

  it("does not take another node's operator token", async () => {
    expect((await health(federation.nodes.cst, federation.nodes.regione.operatorToken)).code).toBe(401);
  });
});

describe('an external Redis (queue.redisUrl) that goes away', () => {
  let redis: ChildDaemon | undefined;
  let federation: InProcessFederation | undefined;
  afterEach(async () => {
    await federation?.close();
    federation = undefined;
    redis?.kill('SIGKILL');
    await redis?.stop();
  });

  it('is reported by /health (503 degraded) while it is away; the API still accepts, and everything is delivered once it is back', async () => {
    const port = await freePort();
    const dir = join(mkdtempSync(join(tmpdir(), 'tramite-external-redis-')), 'redis');
    mkdirSync(dir);
    const startRedis = () =>
      startChildDaemon({
        name: 'redis-server',
        output: 'ignore',
        command: () => ({
          command: findRedisServer(),
          args: ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''],
          ready: { kind: 'port', port },
        }),
      });
    redis = await startRedis();
    federation = await startFederation('external-redis', (nodes) =>
      patchConfig(nodes.cst, (raw) => {
        raw.queue = { ...raw.queue, redisUrl: `redis://127.0.0.1:${port}` };
      }),
    );
    const cst = federation.nodes.cst;
    expect((await health(cst, cst.operatorToken)).body['queue']).toMatchObject({ state: 'up', embedded: false });

    redis.kill('SIGKILL');
    await redis.exited;
    await expect.poll(async () => (await health(cst)).code, { timeout: 10_000, interval: 50 }).toBe(503);
    expect((await health(cst)).body).toEqual({ status: 'degraded' });
    const details = await health(cst, cst.operatorToken);
    expect(details.body).toMatchObject({ status: 'degraded', queue: { state: 'down', embedded: false, outages: 1, restarts: 0 } });
    expect(details.body['problems'].join(' ')).toMatch(/Redis is down/);
    // Not ready, naming what is missing (why, only to an operator); the process itself is live.
    expect(await get(cst, '/health/ready')).toEqual({ code: 503, body: { status: 'not-ready', failing: ['redis'] } });
    expect((await get(cst, '/health/ready', cst.operatorToken)).body['failing']).toEqual([
      expect.objectContaining({ name: 'redis', state: 'down' }),
    ]);
    expect((await get(cst, '/health/live')).code).toBe(200);

    // Accepted into the log at once (the request does not wait for Redis), sent once Redis answers.
    const sent = await Promise.all(
      Array.from({ length: 3 }, (_, i) =>
        callApi(cst, FROM, 'POST', '/api/v1/messages', {
          from: FROM,
          to: TO,
          service: 'ComunicazioneVariazione',
          action: 'Notifica',
          payload: `<v:N xmlns:v="urn:t">${i}</v:N>`,
        }),
      ),
    );
    expect(sent.map((s) => s.status)).toEqual([202, 202, 202]);
    // The node does not run this Redis: it stays away until its operator brings it back.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await health(cst)).code).toBe(503);

    redis = await startRedis();
    await expect.poll(async () => (await health(cst)).code, { timeout: 15_000, interval: 100 }).toBe(200);
    const ids = sent.map((s) => s.json['id'] as string);
    for (const id of ids)
      await expect
        .poll(async () => (await callApi(cst, FROM, 'GET', `/api/v1/messages/${encodeURIComponent(id)}`)).json['status'], {
          timeout: 30_000,
          interval: 200,
        })
        .toBe('DELIVERED');
    await expect.poll(() => ids.every((id) => federation!.backOffice.receivedBy(TO, id)), { timeout: 15_000 }).toBe(true);
    for (const id of ids)
      expect(
        federation.backOffice.received.filter((m) => m.id === id),
        id,
      ).toHaveLength(1);
  }, 90_000);
});
