import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { improntaOf } from '../../adapters/protocollo/impronta.js';
import { buildSegnaturaXml } from '../../adapters/protocollo/segnatura/segnatura-writer.js';
import { writeProtocolloFiles } from '../../adapters/protocollo/transport/protocollo-files.js';
import { memorySigner, signXades } from '../../adapters/sdk/index.js';
import { DEMO_AOO, DEMO_REGISTRY_COMUNE, adapterUrlOf, protocolloUrlOf } from './demo-federation.js';
import { computeCodiceFiscale } from '../../adapters/sdk/index.js';
import type { DemoBackOffice } from './demo-back-office.js';
import type { DemoNode } from './demo-federation.js';
import { amministrazioneOfAoo } from '../../adapters/protocollo/segnatura/segnatura-model.js';
import { restScenarios, type DemoRestWorld } from './rest-scenarios.js';
import { competenceScenarios } from './competence-scenarios.js';
import { DEMO_COMPETENCE } from './demo-competence.js';
import type { ExchangeReport } from './exchange-report.js';

export type { ExchangeReport } from './exchange-report.js';

/** Stops one node's process (as an outage would) and starts it again. */
export interface NodeControl {
  /** SIGTERM (a clean stop), or SIGKILL to simulate a crash. */
  stopNode(name: 'cst' | 'regione', signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  startNode(name: 'cst' | 'regione'): Promise<void>;
}

interface Scenario {
  readonly name: string;
  readonly node: 'cst' | 'regione';
  readonly body: { from: string; to: string; service: string; action?: string; payload: string };
  readonly expected: 'DELIVERED' | 'FAILED';
  /** For a refusal: the EGOV_IT code the peer must give. */
  readonly expectedCode?: string;
  /** Whether a signed receipt (riscontro / signed answer) must come back. */
  readonly receipt: boolean;
  /** For a sincrono call: text the answer must contain. */
  readonly replyContains?: string;
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'oneway-conferma-ricezione',
    node: 'cst',
    body: {
      from: 'SPC/ComuneFrancavillaAlMare',
      to: 'SPC/RegioneAbruzzo',
      service: 'ComunicazioneVariazione',
      action: 'Notifica',
      payload:
        '<var:Variazione xmlns:var="urn:tramite:demo:anagrafe"><var:tipo>cambio-indirizzo</var:tipo><var:codiceFiscale>RSSMRA85T10A562S</var:codiceFiscale></var:Variazione>',
    },
    expected: 'DELIVERED',
    receipt: true,
  },
  {
    name: 'sincrono-egov',
    node: 'cst',
    body: {
      from: 'SPC/ComuneOrtona',
      to: 'SPC/RegioneAbruzzo',
      service: 'VerificaResidenza',
      payload:
        '<ana:Richiesta xmlns:ana="urn:tramite:demo:anagrafe"><ana:codiceFiscale>BNCLRA70A41G482X</ana:codiceFiscale></ana:Richiesta>',
    },
    expected: 'DELIVERED',
    receipt: true,
    replyContains: 'BNCLRA70A41G482X',
  },
  {
    name: 'sincrono-modi',
    node: 'cst',
    body: {
      from: 'SPC/ComuneFrancavillaAlMare',
      to: 'SPC/RegioneAbruzzo',
      service: 'ConsultaAnagrafe',
      payload:
        '<ana:Richiesta xmlns:ana="urn:tramite:demo:anagrafe"><ana:codiceFiscale>VRDGPP60C12H501Y</ana:codiceFiscale></ana:Richiesta>',
    },
    expected: 'DELIVERED',
    receipt: true,
    replyContains: 'VRDGPP60C12H501Y',
  },
  {
    name: 'oneway-regione-to-comune',
    node: 'regione',
    body: {
      from: 'SPC/RegioneAbruzzo',
      to: 'SPC/ComuneFrancavillaAlMare',
      service: 'AvvisoScadenza',
      payload: '<avv:Avviso xmlns:avv="urn:tramite:demo:tributi"><avv:scadenza>2026-12-16</avv:scadenza></avv:Avviso>',
    },
    expected: 'DELIVERED',
    receipt: false,
  },
  {
    name: 'unknown-service-refused',
    node: 'cst',
    body: {
      from: 'SPC/ComuneOrtona',
      to: 'SPC/RegioneAbruzzo',
      service: 'ServizioDismesso',
      payload: '<x:Vuoto xmlns:x="urn:tramite:demo"/>',
    },
    expected: 'FAILED',
    expectedCode: 'EGOV_IT_105',
    receipt: false,
  },
];

