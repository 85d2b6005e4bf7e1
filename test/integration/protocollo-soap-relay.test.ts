/**
 * A Comune whose own protocol system speaks the AgID SOAP interfaces, exchanging with a Regione whose
 * AOO registers in the adapter: documents and confirmations cross SOAP → bus → register and back.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { DEMO_AOO, protocolloUrlOf } from '../../src/demo/demo-federation.js';
import { improntaOf } from '../../adapters/protocollo/impronta.js';
import { ProtocolloSoapClient } from '../../adapters/protocollo/soap/protocollo-soap-client.js';
import type { ConfermaMessaggioInoltroRequest, MessaggioInoltroRequest } from '../../adapters/protocollo/soap/protocollo-soap-contract.js';
import { ProtocolloSoapServer } from '../../adapters/protocollo/soap/protocollo-soap-server.js';
import { amministrazioneOfAoo, type Identificatore } from '../../adapters/protocollo/segnatura/segnatura-model.js';
import { buildSegnaturaXml } from '../../adapters/protocollo/segnatura/segnatura-writer.js';
import { signXades } from '../../adapters/sdk/xades/xades-sign.js';
import { verifyXades } from '../../adapters/sdk/xades/xades-verify.js';
import { TrustStore } from '../../src/crypto/trust-store.js';
import { patchConfig, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';

const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const REGIONE = 'SPC/RegioneAbruzzo';

/** The Comune's protocol system: it registers what it receives and records the confirmations it gets. */
const system = {
  received: [] as MessaggioInoltroRequest[],
  confirmations: [] as ConfermaMessaggioInoltroRequest[],
  nextNumber: 500,
};
let systemServer: ProtocolloSoapServer;
let federation: InProcessFederation;
let adapterSoap: { destinatario: string; mittente: string };
let regioneApi: string;
const client = new ProtocolloSoapClient();

beforeAll(async () => {
  systemServer = new ProtocolloSoapServer({
    onMessaggioInoltro: async (req) => {
      system.received.push(req);
      return { identificatoreMittente: { ...DEMO_AOO[REGIONE]!, numeroRegistrazione: '0000000', dataRegistrazione: '2026-01-01' } };
    },
    onConfermaMessaggioInoltro: async (req) => {
      system.confirmations.push(req);
      return { identificatoreMittente: req.identificatoreMittente };
    },
    onAnnullamentoInoltroMittente: () => Promise.reject(new Error('unused')),
    onAnnullamentoInoltroDestinatario: () => Promise.reject(new Error('unused')),
  });
  await systemServer.start();
  federation = await startFederation('prot-soap', (nodes) =>
    patchConfig(nodes.cst, (raw) => {
      const party = raw.parties.find((p: { code: string }) => p.code === FRANCAVILLA);
      party.adapters[0].options.soap = {
        listen: { host: '127.0.0.1', port: 0 },
        destinatarioUrl: systemServer.endpoints.destinatario,
        mittenteUrl: systemServer.endpoints.mittente,
        directory: [
          { codiceAmministrazione: DEMO_AOO[REGIONE]!.codiceAmministrazione, codiceAOO: DEMO_AOO[REGIONE]!.codiceAOO, party: REGIONE },
        ],
      };
    }),
  );
  const health = (await (
    await request(`${federation.nodes.cst.baseUrl}/health`, { headers: { authorization: `Bearer ${federation.nodes.cst.operatorToken}` } })
  ).body.json()) as { adapters: Array<{ party: string; detail: string }> };
  const [, destinatario, mittente] = health.adapters.find((a) => a.party === FRANCAVILLA)!.detail.split(' ');
  adapterSoap = { destinatario: destinatario!, mittente: mittente! };
  regioneApi = await protocolloUrlOf(federation.nodes.regione, REGIONE);
});

afterAll(async () => {
  await federation?.close();
  await systemServer?.stop();
});

/** A Segnatura the Comune's protocol system registered and sealed with the Comune's key. */
async function sealedByTheComune(numero: string, documento: Buffer): Promise<Buffer> {
  const party = loadConfig(federation.nodes.cst.configFile).parties.find((p) => p.code === FRANCAVILLA)!;
  const aoo = DEMO_AOO[FRANCAVILLA]!;
  const regione = DEMO_AOO[REGIONE]!;
  const xml = buildSegnaturaXml({
    form: '2021',
    identificatore: { ...aoo, numeroRegistrazione: numero, dataRegistrazione: '2026-11-23' },
    oggetto: 'Richiesta di parere',
    classifica: { denominazione: 'Urbanistica', codice: { kind: 'flat', codice: 'VI.2' } },
    mittente: amministrazioneOfAoo(aoo),
    destinatari: [
      {
        soggetto: amministrazioneOfAoo(regione),
        confermaRicezione: true,
        perConoscenza: false,
      },
    ],
    documentoPrimario: { nomeFile: 'parere.pdf', mimeType: 'application/pdf', impronta: improntaOf(documento) },
    allegati: [],
  });
  return Buffer.from(await signXades(xml, party.identity));
}

