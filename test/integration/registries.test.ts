/**
 * The national registries through two real nodes: a Comune's registry software reports a birth to INA
 * (INA-SAIA adapter → sealed Comunicazione → the INA simulator's esito), and checks codici fiscali with
 * SIATEL (one query, and a bulk whose limits the simulator would punish).
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeCodiceFiscale } from '../../adapters/sdk/codice-fiscale/codice-fiscale.js';
import { DEMO_REGISTRY_COMUNE, adapterUrlOf } from '../../src/demo/demo-federation.js';
import { startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';

let federation: InProcessFederation;
let inaApi: string;
let siatelApi: string;

beforeAll(async () => {
  federation = await startFederation('registries');
  inaApi = await adapterUrlOf(federation.nodes.cst, DEMO_REGISTRY_COMUNE.party, 'ina-saia');
  siatelApi = await adapterUrlOf(federation.nodes.cst, DEMO_REGISTRY_COMUNE.party, 'siatel');
});

afterAll(() => federation?.close());

async function post(url: string, body: unknown) {
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, any> };
}
const getJson = async (url: string) => (await (await request(url)).body.json()) as Record<string, any>;

describe('INA-SAIA through the bus', () => {
  it('a birth registered in the Comune reaches INA and its outcome comes back; a second iscrizione of the same person is rejected', async () => {
    const bimba = {
      cognome: 'DI RENZO',
      nome: 'CHIARA',
      sesso: 'F',
      dataNascita: '2026-11-01',
      luogoNascita: DEMO_REGISTRY_COMUNE.belfiore,
    } as const;
    const codiceFiscale = computeCodiceFiscale({
      surname: bimba.cognome,
      name: bimba.nome,
      birthDate: bimba.dataNascita,
      sex: bimba.sesso,
      placeCode: bimba.luogoNascita,
    });
    const nascita = {
      tipo: 'iscrizione',
      motivo: 'nascita',
      dataEvento: bimba.dataNascita,
      soggetto: { codiceFiscale, ...bimba },
      indirizzo: { toponimo: 'CORSO MATTEOTTI', civico: '5', cap: '66026' },
      famiglia: { idFamiglia: 'FAM-77', relazione: 'figlio' },
    };
    const first = await post(`${inaApi}/ina-saia/eventi`, nascita);
    expect(first.status).toBe(202);
    await expect
      .poll(async () => (await getJson(`${inaApi}/ina-saia/eventi/${first.json.id}`)).stato, { timeout: 30_000 })
      .toBe('ACCEPTED');
    const again = await post(`${inaApi}/ina-saia/eventi`, { ...nascita, riferimentoComune: 'PRATICA-DUP' });
    await expect
      .poll(async () => (await getJson(`${inaApi}/ina-saia/eventi/${again.json.id}`)).stato, { timeout: 30_000 })
      .toBe('REJECTED');
  });
});

describe('SIATEL through the bus', () => {
  it('verifies a codice fiscale with the Agenzia, and answers a malformed one locally without a query', async () => {
    const valid = await post(`${siatelApi}/siatel/verifiche`, { operatore: 'ufficio-tributi', codiceFiscale: 'RSSMRA80A01H501U' });
    expect(valid.status).toBe(200);
    expect(valid.json).toMatchObject({ fonte: 'SIATEL', codiceFiscale: 'RSSMRA80A01H501U' });
    const local = await post(`${siatelApi}/siatel/verifiche`, { operatore: 'ufficio-tributi', codiceFiscale: 'RSSMRA80A01H501X' });
    expect(local.json).toMatchObject({ fonte: 'locale', esito: 'NON_VALIDO' });
  });
});