/** Runs every scenario through the nodes' real back-office API and checks each end state. */
export async function runScenarios(
  nodes: { cst: DemoNode; regione: DemoNode },
  backOffice: DemoBackOffice,
  control: NodeControl,
  pec: { readonly provider?: unknown; readonly unavailable?: string } = { unavailable: 'not started' },
  rest?: DemoRestWorld,
): Promise<ExchangeReport[]> {
  const reports: ExchangeReport[] = [];
  for (const s of SCENARIOS) reports.push(await runOne(s, nodes[s.node], backOffice));
  if (pec.provider) {
    reports.push(
      await pecScenario(nodes.cst, backOffice, 'pec-consegna', PEC_CITTADINO, [
        'accettazione ACCEPTED_BY_PROVIDER',
        'avvenuta-consegna DELIVERED',
      ]),
    );
    reports.push(
      await pecScenario(nodes.cst, backOffice, 'pec-errore-consegna', 'nessuno@pec.cittadini.example', [
        'accettazione ACCEPTED_BY_PROVIDER',
        'errore-consegna FAILED',
      ]),
    );
  } else {
    // Said, not hidden: the PEC scenarios need Dovecot (npm test installs it; as root the demo could too).
    for (const scenario of ['pec-consegna', 'pec-errore-consegna'])
      reports.push({
        scenario,
        id: null,
        status: 'SKIPPED',
        expected: 'a PEC provider',
        ok: true,
        receipt: false,
        attempts: 0,
        detail: pec.unavailable ?? 'no PEC provider',
      });
  }
  reports.push(await asincronoSimmetrico(nodes, backOffice));
  reports.push(await asincronoAsimmetrico(nodes, backOffice));
  reports.push(await inaSaiaNascita(nodes.cst));
  reports.push(await siatelVerifica(nodes.cst));
  reports.push(await siatelMassiva(nodes.cst));
  reports.push(await protocolloConConferma(nodes, backOffice));
  reports.push(await protocolloImprontaErrata(nodes, backOffice));
  if (rest) reports.push(...(await restScenarios(nodes, rest)));
  // Routing by competence, when the federation carries the CST's portal (writeDemoFederation's `competence`).
  if (nodes.cst.tokens[DEMO_COMPETENCE.portal]) reports.push(...(await competenceScenarios(nodes.cst, backOffice)));
  reports.push(await regioneDownAtFirst(nodes, backOffice, control));
  return reports;
}

type MessageView = {
  id: string;
  status: string;
  attempts: number;
  receipt: unknown;
  reply: string | null;
  answer: { id?: string } | null;
  error: { code: string } | null;
};

