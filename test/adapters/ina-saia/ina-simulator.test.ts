/**
 * The INA simulator's decisions: what it accepts and applies to its index, what it rejects and with
 * which code, what it refuses as a message, and that a repeated communication gets the first answer.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqliteAdapterFolder } from '../../../adapters/sdk/store/sqlite-adapter-store.js';
import { INA_ERRORS } from '../../../adapters/ina-saia/ina-index.js';
import { buildComunicazioneXml, readEsitoXml, type EsitoIna } from '../../../adapters/ina-saia/ina-mapping.js';
import { sealComunicazione } from '../../../adapters/ina-saia/ina-seal.js';
import inaSimulator, { type InaSimulatorAdapter, type InaSimulatorOptions } from '../../../adapters/ina-saia/ina-simulator-adapter.js';
import { parseRegistryEvent, type RegistryEvent } from '../../../adapters/ina-saia/registry-event.js';
import { AdapterError, checkAdapterConformance, type BusMessage } from '../../../adapters/sdk/index.js';
import { getTestPki } from '../../fixtures/test-pki.js';
import {
  AMINA,
  AMINA_CF,
  COMUNE,
  MARIO_CF,
  OTHER_COMUNE,
  TODAY,
  contextFor,
  sampleEvents,
  soggettoCompleto,
  unusedBus,
} from './ina-saia-fixtures.js';

const pki = getTestPki();
let simulator: InaSimulatorAdapter;
let serial = 0;

async function startSimulator(options: InaSimulatorOptions = { verifySeal: true }, dataDir?: string): Promise<InaSimulatorAdapter> {
  const instance = (await inaSimulator.setup(
    contextFor(options, unusedBus, dataDir ? sqliteAdapterFolder(dataDir) : {}),
  )) as InaSimulatorAdapter;
  await instance.start();
  return instance;
}

const message = (payload: string, over: Partial<BusMessage> = {}): BusMessage => ({
  id: `m-${++serial}`,
  from: 'SPC/ComuneA',
  to: 'SPC/INA',
  service: 'ComunicazioneINA',
  profile: 'sincrono',
  payload,
  ...over,
});

/** The sealed Comunicazione of `json` (a posted event), from `comune`. */
async function comunicazioneXml(
  json: Record<string, unknown>,
  opts: { id?: string; comune?: string; signer?: typeof pki.comuneA | null } = {},
): Promise<string> {
  const evento: RegistryEvent = parseRegistryEvent(json, { today: TODAY });
  const xml = buildComunicazioneXml({
    idComunicazione: opts.id ?? `c-${++serial}`,
    codiceComune: opts.comune ?? COMUNE,
    dataOraComunicazione: new Date().toISOString(),
    evento,
  });
  return opts.signer === null ? xml : await sealComunicazione(xml, opts.signer ?? pki.comuneA, new Date());
}

async function communicate(
  json: Record<string, unknown>,
  opts: Parameters<typeof comunicazioneXml>[1] = {},
  instance = simulator,
): Promise<EsitoIna> {
  const outcome = await instance.egress(message(await comunicazioneXml(json, opts)), AbortSignal.timeout(10_000));
  if (outcome.kind !== 'reply') throw new Error('expected a reply');
  return readEsitoXml(outcome.payload);
}

const codes = (esito: EsitoIna) => (esito.stato === 'RESPINTA' ? esito.errori.map((e) => e.codice) : []);
const events = sampleEvents();
const marioArrives = events['iscrizione.immigrazione'];

beforeEach(async () => {
  simulator = await startSimulator();
});
afterEach(async () => {
  await simulator.stop();
});

