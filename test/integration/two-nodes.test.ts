/**
 * Two real nodes (CST hosting two Comuni, Regione) on 127.0.0.1, with real HTTP between them and a
 * real back-office HTTP server: the signed exchange end to end, and the refusals a peer must make.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundKey, outboundKey } from '../../src/core/message-record.js';
import { Registry } from '../../src/node/registry/registry.js';
import { loadConfig } from '../../src/config/load-config.js';
import { DemoBackOffice } from '../../src/demo/demo-back-office.js';
import { writeDemoFederation, type DemoNode } from '../../src/demo/demo-federation.js';
import { serveNode, type RunningNode } from '../../src/http/serve-node.js';
import { BUILTIN_ADAPTERS } from '../../adapters/builtin.js';
import { sealRequest } from '../../envelopes/busta/request.js';
import { openEnvelope, readEnvelope, readPlainFault } from '../../envelopes/envelope.js';
import { NS } from '../../envelopes/xml/namespaces.js';
import type { Signer } from '../../src/core/signer.js';

let backOffice: DemoBackOffice;
let nodes: { cst: DemoNode; regione: DemoNode };
let cst: RunningNode;
let regione: RunningNode;

const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const ORTONA = 'SPC/ComuneOrtona';
const REGIONE = 'SPC/RegioneAbruzzo';

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'tramite-it-'));
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

async function api(node: DemoNode, method: 'GET' | 'POST', path: string, opts: { token?: string; body?: unknown } = {}) {
  const res = await request(`${node.baseUrl}${path}`, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body ? { 'content-type': 'application/json' } : {}),
    },
    ...(opts.body ? { body: JSON.stringify(opts.body) } : {}),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, any> };
}

async function postEnvelope(node: RunningNode, xml: string | Buffer) {
  const res = await request(`${node.baseUrl}/tramite/envelope`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8' },
    body: xml,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

/** A request envelope signed by `signerNome` of the CST, as the CST node would send it. */
async function cstEnvelope(
  opts: {
    from?: string;
    service?: string;
    signerNome?: string;
    signer?: Signer;
    expiresAt?: Date;
    id?: string;
    payload?: string;
  } = {},
): Promise<string> {
  const config = loadConfig(nodes.cst.configFile);
  const reg = loadConfig(nodes.cst.configFile).services.find((s) => s.name === (opts.service ?? 'ComunicazioneVariazione'))!;
  const nome = opts.signerNome ?? 'ComuneFrancavillaAlMare';
  const party = config.parties.find((p) => p.code === `SPC/${nome}`)!;
  return await sealRequest(
    {
      id:
        opts.id ??
        `ComuneFrancavillaAlMare_CSTChietiSPCoopIT_${String(Math.floor(Math.random() * 9_000_000) + 1_000_000)}_2026-01-01_00:00`,
      now: new Date(),
      from: opts.from ?? FRANCAVILLA,
      to: REGIONE,
      service: reg,
      action: 'Notifica',
      payload: opts.payload ?? '<v:Variazione xmlns:v="urn:test">uno</v:Variazione>',
      ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}),
    },
    opts.signer ?? party.identity,
  );
}

describe('two nodes exchanging signed envelopes over HTTP', () => {
  it('delivers a oneway message with confermaRicezione and keeps the signed riscontro', async () => {
    const payload = '<v:Variazione xmlns:v="urn:tramite:test"><v:tipo>residenza</v:tipo></v:Variazione>';
    const sent = await api(nodes.cst, 'POST', '/api/v1/messages?wait=20', {
      token: nodes.cst.tokens[FRANCAVILLA],
      body: { from: FRANCAVILLA, to: REGIONE, service: 'ComunicazioneVariazione', action: 'Notifica', payload },
    });
    expect(sent.status).toBe(200);
    expect(sent.json.status).toBe('DELIVERED');
    expect(sent.json.receipt.signer).toContain('CN=RegioneAbruzzo');
    expect(sent.json.id).toMatch(/^ComuneFrancavillaAlMare_CSTChietiSPCoopIT_\d{7}_\d{4}-\d{2}-\d{2}_\d{2}:\d{2}$/);

    const riscontro = readEnvelope((await cst.node.store.replyEnvelopeOf(outboundKey(sent.json.id)))!);
    expect(riscontro.egov!.riscontri.map((r) => r.identificatore)).toEqual([sent.json.id]);
    expect(riscontro.egov!.messaggio.riferimentoMessaggio).toBe(sent.json.id);

    await expect.poll(() => backOffice.received.find((m) => m.id === sent.json.id)?.payload).toBe(payload);
    const inbound = await api(nodes.regione, 'GET', `/api/v1/messages/${encodeURIComponent(sent.json.id)}`, {
      token: nodes.regione.tokens[REGIONE],
    });
    expect(inbound.json).toMatchObject({
      direction: 'in',
      from: FRANCAVILLA,
      to: REGIONE,
      service: 'ComunicazioneVariazione',
      action: 'Notifica',
    });
  });

  it('answers a sincrono request in the same exchange, e-Gov and ModI alike', async () => {
    for (const service of ['VerificaResidenza', 'ConsultaAnagrafe']) {
      const sent = await api(nodes.cst, 'POST', '/api/v1/messages?wait=20', {
        token: nodes.cst.tokens[ORTONA],
        body: {
          from: ORTONA,
          to: REGIONE,
          service,
          payload: '<a:Richiesta xmlns:a="urn:t"><a:codiceFiscale>RSSMRA85T10A562S</a:codiceFiscale></a:Richiesta>',
        },
      });
      expect(sent.json.status, service).toBe('DELIVERED');
      expect(sent.json.reply, service).toContain('RSSMRA85T10A562S');
      expect(sent.json.envelope).toBe(service === 'ConsultaAnagrafe' ? 'modi' : 'egov');
    }
  });

  it('reports the peer refusal with its EGOV_IT code when the service is unknown there', async () => {
    const sent = await api(nodes.cst, 'POST', '/api/v1/messages?wait=20', {
      token: nodes.cst.tokens[ORTONA],
      body: { from: ORTONA, to: REGIONE, service: 'ServizioDismesso', payload: '' },
    });
    expect(sent.json.status).toBe('FAILED');
    expect(sent.json.error.code).toBe('EGOV_IT_105');
  });
});