/** One call of a node's back-office API as `party`. */
async function callApi(
  node: DemoNode,
  party: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; json: MessageView }> {
  const res = await request(`${node.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${node.tokens[party]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.statusCode, json: (await res.body.json()) as MessageView };
}

function report(scenario: string, expected: string, view: Partial<MessageView>, problems: string[]): ExchangeReport {
  return {
    scenario,
    id: view.id ?? null,
    status: view.status ?? 'none',
    expected,
    ok: problems.length === 0,
    receipt: view.receipt !== null && view.receipt !== undefined,
    attempts: view.attempts ?? 0,
    ...(view.error ? { code: view.error.code } : {}),
    ...(problems.length > 0 ? { detail: problems.join('; ') } : {}),
  };
}

/**
 * Asincrono simmetrico: a Comune asks the Regione for a contribution and gets a ricevuta; the
 * Regione's back office answers later; the answer reaches the Comune on its EsitoPratica service,
 * tied to the request by RiferimentoMessaggio.
 */
async function asincronoSimmetrico(nodes: { cst: DemoNode; regione: DemoNode }, backOffice: DemoBackOffice): Promise<ExchangeReport> {
  const comune = 'SPC/ComuneFrancavillaAlMare';
  const regione = 'SPC/RegioneAbruzzo';
  const problems: string[] = [];
  const sent = await callApi(nodes.cst, comune, 'POST', '/api/v1/messages?wait=30', {
    from: comune,
    to: regione,
    service: 'RichiestaContributo',
    payload: '<ctr:Domanda xmlns:ctr="urn:tramite:demo:contributi"><ctr:importo>1500</ctr:importo></ctr:Domanda>',
  });
  if (sent.json.status !== 'DELIVERED' || !sent.json.receipt)
    problems.push(`request ${sent.json.status ?? `HTTP ${sent.status}`} without ricevuta`);
  const id = sent.json.id;
  if (id && (await eventually(() => backOffice.receivedBy(regione, id)))) {
    const esito = '<ctr:Esito xmlns:ctr="urn:tramite:demo:contributi"><ctr:concesso>true</ctr:concesso></ctr:Esito>';
    const answered = await callApi(nodes.regione, regione, 'POST', `/api/v1/messages/${encodeURIComponent(id)}/answer`, { payload: esito });
    if (answered.status !== 202) problems.push(`answer refused: HTTP ${answered.status}`);
    const arrived = await eventually(
      () => backOffice.received.some((m) => m.party === comune && m.service === 'EsitoPratica' && m.refId === id),
      20_000,
    );
    if (!arrived) problems.push('the answer did not reach the Comune back office');
  } else problems.push('the Regione back office did not receive the request');
  const final = id ? (await callApi(nodes.cst, comune, 'GET', `/api/v1/messages/${encodeURIComponent(id)}`)).json : sent.json;
  if (!final.answer?.id) problems.push('the request shows no answer');
  return report('asincrono-simmetrico', 'DELIVERED, then answered on EsitoPratica', final, problems);
}

/**
 * Asincrono asimmetrico: a Comune asks for a historical certificate and gets a ricevuta; its first
 * richiesta stato finds it in progress; once the Regione's back office has the result, the next
 * richiesta stato brings it back.
 */
async function asincronoAsimmetrico(nodes: { cst: DemoNode; regione: DemoNode }, backOffice: DemoBackOffice): Promise<ExchangeReport> {
  const comune = 'SPC/ComuneOrtona';
  const regione = 'SPC/RegioneAbruzzo';
  const problems: string[] = [];
  const sent = await callApi(nodes.cst, comune, 'POST', '/api/v1/messages?wait=30', {
    from: comune,
    to: regione,
    service: 'CertificatoStorico',
    payload: '<crt:Richiesta xmlns:crt="urn:tramite:demo:certificati"><crt:anno>1961</crt:anno></crt:Richiesta>',
  });
  if (sent.json.status !== 'DELIVERED' || !sent.json.receipt)
    problems.push(`request ${sent.json.status ?? `HTTP ${sent.status}`} without ricevuta`);
  const id = sent.json.id;
  if (id && (await eventually(() => backOffice.receivedBy(regione, id)))) {
    const early = await callApi(nodes.cst, comune, 'POST', `/api/v1/messages/${encodeURIComponent(id)}/poll?wait=30`);
    if (!early.json.reply?.includes('IN_ELABORAZIONE')) problems.push('the first richiesta stato did not say "in progress"');
    const certificato = '<crt:Certificato xmlns:crt="urn:tramite:demo:certificati"><crt:esito>rilasciato</crt:esito></crt:Certificato>';
    await callApi(nodes.regione, regione, 'POST', `/api/v1/messages/${encodeURIComponent(id)}/answer`, { payload: certificato });
    const late = await callApi(nodes.cst, comune, 'POST', `/api/v1/messages/${encodeURIComponent(id)}/poll?wait=30`);
    if (late.json.reply !== certificato) problems.push('the second richiesta stato did not bring the result');
  } else problems.push('the Regione back office did not receive the request');
  const final = id ? (await callApi(nodes.cst, comune, 'GET', `/api/v1/messages/${encodeURIComponent(id)}`)).json : sent.json;
  if (!final.answer?.id) problems.push('the request shows no answer');
  return report('asincrono-asimmetrico', 'DELIVERED, in progress, then the result by richiesta stato', final, problems);
}

async function postJson(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

async function pollJson(url: string, done: (j: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>> {
  const until = Date.now() + ms;
  for (;;) {
    const j = (await (await request(url)).body.json()) as Record<string, unknown>;
    if (done(j) || Date.now() > until) return j;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** INA-SAIA: a birth registered in the Comune flows to INA as a sealed Comunicazione and its esito comes back. */
async function inaSaiaNascita(cst: DemoNode): Promise<ExchangeReport> {
  const api = await adapterUrlOf(cst, DEMO_REGISTRY_COMUNE.party, 'ina-saia');
  const today = new Date().toISOString().slice(0, 10);
  const bimbo = { cognome: 'DI NARDO', nome: 'LUCA', sesso: 'M', dataNascita: today, luogoNascita: DEMO_REGISTRY_COMUNE.belfiore } as const;
  const codiceFiscale = computeCodiceFiscale({
    surname: bimbo.cognome,
    name: bimbo.nome,
    birthDate: bimbo.dataNascita,
    sex: bimbo.sesso,
    placeCode: bimbo.luogoNascita,
  });
  const sent = await postJson(`${api}/ina-saia/eventi`, {
    tipo: 'iscrizione',
    motivo: 'nascita',
    dataEvento: today,
    soggetto: { codiceFiscale, ...bimbo },
    indirizzo: { toponimo: 'CORSO MATTEOTTI', civico: '5', cap: '66026' },
    famiglia: { idFamiglia: 'FAM-2026-77', relazione: 'figlio' },
  });
  const final = sent.json['id']
    ? await pollJson(`${api}/ina-saia/eventi/${String(sent.json['id'])}`, (j) => j['stato'] !== 'QUEUED' && j['stato'] !== 'SENT', 30_000)
    : sent.json;
  const ok = final['stato'] === 'ACCEPTED';
  return {
    scenario: 'ina-saia-nascita',
    id: (final['messageId'] as string | undefined) ?? null,
    status: String(final['stato'] ?? `HTTP ${sent.status}`),
    expected: 'ACCEPTED by INA',
    ok,
    receipt: ok,
    attempts: Number(final['tentativi'] ?? 0),
    ...(ok ? {} : { detail: JSON.stringify(final['ultimoErrore'] ?? final['errori'] ?? final) }),
  };
}

/** SIATEL: a codice fiscale verified with the Agenzia delle Entrate through the bus. */
async function siatelVerifica(cst: DemoNode): Promise<ExchangeReport> {
  const api = await adapterUrlOf(cst, DEMO_REGISTRY_COMUNE.party, 'siatel');
  const r = await postJson(`${api}/siatel/verifiche`, { operatore: 'anagrafe-ortona', codiceFiscale: 'RSSMRA80A01H501U' });
  const ok = r.status === 200 && r.json['fonte'] === 'SIATEL';
  return {
    scenario: 'siatel-verifica',
    id: (r.json['messageId'] as string | undefined) ?? null,
    status: String(r.json['esito'] ?? `HTTP ${r.status}`),
    expected: 'an answer from SIATEL',
    ok,
    receipt: ok,
    attempts: 1,
    ...(ok ? {} : { detail: JSON.stringify(r.json) }),
  };
}

/**
 * SIATEL bulk: 1,000 codici fiscali, one query each, through the operator's quota (60 a minute, 500 a
 * day): it takes two Italian days, so the demo runs the SIATEL clock faster; the simulator blocks an
 * operator who exceeds the limits, so a job that completes with no error proves they held.
 */
async function siatelMassiva(cst: DemoNode): Promise<ExchangeReport> {
  const api = await adapterUrlOf(cst, DEMO_REGISTRY_COMUNE.party, 'siatel');
  const nomi = ['MARCO', 'GIULIA', 'ANNA', 'LUCA', 'SARA', 'PAOLO', 'ELENA', 'DAVIDE', 'CHIARA', 'MATTEO'];
  const cognomi = ['ROSSI', 'BIANCHI', 'DE LUCA', 'ESPOSITO', 'RICCI', 'MARINO', 'GRECO', 'BRUNO', 'GALLO', 'CONTI'];
  const codes = Array.from({ length: 1000 }, (_, i) => {
    const day = new Date(Date.UTC(1950 + (i % 60), i % 12, 1 + (i % 28)));
    return computeCodiceFiscale({
      surname: cognomi[i % 10]!,
      name: nomi[Math.floor(i / 10) % 10]!,
      birthDate: day.toISOString().slice(0, 10),
      sex: i % 2 ? 'F' : 'M',
      placeCode: 'G141',
    });
  });
  const operatore = 'tributi-massiva';
  const sent = await postJson(`${api}/siatel/massive`, { operatore, codiciFiscali: codes });
  const final = sent.json['avanzamento']
    ? await pollJson(`${api}${String(sent.json['avanzamento'])}`, (j) => j['stato'] !== 'in_corso', 180_000)
    : sent.json;
  const quota = (await (await request(`${api}/siatel/stato?operatore=${operatore}`)).body.json()) as Record<string, unknown>;
  const ok = final['stato'] === 'completato' && final['errori'] === 0 && Number(quota['codiciOggi']) <= 500;
  return {
    scenario: 'siatel-massiva-1000',
    id: (sent.json['id'] as string | undefined) ?? null,
    status: `${String(final['stato'])}: ${String(final['completati'])}/${String(final['totale'])}, errori ${String(final['errori'])}, codici oggi ${String(quota['codiciOggi'])}/500`,
    expected: 'completato, no operator block',
    ok,
    receipt: ok,
    attempts: 0,
    ...(ok ? {} : { detail: JSON.stringify(final).slice(0, 500) }),
  };
}

const PEC_COMUNE = 'SPC/ComuneFrancavillaAlMare';
const PEC_CITTADINO = 'mario.rossi@pec.cittadini.example';

/**
 * PEC: the Comune's back office sends a certified e-mail through the bus (InvioPEC); the provider's
 * receipts come back to it as RicevutaPEC bus messages: accettazione, then consegna or errore-consegna.
 */
async function pecScenario(
  cst: DemoNode,
  backOffice: DemoBackOffice,
  scenario: string,
  to: string,
  expected: readonly string[],
): Promise<ExchangeReport> {
  const payload = `<pec:InvioPEC xmlns:pec="urn:tramite:pec:1"><pec:Destinatario>${to}</pec:Destinatario><pec:Oggetto>Avviso di accertamento TARI 2026</pec:Oggetto><pec:Testo>Si trasmette in allegato l'avviso.</pec:Testo><pec:Allegato nome="avviso.pdf" mimeType="application/pdf">${Buffer.from('%PDF-1.4 avviso').toString('base64')}</pec:Allegato></pec:InvioPEC>`;
  const sent = await callApi(cst, PEC_COMUNE, 'POST', '/api/v1/messages?wait=30', {
    from: PEC_COMUNE,
    to: PEC_COMUNE,
    service: 'InvioPEC',
    payload,
  });
  const receipts = () =>
    backOffice.received
      .filter((m) => m.party === PEC_COMUNE && m.service === 'RicevutaPEC' && m.refId === sent.json.id)
      .map((m) => `${/tipo="([^"]+)"/.exec(m.payload)?.[1]} ${/stato="([^"]+)"/.exec(m.payload)?.[1]}`);
  const complete = await eventually(() => expected.every((e) => receipts().includes(e)), 30_000);
  const seen = receipts();
  return {
    scenario,
    id: sent.json.id ?? null,
    status: seen.join(', ') || 'no receipt',
    expected: expected.join(', '),
    ok: complete && sent.json.status === 'DELIVERED',
    receipt: seen.length > 0,
    attempts: sent.json.attempts ?? 0,
    ...(complete ? {} : { detail: `receipts seen: ${seen.join(', ') || 'none'}` }),
  };
}

const COMUNE_AOO = 'SPC/ComuneFrancavillaAlMare';
const REGIONE_AOO = 'SPC/RegioneAbruzzo';

/**
 * Protocollo interoperabile: the Comune's AOO registers, seals and sends a deliberation to the
 * Regione's AOO, which registers it in its own register and returns ConfermaRicezione.
 */
async function protocolloConConferma(nodes: { cst: DemoNode; regione: DemoNode }, backOffice: DemoBackOffice): Promise<ExchangeReport> {
  const problems: string[] = [];
  const api = await protocolloUrlOf(nodes.cst, COMUNE_AOO);
  const res = await request(`${api}/protocollo/inoltri`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      to: REGIONE_AOO,
      destinatario: {
        codiceAmministrazione: DEMO_AOO[REGIONE_AOO]!.codiceAmministrazione,
        codiceAOO: DEMO_AOO[REGIONE_AOO]!.codiceAOO,
        denominazione: DEMO_AOO[REGIONE_AOO]!.denominazione,
      },
      oggetto: 'Delibera di giunta n. 12: piano spiagge',
      classifica: { denominazione: 'Demanio marittimo', codice: 'VI.4' },
      documentoPrimario: {
        nomeFile: 'delibera.pdf',
        mimeType: 'application/pdf',
        contenuto: Buffer.from('%PDF-1.4 delibera n. 12').toString('base64'),
      },
    }),
  });
  const sent = (await res.body.json()) as {
    identificatore?: { numeroRegistrazione: string; dataRegistrazione: string };
    messageId?: string;
    error?: { code: string };
  };
  if (res.statusCode !== 202 || !sent.identificatore)
    return report('protocollo-conferma-ricezione', 'CONFERMATA', {}, [`inoltro refused: ${sent.error?.code ?? res.statusCode}`]);
  const { numeroRegistrazione: numero, dataRegistrazione } = sent.identificatore;
  const registered = await eventually(
    () =>
      backOffice.protocollo.some(
        (e) => e.party === REGIONE_AOO && e.evento === 'protocollato' && e.controparte?.numeroRegistrazione === numero,
      ),
    20_000,
  );
  if (!registered) problems.push('the Regione AOO did not register it');
  let state = '';
  const until = Date.now() + 20_000;
  while (state !== 'CONFERMATA' && Date.now() < until) {
    const r = await request(`${api}/protocollo/registrazioni/${dataRegistrazione.slice(0, 4)}/${numero}`);
    state = ((await r.body.json()) as { state?: string }).state ?? '';
    if (state !== 'CONFERMATA') await new Promise((r2) => setTimeout(r2, 100));
  }
  if (state !== 'CONFERMATA') problems.push(`registration ${numero} ended ${state || 'unknown'}, not CONFERMATA`);
  return {
    scenario: 'protocollo-conferma-ricezione',
    id: sent.messageId ?? null,
    status: state || 'none',
    expected: 'CONFERMATA',
    ok: problems.length === 0,
    receipt: registered,
    attempts: 1,
    ...(problems.length ? { detail: problems.join('; ') } : {}),
  };
}

