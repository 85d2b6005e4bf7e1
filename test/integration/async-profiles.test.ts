/**
 * The asynchronous collaboration profiles between two real nodes on 127.0.0.1: asincrono simmetrico
 * (ricevuta, then the provider's correlated answer to the consumer's servizioCorrelato) and asincrono
 * asimmetrico (ricevuta, then richieste stato until the result is there), with the references checked
 * against each node's own log (EGOV_IT_109 / 111 / 104).
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundKey } from '../../src/core/message-record.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { DemoBackOffice } from '../../src/demo/demo-back-office.js';
import type { DemoNode } from '../../src/demo/demo-federation.js';
import type { RunningNode } from '../../src/http/serve-node.js';
import { callApi, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';
import { sealRequest } from '../../envelopes/busta/request.js';
import { readEnvelope } from '../../envelopes/envelope.js';

const ORTONA = 'SPC/ComuneOrtona';
const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const REGIONE = 'SPC/RegioneAbruzzo';

let federation: InProcessFederation;
let backOffice: DemoBackOffice;
let nodes: { cst: DemoNode; regione: DemoNode };
let cst: RunningNode;
let regione: RunningNode;

beforeAll(async () => {
  federation = await startFederation('async');
  ({ backOffice, nodes, cst, regione } = federation);
});

afterAll(() => federation?.close());

const api = callApi;

const getMessage = (node: DemoNode, party: string, id: string) => api(node, party, 'GET', `/api/v1/messages/${encodeURIComponent(id)}`);

/** An envelope signed by the Regione, as its node would send it to the CST. */
async function regioneEnvelope(opts: {
  service: string;
  to?: string;
  refId?: string;
  conversationId?: string;
  payload?: string;
}): Promise<string> {
  const config = loadConfig(nodes.regione.configFile);
  const service = config.services.find((s) => s.name === opts.service && s.provider === (opts.to ?? ORTONA))!;
  const party = config.parties.find((p) => p.code === REGIONE)!;
  return await sealRequest(
    {
      id: `RegioneAbruzzo_RegioneAbruzzoSPCoopIT_${String(Math.floor(Math.random() * 9_000_000) + 1_000_000)}_2026-01-01_00:00`,
      now: new Date(),
      from: REGIONE,
      to: opts.to ?? ORTONA,
      service,
      payload: opts.payload ?? '<e:Esito xmlns:e="urn:t">forged</e:Esito>',
      ...(opts.refId ? { refId: opts.refId } : {}),
      ...(opts.conversationId ? { conversationId: opts.conversationId } : {}),
    },
    party.identity,
  );
}

async function postToCst(xml: string) {
  const res = await request(`${cst.baseUrl}/tramite/envelope`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8' },
    body: xml,
  });
  const text = await res.body.text();
  return { status: res.statusCode, codes: readEnvelope(text).egov?.eccezioni.map((e) => e.codiceEccezione) ?? [] };
}