describe('back-office API authentication', () => {
  it('refuses a caller without a token, and a caller sending as a party it does not own', async () => {
    const body = { from: FRANCAVILLA, to: REGIONE, service: 'VerificaResidenza', payload: '' };
    const anonymous = await api(nodes.cst, 'POST', '/api/v1/messages', { body });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.error.code).toBe('TRAMITE_ERR_UNAUTHENTICATED');
    const wrongParty = await api(nodes.cst, 'POST', '/api/v1/messages', { token: nodes.cst.tokens[ORTONA], body });
    expect(wrongParty.status).toBe(403);
    expect(wrongParty.json.error.code).toBe('TRAMITE_ERR_FORBIDDEN');
    const badToken = await api(nodes.cst, 'POST', '/api/v1/messages', { token: 'not-a-token', body });
    expect(badToken.status).toBe(401);
  });

  it('hides a message from a party that neither sent nor received it', async () => {
    const sent = await api(nodes.cst, 'POST', '/api/v1/messages?wait=20', {
      token: nodes.cst.tokens[FRANCAVILLA],
      body: { from: FRANCAVILLA, to: REGIONE, service: 'VerificaResidenza', payload: '<a:R xmlns:a="urn:t"/>' },
    });
    const other = await api(nodes.cst, 'GET', `/api/v1/messages/${encodeURIComponent(sent.json.id)}`, { token: nodes.cst.tokens[ORTONA] });
    expect(other.status).toBe(404);
  });

  it('refuses a body that does not match the API schema, or a payload that is not XML', async () => {
    const typo = await api(nodes.cst, 'POST', '/api/v1/messages', {
      token: nodes.cst.tokens[ORTONA],
      body: { from: ORTONA, to: REGIONE, servizio: 'X' },
    });
    expect(typo.status).toBe(400);
    expect(typo.json.error.code).toBe('TRAMITE_ERR_BAD_REQUEST');
    const doctype = await api(nodes.cst, 'POST', '/api/v1/messages', {
      token: nodes.cst.tokens[ORTONA],
      body: { from: ORTONA, to: REGIONE, service: 'VerificaResidenza', payload: '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>' },
    });
    expect(doctype.status).toBe(400);
  });
});