/**
 * A protocol system of the Comune sends, through the bus API, a Segnatura whose Impronta does not match
 * the document: the Regione's AOO registers nothing and answers NotificaEccezione 002.
 */
async function protocolloImprontaErrata(nodes: { cst: DemoNode; regione: DemoNode }, backOffice: DemoBackOffice): Promise<ExchangeReport> {
  const aoo = DEMO_AOO[COMUNE_AOO]!;
  const regione = DEMO_AOO[REGIONE_AOO]!;
  const nome = COMUNE_AOO.split('/')[1]!;
  const certPem = readFileSync(join(nodes.cst.dir, 'pki', `${nome}.cert.pem`), 'utf8');
  const seal = memorySigner({
    privateKey: createPrivateKey(readFileSync(join(nodes.cst.dir, 'pki', `${nome}.key.pem`))),
    certificate: new X509Certificate(certPem),
    certPem,
  });
  const numero = '0999001';
  const documento = Buffer.from('%PDF-1.4 determina n. 7');
  const segnatura = await signXades(
    buildSegnaturaXml({
      form: '2021',
      identificatore: { ...aoo, numeroRegistrazione: numero, dataRegistrazione: new Date().toISOString().slice(0, 10) },
      oggetto: 'Determina n. 7 (impronta calcolata su un altro file)',
      classifica: { denominazione: 'Affari generali', codice: { kind: 'flat', codice: 'I.1' } },
      mittente: amministrazioneOfAoo(aoo),
      destinatari: [
        {
          soggetto: amministrazioneOfAoo(regione),
          confermaRicezione: true,
          perConoscenza: false,
        },
      ],
      documentoPrimario: { nomeFile: 'determina.pdf', mimeType: 'application/pdf', impronta: improntaOf(Buffer.from('un altro file')) },
      allegati: [],
    }),
    seal,
  );
  const sent = await callApi(nodes.cst, COMUNE_AOO, 'POST', '/api/v1/messages?wait=30', {
    from: COMUNE_AOO,
    to: REGIONE_AOO,
    service: 'ProtocolloInteroperabile',
    action: 'MessaggioInoltro',
    payload: writeProtocolloFiles([
      { nomeFile: 'Segnatura.xml', mimeType: 'application/xml', content: Buffer.from(segnatura) },
      { nomeFile: 'determina.pdf', mimeType: 'application/pdf', content: documento },
    ]),
  });
  const problems: string[] = [];
  if (sent.json.status !== 'DELIVERED') problems.push(`the bus message ended ${sent.json.status ?? `HTTP ${sent.status}`}`);
  const eccezione = await eventually(
    () =>
      backOffice.protocollo.some(
        (e) => e.party === COMUNE_AOO && e.evento === 'eccezione' && (e.anomalia ?? '').startsWith('002_AnomaliaImpronta'),
      ),
    20_000,
  );
  if (!eccezione) problems.push('no NotificaEccezione 002 came back');
  if (backOffice.protocollo.some((e) => e.party === REGIONE_AOO && e.controparte?.numeroRegistrazione === numero))
    problems.push('the Regione registered it all the same');
  return {
    scenario: 'protocollo-impronta-errata',
    id: sent.json.id ?? null,
    status: eccezione ? 'NotificaEccezione 002_AnomaliaImpronta' : 'none',
    expected: 'NotificaEccezione 002_AnomaliaImpronta',
    ok: problems.length === 0,
    receipt: eccezione,
    attempts: sent.json.attempts ?? 0,
    ...(problems.length ? { detail: problems.join('; ') } : {}),
  };
}