describe('asincrono simmetrico', () => {
  it("delivers the request with a ricevuta, then the provider answers on the consumer's correlated service", async () => {
    const payload = '<c:Domanda xmlns:c="urn:tramite:test"><c:importo>1200</c:importo></c:Domanda>';
    const sent = await api(nodes.cst, ORTONA, 'POST', '/api/v1/messages?wait=20', {
      from: ORTONA,
      to: REGIONE,
      service: 'RichiestaContributo',
      payload,
    });
    expect(sent.json).toMatchObject({ status: 'DELIVERED', profile: 'asincronoSimmetrico', answer: null });
    const requestId: string = sent.json.id;
    expect(sent.json.conversationId).toBe(requestId); // the request opens its conversation
    const request = readEnvelope((await cst.node.store.envelopeOf(outboundKey(requestId)))!).egov!;
    expect(request.profiloCollaborazione).toEqual({ profile: 'asincronoSimmetrico', servizioCorrelato: 'EsitoPratica' });
    const ricevuta = readEnvelope((await cst.node.store.replyEnvelopeOf(outboundKey(requestId)))!).egov!;
    expect(ricevuta.messaggio.riferimentoMessaggio).toBe(requestId);

    // The Regione's back office got the request, and answers it later.
    await expect.poll(() => backOffice.receivedBy(REGIONE, requestId)).toBe(true);
    const esito = '<e:Esito xmlns:e="urn:tramite:test"><e:concesso>true</e:concesso></e:Esito>';
    const answered = await api(nodes.regione, REGIONE, 'POST', `/api/v1/messages/${encodeURIComponent(requestId)}/answer`, {
      payload: esito,
    });
    expect(answered.status).toBe(202);
    const answerId: string = answered.json.id;

    // The Comune's back office receives the answer, tied to its request; its request shows the answer.
    await expect
      .poll(() => backOffice.received.find((m) => m.id === answerId), { timeout: 20_000 })
      .toMatchObject({ party: ORTONA, service: 'EsitoPratica', refId: requestId, conversationId: requestId, payload: esito });
    const mine = await getMessage(nodes.cst, ORTONA, requestId);
    expect(mine.json).toMatchObject({ reply: esito, answer: { id: answerId } });
    const theirs = await getMessage(nodes.regione, REGIONE, requestId);
    expect(theirs.json.answer).toMatchObject({ id: answerId });
    const wire = readEnvelope((await regione.node.store.envelopeOf(outboundKey(answerId)))!).egov!;
    expect(wire.messaggio.riferimentoMessaggio).toBe(requestId);
    expect(wire.collaborazione).toBe(requestId);
    expect(wire.servizio?.nome).toBe('EsitoPratica');

    // One answer per request.
    const again = await api(nodes.regione, REGIONE, 'POST', `/api/v1/messages/${encodeURIComponent(requestId)}/answer`, { payload: esito });
    expect(again).toMatchObject({ status: 409, json: { error: { code: 'TRAMITE_ERR_ALREADY_ANSWERED' } } });
  });

  it('refuses, at the back-office API, an answer that refers to no request of that consumer', async () => {
    const noRef = await api(nodes.regione, REGIONE, 'POST', '/api/v1/messages', {
      from: REGIONE,
      to: ORTONA,
      service: 'EsitoPratica',
      payload: '',
    });
    expect(noRef.status).toBe(422);
    expect(noRef.json.error.message).toContain('refId');
    const unknown = await api(nodes.regione, REGIONE, 'POST', '/api/v1/messages', {
      from: REGIONE,
      to: ORTONA,
      service: 'EsitoPratica',
      payload: '',
      refId: 'Nessuno_X_1234567_2026-01-01_00:00',
    });
    expect(unknown.status).toBe(422);
    // A oneway message is not an asynchronous request: it takes no answer.
    const oneway = await api(nodes.cst, FRANCAVILLA, 'POST', '/api/v1/messages?wait=20', {
      from: FRANCAVILLA,
      to: REGIONE,
      service: 'ComunicazioneVariazione',
      action: 'Notifica',
      payload: '<a xmlns="urn:t"/>',
    });
    const notAsync = await api(nodes.regione, REGIONE, 'POST', `/api/v1/messages/${encodeURIComponent(oneway.json.id)}/answer`, {
      payload: '',
    });
    expect(notAsync.status).toBe(409);
  });

  it('refuses, from a peer, answers with a missing, unknown or foreign RiferimentoMessaggio or a wrong Collaborazione', async () => {
    expect(await postToCst(await regioneEnvelope({ service: 'EsitoPratica' }))).toEqual({ status: 500, codes: ['EGOV_IT_109'] });
    expect(
      await postToCst(await regioneEnvelope({ service: 'EsitoPratica', refId: 'ComuneOrtona_CSTChietiSPCoopIT_7654321_2026-01-01_00:00' })),
    ).toEqual({ status: 500, codes: ['EGOV_IT_111'] });

    // A real request of Francavilla: an answer sent to Ortona about it is refused.
    const sent = await api(nodes.cst, FRANCAVILLA, 'POST', '/api/v1/messages?wait=20', {
      from: FRANCAVILLA,
      to: REGIONE,
      service: 'RichiestaContributo',
      payload: '<a xmlns="urn:t"/>',
    });
    expect(await postToCst(await regioneEnvelope({ service: 'EsitoPratica', to: ORTONA, refId: sent.json.id }))).toEqual({
      status: 500,
      codes: ['EGOV_IT_111'],
    });
    expect(
      await postToCst(
        await regioneEnvelope({
          service: 'EsitoPratica',
          to: FRANCAVILLA,
          refId: sent.json.id,
          conversationId: 'ComuneFrancavillaAlMare_CSTChietiSPCoopIT_1111111_2026-01-01_00:00',
        }),
      ),
    ).toEqual({
      status: 500,
      codes: ['EGOV_IT_104'],
    });
    // Nothing of it reached the Comuni's back offices, and the request is still unanswered.
    expect((await getMessage(nodes.cst, FRANCAVILLA, sent.json.id)).json.answer).toBeNull();
    expect(backOffice.received.filter((m) => m.service === 'EsitoPratica' && m.refId === sent.json.id)).toEqual([]);
  });
});

