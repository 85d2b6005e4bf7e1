/**
 * Delivery through the BullMQ queue on real Redis between real nodes: a peer that is down at first,
 * a Scadenza that runs out, a restart that finds undelivered messages in the log, an operator resend.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inboundKey } from '../../src/core/message-record.js';
import { loadConfig } from '../../src/config/load-config.js';
import { DemoBackOffice } from '../../src/demo/demo-back-office.js';
import { freePort } from '../../src/daemons/free-port.js';
import { writeDemoFederation, type DemoNode } from '../../src/demo/demo-federation.js';
import { serveNode, type RunningNode } from '../../src/http/serve-node.js';
import { BUILTIN_ADAPTERS } from '../../adapters/builtin.js';
import { sealRequest } from '../../envelopes/busta/request.js';
import { runCli } from '../cli/run-cli.js';

const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const REGIONE = 'SPC/RegioneAbruzzo';

let backOffice: DemoBackOffice;
let nodes: { cst: DemoNode; regione: DemoNode };
const running: RunningNode[] = [];

beforeEach(async () => {
  backOffice = new DemoBackOffice();
  await backOffice.start();
  nodes = await writeDemoFederation(mkdtempSync(join(tmpdir(), 'tramite-reliable-')), (p) => backOffice.urlFor(p), { plainHttp: true });
});

afterEach(async () => {
  for (const n of running.splice(0).reverse()) await n.close();
  await backOffice.stop();
});

async function start(node: DemoNode, patch?: (raw: Record<string, any>) => void): Promise<RunningNode> {
  if (patch) {
    const raw = JSON.parse(readFileSync(node.configFile, 'utf8'));
    patch(raw);
    writeFileSync(node.configFile, JSON.stringify(raw, null, 2));
  }
  const r = await serveNode(loadConfig(node.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
  running.push(r);
  return r;
}

async function stop(r: RunningNode): Promise<void> {
  running.splice(running.indexOf(r), 1);
  await r.close();
}

async function send(body: Record<string, unknown> = {}): Promise<string> {
  const res = await request(`${nodes.cst.baseUrl}/api/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${nodes.cst.tokens[FRANCAVILLA]}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      from: FRANCAVILLA,
      to: REGIONE,
      service: 'ComunicazioneVariazione',
      action: 'Notifica',
      payload: '<v:N xmlns:v="urn:t">1</v:N>',
      ...body,
    }),
  });
  expect(res.statusCode).toBe(202);
  return ((await res.body.json()) as { id: string }).id;
}

async function status(id: string): Promise<{ status: string; attempts: number; error: { code: string } | null }> {
  const res = await request(`${nodes.cst.baseUrl}/api/v1/messages/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${nodes.cst.tokens[FRANCAVILLA]}` },
  });
  return (await res.body.json()) as { status: string; attempts: number; error: { code: string } | null };
}

async function until(id: string, wanted: string, ms = 20_000) {
  await expect.poll(async () => (await status(id)).status, { timeout: ms, interval: 100 }).toBe(wanted);
  return status(id);
}

describe('the deliver queue', () => {
  it('keeps retrying while the peer is down and delivers once it is back', async () => {
    await start(nodes.cst);
    const id = await send();
    await expect.poll(async () => (await status(id)).attempts, { timeout: 10_000, interval: 100 }).toBeGreaterThanOrEqual(2);
    expect((await status(id)).error?.code).toBe('TRAMITE_ERR_PEER_UNREACHABLE');
    await start(nodes.regione);
    const done = await until(id, 'DELIVERED');
    expect(done.attempts).toBeGreaterThan(1);
    expect(done.error).toBeNull();
    await expect.poll(() => backOffice.received.filter((m) => m.id === id).length).toBe(1);
  });

  it('gives up at the Scadenza with TRAMITE_ERR_EXPIRED', async () => {
    await start(nodes.cst);
    const id = await send({ expiresAt: new Date(Date.now() + 1500).toISOString() });
    const failed = await until(id, 'FAILED');
    expect(failed.error?.code).toBe('TRAMITE_ERR_EXPIRED');
    expect(failed.attempts).toBeGreaterThanOrEqual(1);
  });

  it('stops after the service maxAttempts, and an operator resend then delivers the same id', async () => {
    const cst = await start(nodes.cst, (raw) => (raw['queue'].retry.maxAttempts = 2));
    const id = await send();
    const failed = await until(id, 'FAILED');
    expect(failed).toMatchObject({ attempts: 2, error: { code: 'TRAMITE_ERR_RETRIES_EXHAUSTED' } });
    await start(nodes.regione);
    const res = await request(`${nodes.cst.baseUrl}/api/v1/messages/${encodeURIComponent(id)}/resend`, {
      method: 'POST',
      headers: { authorization: `Bearer ${nodes.cst.tokens[FRANCAVILLA]}` },
    });
    expect(res.statusCode).toBe(202);
    const done = await until(id, 'DELIVERED');
    expect(done.attempts).toBe(3);
    const again = await request(`${nodes.cst.baseUrl}/api/v1/messages/${encodeURIComponent(id)}/resend`, {
      method: 'POST',
      headers: { authorization: `Bearer ${nodes.cst.tokens[FRANCAVILLA]}` },
    });
    expect(again.statusCode).toBe(409);
    expect(((await again.body.json()) as { error: { code: string } }).error.code).toBe('TRAMITE_ERR_NOT_RESENDABLE');
    expect((await cst.node.auditor().verify()).ok).toBe(true);
  });

  it('does not retry a refusal: the peer answered with its EGOV_IT code', async () => {
    await start(nodes.regione);
    await start(nodes.cst);
    const id = await send({ service: 'ServizioDismesso', action: undefined });
    const failed = await until(id, 'FAILED');
    expect(failed).toMatchObject({ attempts: 1, error: { code: 'EGOV_IT_105' } });
  });

  it('after a restart with its queue lost, sends what the log holds as undelivered', async () => {
    const first = await start(nodes.cst);
    const id = await send();
    await expect.poll(async () => (await status(id)).attempts, { timeout: 10_000, interval: 100 }).toBeGreaterThanOrEqual(1);
    await stop(first);
    // Only the log remembers the message now.
    rmSync(join(nodes.cst.dir, 'data', 'redis'), { recursive: true, force: true });
    await start(nodes.regione);
    await start(nodes.cst);
    const done = await until(id, 'DELIVERED');
    expect(done.attempts).toBeGreaterThanOrEqual(2);
  });

  it('tramite messages resend requeues a FAILED message through the running node', async () => {
    await start(nodes.cst, (raw) => (raw['queue'].retry.maxAttempts = 1));
    const id = await send();
    await until(id, 'FAILED');
    await start(nodes.regione);
    const r = await runCli(['messages', 'resend', id, '--config', nodes.cst.configFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ id, status: 'ACCEPTED', queued: true });
    await until(id, 'DELIVERED');
  });

  /** Both nodes running, the Regione's back office down: it is to listen on `port` (`late.start(port)`). */
  async function withBackOfficeDown(): Promise<{ port: number; late: DemoBackOffice; regione: RunningNode }> {
    const port = await freePort();
    const raw = JSON.parse(readFileSync(nodes.regione.configFile, 'utf8'));
    raw.parties[0].backOffice.url = `http://127.0.0.1:${port}/inbox/SPC%2FRegioneAbruzzo`;
    writeFileSync(nodes.regione.configFile, JSON.stringify(raw, null, 2));
    const regione = await start(nodes.regione);
    await start(nodes.cst);
    return { port, late: new DemoBackOffice(), regione };
  }

  /** Until the Regione's node has tried to hand message `id` over, and found its back office down. */
  const handOverFailed = (regione: RunningNode, id: string) =>
    expect
      .poll(async () => (await regione.node.store.get(inboundKey(id, FRANCAVILLA)))?.error?.code, { timeout: 10_000, interval: 100 })
      .toBe('TRAMITE_ERR_PEER_UNREACHABLE');

  it('hands an inbound message to a back office that is down at first, once, when it comes back', async () => {
    const { port, late, regione } = await withBackOfficeDown();
    const id = await send();
    const delivered = await until(id, 'DELIVERED');
    expect(delivered.attempts).toBe(1); // the riscontro came from the node, the back office was down
    await handOverFailed(regione, id);
    await late.start(port);
    try {
      await expect
        .poll(async () => (await regione.node.store.get(inboundKey(id, FRANCAVILLA)))?.status, { timeout: 15_000, interval: 100 })
        .toBe('DISPATCHED');
      expect(late.received.filter((m) => m.id === id)).toHaveLength(1);
    } finally {
      await late.stop();
    }
  });

  it('never hands over late an inbound message whose Scadenza passed while its back office was down: FAILED, expired', async () => {
    const { port, late, regione } = await withBackOfficeDown();
    const expiresAt = new Date(Date.now() + 3_000).toISOString();
    const id = await send({ expiresAt });
    await until(id, 'DELIVERED'); // the Regione's node took it (its riscontro) before the Scadenza
    await handOverFailed(regione, id);
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expiresAt) - Date.now())));
    await late.start(port);
    try {
      await expect
        .poll(async () => (await regione.node.store.get(inboundKey(id, FRANCAVILLA)))?.status, { timeout: 15_000, interval: 100 })
        .toBe('FAILED');
      expect((await regione.node.store.get(inboundKey(id, FRANCAVILLA)))?.error?.code).toBe('TRAMITE_ERR_EXPIRED');
      expect(late.received.filter((m) => m.id === id)).toEqual([]);
    } finally {
      await late.stop();
    }
  });

  it('answers concurrent copies of a fresh envelope once: one record, one hand-over', async () => {
    const regione = await start(nodes.regione);
    const config = loadConfig(nodes.cst.configFile);
    const party = config.parties.find((p) => p.code === FRANCAVILLA)!;
    const id = 'ComuneFrancavillaAlMare_CSTChietiSPCoopIT_0777777_2026-11-23_10:00';
    const envelope = await sealRequest(
      {
        id,
        now: new Date(),
        from: FRANCAVILLA,
        to: REGIONE,
        service: config.services.find((s) => s.name === 'ComunicazioneVariazione')!,
        action: 'Notifica',
        payload: '<v:N xmlns:v="urn:t">7</v:N>',
      },
      party.identity,
    );
    const replies = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const r = await request(`${nodes.regione.baseUrl}/tramite/envelope`, {
          method: 'POST',
          headers: { 'content-type': 'text/xml' },
          body: envelope,
        });
        return { status: r.statusCode, text: await r.body.text() };
      }),
    );
    const original = (await regione.node.store.replyEnvelopeOf(inboundKey(id, FRANCAVILLA)))!;
    // Each copy gets the signed riscontro, or — while the first is still being logged — an empty 202.
    for (const r of replies) expect(r.status === 200 ? r.text : r.status).toBe(r.status === 200 ? original : 202);
    expect(replies.some((r) => r.status === 200)).toBe(true);
    await expect.poll(() => backOffice.received.filter((m) => m.id === id).length).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(backOffice.received.filter((m) => m.id === id)).toHaveLength(1);
    expect((await regione.node.auditor().search({ messageId: id })).filter((r) => r.kind === 'envelope')).toHaveLength(1);
  });

  it('notifies the back office of each change of state by HMAC-signed webhook, retried until taken', async () => {
    const secret = 'webhook-secret-0123456789abcdef';
    writeFileSync(join(nodes.cst.dir, 'notify.secret'), secret, { mode: 0o600 });
    const port = await freePort();
    const events: Array<{ status: string; previousStatus: string | null; id: string }> = [];
    let refuseFirst = true;
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const ts = String(req.headers['x-tramite-timestamp']);
        const expected = `sha256=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`;
        if (req.headers['x-tramite-signature'] !== expected) return void res.writeHead(401).end();
        if (refuseFirst) {
          refuseFirst = false; // the back office hiccups once: the notification must come again
          return void res.writeHead(503).end();
        }
        events.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(port, '127.0.0.1', r));
    try {
      await start(nodes.regione);
      await start(nodes.cst, (raw) => (raw['parties'][0].notify = { url: `http://127.0.0.1:${port}/hook`, secretFile: 'notify.secret' }));
      const id = await send();
      await until(id, 'DELIVERED');
      await expect
        .poll(
          () =>
            events
              .filter((e) => e.id === id)
              .map((e) => e.status)
              .sort(),
          { timeout: 15_000, interval: 100 },
        )
        .toEqual(['ACCEPTED', 'DELIVERED', 'SENDING']);
      const delivered = events.find((e) => e.id === id && e.status === 'DELIVERED')!;
      expect(delivered).toMatchObject({ previousStatus: 'SENDING', direction: 'out', from: FRANCAVILLA, to: REGIONE });
      expect(readFileSync(join(nodes.cst.dir, 'data', 'tramite.log'), 'utf8')).not.toContain(secret);
    } finally {
      await new Promise((r) => hook.close(r));
    }
  });
});
