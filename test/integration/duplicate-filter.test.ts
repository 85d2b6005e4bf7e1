/**
 * The duplicate filter is keyed by (sender, message id): two real nodes on 127.0.0.1 (CST hosting two
 * Comuni, Regione) and a real back office. A Comune that reuses another Comune's ModI wsa:MessageID —
 * after it (replay) or before it (a guessed future id) — neither reads the other's answer nor keeps the
 * other's message from being received and dispatched.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { DemoBackOffice } from '../../src/demo/demo-back-office.js';
import { writeDemoFederation, type DemoNode } from '../../src/demo/demo-federation.js';
import { serveNode, type RunningNode } from '../../src/http/serve-node.js';
import { BUILTIN_ADAPTERS } from '../../adapters/builtin.js';
import { sealRequest } from '../../envelopes/busta/request.js';
import { bodyContent, readEnvelope } from '../../envelopes/envelope.js';

let backOffice: DemoBackOffice;
let nodes: { cst: DemoNode; regione: DemoNode };
let cst: RunningNode;
let regione: RunningNode;

const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const ORTONA = 'SPC/ComuneOrtona';
const REGIONE = 'SPC/RegioneAbruzzo';
/** Ortona's citizen: what Francavilla must never read. */
const ORTONA_CF = 'RSSMRA85T10A562S';
const FRANCAVILLA_CF = 'VRDLGU70A01E243X';

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'tramite-dedup-'));
  backOffice = new DemoBackOffice();
  await backOffice.start();
  nodes = await writeDemoFederation(root, (p) => backOffice.urlFor(p), { plainHttp: true });
  cst = await serveNode(loadConfig(nodes.cst.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
  regione = await serveNode(loadConfig(nodes.regione.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
});

afterAll(async () => {
  await cst?.close();
  await regione?.close();
  await backOffice?.stop();
});

const richiesta = (cf: string) => `<a:Richiesta xmlns:a="urn:t"><a:codiceFiscale>${cf}</a:codiceFiscale></a:Richiesta>`;

/** A ModI ConsultaAnagrafe request (sincrono) from `from`, signed with that Comune's own key, with the given wsa:MessageID. */
async function modiRequest(from: string, messageId: string, payload: string): Promise<string> {
  const config = loadConfig(nodes.cst.configFile);
  const service = config.services.find((s) => s.name === 'ConsultaAnagrafe')!;
  const party = config.parties.find((p) => p.code === from)!;
  return await sealRequest({ id: messageId, now: new Date(), from, to: REGIONE, service, payload }, party.identity);
}

async function postEnvelope(xml: string) {
  const res = await request(`${regione.baseUrl}/tramite/envelope`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8' },
    body: xml,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

async function api(path: string, token: string) {
  const res = await request(`${nodes.regione.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, any> };
}

describe('duplicate filter keyed by (sender, ModI wsa:MessageID)', () => {
  it("a Comune replaying another Comune's MessageID gets no part of that Comune's answer, but its own", async () => {
    const sent = await request(`${nodes.cst.baseUrl}/api/v1/messages?wait=20`, {
      method: 'POST',
      headers: { authorization: `Bearer ${nodes.cst.tokens[ORTONA]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: ORTONA, to: REGIONE, service: 'ConsultaAnagrafe', payload: richiesta(ORTONA_CF) }),
    });
    const ortona = (await sent.body.json()) as Record<string, any>;
    expect(ortona.status).toBe('DELIVERED');
    expect(ortona.reply).toContain(ORTONA_CF);

    const replay = await postEnvelope(await modiRequest(FRANCAVILLA, ortona.id, richiesta(FRANCAVILLA_CF)));
    expect(replay.text).not.toContain(ORTONA_CF);
    expect(replay.status).toBe(200);
    const answer = readEnvelope(replay.text);
    expect(answer.addressing!.relatesTo).toBe(ortona.id);
    expect(bodyContent(answer)).toContain(FRANCAVILLA_CF);
    // Both requests reached Regione's back office, each from its own sender.
    expect(
      backOffice.received
        .filter((m) => m.id === ortona.id)
        .map((m) => m.from)
        .sort(),
    ).toEqual([FRANCAVILLA, ORTONA]);
  });

  it("a Comune sending another Comune's future MessageID first does not block that Comune's message", async () => {
    const id = randomUUID();
    const squat = await postEnvelope(await modiRequest(FRANCAVILLA, id, richiesta(FRANCAVILLA_CF)));
    expect(squat.status).toBe(200);

    const real = await postEnvelope(await modiRequest(ORTONA, id, richiesta(ORTONA_CF)));
    expect(real.status).toBe(200);
    expect(real.text).not.toContain(FRANCAVILLA_CF);
    expect(bodyContent(readEnvelope(real.text))).toContain(ORTONA_CF);
    expect(backOffice.received.some((m) => m.id === id && m.from === ORTONA && m.payload.includes(ORTONA_CF))).toBe(true);
    expect((await regione.node.store.get({ id, direction: 'in', from: ORTONA }))?.status).toBe('DISPATCHED');
  });

  it("the same sender's copy is still answered with its original reply, and reaches the back office once", async () => {
    const xml = await modiRequest(ORTONA, randomUUID(), richiesta(ORTONA_CF));
    const id = readEnvelope(xml).addressing!.messageId!;
    const first = await postEnvelope(xml);
    const second = await postEnvelope(xml);
    expect(first.status).toBe(200);
    expect(second.text).toBe(first.text);
    expect(backOffice.received.filter((m) => m.id === id).length).toBe(1);
  });

  it("the recipient reads each sender's message with ?from=, and is told to choose when one id has two senders", async () => {
    const id = randomUUID();
    await postEnvelope(await modiRequest(FRANCAVILLA, id, richiesta(FRANCAVILLA_CF)));
    await postEnvelope(await modiRequest(ORTONA, id, richiesta(ORTONA_CF)));
    const token = nodes.regione.tokens[REGIONE]!;
    const path = `/api/v1/messages/${encodeURIComponent(id)}`;

    const ambiguous = await api(path, token);
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.json.error.code).toBe('TRAMITE_ERR_AMBIGUOUS_ID');
    expect(ambiguous.json.error.message).toContain(FRANCAVILLA);
    expect(ambiguous.json.error.message).toContain(ORTONA);

    const fromOrtona = await api(`${path}?from=${encodeURIComponent(ORTONA)}`, token);
    expect(fromOrtona.status).toBe(200);
    expect(fromOrtona.json).toMatchObject({ id, direction: 'in', from: ORTONA });
    expect(fromOrtona.json.payload).toContain(ORTONA_CF);
  });
});
