/**
 * kill -9 of the SENDING node in the middle of an HTTP delivery, with real processes (`tramite start`
 * children), real Redis and a TCP proxy between the CST and the Regione that picks the moment:
 *  1. the whole request reached the Regione and its riscontro is on the way back (held in the proxy),
 *  2. only part of the request body has gone through.
 * In both, after the sender restarts, every accepted message is DELIVERED at the sender with the
 * Regione's receipt, reaches the destination back office exactly once, and both logs verify.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { CST } from '../../src/demo/demo-federation.js';
import { startDemo, type RunningDemo } from '../../src/demo/run-demo.js';
import { InterposingProxy } from '../../test-support/interposing-proxy.js';
import { runCli } from '../cli/run-cli.js';

const FROM = 'SPC/ComuneOrtona';
const TO = 'SPC/RegioneAbruzzo';
const IN_FLIGHT = 4;

let demo: RunningDemo | undefined;
let proxy: InterposingProxy | undefined;

afterEach(async () => {
  await demo?.stop();
  demo = undefined;
  await proxy?.close();
  proxy = undefined;
});

/**
 * The demo federation with the CST's route to the Regione going through `proxy`. The demo applies
 * the patch to both nodes' configurations; only the CST's (node.name) is changed.
 */
async function startDemoBehindProxy(prefix: string, p: InterposingProxy): Promise<RunningDemo> {
  return startDemo(
    mkdtempSync(join(tmpdir(), prefix)),
    (raw) => {
      if (raw['node']?.name !== CST.name) return;
      const peer = (raw['peers'] as Array<{ url: string }>)[0]!;
      const url = new URL(peer.url);
      p.setTarget(Number(url.port), url.hostname);
      url.port = String(p.port);
      peer.url = url.toString();
    },
    { plainHttp: true },
  );
}

/** ~200 KB of XML content, unique to message `n`: an envelope of many TCP segments. */
function bigPayload(n: number): string {
  const rows = Array.from({ length: 2000 }, (_, i) => `<v:Riga r="${i}">pratica ${n} riga ${i} ${'x'.repeat(64)}</v:Riga>`);
  return `<v:Pratica xmlns:v="urn:t" n="${n}">${rows.join('')}</v:Pratica>`;
}

