import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import siatel from '../../../adapters/siatel/siatel-adapter.js';
import { computeCodiceFiscale } from '../../../adapters/sdk/codice-fiscale/codice-fiscale.js';
import { readSiatelRequest, writeSiatelAnswer, writeSiatelRequest } from '../../../adapters/siatel/siatel-mapping.js';
import type { SiatelOptions } from '../../../adapters/siatel/siatel-options.js';
import { NAMED_PEOPLE, SimulatedRegistry } from '../../../adapters/siatel/siatel-simulated-registry.js';
import {
  checkAdapterConformance,
  nextRomeMidnight,
  type BusMessage,
  type MessageState,
  type OutgoingMessage,
} from '../../../adapters/sdk/index.js';
import type { SiatelSimulator } from '../../../adapters/siatel/siatel-simulator-adapter.js';
import { ApiError } from '../../../src/core/errors.js';
import { freePort } from '../../../src/daemons/free-port.js';
import {
  AGENZIA,
  COMUNE,
  DirectBus,
  LISTEN,
  contextFor,
  get,
  getJson,
  post,
  startAdapter,
  startSimulator,
  tempDir,
} from './siatel-harness.js';

const rossi = NAMED_PEOPLE[0]!;
const ROSSI = computeCodiceFiscale({
  surname: rossi.cognome,
  name: rossi.nome,
  birthDate: rossi.dataNascita,
  sex: rossi.sesso,
  placeCode: rossi.luogoNascita,
});
const NOBODY = computeCodiceFiscale({ surname: 'Nessuno', name: 'Ulisse', birthDate: '1911-11-11', sex: 'M', placeCode: 'Z404' });
const WRONG_CHECK = `${ROSSI.slice(0, 15)}${ROSSI[15] === 'A' ? 'B' : 'A'}`;
const options = (over: Partial<SiatelOptions> = {}): SiatelOptions => ({
  listen: LISTEN,
  siatel: { party: AGENZIA, service: 'InterrogazioneSIATEL' },
  timeoutMs: 5000,
  ...over,
});