describe('the envelope endpoint refuses what it must', () => {
  it('refuses a tampered Body with EGOV_IT_202 and delivers nothing', async () => {
    const before = backOffice.received.length;
    const res = await postEnvelope(
      regione,
      (await cstEnvelope({ payload: '<v:V xmlns:v="urn:t">100 euro</v:V>' })).replace('100 euro', '900 euro'),
    );
    expect(res.status).toBe(500);
    expect(res.text).toContain('EGOV_IT_202');
    expect(res.text).toContain('TRAMITE_ERR_SIG_DIGEST');
    expect(backOffice.received.length).toBe(before);
  });

  it('refuses a DOCTYPE with EGOV_IT_001', async () => {
    const res = await postEnvelope(regione, `<!DOCTYPE e [<!ENTITY x "y">]>${await cstEnvelope()}`);
    expect(res.status).toBe(500);
    expect(res.text).toContain('EGOV_IT_001');
  });

  it('refuses an envelope over the size limit with EGOV_IT_001 and HTTP 413', async () => {
    const huge = `${await cstEnvelope()}${' '.repeat(6 * 1024 * 1024)}`;
    const res = await postEnvelope(regione, huge);
    expect(res.status).toBe(413);
    expect(res.text).toContain('EGOV_IT_001');
  });

  // The signer is bound to the Mittente as soon as its certificate is trusted, before the signature
  // is checked (issue 12, item 1): the request is not trusted, so the answer is a plain SOAP Fault,
  // not a reply busta the recipient would sign for an unauthenticated sender.
  it('refuses a busta whose Mittente is not the signer with EGOV_IT_201 in a plain Fault, before looking at its digests', async () => {
    const xml = await cstEnvelope({ from: FRANCAVILLA, signerNome: 'ComuneOrtona', payload: '<v:V xmlns:v="urn:t">100 euro</v:V>' });
    const res = await postEnvelope(regione, xml.replace('100 euro', '900 euro'));
    expect(res.status).toBe(500);
    expect(readPlainFault(res.text)?.string).toMatch(/EGOV_IT_201/);
    expect(res.text).not.toContain('EGOV_IT_202');
    expect(res.text).not.toContain(NS.wsse);
  });

  it('refuses an unknown Mittente with EGOV_IT_101 in a plain Fault, before looking at its digests', async () => {
    // Signed by a party the Regione node trusts (its own), so that the refusal comes from the binding.
    const own = loadConfig(nodes.regione.configFile).parties.find((p) => p.code === REGIONE)!;
    const signer = own.identity;
    const xml = await cstEnvelope({
      from: 'SPC/ComuneSconosciuto',
      id: `ComuneSconosciuto_CSTChietiSPCoopIT_${String(Math.floor(Math.random() * 9_000_000) + 1_000_000)}_2026-01-01_00:00`,
      payload: '<v:V xmlns:v="urn:t">100 euro</v:V>',
      signer,
    });
    const res = await postEnvelope(regione, xml.replace('100 euro', '900 euro'));
    expect(res.status).toBe(500);
    expect(readPlainFault(res.text)?.string).toMatch(/EGOV_IT_101/);
    expect(res.text).not.toContain('EGOV_IT_202');
  });

  it('refuses an expired message with EGOV_IT_301', async () => {
    const res = await postEnvelope(regione, await cstEnvelope({ expiresAt: new Date(Date.now() - 60_000) }));
    expect(res.status).toBe(500);
    expect(readEnvelope(res.text).egov!.eccezioni[0]!.codiceEccezione).toBe('EGOV_IT_301');
  });

  it('answers the same envelope sent twice with its original riscontro, and dispatches it once', async () => {
    const xml = await cstEnvelope();
    const id = readEnvelope(xml).egov!.messaggio.identificatore;
    const first = await postEnvelope(regione, xml);
    const second = await postEnvelope(regione, xml);
    expect(first.status).toBe(200);
    expect(second.text).toBe(first.text);
    await expect.poll(() => backOffice.received.filter((m) => m.id === id).length).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(backOffice.received.filter((m) => m.id === id).length).toBe(1);
  });

  it('takes an ISO-8859-1 envelope and logs it as the same document: accents intact, its signature still verifying from the log', async () => {
    const xml = await cstEnvelope({ payload: '<v:V xmlns:v="urn:t">Città di Francavilla, perché sì</v:V>' });
    const id = readEnvelope(xml).egov!.messaggio.identificatore;
    // The same characters, as a peer whose stack writes Latin-1 sends them: the signature covers characters, not bytes.
    const latin1 = Buffer.from(`<?xml version="1.0" encoding="ISO-8859-1"?>${xml}`, 'latin1');
    const res = await postEnvelope(regione, latin1);
    expect(res.status).toBe(200);
    const logged = (await regione.node.store.envelopeOf(inboundKey(id, FRANCAVILLA)))!;
    expect(logged).toContain('Città di Francavilla, perché sì');
    const trust = new Registry(loadConfig(nodes.regione.configFile)).auditTrust();
    expect(openEnvelope(logged, { trust, at: new Date(), skewSeconds: 5 }).signature.signer.subject).toContain('ComuneFrancavillaAlMare');
    await expect.poll(() => backOffice.received.find((m) => m.id === id)?.payload).toContain('Città di Francavilla, perché sì');
  });

  it('signs the riscontro for a retry when the first copy was logged but its process died before replying', async () => {
    const xml = await cstEnvelope();
    const id = readEnvelope(xml).egov!.messaggio.identificatore;
    const now = new Date().toISOString();
    // What a receiver killed between logging and signing leaves behind: RECEIVED, no reply.
    await regione.node.store.create(
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
        createdAt: now,
        updatedAt: now,
        status: 'RECEIVED',
        attempts: 1,
      },
      xml,
    );
    const retry = await postEnvelope(regione, xml);
    expect(retry.status).toBe(200);
    expect(readEnvelope(retry.text).egov!.riscontri.map((r) => r.identificatore)).toEqual([id]);
    // The next copy gets that same riscontro, and the back office gets the message once.
    expect((await postEnvelope(regione, xml)).text).toBe(retry.text);
    await expect.poll(() => backOffice.received.filter((m) => m.id === id).length).toBe(1);
  });
});
