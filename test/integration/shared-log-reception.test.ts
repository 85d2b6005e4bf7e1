/**
 * Two Regione node instances sharing one PostgreSQL log (as behind a load balancer) receive the very same
 * envelope at the same moment: exactly one of them accepts it — one envelope record, one riscontro, one
 * hand-over to the back office — and the other answers as a duplicate (the original riscontro, or 202
 * while the first is still at work). The duplicate filter is the log's projection (keyed by sender and
 * id), so it is one for every process; what each process holds in memory must not decide it. The
 * console's sign-in sessions are shared the same way.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { formatMessageId } from '../../src/core/message-id.js';
import { DemoBackOffice } from '../../src/demo/demo-back-office.js';
import { documentedHandOverKey } from '../node/dispatch/documented-hand-over-key.js';
import { inboundKeyText } from '../../src/node/dispatch/dispatch-item.js';
import { writeDemoFederation, type DemoNode } from '../../src/demo/demo-federation.js';
import { serveNode, type RunningNode } from '../../src/http/serve-node.js';
import { BUILTIN_ADAPTERS } from '../../adapters/builtin.js';
import { sealRequest } from '../../envelopes/busta/request.js';
import { dropDatabase, freshDatabase } from '../../test-support/postgres-server.js';
import { postgresUrl } from '../log/log-fixtures.js';

const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const REGIONE = 'SPC/RegioneAbruzzo';

let dbUrl: string;
let backOffice: DemoBackOffice;
let nodes: { cst: DemoNode; regione: DemoNode };
let regioneA: RunningNode;
let regioneB: RunningNode;

beforeAll(async () => {
  dbUrl = await freshDatabase(postgresUrl());
  const root = mkdtempSync(join(tmpdir(), 'tramite-shared-reception-'));
  backOffice = new DemoBackOffice();
  await backOffice.start();
  nodes = await writeDemoFederation(root, (p) => backOffice.urlFor(p), { plainHttp: true });
  const raw = JSON.parse(readFileSync(nodes.regione.configFile, 'utf8'));
  raw.log = { ...raw.log, store: 'postgres', postgresUrl: dbUrl };
  writeFileSync(nodes.regione.configFile, JSON.stringify(raw, null, 2));
  const config = loadConfig(nodes.regione.configFile);
  regioneA = await serveNode(config, { builtinAdapters: BUILTIN_ADAPTERS });
  regioneB = await serveNode(
    { ...config, node: { ...config.node, listen: { ...config.node.listen, port: 0 } } },
    { builtinAdapters: BUILTIN_ADAPTERS },
  );
}, 60_000);

afterAll(async () => {
  // B shares the Redis that A started in their common data dir: B goes first, A stops Redis.
  await regioneB?.close();
  await regioneA?.close();
  await backOffice?.stop();
  if (dbUrl) await dropDatabase(dbUrl);
});

/** A Notifica from Francavilla (confermaRicezione: a riscontro is due), signed with Francavilla's key. */
async function notifica(n: number): Promise<{ id: string; xml: string }> {
  const cst = loadConfig(nodes.cst.configFile);
  const service = cst.services.find((s) => s.name === 'ComunicazioneVariazione')!;
  const party = cst.parties.find((p) => p.code === FRANCAVILLA)!;
  const now = new Date();
  const id = formatMessageId('ComuneFrancavillaAlMare', cst.node.pdd, 9_000_000 + n, now);
  const xml = await sealRequest(
    { id, now, from: FRANCAVILLA, to: REGIONE, service, action: 'Notifica', payload: `<v:N xmlns:v="urn:t">${n}</v:N>` },
    party.identity,
  );
  return { id, xml };
}

/** What a receiver leaves behind between logging a Notifica and signing its riscontro: RECEIVED, no reply, logged `agoMs` ago. */
async function leftReceived(n: number, agoMs: number): Promise<{ id: string; xml: string }> {
  const { id, xml } = await notifica(n);
  const at = new Date(Date.now() - agoMs).toISOString();
  await regioneA.node.store.create(
    {
      id,
      direction: 'in',
      envelopeProfile: 'egov',
      collaboration: 'oneway',
      from: FRANCAVILLA,
      to: REGIONE,
      service: 'ComunicazioneVariazione',
      action: 'Notifica',
      confermaRicezione: true,
      createdAt: at,
      updatedAt: at,
      status: 'RECEIVED',
      attempts: 1,
      payload: `<v:N xmlns:v="urn:t">${n}</v:N>`,
    },
    xml,
  );
  return { id, xml };
}

async function post(node: RunningNode, xml: string): Promise<{ status: number; body: string }> {
  const res = await request(`${node.baseUrl}/tramite/envelope`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8' },
    body: xml,
  });
  return { status: res.statusCode, body: await res.body.text() };
}