describe('protocollo through the AgID SOAP interfaces', () => {
  it('a document the protocol system sends reaches the Regione register, and its confirmation comes back over SOAP', async () => {
    const documento = Buffer.from('%PDF-1.4 richiesta di parere');
    const answer = await client.messaggioInoltro(adapterSoap.destinatario, {
      segnatura: await sealedByTheComune('0000777', documento),
      files: [{ nomeFile: 'parere.pdf', mimeType: 'application/pdf', content: documento }],
    });
    expect(answer).toEqual({ identificatoreMittente: expect.objectContaining({ numeroRegistrazione: '0000777' }) });
    await expect
      .poll(() => system.confirmations.find((c) => c.identificatoreMittente.numeroRegistrazione === '0000777'), { timeout: 20_000 })
      .toBeDefined();
    const conferma = system.confirmations.find((c) => c.identificatoreMittente.numeroRegistrazione === '0000777')!;
    expect(conferma.identificatoreDestinatario).toMatchObject({
      codiceAOO: DEMO_AOO[REGIONE]!.codiceAOO,
      numeroRegistrazione: expect.stringMatching(/^\d{7}$/),
    });
    expect(
      federation.backOffice.protocollo.some(
        (e) => e.party === REGIONE && e.evento === 'protocollato' && e.controparte?.numeroRegistrazione === '0000777',
      ),
    ).toBe(true);
  });

  it('answers the protocol system with anomaly 002 for a wrong digest, and sends nothing', async () => {
    const answer = await client.messaggioInoltro(adapterSoap.destinatario, {
      segnatura: await sealedByTheComune('0000778', Buffer.from('altro')),
      files: [{ nomeFile: 'parere.pdf', mimeType: 'application/pdf', content: Buffer.from('questo') }],
    });
    expect(answer.anomalia).toMatchObject({ code: '002_AnomaliaImpronte' });
    await new Promise((r) => setTimeout(r, 500));
    expect(federation.backOffice.protocollo.some((e) => e.controparte?.numeroRegistrazione === '0000778')).toBe(false);
  });

  it('hands a document from the Regione to the protocol system, sealed as sent, and relays its ConfermaMessaggioInoltro', async () => {
    const sent = await request(`${regioneApi}/protocollo/inoltri`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        to: FRANCAVILLA,
        destinatario: {
          codiceAmministrazione: DEMO_AOO[FRANCAVILLA]!.codiceAmministrazione,
          codiceAOO: DEMO_AOO[FRANCAVILLA]!.codiceAOO,
          denominazione: 'Comune di Francavilla al Mare',
        },
        oggetto: 'Parere favorevole',
        classifica: { denominazione: 'Urbanistica', codice: 'VI.2' },
        documentoPrimario: {
          nomeFile: 'parere.pdf',
          mimeType: 'application/pdf',
          contenuto: Buffer.from('%PDF parere').toString('base64'),
        },
      }),
    });
    const { identificatore } = (await sent.body.json()) as { identificatore: Identificatore };
    await expect.poll(() => system.received.length, { timeout: 20_000 }).toBeGreaterThan(0);
    const got = system.received.at(-1)!;
    expect(got.files.map((f) => f.content.toString())).toEqual(['%PDF parere']);
    // The protocol system can check the Regione's seal itself.
    const regioneCa = loadConfig(federation.nodes.regione.configFile).trust.anchors;
    expect(verifyXades(got.segnatura, { trust: TrustStore.fromCertificates([...regioneCa]) }).signer.subject).toContain(
      'CN=RegioneAbruzzo',
    );

    // It registers the document and confirms, through the adapter's mittente interface.
    const mine = {
      ...DEMO_AOO[FRANCAVILLA]!,
      numeroRegistrazione: String(++system.nextNumber).padStart(7, '0'),
      dataRegistrazione: '2026-11-23',
    };
    await client.confermaMessaggioInoltro(adapterSoap.mittente, {
      identificatoreMittente: identificatore,
      identificatoreDestinatario: mine,
    });
    const url = `${regioneApi}/protocollo/registrazioni/${identificatore.dataRegistrazione.slice(0, 4)}/${identificatore.numeroRegistrazione}`;
    await expect
      .poll(async () => ((await (await request(url)).body.json()) as { state: string }).state, { timeout: 20_000 })
      .toBe('CONFERMATA');
    expect(((await (await request(url)).body.json()) as { counterpart: Identificatore }).counterpart.numeroRegistrazione).toBe(
      mine.numeroRegistrazione,
    );
  });

  it('refuses a confirmation about a document that never came through the node (007)', async () => {
    const unknown = { ...DEMO_AOO[REGIONE]!, numeroRegistrazione: '0999999', dataRegistrazione: '2026-11-23' };
    await expect(
      client.confermaMessaggioInoltro(adapterSoap.mittente, { identificatoreMittente: unknown, identificatoreDestinatario: unknown }),
    ).rejects.toMatchObject({ code: '007_ErroreIdentificatoreNonTrovato', retriable: false });
  });
});