/**
 * The Regione node is down when a Comune sends; the CST keeps the message and retries; the Regione
 * comes back and the message ends DELIVERED after more than one attempt.
 */
async function regioneDownAtFirst(
  nodes: { cst: DemoNode; regione: DemoNode },
  backOffice: DemoBackOffice,
  control: NodeControl,
): Promise<ExchangeReport> {
  const scenario = 'regione-down-then-back';
  const expected = 'DELIVERED (attempts > 1)';
  await control.stopNode('regione');
  const from = 'SPC/ComuneOrtona';
  const token = nodes.cst.tokens[from];
  const res = await request(`${nodes.cst.baseUrl}/api/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      from,
      to: 'SPC/RegioneAbruzzo',
      service: 'ComunicazioneVariazione',
      action: 'Notifica',
      payload: '<var:Variazione xmlns:var="urn:tramite:demo:anagrafe"><var:tipo>emigrazione</var:tipo></var:Variazione>',
    }),
  });
  const { id } = (await res.body.json()) as { id: string };
  const view = async () => {
    const r = await request(`${nodes.cst.baseUrl}/api/v1/messages/${encodeURIComponent(id)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return (await r.body.json()) as { status: string; attempts: number; receipt: unknown; error: { code: string } | null };
  };
  const until = async (check: (v: Awaited<ReturnType<typeof view>>) => boolean, ms: number) => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await view();
      if (check(v) || Date.now() > end) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await until((v) => v.attempts >= 2, 15_000);
  await control.startNode('regione');
  const final = await until((v) => v.status === 'DELIVERED' || v.status === 'FAILED', 30_000);
  const delivered = final.status === 'DELIVERED' && (await eventually(() => backOffice.receivedBy('SPC/RegioneAbruzzo', id)));
  const ok = final.status === 'DELIVERED' && final.attempts > 1 && delivered;
  return {
    scenario,
    id,
    status: final.status,
    expected,
    ok,
    receipt: final.receipt !== null && final.receipt !== undefined,
    attempts: final.attempts,
    ...(final.error ? { code: final.error.code } : {}),
    ...(ok
      ? {}
      : { detail: `ended ${final.status} after ${final.attempts} attempts${delivered ? '' : '; back office did not receive it'}` }),
  };
}

async function runOne(s: Scenario, node: DemoNode, backOffice: DemoBackOffice): Promise<ExchangeReport> {
  const res = await request(`${node.baseUrl}/api/v1/messages?wait=30`, {
    method: 'POST',
    headers: { authorization: `Bearer ${node.tokens[s.body.from]}`, 'content-type': 'application/json' },
    body: JSON.stringify(s.body),
  });
  const view = (await res.body.json()) as {
    id?: string;
    status?: string;
    attempts?: number;
    receipt?: unknown;
    reply?: string | null;
    error?: { code: string; message: string } | null;
  };
  const expected = s.expectedCode ? `${s.expected} (${s.expectedCode})` : s.expected;
  const status = view.status ?? `HTTP ${res.statusCode}`;
  const receipt = view.receipt !== null && view.receipt !== undefined;
  const problems: string[] = [];
  if (status !== s.expected) problems.push(`status ${status}`);
  if (s.expectedCode && view.error?.code !== s.expectedCode) problems.push(`code ${view.error?.code ?? 'none'}`);
  if (receipt !== s.receipt) problems.push(s.receipt ? 'no signed receipt' : 'unexpected receipt');
  if (s.replyContains && !(view.reply ?? '').includes(s.replyContains)) problems.push('answer does not match the request');
  if (s.expected === 'DELIVERED' && view.id && !(await eventually(() => backOffice.receivedBy(s.body.to, view.id!))))
    problems.push('back office did not receive it');
  return {
    scenario: s.name,
    id: view.id ?? null,
    status,
    expected,
    ok: problems.length === 0,
    receipt,
    attempts: view.attempts ?? 0,
    ...(view.error ? { code: view.error.code } : {}),
    ...(problems.length > 0 ? { detail: problems.join('; ') } : {}),
  };
}

/** Oneway dispatch to the back office happens just after the riscontro: give it a moment. */
async function eventually(check: () => boolean, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
