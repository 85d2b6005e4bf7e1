import { describe, expect, it } from 'vitest';
import { computeCodiceFiscale, omocodicVariants } from '../../../adapters/sdk/codice-fiscale/codice-fiscale.js';
import {
  SIATEL_NAMESPACE,
  readSiatelAnswer,
  siatelAction,
  writeSiatelRequest,
  type SiatelAnswer,
  type SiatelRequest,
} from '../../../adapters/siatel/siatel-mapping.js';
import siatelSimulator, { type SiatelSimulator, type SiatelSimulatorOptions } from '../../../adapters/siatel/siatel-simulator-adapter.js';
import { NAMED_PEOPLE, SimulatedRegistry } from '../../../adapters/siatel/siatel-simulated-registry.js';
import { checkAdapterConformance, type BusMessage } from '../../../adapters/sdk/index.js';
import { AGENZIA, COMUNE, NOON_ROME, VirtualTime, startSimulator } from './siatel-harness.js';

const codeOf = (p: (typeof NAMED_PEOPLE)[number]) =>
  computeCodiceFiscale({ surname: p.cognome, name: p.nome, birthDate: p.dataNascita, sex: p.sesso, placeCode: p.luogoNascita });
const [rossi, rossini, bianchi] = NAMED_PEOPLE as [
  (typeof NAMED_PEOPLE)[number],
  (typeof NAMED_PEOPLE)[number],
  (typeof NAMED_PEOPLE)[number],
];
/** Nobody in the registry: a well-formed, valid code of an invented person. */
const NOBODY = computeCodiceFiscale({ surname: 'Nessuno', name: 'Ulisse', birthDate: '1911-11-11', sex: 'M', placeCode: 'Z404' });

const message = (payload: string, over: Partial<BusMessage> = {}): BusMessage => ({
  id: `m-${Math.random()}`,
  from: COMUNE,
  to: AGENZIA,
  service: 'InterrogazioneSIATEL',
  profile: 'sincrono',
  payload,
  ...over,
});

async function ask(sim: SiatelSimulator, request: SiatelRequest): Promise<SiatelAnswer> {
  const out = await sim.egress(
    message(writeSiatelRequest(request), { action: siatelAction(request.interrogazione) }),
    AbortSignal.timeout(5000),
  );
  if (out.kind !== 'reply') throw new Error('no reply');
  return readSiatelAnswer(out.payload);
}

describe('the SIATEL simulator: its registry', () => {
  it('is deterministic for a seed, and holds the named people under their computed codes', () => {
    const a = new SimulatedRegistry({ generatedPeople: 300, seed: 7 });
    const b = new SimulatedRegistry({ generatedPeople: 300, seed: 7 });
    const c = new SimulatedRegistry({ generatedPeople: 300, seed: 8 });
    expect(a.people()).toEqual(b.people());
    expect(a.people()).not.toEqual(c.people());
    expect(a.size).toBeGreaterThan(300); // the named ones, then the generated ones (rare full collisions skipped)
    expect(a.person(codeOf(rossi))).toMatchObject({ cognome: 'Rossi', omocodico: false });
    expect(a.person(NOBODY)).toBeUndefined();
  });

  it('gives the second of two people with the same coded data the first omocodic form', () => {
    const registry = new SimulatedRegistry({ generatedPeople: 0, seed: 1 });
    expect(codeOf(rossini)).toBe(codeOf(rossi));
    expect(registry.person(omocodicVariants(codeOf(rossi))[0]!)).toMatchObject({ cognome: 'Rossini', omocodico: true });
  });
});