describe('two processes sharing the log receive the same message at once', () => {
  it('exactly one accepts it: one envelope, one riscontro, one hand-over', async () => {
    const rounds = await Promise.all(
      Array.from({ length: 8 }, async (_, n) => {
        const { id, xml } = await notifica(n);
        const answers = await Promise.all([post(regioneA, xml), post(regioneB, xml)]);
        return { id, answers };
      }),
    );
    for (const { id, answers } of rounds) {
      expect(answers.map((a) => a.status).sort()).toSatisfy((s: number[]) => s[0] === 200 && (s[1] === 200 || s[1] === 202));
      const riscontri = answers.filter((a) => a.status === 200).map((a) => a.body);
      // A second 200 is the first one's riscontro, not one signed again.
      expect(new Set(riscontri).size).toBe(1);
      const records = await regioneA.node.store.store.recordsOf(id);
      expect(records.filter((r) => r.kind === 'envelope')).toHaveLength(1);
      expect(records.filter((r) => r.kind === 'receipt')).toHaveLength(1);
    }
    // Each reaches the back office once (the dispatch job's id is the message's: one job, whichever process queued it).
    for (const { id } of rounds) {
      await expect.poll(() => backOffice.received.filter((d) => d.id === id).length, { timeout: 20_000 }).toBe(1);
    }
    await new Promise((r) => setTimeout(r, 1000));
    for (const { id } of rounds) expect(backOffice.received.filter((d) => d.id === id)).toHaveLength(1);
  });

  it('a copy logged by another process and left unanswered is signed for the retry only once that process must have died', async () => {
    // Just logged: the process that logged it may be signing now; the retry waits (202) rather than sign a second riscontro.
    const fresh = await leftReceived(100, 0);
    expect(await post(regioneB, fresh.xml)).toEqual({ status: 202, body: '' });
    // Logged a minute ago and still unanswered: its process died; the retry gets a riscontro, once.
    const stale = await leftReceived(101, 60_000);
    const retry = await post(regioneB, stale.xml);
    expect(retry.status).toBe(200);
    expect(await post(regioneA, stale.xml)).toEqual(retry);
    await expect.poll(() => backOffice.received.filter((d) => d.id === stale.id).length, { timeout: 20_000 }).toBe(1);
    // Unanswered, and handed to the back office since by reconciliation (the database went away between
    // logging and the riscontro): the sender is still owed its riscontro, and the back office no second copy.
    const handedOver = await leftReceived(102, 60_000);
    await regioneA.node.store.transition({ direction: 'in', id: handedOver.id, from: FRANCAVILLA }, { status: 'DISPATCHED' });
    const owed = await post(regioneB, handedOver.xml);
    expect(owed.status).toBe(200);
    expect(owed.body).toContain(handedOver.id);
    await new Promise((r) => setTimeout(r, 1000));
    expect(backOffice.received.filter((d) => d.id === handedOver.id)).toHaveLength(0);
  });

  it('a hand-over attempted by both processes at once (a job queued again while the first still runs) reaches the back office once', async () => {
    // What a job queued anew while another still hands the message over meets (Redis restarted without
    // the job and reconciliation queued it, a lock lapsed in a stall): both read RECEIVED. A slow back
    // office keeps the first hand-over open while the second starts.
    const items = await Promise.all(
      [200, 201, 202].map(async (n) => {
        const { id } = await leftReceived(n, 0);
        return {
          key: inboundKeyText({ id, from: FRANCAVILLA }),
          messageId: id,
          from: FRANCAVILLA,
          retry: regioneA.node.config.queue.retry,
        };
      }),
    );
    backOffice.holdMs = 400;
    try {
      const outcomes = await Promise.all(
        items.map((item) => Promise.all([regioneA.node.dispatch.attempt(item, 1), regioneB.node.dispatch.attempt(item, 1)])),
      );
      for (const pair of outcomes) expect(pair.map((o) => o.kind).sort()).toEqual(['done', 'later']);
    } finally {
      backOffice.holdMs = 0;
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const item of items) {
      const copies = backOffice.received.filter((d) => d.id === item.messageId);
      expect(copies).toHaveLength(1);
      // The key a back office takes each message once by: the same for every hand-over of the message.
      expect(copies[0]!.idempotencyKey).toBe(documentedHandOverKey({ from: FRANCAVILLA, id: item.messageId }));
      expect((await regioneB.node.store.get({ direction: 'in', id: item.messageId, from: FRANCAVILLA }))?.status).toBe('DISPATCHED');
    }
    // Once the first has recorded its outcome, an attempt reads it and hands nothing over.
    expect((await regioneB.node.dispatch.attempt(items[0]!, 2)).kind).toBe('done');
    expect(backOffice.received.filter((d) => d.id === items[0]!.messageId)).toHaveLength(1);
  });

  it("reconciliation leaves another process's fresh message to it, and hands over one left long enough", async () => {
    // Just logged by another process, which may be answering it now (a sincrono request's back office
    // still at work, a riscontro not yet kept): a job queued for it would hand it over beside that work.
    const fresh = await leftReceived(300, 0);
    const stale = await leftReceived(301, 60_000);
    await regioneB.node.reconcile({ periodic: true });
    await expect.poll(() => backOffice.received.filter((d) => d.id === stale.id).length, { timeout: 20_000 }).toBe(1);
    await new Promise((r) => setTimeout(r, 1000));
    expect(backOffice.received.filter((d) => d.id === fresh.id)).toHaveLength(0);
    expect((await regioneB.node.store.get({ direction: 'in', id: fresh.id, from: FRANCAVILLA }))?.status).toBe('RECEIVED');
  });

  it('a console session signed in on one process is known to the other (the sessions are in the shared database)', async () => {
    const signIn = await request(`${regioneA.baseUrl}/console/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: regioneA.baseUrl },
      body: new URLSearchParams({ token: nodes.regione.operatorToken }).toString(),
    });
    await signIn.body.dump();
    expect(signIn.statusCode).toBe(303);
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    expect(cookie).toMatch(/^tramite_console=/);
    const onB = await request(`${regioneB.baseUrl}/console`, { headers: { cookie } });
    await onB.body.dump();
    expect(onB.statusCode).toBe(200);
    const unknown = await request(`${regioneB.baseUrl}/console`, { headers: { cookie: 'tramite_console=nope' } });
    await unknown.body.dump();
    expect(unknown.statusCode).toBe(303);
  });
});