async function send(d: RunningDemo, payload: string): Promise<string> {
  const res = await request(`${d.nodes.cst.baseUrl}/api/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.nodes.cst.tokens[FROM]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ from: FROM, to: TO, service: 'ComunicazioneVariazione', action: 'Notifica', payload }),
  });
  expect(res.statusCode).toBe(202);
  return ((await res.body.json()) as { id: string }).id;
}

interface View {
  status: string;
  attempts: number;
  receipt: { at: string; signer: string } | null;
}

async function viewAt(node: RunningDemo['nodes']['cst'], party: string, id: string): Promise<{ code: number; view: View }> {
  const res = await request(`${node.baseUrl}/api/v1/messages/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${node.tokens[party]}` },
  });
  return { code: res.statusCode, view: (await res.body.json()) as View };
}

/** Every message DELIVERED at the sender with the Regione's receipt, and at the destination back office exactly once. */
async function expectDeliveredOnce(d: RunningDemo, ids: readonly string[], payloads: ReadonlyMap<string, string>): Promise<void> {
  for (const id of ids)
    await expect.poll(async () => (await viewAt(d.nodes.cst, FROM, id)).view.status, { timeout: 45_000, interval: 200 }).toBe('DELIVERED');
  for (const id of ids) {
    const { view } = await viewAt(d.nodes.cst, FROM, id);
    expect(view.receipt, id).not.toBeNull();
    expect(view.receipt!.signer, id).toContain('RegioneAbruzzo');
    // The message went out again after the restart: the kill cost an attempt.
    expect(view.attempts, id).toBeGreaterThanOrEqual(2);
  }
  await expect.poll(() => ids.every((id) => d.backOffice.receivedBy(TO, id)), { timeout: 20_000 }).toBe(true);
  await new Promise((r) => setTimeout(r, 500));
  for (const id of ids) {
    const got = d.backOffice.received.filter((m) => m.id === id);
    expect(got, id).toHaveLength(1);
    // Whole: the last row of the payload is there.
    const n = /n="(\d+)"/.exec(payloads.get(id)!)![1];
    expect(got[0]!.payload, id).toContain(`pratica ${n} riga 1999 `);
  }
}

async function logsVerify(d: RunningDemo): Promise<void> {
  for (const n of [d.nodes.cst, d.nodes.regione]) {
    const r = await runCli(['log', 'verify', '--config', n.configFile, '--json']);
    expect(JSON.parse(r.stdout), n.name).toMatchObject({ ok: true });
  }
}

async function sendAll(d: RunningDemo): Promise<{ ids: string[]; payloads: Map<string, string> }> {
  const bodies = Array.from({ length: IN_FLIGHT }, (_, i) => bigPayload(i));
  const ids = await Promise.all(bodies.map((b) => send(d, b)));
  return { ids, payloads: new Map(ids.map((id, i) => [id, bodies[i]!])) };
}

describe('kill -9 of the sending node in the middle of an HTTP delivery', () => {
  it('after the receiver answered, with the riscontro still on the way back: the retry gets the original riscontro, delivered once', async () => {
    proxy = await InterposingProxy.start();
    const p = proxy;
    demo = await startDemoBehindProxy('tramite-fault-midhttp-reply-', p);
    const d = demo;
    p.holdResponses();
    const { ids, payloads } = await sendAll(d);

    // The kill moment: every request went through whole and the Regione's answer (a 200 with the
    // signed riscontro) has reached the proxy, which keeps it from the sender.
    const held = await p.whenResponsesHeld(IN_FLIGHT);
    expect(held.map((c) => c.responseStatus)).toEqual(Array(IN_FLIGHT).fill(200));
    expect(held.every((c) => c.requestBytesForwarded === c.requestLength)).toBe(true);
    await d.control.stopNode('cst', 'SIGKILL');

    // The sender's connections died with it; the answers never reached it.
    await expect.poll(() => p.openConnections().length, { timeout: 10_000 }).toBe(0);
    expect(p.connections.every((c) => c.responseBytesForwarded === 0)).toBe(true);
    // The Regione logged every message (and hands it to its back office).
    for (const id of ids) expect((await viewAt(d.nodes.regione, TO, id)).code, id).toBe(200);

    p.passThrough();
    await d.control.startNode('cst');
    // A job the killed process held is taken up again when its 10 s lock lapses.
    await expectDeliveredOnce(d, ids, payloads);
    // The second copies went through the proxy whole and were answered as duplicates (200, the original
    // riscontro). The proxy reads each connection's first request, and keep-alive may carry several
    // retries on one connection: count connections that answered, not requests.
    const retries = p.connections.filter((c) => c.policy.forwardResponse && c.responseStatus !== undefined);
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.every((c) => c.responseStatus === 200)).toBe(true);
    await d.stop();
    demo = undefined;
    await logsVerify(d);
  }, 90_000);

  it('while the request body is only partly sent: the receiver never has the envelope, and after restart it is delivered once', async () => {
    proxy = await InterposingProxy.start();
    const p = proxy;
    demo = await startDemoBehindProxy('tramite-fault-midhttp-body-', p);
    const d = demo;
    // Each request gets its head and the first 64 KB of a ~200 KB+ body through, then stalls.
    p.stallRequestsAfter(64 * 1024);
    const { ids, payloads } = await sendAll(d);

    // The kill moment: every request stalled part-way through its body.
    const stalled = await p.whenRequestsStalled(IN_FLIGHT);
    expect(stalled.every((c) => c.requestLength! > 200 * 1024 && c.requestBytesForwarded === 64 * 1024)).toBe(true);
    await d.control.stopNode('cst', 'SIGKILL');
    // The dead sender's connections are torn down: the Regione sees each request end mid-body.
    p.cut();
    await expect.poll(() => p.openConnections().length, { timeout: 10_000 }).toBe(0);

    // The Regione never had a complete envelope: nothing logged, nothing handed over.
    for (const id of ids) expect((await viewAt(d.nodes.regione, TO, id)).code, id).toBe(404);
    expect(d.backOffice.received.filter((m) => ids.includes(m.id))).toHaveLength(0);

    p.passThrough();
    await d.control.startNode('cst');
    await expectDeliveredOnce(d, ids, payloads);
    await d.stop();
    demo = undefined;
    await logsVerify(d);
  }, 90_000);
});