describe('the SIATEL simulator: answers (each request validated against the XSD)', () => {
  it('verifies a code: VALIDO, OMOCODICO, NON_ATTRIBUITO, or NON_VALIDO with the reason', async () => {
    const sim = await startSimulator({ registry: { generatedPeople: 0, seed: 1 } });
    const base = codeOf(rossi);
    const omocodic = omocodicVariants(base)[0]!;
    const wrongCheck = `${base.slice(0, 15)}${base[15] === 'A' ? 'B' : 'A'}`;
    const verify = (codiceFiscale: string) => ask(sim, { interrogazione: 'verificaCodiceFiscale', operatore: 'op', codiceFiscale });
    expect(await verify(base)).toEqual({ interrogazione: 'verificaCodiceFiscale', codiceFiscale: base, esito: 'VALIDO' });
    expect(await verify(omocodic)).toEqual({ interrogazione: 'verificaCodiceFiscale', codiceFiscale: omocodic, esito: 'OMOCODICO' });
    expect(await verify(NOBODY)).toEqual({ interrogazione: 'verificaCodiceFiscale', codiceFiscale: NOBODY, esito: 'NON_ATTRIBUITO' });
    expect(await verify(wrongCheck)).toMatchObject({ esito: 'NON_VALIDO', motivo: expect.stringMatching(/check character/) });
  });

  it('gives registry data of a person found, and says when not found', async () => {
    const sim = await startSimulator({ registry: { generatedPeople: 0, seed: 1 } });
    const code = codeOf(bianchi);
    expect(await ask(sim, { interrogazione: 'datiAnagrafici', operatore: 'op', codiceFiscale: code })).toEqual({
      interrogazione: 'datiAnagrafici',
      codiceFiscale: code,
      esito: 'TROVATO',
      persona: {
        cognome: bianchi.cognome,
        nome: bianchi.nome,
        sesso: bianchi.sesso,
        dataNascita: bianchi.dataNascita,
        luogoNascita: bianchi.luogoNascita,
        comuneResidenza: bianchi.comuneResidenza,
      },
    });
    expect(await ask(sim, { interrogazione: 'datiAnagrafici', operatore: 'op', codiceFiscale: NOBODY })).toEqual({
      interrogazione: 'datiAnagrafici',
      codiceFiscale: NOBODY,
      esito: 'NON_TROVATO',
    });
  });

  it('checks residence against the Comune asked', async () => {
    const sim = await startSimulator({ registry: { generatedPeople: 0, seed: 1 } });
    const code = codeOf(rossi);
    const residence = (comune: string, codiceFiscale = code) =>
      ask(sim, { interrogazione: 'verificaResidenza', operatore: 'op', codiceFiscale, comune });
    expect(await residence(rossi.comuneResidenza!)).toMatchObject({ esito: 'RESIDENTE', comune: rossi.comuneResidenza });
    expect(await residence('C632')).toMatchObject({ esito: 'NON_RESIDENTE' });
    expect(await residence('C632', NOBODY)).toMatchObject({ esito: 'NON_TROVATO' });
  });

  it('answers RICHIESTA_NON_VALIDA to a document the XSD refuses, without counting it', async () => {
    const sim = await startSimulator({});
    const out = await sim.egress(
      message(`<s:VerificaCodiceFiscale xmlns:s="${SIATEL_NAMESPACE}"><s:Operatore>op</s:Operatore></s:VerificaCodiceFiscale>`),
      AbortSignal.timeout(5000),
    );
    expect(out.kind === 'reply' && readSiatelAnswer(out.payload)).toMatchObject({
      errore: { codice: 'RICHIESTA_NON_VALIDA', descrizione: expect.stringMatching(/CodiceFiscale/) },
    });
    expect(sim.operators()).toEqual([]);
  });
});