describe('the SIATEL adapter: single queries over its API, through the bus to the simulator', () => {
  it('verifies a code, reads registry data, checks residence — one bus message each, counted per operator', async () => {
    const simulator = await startSimulator({ registry: { generatedPeople: 0, seed: 1 } });
    const bus = new DirectBus(simulator);
    const { adapter, url } = await startAdapter(options(), { bus, dataDir: tempDir('single') });
    try {
      // As people type it: spaces and lower case are normalized before the query.
      const typed = `${ROSSI.slice(0, 6).toLowerCase()} ${ROSSI.slice(6)}`;
      const verifica = await post(`${url}/siatel/verifiche`, { operatore: 'op1', codiceFiscale: typed });
      expect(verifica).toEqual({
        status: 200,
        json: {
          interrogazione: 'verificaCodiceFiscale',
          codiceFiscale: ROSSI,
          esito: 'VALIDO',
          fonte: 'SIATEL',
          messageId: 'siatel-test-1',
        },
      });

      const dati = await post(`${url}/siatel/dati-anagrafici`, { operatore: 'op1', codiceFiscale: ROSSI });
      expect(dati.json).toMatchObject({
        esito: 'TROVATO',
        persona: { cognome: rossi.cognome, nome: rossi.nome, dataNascita: rossi.dataNascita, comuneResidenza: rossi.comuneResidenza },
        fonte: 'SIATEL',
      });

      const residente = await post(`${url}/siatel/residenza`, {
        operatore: 'op1',
        codiceFiscale: ROSSI,
        comune: rossi.comuneResidenza!.toLowerCase(),
      });
      expect(residente.json).toMatchObject({ interrogazione: 'verificaResidenza', comune: rossi.comuneResidenza, esito: 'RESIDENTE' });
      expect((await post(`${url}/siatel/residenza`, { operatore: 'op1', codiceFiscale: NOBODY, comune: 'G141' })).json).toMatchObject({
        esito: 'NON_TROVATO',
      });

      expect(bus.requests.map((r) => r.interrogazione)).toEqual([
        'verificaCodiceFiscale',
        'datiAnagrafici',
        'verificaResidenza',
        'verificaResidenza',
      ]);
      expect(simulator.counters('op1').interrogazioni).toBe(4);
      const stato = await getJson<{ interrogazioniUltimoMinuto: number; codiciOggi: number; inCoda: unknown }>(
        `${url}/siatel/stato?operatore=op1`,
      );
      expect(stato).toMatchObject({
        interrogazioniUltimoMinuto: 4,
        codiciOggi: 4,
        inCoda: { richieste: 0, codici: 0 },
        limiti: { interrogazioniAlMinuto: 60, codiciAlGiorno: 500 },
      });
      expect((await adapter.health()).detail).toMatch(new RegExp(`^${url} op1:minuto=4/60,oggi=4/500,in_coda=0`));
    } finally {
      await adapter.stop();
    }
  });

  it('answers a code that cannot be a codice fiscale itself: no query, no quota, and says so', async () => {
    const simulator = await startSimulator({});
    const bus = new DirectBus(simulator);
    const { adapter, url } = await startAdapter(options(), { bus, dataDir: tempDir('local') });
    try {
      const wrong = await post(`${url}/siatel/verifiche`, { operatore: 'op1', codiceFiscale: WRONG_CHECK });
      expect(wrong).toEqual({
        status: 200,
        json: {
          interrogazione: 'verificaCodiceFiscale',
          codiceFiscale: WRONG_CHECK,
          esito: 'NON_VALIDO',
          motivo: expect.stringMatching(/check character/),
          fonte: 'locale',
        },
      });
      expect((await post(`${url}/siatel/residenza`, { operatore: 'op1', codiceFiscale: 'RSSMRA', comune: 'G141' })).json).toMatchObject({
        esito: 'NON_VALIDO',
        fonte: 'locale',
        comune: 'G141',
      });
      expect(bus.requests).toEqual([]);
      expect(await getJson(`${url}/siatel/stato?operatore=op1`)).toMatchObject({ interrogazioniUltimoMinuto: 0, codiciOggi: 0 });
    } finally {
      await adapter.stop();
    }
  });

  it('refuses a bad body naming the field, and reports a SIATEL refusal with its code', async () => {
    const simulator = await startSimulator({ validateSchema: false });
    const { adapter, url } = await startAdapter(options(), { bus: new DirectBus(simulator), dataDir: tempDir('refusals') });
    try {
      expect(await post(`${url}/siatel/verifiche`, { operatore: 'op con spazi', codiceFiscale: ROSSI })).toMatchObject({
        status: 400,
        json: { error: { code: 'TRAMITE_ERR_BAD_REQUEST', message: expect.stringMatching(/operatore/) } },
      });
      expect(await post(`${url}/siatel/residenza`, { operatore: 'op', codiceFiscale: ROSSI })).toMatchObject({
        status: 400,
        json: { error: { message: expect.stringMatching(/comune/) } },
      });
      expect(await post(`${url}/siatel/verifiche`, 'non json')).toMatchObject({ status: 400 });
      expect((await get(`${url}/siatel/massive/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
      // Someone else's client tripped SIATEL's alarm for this operator (61 queries a minute, straight to the simulator).
      const request = writeSiatelRequest({ interrogazione: 'verificaCodiceFiscale', operatore: 'condiviso', codiceFiscale: ROSSI });
      for (let i = 0; i < 61; i++)
        await simulator.egress(
          { id: `x${i}`, from: COMUNE, to: AGENZIA, service: 'InterrogazioneSIATEL', profile: 'sincrono', payload: request },
          AbortSignal.timeout(5000),
        );
      const blocked = await post(`${url}/siatel/verifiche`, { operatore: 'condiviso', codiceFiscale: ROSSI });
      expect(blocked).toMatchObject({
        status: 502,
        json: { error: { code: 'TRAMITE_ERR_ADAPTER_REFUSED', siatel: { codice: 'OPERATORE_BLOCCATO', operatore: 'condiviso' } } },
      });
    } finally {
      await adapter.stop();
    }
  });

  it('refuses an answer the XSD refuses, even one its strict reader would read (an attribute it does not know)', async () => {
    const simulator = await startSimulator({});
    // SIATEL's answer, with one attribute the schema does not allow on its Esito.
    const bus = new DirectBus(simulator);
    const tampered = Object.assign(Object.create(bus) as DirectBus, {
      sendAndWait: async (m: Parameters<DirectBus['sendAndWait']>[0]) => {
        const state = await bus.sendAndWait(m);
        return { ...state, reply: state.reply?.replace('<siatel:Esito>', '<siatel:Esito nota="x">') };
      },
    });
    const { adapter, url } = await startAdapter(options(), { bus: tampered, dataDir: tempDir('schema') });
    try {
      expect(await post(`${url}/siatel/verifiche`, { operatore: 'op', codiceFiscale: ROSSI })).toMatchObject({
        status: 502,
        json: {
          error: {
            code: 'TRAMITE_ERR_ADAPTER_REFUSED',
            message: expect.stringMatching(/does not match the schema: .*attribute 'nota' is not allowed/),
          },
        },
      });
    } finally {
      await adapter.stop();
    }
  });

  it('answers only a caller with one of the configured tokens', async () => {
    const token = 'segreto-siatel';
    const { adapter, url } = await startAdapter(
      options({ listen: { ...LISTEN, apiTokens: [`sha256:${createHash('sha256').update(token).digest('hex')}`] } }),
      { bus: new DirectBus(await startSimulator({})), dataDir: tempDir('tokens') },
    );
    try {
      expect((await get(`${url}/siatel/stato`)).status).toBe(401);
      const ok = await post(
        `${url}/siatel/verifiche`,
        { operatore: 'op', codiceFiscale: WRONG_CHECK },
        { authorization: `Bearer ${token}` },
      );
      expect(ok.status).toBe(200);
    } finally {
      await adapter.stop();
    }
  });

  it('passes the conformance kit: options within SIATEL limits, lifecycle, a query on the bus, no egress', async () => {
    const port = await freePort();
    const registry = new SimulatedRegistry({ generatedPeople: 0, seed: 1 });
    const refused: BusMessage = {
      id: 'in',
      from: AGENZIA,
      to: COMUNE,
      service: 'InterrogazioneSIATEL',
      profile: 'sincrono',
      payload: '<x xmlns="urn:x"/>',
    };
    const report = await checkAdapterConformance<SiatelOptions>(siatel, {
      options: { listen: { host: '127.0.0.1', port } },
      party: COMUNE,
      invalidOptions: [
        { options: { limits: { queriesPerMinute: 61 } }, field: 'limits.queriesPerMinute' },
        { options: { limits: { codesPerDay: 501 } }, field: 'limits.codesPerDay' },
        { options: { siatel: { party: 'Agenzia delle Entrate' } }, field: 'siatel.party' },
        { options: { clockFactor: 0 }, field: 'clockFactor' },
        { options: { clockFactor: 60, clockAnchor: '2026-12-07' }, field: 'clockAnchor' },
        // An anchor means nothing without a factor: refused, naming the factor it needs.
        { options: { clockAnchor: '2026-12-07T00:00:00Z' }, field: 'clockFactor' },
        { options: { listen: { port: 70000 } }, field: 'listen.port' },
        { options: { quota: 1 }, field: 'quota' },
      ],
      reply: (m) => writeSiatelAnswer(registry.answer(readSiatelRequest(m.payload), new Date())),
      refused: [{ message: refused, retriable: false, code: 'TRAMITE_ERR_ADAPTER_REFUSED' }],
      ingress: {
        trigger: async () => {
          const answer = await post(`http://127.0.0.1:${port}/siatel/verifiche`, { operatore: 'op', codiceFiscale: ROSSI });
          if (answer.status !== 200) throw new Error(JSON.stringify(answer.json));
        },
        expect: 1,
      },
    });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.sent).toMatchObject([{ to: 'SPC/AgenziaEntrate', service: 'InterrogazioneSIATEL', action: 'VerificaCodiceFiscale' }]);
  });

  it('refuses to start on a port already taken, and leaves nothing open', async () => {
    const first = await startAdapter(options(), { bus: new DirectBus(await startSimulator({})), dataDir: tempDir('port') });
    try {
      const port = Number(new URL(first.url).port);
      const second = await siatel.setup(contextFor(options({ listen: { host: '127.0.0.1', port } }), { dataDir: tempDir('port2') }));
      await expect(second.start()).rejects.toThrow(/EADDRINUSE/);
      expect((await second.health()).status).toBe('down');
      await second.stop();
    } finally {
      await first.adapter.stop();
    }
  });

  it('counts its quota on the fast clock from the configured clockAnchor, not from the start of the UTC day', async () => {
    const dataDir = tempDir('anchor');
    const anchor = Date.now() - 600_000 - 1234; // ten minutes ago: not a UTC day's start
    const bus = new DirectBus(await startSimulator({ registry: { generatedPeople: 0, seed: 1 } }));
    const { adapter, url } = await startAdapter(options({ clockFactor: 60, clockAnchor: new Date(anchor).toISOString() }), {
      bus,
      dataDir,
    });
    try {
      const before = Date.now();
      expect((await post(`${url}/siatel/verifiche`, { operatore: 'op', codiceFiscale: ROSSI })).status).toBe(200);
      const after = Date.now();
      const db = new Database(join(dataDir, 'siatel-quota.sqlite'), { readonly: true });
      const [{ at_ms: at }] = db.prepare('SELECT at_ms FROM usage').all() as [{ at_ms: number }];
      db.close();
      expect(at).toBeGreaterThanOrEqual(anchor + (before - anchor) * 60);
      expect(at).toBeLessThanOrEqual(anchor + (after - anchor) * 60);
    } finally {
      await adapter.stop();
    }
  });

  describe('gives each query a Scadenza: when its caller stops waiting, or its Italian day ends if that comes first', () => {
    const FACTOR = 60;
    /**
     * One query through an adapter whose fast clock (×60) reads its next Italian midnight `realMsToMidnight`
     * real ms from now; its caller waits `timeoutMs`. Answers that midnight (fast and real), the Scadenza the
     * query carried, and the instant the quota counted it at.
     */
    const queryBefore = async (
      realMsToMidnight: number,
      timeoutMs: number,
      busOf = (simulator: SiatelSimulator) => new DirectBus(simulator),
    ) => {
      const now = Date.now();
      const midnight = nextRomeMidnight(now + 2 * 86_400_000); // any Italian midnight will do
      // fast(t) = anchor + (t − anchor) × FACTOR, and fast(now + realMsToMidnight) = midnight.
      const realMidnight = now + realMsToMidnight;
      const anchor = (midnight - FACTOR * realMidnight) / (1 - FACTOR);
      const dataDir = tempDir('expiry');
      const bus = busOf(await startSimulator({ registry: { generatedPeople: 0, seed: 1 } }));
      const { adapter, url } = await startAdapter(
        options({ timeoutMs, clockFactor: FACTOR, clockAnchor: new Date(anchor).toISOString() }),
        {
          bus,
          dataDir,
        },
      );
      try {
        const asked = Date.now();
        const answer = await post(`${url}/siatel/verifiche`, { operatore: 'op', codiceFiscale: ROSSI });
        const db = new Database(join(dataDir, 'siatel-quota.sqlite'), { readonly: true });
        const [{ at_ms: admitted }] = db.prepare('SELECT at_ms FROM usage').all() as [{ at_ms: number }];
        db.close();
        return {
          answer,
          midnight,
          realMidnight,
          asked,
          answered: Date.now(),
          expiresAt: Date.parse(bus.sent.at(-1)!.expiresAt!),
          admitted,
        };
      } finally {
        await adapter.stop();
      }
    };

    it('ten real seconds before midnight, with a caller waiting thirty: the query expires half a second before midnight', async () => {
      const q = await queryBefore(10_000, 30_000);
      expect(q.answer.status).toBe(200);
      // Half the quota's day-end margin before the real instant the fast clock reads midnight (ISO ms, the clock read twice: a few ms).
      expect(Math.abs(q.expiresAt - (q.realMidnight - 500))).toBeLessThan(50);
    });

    it('an hour of fast clock before midnight: the query expires when its caller stops waiting', async () => {
      const q = await queryBefore(60_000, 20_000);
      expect(q.answer.status).toBe(200);
      expect(q.expiresAt).toBeGreaterThanOrEqual(q.asked + 20_000);
      expect(q.expiresAt).toBeLessThanOrEqual(q.answered + 20_000);
    });

    it("half a real second before midnight, within the quota's margin: the query waits for the new day", async () => {
      const q = await queryBefore(500, 20_000);
      expect(q.answer.status).toBe(200);
      expect(q.admitted).toBeGreaterThanOrEqual(q.midnight);
      expect(q.answered).toBeGreaterThanOrEqual(q.realMidnight);
      expect(q.expiresAt).toBeGreaterThanOrEqual(q.realMidnight + 20_000);
    });

    it('a process that stalls until the Scadenza has passed: the bus refuses it, and the caller is told to ask again (503), not that it asked wrongly', async () => {
      /** A bus in a process that stalls before submitting, then refuses a Scadenza gone by as the node's submission does. */
      class StallingBus extends DirectBus {
        override async sendAndWait(m: OutgoingMessage): Promise<MessageState> {
          this.sent.push(m);
          await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(m.expiresAt!) - Date.now() + 20)));
          throw new ApiError('TRAMITE_ERR_BAD_REQUEST', 400, 'expiresAt must be a date-time in the future');
        }
      }
      const q = await queryBefore(1_500, 20_000, (simulator) => new StallingBus(simulator));
      expect(q.answer.status).toBe(503);
      expect(q.answer.json).toMatchObject({ error: { code: 'TRAMITE_ERR_ADAPTER_UNAVAILABLE' } });
    });
  });
});