describe('asincrono asimmetrico', () => {
  for (const service of ['CertificatoStorico', 'CertificatoStoricoModI']) {
    it(`${service}: ricevuta, richiesta stato "not yet", then the result once the provider has it`, async () => {
      const sent = await api(nodes.cst, ORTONA, 'POST', '/api/v1/messages?wait=20', {
        from: ORTONA,
        to: REGIONE,
        service,
        payload: '<c:Cert xmlns:c="urn:t"><c:anno>1950</c:anno></c:Cert>',
      });
      expect(sent.json.status).toBe('DELIVERED');
      const requestId: string = sent.json.id;
      await expect.poll(() => backOffice.receivedBy(REGIONE, requestId)).toBe(true);

      const early = await api(nodes.cst, ORTONA, 'POST', `/api/v1/messages/${encodeURIComponent(requestId)}/poll?wait=20`);
      expect(early.json).toMatchObject({ status: 'DELIVERED', refId: requestId });
      expect(early.json.reply).toContain('stato="IN_ELABORAZIONE"');
      expect((await getMessage(nodes.cst, ORTONA, requestId)).json.answer).toBeNull();

      const result = '<c:Certificato xmlns:c="urn:t"><c:esito>rilasciato</c:esito></c:Certificato>';
      const recorded = await api(nodes.regione, REGIONE, 'POST', `/api/v1/messages/${encodeURIComponent(requestId)}/answer`, {
        payload: result,
      });
      expect(recorded.status).toBe(200);
      expect(recorded.json).toMatchObject({ id: requestId, reply: result });

      const late = await api(nodes.cst, ORTONA, 'POST', `/api/v1/messages/${encodeURIComponent(requestId)}/poll?wait=20`);
      expect(late.json).toMatchObject({ status: 'DELIVERED', reply: result });
      expect((await getMessage(nodes.cst, ORTONA, requestId)).json).toMatchObject({ reply: result, answer: { id: late.json.id } });
      // Polls are answered by the node from its log: the back office saw the request only.
      expect(backOffice.received.filter((m) => m.refId === requestId)).toEqual([]);
    });
  }

  it('polls only requests of the caller, and the provider refuses a richiesta stato about no request of that consumer', async () => {
    const sent = await api(nodes.cst, ORTONA, 'POST', '/api/v1/messages?wait=20', {
      from: ORTONA,
      to: REGIONE,
      service: 'CertificatoStorico',
      payload: '<a xmlns="urn:t"/>',
    });
    expect((await api(nodes.cst, FRANCAVILLA, 'POST', `/api/v1/messages/${encodeURIComponent(sent.json.id)}/poll`)).status).toBe(404);
    // Francavilla asks about Ortona's request through the generic API: refused before anything is sent.
    const foreign = await api(nodes.cst, FRANCAVILLA, 'POST', '/api/v1/messages', {
      from: FRANCAVILLA,
      to: REGIONE,
      service: 'CertificatoStorico',
      payload: '',
      refId: sent.json.id,
    });
    expect(foreign.status).toBe(422);
    // A richiesta stato forged by a peer about an unknown request: EGOV_IT_111 from the Regione.
    const config = loadConfig(nodes.cst.configFile);
    const party = config.parties.find((p) => p.code === ORTONA)!;
    const forged = await sealRequest(
      {
        id: `ComuneOrtona_CSTChietiSPCoopIT_${String(Math.floor(Math.random() * 9_000_000) + 1_000_000)}_2026-01-01_00:00`,
        now: new Date(),
        from: ORTONA,
        to: REGIONE,
        service: config.services.find((s) => s.name === 'CertificatoStorico')!,
        payload: '',
        refId: 'ComuneOrtona_CSTChietiSPCoopIT_7777777_2026-01-01_00:00',
      },
      party.identity,
    );
    const res = await request(`${regione.baseUrl}/tramite/envelope`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body: forged,
    });
    expect(res.statusCode).toBe(500);
    expect(readEnvelope(await res.body.text()).egov!.eccezioni.map((e) => e.codiceEccezione)).toEqual(['EGOV_IT_111']);
  });
});