describe("the SIATEL simulator: SIATEL's limits on its side", () => {
  const fast: SiatelSimulatorOptions = { registry: { generatedPeople: 0, seed: 1 }, validateSchema: false };

  it('blocks an operator at the 61st query of a rolling minute, until the next Italian day', async () => {
    const time = new VirtualTime(NOON_ROME);
    const sim = await startSimulator(fast, time.now);
    const q = { interrogazione: 'verificaCodiceFiscale', operatore: 'veloce', codiceFiscale: codeOf(rossi) } as const;
    for (let i = 0; i < 60; i++) expect(await ask(sim, q)).toMatchObject({ esito: 'VALIDO' });
    expect(await ask(sim, { ...q, operatore: 'altro' })).toMatchObject({ esito: 'VALIDO' }); // per operator
    const blocked = await ask(sim, q);
    expect(blocked).toEqual({
      errore: {
        codice: 'OPERATORE_BLOCCATO',
        descrizione: expect.stringMatching(/60 interrogazioni/),
        operatore: 'veloce',
        bloccatoFinoA: '2026-11-23T23:00:00.000Z',
      },
    });
    time.t += 3_600_000;
    expect(await ask(sim, q)).toMatchObject({ errore: { codice: 'OPERATORE_BLOCCATO' } });
    time.t = Date.parse('2026-11-23T23:00:00Z');
    expect(await ask(sim, q)).toMatchObject({ esito: 'VALIDO' });
    expect(sim.counters('veloce')).toMatchObject({
      interrogazioni: 63,
      massimoInUnMinuto: 61,
      codiciPerGiorno: { '2026-11-23': 62, '2026-11-24': 1 },
      blocchi: [{ finoA: '2026-11-23T23:00:00.000Z' }],
    });
    expect((await sim.health()).detail).toMatch(/blocchi=1/);
  });

  it('blocks an operator past 500 codici fiscali in an Italian day, however slowly asked', async () => {
    const time = new VirtualTime(NOON_ROME);
    const sim = await startSimulator(fast, time.now);
    const q = { interrogazione: 'datiAnagrafici', operatore: 'paziente', codiceFiscale: NOBODY } as const;
    for (let i = 0; i < 500; i++) {
      expect(await ask(sim, q)).toMatchObject({ esito: 'NON_TROVATO' });
      time.t += 1_000;
    }
    expect(await ask(sim, q)).toMatchObject({
      errore: { codice: 'OPERATORE_BLOCCATO', descrizione: expect.stringMatching(/500 codici fiscali/) },
    });
    expect(sim.counters('paziente')).toMatchObject({ massimoInUnMinuto: 60, codiciPerGiorno: { '2026-11-23': 501 } });
  });

  it('blocks at lowered limits when its options set them (tests press a client configured as low)', async () => {
    const time = new VirtualTime(NOON_ROME);
    const sim = await startSimulator({ ...fast, limits: { queriesPerMinute: 5, codesPerDay: 7 } }, time.now);
    const q = { interrogazione: 'verificaCodiceFiscale', operatore: 'basso', codiceFiscale: codeOf(rossi) } as const;
    for (let i = 0; i < 5; i++) expect(await ask(sim, q)).toMatchObject({ esito: 'VALIDO' });
    expect(await ask(sim, q)).toMatchObject({
      errore: { codice: 'OPERATORE_BLOCCATO', descrizione: expect.stringMatching(/più di 5 interrogazioni in un minuto/) },
    });
    const patient = { ...q, operatore: 'lento' };
    for (let i = 0; i < 7; i++) {
      expect(await ask(sim, patient)).toMatchObject({ esito: 'VALIDO' });
      time.t += 60_000;
    }
    expect(await ask(sim, patient)).toMatchObject({
      errore: { codice: 'OPERATORE_BLOCCATO', descrizione: expect.stringMatching(/più di 7 codici fiscali/) },
    });
    expect(sim.counters('lento').blocchi).toHaveLength(1);
  });

  it('passes the conformance kit: sincrono queries answered, anything else refused for good', async () => {
    const report = await checkAdapterConformance(siatelSimulator, {
      options: { registry: { generatedPeople: 10, seed: 3 } },
      party: AGENZIA,
      invalidOptions: [
        { options: { registry: { generatedPeople: -1 } }, field: 'registry.generatedPeople' },
        { options: { clockFactor: 0.5 }, field: 'clockFactor' },
        { options: { clockFactor: 60, clockAnchor: 'yesterday' }, field: 'clockAnchor' },
        { options: { clockAnchor: '2026-12-07T00:00:00Z' }, field: 'clockFactor' },
        // Lower limits are a test option; SIATEL's own are the most it takes.
        { options: { limits: { queriesPerMinute: 100 } }, field: 'limits.queriesPerMinute' },
        { options: { limits: { codesPerDay: 501 } }, field: 'limits.codesPerDay' },
      ],
      accepted: [
        message(writeSiatelRequest({ interrogazione: 'verificaCodiceFiscale', operatore: 'op', codiceFiscale: codeOf(rossi) }), {
          id: 'query',
        }),
      ],
      refused: [
        {
          message: message('<x xmlns="urn:x"/>', { id: 'oneway', profile: 'oneway' }),
          retriable: false,
          code: 'TRAMITE_ERR_ADAPTER_REFUSED',
        },
      ],
    });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  });
});