describe('the INA simulator: accepting and applying', () => {
  it('accepts an iscrizione, gives an operation id, and indexes the person as resident in the Comune', async () => {
    const esito = await communicate(marioArrives);
    expect(esito).toMatchObject({ stato: 'ACCETTATA', idOperazioneIna: expect.stringMatching(/^INA-\d{9}$/) });
    expect(await simulator.inaIndex!.person(MARIO_CF)).toMatchObject({
      stato: 'RESIDENTE',
      codiceComune: COMUNE,
      cognome: 'ROSSI',
      indirizzo: { toponimo: 'VIA DEL CORSO' },
    });
  });

  it('applies mutazioni and rettifiche to the index', async () => {
    await communicate(marioArrives);
    expect((await communicate(events['mutazione.indirizzo'])).stato).toBe('ACCETTATA');
    expect((await communicate(events['mutazione.famiglia'])).stato).toBe('ACCETTATA');
    expect((await communicate(events['mutazione.datiPersonali'])).stato).toBe('ACCETTATA');
    expect((await communicate(events['rettifica'])).stato).toBe('ACCETTATA');
    expect(await simulator.inaIndex!.person(MARIO_CF)).toMatchObject({
      indirizzo: { toponimo: 'PIAZZA NAVONA', civico: '3/B', interno: '4' },
      famiglia: { idFamiglia: 'FAM-003', relazione: 'coniuge' },
      statoCivile: 'coniugato',
      cittadinanza: 'IT',
      ultimaDataEvento: '2024-07-01',
    });
  });

  it('cancels by emigration (the person may come back) and by death (for good)', async () => {
    await communicate(marioArrives);
    expect((await communicate(events['cancellazione.emigrazione'])).stato).toBe('ACCETTATA');
    expect((await simulator.inaIndex!.person(MARIO_CF))?.stato).toBe('CANCELLATO');
    expect((await communicate({ ...marioArrives, dataEvento: '2025-09-01', provenienza: { statoEstero: 'Z404' } })).stato).toBe(
      'ACCETTATA',
    );
    expect((await communicate(events['cancellazione.morte'])).stato).toBe('ACCETTATA');
    expect((await simulator.inaIndex!.person(MARIO_CF))?.stato).toBe('DECEDUTO');
    expect(codes(await communicate({ ...marioArrives, dataEvento: '2025-12-01' }))).toEqual([INA_ERRORS.deceased]);
    expect(codes(await communicate(events['mutazione.indirizzo']))).toEqual([INA_ERRORS.deceased]);
  });
});

describe('the INA simulator: rejecting, with a code and the field', () => {
  it('an iscrizione of a codice fiscale already registered', async () => {
    await communicate(marioArrives);
    const esito = await communicate(marioArrives);
    expect(esito).toMatchObject({ stato: 'RESPINTA', errori: [{ codice: INA_ERRORS.alreadyRegistered, campo: 'soggetto.codiceFiscale' }] });
  });

  it('a cancellazione, mutazione or rettifica of an unknown person', async () => {
    const amina = { codiceFiscale: AMINA_CF, cognome: AMINA.cognome, nome: AMINA.nome };
    expect(codes(await communicate({ ...events['cancellazione.emigrazione'], soggetto: amina }))).toEqual([INA_ERRORS.notRegistered]);
    expect(codes(await communicate({ ...events['mutazione.indirizzo'], soggetto: amina }))).toEqual([INA_ERRORS.notRegistered]);
    expect(codes(await communicate({ ...events['rettifica'], soggetto: amina, rettifiche: { nome: 'AMINA' } }))).toEqual([
      INA_ERRORS.notRegistered,
    ]);
    expect(await simulator.inaIndex!.person(AMINA_CF)).toBeUndefined();
  });

  it('an event of a person resident in another Comune', async () => {
    await communicate(marioArrives);
    expect(codes(await communicate(events['mutazione.indirizzo'], { comune: OTHER_COMUNE }))).toEqual([INA_ERRORS.otherComune]);
  });

  it('names that differ from the ones INA holds', async () => {
    await communicate(marioArrives);
    const esito = await communicate({
      ...events['mutazione.indirizzo'],
      soggetto: { codiceFiscale: MARIO_CF, cognome: 'ROSSINI', nome: 'MARIO' },
    });
    expect(esito).toMatchObject({ stato: 'RESPINTA', errori: [{ codice: INA_ERRORS.names, campo: 'soggetto.cognome' }] });
  });

  it('an event dated before the latest one INA applied for the person: order matters', async () => {
    await communicate(marioArrives);
    await communicate(events['mutazione.famiglia']); // 2024-06-15
    expect(codes(await communicate(events['mutazione.indirizzo']))).toEqual([INA_ERRORS.outOfOrder]); // 2024-05-01
  });

  it('a Comunicazione without a seal, or sealed by a certificate the node does not trust', async () => {
    expect(codes(await communicate(marioArrives, { signer: null }))).toEqual([INA_ERRORS.seal]);
    expect(codes(await communicate(marioArrives, { signer: pki.rogue }))).toEqual([INA_ERRORS.seal]);
    expect(await simulator.inaIndex!.person(MARIO_CF)).toBeUndefined();
  });

  it('takes unsealed communications when configured not to verify seals', async () => {
    const lenient = await startSimulator({ verifySeal: false });
    try {
      expect((await communicate(marioArrives, { signer: null }, lenient)).stato).toBe('ACCETTATA');
    } finally {
      await lenient.stop();
    }
  });

  it('a Comunicazione the schema refuses, with what the validator says', async () => {
    const invalid = (await comunicazioneXml(marioArrives, { id: 'c-schema', signer: null })).replace(/<ina:CAP>[^<]*<\/ina:CAP>/, '');
    const outcome = await simulator.egress(message(invalid), AbortSignal.timeout(10_000));
    const esito = readEsitoXml(outcome.kind === 'reply' ? outcome.payload : '');
    expect(esito).toMatchObject({
      stato: 'RESPINTA',
      idComunicazione: 'c-schema',
      errori: [{ codice: INA_ERRORS.schema, descrizione: expect.stringMatching(/CAP/) }],
    });
  });

  it('content the schema allows but the rules do not (the codice fiscale check character)', async () => {
    const wrong = MARIO_CF.slice(0, 15) + 'A';
    const xml = (await comunicazioneXml(events['mutazione.indirizzo'], { signer: null })).replace(MARIO_CF, wrong);
    const outcome = await simulator.egress(message(await sealComunicazione(xml, pki.comuneA, new Date())), AbortSignal.timeout(10_000));
    expect(readEsitoXml(outcome.kind === 'reply' ? outcome.payload : '')).toMatchObject({
      stato: 'RESPINTA',
      errori: [{ codice: INA_ERRORS.content, campo: 'soggetto.codiceFiscale' }],
    });
  });
});

