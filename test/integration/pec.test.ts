/**
 * PEC end to end: a Comune's back office sends a certified e-mail through its node; the PEC adapter
 * submits it to a (simulated) provider over SMTP; the provider's signed receipts land in the Comune's
 * real Dovecot mailbox, the adapter reads them over IMAP and they reach the back office as bus receipts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_AOO, protocolloUrlOf } from '../../src/demo/demo-federation.js';
import { startPecProviderStack, type RunningPecProvider } from '../../src/pec-provider/pec-provider-stack.js';
import { callApi, patchConfig, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';

const COMUNE = 'SPC/ComuneFrancavillaAlMare';
const COMUNE_PEC = 'protocollo@pec.comune-francavilla.example';
const CITTADINO_PEC = 'mario.rossi@pec.cittadini.example';
const REGIONE = 'SPC/RegioneAbruzzo';
const REGIONE_PEC = 'protocollo@pec.regione-abruzzo.example';

let provider: RunningPecProvider;
let federation: InProcessFederation;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tramite-pec-'));
  provider = await startPecProviderStack({
    dir: join(dir, 'provider'),
    domains: ['pec.comune-francavilla.example', 'pec.cittadini.example', 'pec.regione-abruzzo.example'],
    mailboxes: [
      { address: COMUNE_PEC, password: 'pw-comune' },
      { address: CITTADINO_PEC, password: 'pw-mario' },
      { address: REGIONE_PEC, password: 'pw-regione' },
    ],
  });
  /** Gives `party` of a node a PEC adapter on its mailbox, and the services its back office uses. */
  const withPec = (raw: any, party: string, address: string, password: string) => {
    const passwordFile = join(dir, `${address}.password`);
    writeFileSync(passwordFile, password);
    raw.parties
      .find((p: { code: string }) => p.code === party)
      .adapters.push({
        use: 'pec',
        options: {
          address,
          smtp: { host: provider.smtp.host, port: provider.smtp.port, user: address, passwordFile },
          imap: { host: provider.imap.host, port: provider.imap.port, requireTLS: false, user: address, passwordFile },
          tls: { caFile: provider.smtpTlsCertFile },
          providerCaFiles: [provider.caCertFile],
          pollMs: 200,
        },
      });
    for (const name of ['InvioPEC', 'RicevutaPEC', 'MessaggioPEC'])
      raw.services.push({ provider: party, name, profile: 'oneway', consumers: [party] });
  };
  federation = await startFederation('pec', (nodes) => {
    patchConfig(nodes.cst, (raw) => withPec(raw, COMUNE, COMUNE_PEC, 'pw-comune'));
    patchConfig(nodes.regione, (raw) => withPec(raw, REGIONE, REGIONE_PEC, 'pw-regione'));
  });
}, 60_000);

afterAll(async () => {
  await federation?.close();
  await provider?.stop();
});

const invio = (to: string, oggetto: string) =>
  `<pec:InvioPEC xmlns:pec="urn:tramite:pec:1"><pec:Destinatario>${to}</pec:Destinatario><pec:Oggetto>${oggetto}</pec:Oggetto><pec:Testo>Gentile cittadino, in allegato l'avviso.</pec:Testo><pec:Allegato nome="avviso.pdf" mimeType="application/pdf">${Buffer.from('%PDF avviso').toString('base64')}</pec:Allegato></pec:InvioPEC>`;

/** The PEC receipts the Comune's back office got about bus message `id`, as "tipo stato". */
function receiptsOf(id: string): string[] {
  return federation.backOffice.received
    .filter((m) => m.party === COMUNE && m.service === 'RicevutaPEC' && m.refId === id)
    .map((m) => `${/tipo="([^"]+)"/.exec(m.payload)?.[1]} ${/stato="([^"]+)"/.exec(m.payload)?.[1]}`);
}

describe("protocollo over PEC (the guideline's transitional channel)", () => {
  it('a document sent to an AOO by PEC is registered there, and its ConfermaRicezione comes back by PEC', async () => {
    const api = await protocolloUrlOf(federation.nodes.cst, COMUNE);
    const res = await request(`${api}/protocollo/inoltri`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        pec: REGIONE_PEC,
        destinatario: {
          codiceAmministrazione: DEMO_AOO[REGIONE]!.codiceAmministrazione,
          codiceAOO: DEMO_AOO[REGIONE]!.codiceAOO,
          denominazione: 'Regione Abruzzo',
        },
        oggetto: 'Istanza di contributo trasmessa via PEC',
        classifica: { denominazione: 'Contributi', codice: 'VII.1' },
        documentoPrimario: {
          nomeFile: 'istanza.pdf',
          mimeType: 'application/pdf',
          contenuto: Buffer.from('%PDF istanza').toString('base64'),
        },
      }),
    });
    expect(res.statusCode).toBe(202);
    const { identificatore } = (await res.body.json()) as { identificatore: { numeroRegistrazione: string; dataRegistrazione: string } };
    // The Regione's AOO reads it from its PEC mailbox, checks the seal and the digest, registers it.
    await expect
      .poll(
        () =>
          federation.backOffice.protocollo.find(
            (e) =>
              e.party === REGIONE &&
              e.evento === 'protocollato' &&
              e.controparte?.numeroRegistrazione === identificatore.numeroRegistrazione,
          ),
        { timeout: 40_000 },
      )
      .toBeDefined();
    // Its Conferma.xml travels back by PEC: the Comune's registration is CONFERMATA.
    const url = `${api}/protocollo/registrazioni/${identificatore.dataRegistrazione.slice(0, 4)}/${identificatore.numeroRegistrazione}`;
    await expect
      .poll(async () => ((await (await request(url)).body.json()) as { state: string }).state, { timeout: 40_000 })
      .toBe('CONFERMATA');
  }, 90_000);
});

describe('PEC through the bus', () => {
  it('sends a PEC to a citizen: the back office sees accettazione, then avvenuta-consegna; the citizen gets the busta', async () => {
    const sent = await callApi(federation.nodes.cst, COMUNE, 'POST', '/api/v1/messages?wait=20', {
      from: COMUNE,
      to: COMUNE,
      service: 'InvioPEC',
      payload: invio(CITTADINO_PEC, 'Avviso di accertamento TARI'),
    });
    expect(sent.json.status).toBe('DELIVERED');
    await expect
      .poll(() => receiptsOf(sent.json.id).sort(), { timeout: 30_000 })
      .toEqual(['accettazione ACCEPTED_BY_PROVIDER', 'avvenuta-consegna DELIVERED']);
    expect(provider.issued.some((m) => m.kind === 'posta-certificata' && m.mailbox === CITTADINO_PEC)).toBe(true);
  });

  it('a PEC to an address that does not exist ends with errore-consegna, no-dest', async () => {
    const sent = await callApi(federation.nodes.cst, COMUNE, 'POST', '/api/v1/messages?wait=20', {
      from: COMUNE,
      to: COMUNE,
      service: 'InvioPEC',
      payload: invio('nessuno@pec.cittadini.example', 'Avviso'),
    });
    await expect
      .poll(() => receiptsOf(sent.json.id).sort(), { timeout: 30_000 })
      .toEqual(['accettazione ACCEPTED_BY_PROVIDER', 'errore-consegna FAILED']);
    const failure = federation.backOffice.received.find((m) => m.refId === sent.json.id && m.payload.includes('errore-consegna'))!;
    expect(failure.payload).toContain('errore="no-dest"');
  });
});
