/**
 * PEC end to end: a Comune's back office sends a certified e-mail through its node; the PEC adapter
 * submits it to a (simulated) provider over SMTP; the provider's signed receipts land in the Comune's
 * real Dovecot mailbox, the adapter reads them over IMAP and they reach the back office as bus receipts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPecProviderStack, type RunningPecProvider } from '../../src/pec-provider/pec-provider-stack.js';
import { callApi, patchConfig, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';

const COMUNE = 'SPC/ComuneFrancavillaAlMare';
const COMUNE_PEC = 'protocollo@pec.comune-francavilla.example';
const CITTADINO_PEC = 'mario.rossi@pec.cittadini.example';

let provider: RunningPecProvider;
let federation: InProcessFederation;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tramite-pec-'));
  provider = await startPecProviderStack({
    dir: join(dir, 'provider'),
    domains: ['pec.comune-francavilla.example', 'pec.cittadini.example'],
    mailboxes: [
      { address: COMUNE_PEC, password: 'pw-comune' },
      { address: CITTADINO_PEC, password: 'pw-mario' },
    ],
  });
  writeFileSync(join(dir, 'pec.password'), 'pw-comune');
  federation = await startFederation('pec', (nodes) =>
    patchConfig(nodes.cst, (raw) => {
      const party = raw.parties.find((p: { code: string }) => p.code === COMUNE);
      party.adapters.push({
        use: 'pec',
        options: {
          address: COMUNE_PEC,
          smtp: { host: provider.smtp.host, port: provider.smtp.port, user: COMUNE_PEC, passwordFile: join(dir, 'pec.password') },
          imap: { host: provider.imap.host, port: provider.imap.port, requireTLS: false, user: COMUNE_PEC, passwordFile: join(dir, 'pec.password') },
          tls: { caFile: provider.smtpTlsCertFile },
          providerCaFiles: [provider.caCertFile],
          pollMs: 200,
        },
      });
      for (const name of ['InvioPEC', 'RicevutaPEC', 'MessaggioPEC']) {
        raw.services.push({ provider: COMUNE, name, profile: 'oneway', consumers: [COMUNE] });
      }
    }),
  );
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

describe('PEC through the bus', () => {
  it('sends a PEC to a citizen: the back office sees accettazione, then avvenuta-consegna; the citizen gets the busta', async () => {
    const sent = await callApi(federation.nodes.cst, COMUNE, 'POST', '/api/v1/messages?wait=20', { from: COMUNE, to: COMUNE, service: 'InvioPEC', payload: invio(CITTADINO_PEC, 'Avviso di accertamento TARI') });
    expect(sent.json.status).toBe('DELIVERED');
    await expect.poll(() => receiptsOf(sent.json.id).sort(), { timeout: 30_000 }).toEqual(['accettazione ACCEPTED_BY_PROVIDER', 'avvenuta-consegna DELIVERED']);
    expect(provider.issued.some((m) => m.kind === 'posta-certificata' && m.mailbox === CITTADINO_PEC)).toBe(true);
  });

  it('a PEC to an address that does not exist ends with errore-consegna, no-dest', async () => {
    const sent = await callApi(federation.nodes.cst, COMUNE, 'POST', '/api/v1/messages?wait=20', { from: COMUNE, to: COMUNE, service: 'InvioPEC', payload: invio('nessuno@pec.cittadini.example', 'Avviso') });
    await expect.poll(() => receiptsOf(sent.json.id).sort(), { timeout: 30_000 }).toEqual(['accettazione ACCEPTED_BY_PROVIDER', 'errore-consegna FAILED']);
    const failure = federation.backOffice.received.find((m) => m.refId === sent.json.id && m.payload.includes('errore-consegna'))!;
    expect(failure.payload).toContain('errore="no-dest"');
  });
});