describe('the INA simulator: repeated and concurrent communications', () => {
  it('answers a repeated IdComunicazione with the same esito, without applying it twice', async () => {
    const xml = await comunicazioneXml(marioArrives, { id: 'c-once' });
    const first = await simulator.egress(message(xml), AbortSignal.timeout(10_000));
    const again = await simulator.egress(message(xml), AbortSignal.timeout(10_000));
    expect(again).toEqual(first);
    expect(readEsitoXml(first.kind === 'reply' ? first.payload : '').stato).toBe('ACCETTATA');
  });

  it('lets only one of two simultaneous iscrizioni of the same person through', async () => {
    const esiti = await Promise.all([communicate(marioArrives), communicate(marioArrives), communicate(marioArrives)]);
    expect(esiti.map((e) => e.stato).sort()).toEqual(['ACCETTATA', 'RESPINTA', 'RESPINTA']);
  });

  it('keeps its index across a restart', async () => {
    await communicate(marioArrives);
    await simulator.stop();
    await simulator.start();
    expect(codes(await communicate(marioArrives))).toEqual([INA_ERRORS.alreadyRegistered]);
  });
});

describe('the INA simulator: messages it refuses', () => {
  it('refuses for good a oneway message, or one that is no Comunicazione; retriably when not started', async () => {
    const xml = await comunicazioneXml(marioArrives);
    await expect(simulator.egress(message(xml, { profile: 'oneway' }), AbortSignal.timeout(1000))).rejects.toMatchObject({
      retriable: false,
      code: 'TRAMITE_ERR_ADAPTER_REFUSED',
    });
    await expect(simulator.egress(message('<x xmlns="urn:x"/>'), AbortSignal.timeout(1000))).rejects.toMatchObject({
      retriable: false,
      code: 'TRAMITE_ERR_ADAPTER_REFUSED',
    });
    await simulator.stop();
    const refusal = await simulator.egress(message(xml), AbortSignal.timeout(1000)).catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(AdapterError);
    expect(refusal).toMatchObject({ retriable: true });
  });

  it('passes the conformance kit', async () => {
    const soggetto = soggettoCompleto(AMINA, AMINA_CF);
    const report = await checkAdapterConformance<InaSimulatorOptions>(inaSimulator, {
      options: { verifySeal: true },
      invalidOptions: [
        { options: { verifySeal: 'yes' }, field: 'verifySeal' },
        { options: { verifySeal: true, colour: 'blue' }, field: 'colour' },
      ],
      // The kit's trust store is its own: this seal is not trusted there, and the reply says so.
      accepted: [message(await comunicazioneXml({ ...marioArrives, soggetto }))],
      refused: [
        {
          message: message(await comunicazioneXml(marioArrives), { profile: 'oneway' }),
          retriable: false,
          code: 'TRAMITE_ERR_ADAPTER_REFUSED',
        },
        { message: message('<Segnatura xmlns="urn:x"/>'), retriable: false, code: 'TRAMITE_ERR_ADAPTER_REFUSED' },
      ],
    });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  });
});
