/**
 * The protocollo interoperabile adapter between two real nodes on 127.0.0.1: a Comune's AOO registers,
 * seals and sends a document; the Regione's AOO checks it, registers it in its own register, hands it
 * to its back office and confirms it; anomalies come back as NotificaEccezione with their code.
 */
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import type { DemoBackOffice } from '../../src/demo/demo-back-office.js';
import { DEMO_AOO, protocolloUrlOf, type DemoNode } from '../../src/demo/demo-federation.js';
import { startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';
import { improntaOf } from '../../adapters/protocollo/impronta.js';
import { buildSegnaturaXml } from '../../adapters/protocollo/segnatura/segnatura-writer.js';
import { writeProtocolloFiles } from '../../adapters/protocollo/transport/protocollo-files.js';
import { signXades } from '../../adapters/sdk/xades/xades-sign.js';
import { amministrazioneOfAoo } from '../../adapters/protocollo/segnatura/segnatura-model.js';

const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const REGIONE = 'SPC/RegioneAbruzzo';

let federation: InProcessFederation;
let backOffice: DemoBackOffice;
let nodes: { cst: DemoNode; regione: DemoNode };
/** The protocollo back-office APIs of the two AOO. */
let francavillaApi: string;
let regioneApi: string;

beforeAll(async () => {
  federation = await startFederation('prot');
  ({ backOffice, nodes } = federation);
  francavillaApi = await protocolloUrlOf(nodes.cst, FRANCAVILLA);
  regioneApi = await protocolloUrlOf(nodes.regione, REGIONE);
});

afterAll(() => federation?.close());

async function call(url: string, method: 'GET' | 'POST', body?: unknown, headers: Record<string, string> = {}) {
  const res = await request(url, {
    method,
    headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, any> };
}

const pdf = Buffer.from('%PDF-1.4 delibera di giunta n. 12 — documento di prova\n');
const inoltro = (over: Record<string, unknown> = {}) => ({
  to: REGIONE,
  destinatario: {
    codiceAmministrazione: DEMO_AOO[REGIONE]!.codiceAmministrazione,
    codiceAOO: DEMO_AOO[REGIONE]!.codiceAOO,
    denominazione: 'Regione Abruzzo',
  },
  oggetto: 'Trasmissione della delibera n. 12 sul piano spiagge',
  classifica: { denominazione: 'Demanio marittimo', codice: 'VI.4' },
  documentoPrimario: { nomeFile: 'delibera.pdf', mimeType: 'application/pdf', contenuto: pdf.toString('base64') },
  allegati: [{ nomeFile: 'planimetria.txt', mimeType: 'text/plain', contenuto: Buffer.from('planimetria').toString('base64') }],
  ...over,
});

describe('protocollo interoperabile between two AOO', () => {
  it('registers, seals and sends; the receiver registers it, hands it over, and confirms it', async () => {
    const sent = await call(`${francavillaApi}/protocollo/inoltri`, 'POST', inoltro());
    expect(sent.status).toBe(202);
    expect(sent.json.identificatore).toMatchObject({
      codiceAOO: 'AOO_FRANCAVILLA',
      codiceRegistro: 'PROT',
      numeroRegistrazione: expect.stringMatching(/^\d{7}$/),
    });
    const numero: string = sent.json.identificatore.numeroRegistrazione;
    const anno = String(sent.json.identificatore.dataRegistrazione).slice(0, 4);

    // The Regione's back office gets the document, registered in the Regione's own register.
    await expect
      .poll(
        () =>
          backOffice.protocollo.find(
            (e) => e.party === REGIONE && e.evento === 'protocollato' && e.controparte?.numeroRegistrazione === numero,
          ),
        { timeout: 20_000 },
      )
      .toBeDefined();
    const received = backOffice.protocollo.find((e) => e.party === REGIONE && e.controparte?.numeroRegistrazione === numero)!;
    expect(received.files?.map((f) => f.nomeFile)).toEqual(['delibera.pdf', 'planimetria.txt']);
    expect(received.registrazione?.identificatore.numeroRegistrazione).toMatch(/^\d{7}$/);

    // The ConfermaRicezione comes back: the Comune's registration is CONFERMATA with the Regione's number.
    await expect
      .poll(async () => (await call(`${francavillaApi}/protocollo/registrazioni/${anno}/${numero}`, 'GET')).json.state, { timeout: 20_000 })
      .toBe('CONFERMATA');
    const mine = await call(`${francavillaApi}/protocollo/registrazioni/${anno}/${numero}`, 'GET');
    expect(mine.json.counterpart.numeroRegistrazione).toBe(received.registrazione!.identificatore.numeroRegistrazione);
    expect(
      backOffice.protocollo.some(
        (e) => e.party === FRANCAVILLA && e.evento === 'conferma' && e.registrazione?.identificatore.numeroRegistrazione === numero,
      ),
    ).toBe(true);
  });

  it('numbers consecutively and never twice under concurrent requests', async () => {
    const sent = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call(`${francavillaApi}/protocollo/inoltri`, 'POST', inoltro({ oggetto: `Documento ${i}`, confermaRicezione: false })),
      ),
    );
    const numbers = sent.map((s) => Number(s.json.identificatore.numeroRegistrazione)).sort((a, b) => a - b);
    expect(new Set(numbers).size).toBe(6);
    expect(numbers[5]! - numbers[0]!).toBe(5);
  });

  /** What a protocol system of the Comune would send through the bus API with a Segnatura of its own making. */
  async function sendOwnSegnatura(numero: string, opts: { digestOf: Buffer; sealer: string }): Promise<void> {
    const config = loadConfig(nodes.cst.configFile);
    const party = config.parties.find((p) => p.code === opts.sealer)!;
    const seal = party.identity;
    const aoo = DEMO_AOO[FRANCAVILLA]!;
    const segnatura = await signXades(
      buildSegnaturaXml({
        form: '2021',
        identificatore: { ...aoo, numeroRegistrazione: numero, dataRegistrazione: '2026-11-23' },
        oggetto: 'Documento di un sistema di protocollo esterno',
        classifica: { denominazione: 'Prova', codice: { kind: 'flat', codice: 'I.1' } },
        mittente: amministrazioneOfAoo(aoo),
        destinatari: [
          {
            soggetto: amministrazioneOfAoo(DEMO_AOO[REGIONE]!),
            confermaRicezione: true,
            perConoscenza: false,
          },
        ],
        documentoPrimario: { nomeFile: 'delibera.pdf', mimeType: 'application/pdf', impronta: improntaOf(opts.digestOf) },
        allegati: [],
      }),
      seal,
    );
    const res = await request(`${nodes.cst.baseUrl}/api/v1/messages?wait=20`, {
      method: 'POST',
      headers: { authorization: `Bearer ${nodes.cst.tokens[FRANCAVILLA]}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        from: FRANCAVILLA,
        to: REGIONE,
        service: 'ProtocolloInteroperabile',
        action: 'MessaggioInoltro',
        payload: writeProtocolloFiles([
          { nomeFile: 'Segnatura.xml', mimeType: 'application/xml', content: Buffer.from(segnatura) },
          { nomeFile: 'delibera.pdf', mimeType: 'application/pdf', content: pdf },
        ]),
      }),
    });
    expect(((await res.body.json()) as { status: string }).status).toBe('DELIVERED');
  }

  async function expectRefusedUnregistered(numero: string, anomalia: string): Promise<void> {
    await expect
      .poll(
        () => backOffice.protocollo.find((e) => e.party === FRANCAVILLA && e.evento === 'eccezione' && e.anomalia?.startsWith(anomalia)),
        { timeout: 20_000 },
      )
      .toBeDefined();
    const registered = (await call(`${regioneApi}/protocollo/registrazioni?limit=1000`, 'GET')).json.registrazioni as Array<{
      counterpart?: { numeroRegistrazione: string };
    }>;
    expect(registered.filter((r) => r.counterpart?.numeroRegistrazione === numero)).toEqual([]);
    expect(backOffice.protocollo.filter((e) => e.party === REGIONE && e.controparte?.numeroRegistrazione === numero)).toEqual([]);
  }

  it('answers a wrong Impronta with NotificaEccezione 002 and registers nothing', async () => {
    await sendOwnSegnatura('0900001', { digestOf: Buffer.from('un altro documento'), sealer: FRANCAVILLA });
    await expectRefusedUnregistered('0900001', '002_AnomaliaImpronta - delibera.pdf');
  });

  it('answers a Segnatura sealed by another party than the sender with NotificaEccezione 001', async () => {
    await sendOwnSegnatura('0900002', { digestOf: pdf, sealer: 'SPC/ComuneOrtona' });
    await expectRefusedUnregistered('0900002', '001_ValidazioneFirma');
  });

  it('registers a real-world 2001 Segnatura (DOCTYPE, ISO-8859-1, no Impronta) flagged, its documents marked unchecked', async () => {
    const segnatura = readFileSync(new URL('../fixtures/protocollo/segnatura-2001-provincia-latin1.xml', import.meta.url));
    const res = await request(`${nodes.cst.baseUrl}/api/v1/messages?wait=20`, {
      method: 'POST',
      headers: { authorization: `Bearer ${nodes.cst.tokens[FRANCAVILLA]}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        from: FRANCAVILLA,
        to: REGIONE,
        service: 'ProtocolloInteroperabile',
        action: 'MessaggioInoltro',
        payload: writeProtocolloFiles([
          { nomeFile: 'Segnatura.xml', mimeType: 'application/xml', content: segnatura },
          { nomeFile: 'Nota_0018342_2026.pdf', mimeType: 'application/pdf', content: pdf },
          { nomeFile: 'Relazione_idraulica.pdf', mimeType: 'application/pdf', content: Buffer.from('%PDF-1.4 relazione idraulica\n') },
        ]),
      }),
    });
    expect(((await res.body.json()) as { status: string }).status).toBe('DELIVERED');

    type Flagged = {
      unchecked?: string[];
      registrazione?: { unchecked?: string[]; state: string };
      segnatura?: { oggetto: string; documentoPrimario: { unchecked?: boolean } };
    };
    await expect
      .poll(
        () =>
          backOffice.protocollo.find(
            (e) => e.party === REGIONE && e.evento === 'protocollato' && e.controparte?.numeroRegistrazione === '0018342',
          ),
        { timeout: 20_000 },
      )
      .toBeDefined();
    const event = backOffice.protocollo.find(
      (e) => e.party === REGIONE && e.controparte?.numeroRegistrazione === '0018342',
    ) as unknown as Flagged;
    expect(event.unchecked).toEqual(['Nota_0018342_2026.pdf', 'Relazione_idraulica.pdf']);
    expect(event.registrazione?.unchecked).toEqual(['Nota_0018342_2026.pdf', 'Relazione_idraulica.pdf']);
    expect(event.segnatura?.documentoPrimario.unchecked).toBe(true);
    expect(event.segnatura?.oggetto).toMatch(
      /in località Sant'Apollinare\. Richiesta di parere di compatibilità idraulica e nulla osta dell'Autorità di bacino$/,
    );

    // The register keeps the flag, and the sender asked for a ConfermaRicezione: it is sent.
    const registered = (await call(`${regioneApi}/protocollo/registrazioni?limit=1000`, 'GET')).json.registrazioni as Array<{
      counterpart?: { numeroRegistrazione: string; codiceAOO: string };
      unchecked?: string[];
      state: string;
    }>;
    const entry = registered.find((r) => r.counterpart?.codiceAOO === 'AOO_PCH' && r.counterpart.numeroRegistrazione === '0018342');
    expect(entry).toMatchObject({ unchecked: ['Nota_0018342_2026.pdf', 'Relazione_idraulica.pdf'] });
    await expect
      .poll(
        async () =>
          ((await call(`${regioneApi}/protocollo/registrazioni?limit=1000`, 'GET')).json.registrazioni as typeof registered).find(
            (r) => r.counterpart?.numeroRegistrazione === '0018342',
          )?.state,
        { timeout: 20_000 },
      )
      .toBe('CONFERMATA');
  });

  it('propagates a cancellation to the receiving AOO', async () => {
    const sent = await call(`${francavillaApi}/protocollo/inoltri`, 'POST', inoltro({ oggetto: 'Da annullare' }));
    const numero: string = sent.json.identificatore.numeroRegistrazione;
    const anno = String(sent.json.identificatore.dataRegistrazione).slice(0, 4);
    await expect
      .poll(
        () =>
          backOffice.protocollo.find(
            (e) => e.party === REGIONE && e.evento === 'protocollato' && e.controparte?.numeroRegistrazione === numero,
          ),
        { timeout: 20_000 },
      )
      .toBeDefined();
    const annulled = await call(`${francavillaApi}/protocollo/annullamenti`, 'POST', {
      anno,
      numero,
      motivo: 'Errore materiale',
      provvedimento: 'Determina n. 3/2026',
    });
    expect(annulled.json.state).toBe('ANNULLATA');
    await expect
      .poll(
        () =>
          backOffice.protocollo.find(
            (e) => e.party === REGIONE && e.evento === 'annullamento' && e.controparte?.numeroRegistrazione === numero,
          )?.registrazione?.state,
        { timeout: 20_000 },
      )
      .toBe('ANNULLATA');
  });

  it('refuses a request that does not match its schema, naming the field', async () => {
    const bad = await call(`${francavillaApi}/protocollo/inoltri`, 'POST', { ...inoltro(), oggetto: '' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: 'TRAMITE_ERR_BAD_REQUEST', message: expect.stringContaining('/oggetto') });
    const missing = await call(`${francavillaApi}/protocollo/registrazioni/2026/0999999`, 'GET');
    expect(missing).toMatchObject({ status: 404, json: { error: { code: '007_ErroreIdentificatoreNonTrovato' } } });
  });

  it("reports its adapters in /health's operator details", async () => {
    const health = await call(`${nodes.regione.baseUrl}/health`, 'GET', undefined, {
      authorization: `Bearer ${nodes.regione.operatorToken}`,
    });
    expect(health.json.adapters.filter((a: { party: string }) => a.party === REGIONE)).toEqual([
      expect.objectContaining({ party: REGIONE, adapter: 'protocollo', version: '1.0.0', status: 'up' }),
    ]);
  });
});
