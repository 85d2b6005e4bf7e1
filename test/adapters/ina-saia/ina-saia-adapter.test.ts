/**
 * The Comune's ina-saia adapter, wired to an INA simulator instance through a bus stub (no node): one
 * sealed communication per event, INA's esito kept and returned, each person's events in order while
 * different people go in parallel, transport failures retried without overtaking, the queue resumed
 * after a restart, the registry API and the back-office notification, and the conformance kit.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import inaSaia, { type InaSaiaAdapter, type InaSaiaOptions } from '../../../adapters/ina-saia/ina-saia-adapter.js';
import { buildEsitoXml, readComunicazioneXml } from '../../../adapters/ina-saia/ina-mapping.js';
import { eventView, type EventView } from '../../../adapters/ina-saia/ina-saia-http-api.js';
import inaSimulator, { type InaSimulatorAdapter } from '../../../adapters/ina-saia/ina-simulator-adapter.js';
import { sqliteAdapterFolder } from '../../../adapters/sdk/store/sqlite-adapter-store.js';
import { checkAdapterConformance, type AdapterStoreOpener, type BusClient, type MessageState } from '../../../adapters/sdk/index.js';
import { checkComunicazioneSeal } from '../../../adapters/ina-saia/ina-seal.js';
import { TramiteError } from '../../../src/core/errors.js';
import { freePort } from '../../../src/daemons/free-port.js';
import { getTestPki } from '../../fixtures/test-pki.js';
import { newStorePlace } from '../store-engines.js';
import {
  AMINA,
  AMINA_CF,
  COMUNE,
  GIULIA_CF,
  MARIO_CF,
  contextFor,
  delay,
  eventually,
  idComunicazioneOf,
  sampleEvents,
  simulatorBus,
  soggettoCompleto,
  unusedBus,
  type BusTwist,
  type SimulatorBus,
} from './ina-saia-fixtures.js';

const OPTIONS: InaSaiaOptions = {
  comune: { codice: COMUNE },
  ina: { party: 'SPC/INA', service: 'ComunicazioneINA' },
  timeoutMs: 5000,
  retry: { delayMs: 50, maxDelayMs: 200 },
  maxParallel: 8,
};

const events = sampleEvents();
/** Mario's life in this Comune, in order: each event needs the one before it at INA. */
const MARIO_LIFE = [
  events['iscrizione.immigrazione'],
  events['mutazione.indirizzo'],
  events['mutazione.famiglia'],
  events['cancellazione.emigrazione'],
];
const AMINA_ARRIVES = {
  ...events['iscrizione.immigrazione'],
  soggetto: soggettoCompleto(AMINA, AMINA_CF),
  provenienza: { statoEstero: 'Z330' },
  famiglia: { idFamiglia: 'FAM-9', relazione: 'intestatario' },
};

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startSimulator(dataDir?: string): Promise<InaSimulatorAdapter> {
  const sim = (await inaSimulator.setup(
    contextFor({ verifySeal: true }, unusedBus, dataDir ? sqliteAdapterFolder(dataDir) : {}),
  )) as InaSimulatorAdapter;
  await sim.start();
  cleanups.push(() => sim.stop());
  return sim;
}

/** `where`: the adapter's folder (its stores SQLite in it), or a place of the stores' (two adapters on one place are two processes). */
async function startComune(
  bus: BusClient,
  options: Partial<InaSaiaOptions> = {},
  where?: string | { dataDir: string; openStore: AdapterStoreOpener },
): Promise<InaSaiaAdapter> {
  const place = typeof where === 'string' ? sqliteAdapterFolder(where) : where;
  const adapter = (await inaSaia.setup(contextFor({ ...OPTIONS, ...options }, bus, place ?? {}))) as InaSaiaAdapter;
  await adapter.start();
  cleanups.push(() => adapter.stop());
  return adapter;
}

const stateOf = async (adapter: InaSaiaAdapter, id: string) => (await adapter.get(id))?.state;
/** Submits events one after the other (their order is the queue's). */
const submitAll = async (adapter: InaSaiaAdapter, list: readonly unknown[]) => {
  const ids: string[] = [];
  for (const e of list) ids.push((await adapter.submit(e)).record.id);
  return ids;
};
const settled = (adapter: InaSaiaAdapter, ids: readonly string[]) =>
  eventually(async () =>
    (await Promise.all(ids.map((id) => stateOf(adapter, id)))).every((s) => ['ACCEPTED', 'REJECTED', 'FAILED'].includes(s ?? '')),
  );

describe('the ina-saia adapter: one sealed communication per event, and its esito', () => {
  it('sends the event to INA as a sealed Comunicazione on its sincrono service and keeps the accepted esito', async () => {
    const sim = await startSimulator();
    const bus = simulatorBus(sim);
    const comune = await startComune(bus);
    const { record } = await comune.submit(events['iscrizione.immigrazione']);
    await settled(comune, [record.id]);

    const done = (await comune.get(record.id))!;
    expect(done).toMatchObject({
      state: 'ACCEPTED',
      attempts: 1,
      messageId: 'msg-1',
      esito: { stato: 'ACCETTATA', idComunicazione: record.id },
    });
    expect(bus.started).toHaveLength(1);
    const sent = bus.started[0]!;
    expect(sent).toMatchObject({ to: 'SPC/INA', service: 'ComunicazioneINA' });
    const comunicazione = readComunicazioneXml(sent.payload);
    expect(comunicazione).toMatchObject({
      idComunicazione: record.id,
      codiceComune: COMUNE,
      evento: { tipo: 'iscrizione', motivo: 'immigrazione', soggetto: { codiceFiscale: MARIO_CF } },
    });
    expect(checkComunicazioneSeal(sent.payload, getTestPki().trust, new Date())).toMatchObject({ valid: true });
  });

  it("keeps INA's rejection with its error list", async () => {
    const sim = await startSimulator();
    const comune = await startComune(simulatorBus(sim));
    const { record } = await comune.submit(events['cancellazione.emigrazione']); // Mario is not registered at INA
    await settled(comune, [record.id]);
    expect(await comune.get(record.id)).toMatchObject({
      state: 'REJECTED',
      esito: { stato: 'RESPINTA', errori: [{ codice: 'SOGGETTO_NON_ISCRITTO', campo: 'soggetto.codiceFiscale' }] },
    });
  });

  it('fails an event for good when the bus refuses it for good, and goes on with the next one of the person', async () => {
    const sim = await startSimulator();
    const refused: MessageState = {
      id: '',
      direction: 'out',
      status: 'FAILED',
      attempts: 1,
      error: { code: 'TRAMITE_ERR_NO_ROUTE', message: 'no peer hosts SPC/INA' },
    };
    const comune = await startComune(simulatorBus(sim, async (_m, n) => (n === 1 ? refused : undefined)));
    const first = (await comune.submit(MARIO_LIFE[0]!)).record;
    const second = (await comune.submit(MARIO_LIFE[1]!)).record;
    await settled(comune, [first.id, second.id]);
    expect(await comune.get(first.id)).toMatchObject({ state: 'FAILED', attempts: 1, lastError: { code: 'TRAMITE_ERR_NO_ROUTE' } });
    // INA never saw the iscrizione, so it rejects the change of address: the outcome says why.
    expect(await comune.get(second.id)).toMatchObject({ state: 'REJECTED', esito: { errori: [{ codice: 'SOGGETTO_NON_ISCRITTO' }] } });
  });

  it('treats a bus that throws like one that answers: a refusal is final, a hiccup is retried', async () => {
    const sim = await startSimulator();
    const inner = simulatorBus(sim);
    let calls = 0;
    const throwing: BusClient = {
      ...inner,
      sendAndWait: async (m, opts) => {
        calls += 1;
        if (m.payload.includes(AMINA_CF)) throw new TramiteError('TRAMITE_ERR_NO_ROUTE', 'no peer hosts SPC/INA');
        if (calls === 1) throw new Error('the node is busy');
        return inner.sendAndWait(m, opts);
      },
    };
    const comune = await startComune(throwing);
    const mario = (await comune.submit(MARIO_LIFE[0]!)).record.id;
    await settled(comune, [mario]);
    const amina = (await comune.submit(AMINA_ARRIVES)).record.id;
    await settled(comune, [amina]);
    expect(await comune.get(mario)).toMatchObject({ state: 'ACCEPTED', attempts: 2 });
    expect(await comune.get(amina)).toMatchObject({ state: 'FAILED', attempts: 1, lastError: { code: 'TRAMITE_ERR_NO_ROUTE' } });
  });

  it('fails an event whose esito cannot be read, or is for another communication', async () => {
    const garbled: BusClient = {
      ...unusedBus,
      sendAndWait: async (m) => ({
        id: 'x',
        direction: 'out',
        status: 'DELIVERED',
        attempts: 1,
        reply: buildEsitoXml({
          stato: 'ACCETTATA',
          idComunicazione: `${idComunicazioneOf(m)}-other`,
          dataOraEsito: new Date().toISOString(),
          idOperazioneIna: 'INA-1',
        }),
      }),
    };
    const comune = await startComune(garbled);
    const { record } = await comune.submit(events['mutazione.indirizzo']);
    await settled(comune, [record.id]);
    expect(await comune.get(record.id)).toMatchObject({
      state: 'FAILED',
      lastError: { code: 'TRAMITE_ERR_RECEIPT_INVALID', message: expect.stringMatching(/-other, not/) },
    });
  });
});

describe('the ina-saia adapter: per-person order', () => {
  it("sends a person's events one at a time, in order, while other people's go in parallel", async () => {
    const sim = await startSimulator();
    // Mario's first communication is held until the other two people's are answered: only if they go
    // in parallel with it can that happen. Nothing else of Mario's may go meanwhile.
    const bus: SimulatorBus = simulatorBus(sim, async (m) => {
      if (m.payload.includes(MARIO_CF) && m.payload.includes('IscrizioneImmigrazione'))
        await eventually(() => bus.answered.length >= 2, 5000);
      else await delay(Math.floor(Math.random() * 20));
    });
    const comune = await startComune(bus);
    const mario = await submitAll(comune, MARIO_LIFE);
    const giulia = (await comune.submit(events['iscrizione.nascita'])).record.id;
    const amina = (await comune.submit(AMINA_ARRIVES)).record.id;
    await settled(comune, [...mario, giulia, amina]);

    for (const id of [...mario, giulia, amina]) expect(await stateOf(comune, id)).toBe('ACCEPTED');
    const order = bus.answered;
    expect(order.filter((id) => mario.includes(id))).toEqual(mario);
    expect(order.indexOf(giulia)).toBeLessThan(order.indexOf(mario[0]!));
    expect(order.indexOf(amina)).toBeLessThan(order.indexOf(mario[0]!));
    // Never two of Mario's at once: each attempt started after the previous one returned.
    const spans = mario.map((id) => bus.spans.get(id)![0]!);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBeGreaterThanOrEqual(spans[i - 1]!.end!);
  });

  it("keeps a person's order across two processes sharing a PostgreSQL store: never two at once, never out of order", async () => {
    const sim = await startSimulator();
    const bus: SimulatorBus = simulatorBus(sim, () => delay(Math.floor(Math.random() * 20)));
    const place = newStorePlace('postgres');
    const where = { dataDir: place.dataDir, openStore: place.openStore };
    const processes = [await startComune(bus, {}, where), await startComune(bus, {}, where)];
    // Each event is posted to one process or the other, in turn: either dispatcher may take any of them.
    const ids: string[] = [];
    const all = [...MARIO_LIFE, events['iscrizione.nascita'], AMINA_ARRIVES];
    for (const [i, e] of all.entries()) ids.push((await processes[i % 2]!.submit(e)).record.id);
    const mario = ids.slice(0, MARIO_LIFE.length);
    await settled(processes[0]!, ids);

    // INA would refuse an event of Mario's that overtook the one before it.
    for (const id of ids) expect(await stateOf(processes[1]!, id)).toBe('ACCEPTED');
    expect(bus.answered.filter((id) => mario.includes(id))).toEqual(mario);
    // One attempt each (no event sent by both processes), each of Mario's after the previous one returned.
    for (const id of ids) expect(bus.spans.get(id)).toHaveLength(1);
    const spans = mario.map((id) => bus.spans.get(id)![0]!);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBeGreaterThanOrEqual(spans[i - 1]!.end!);
  });

  it('retries a transport failure later, and nothing of the person overtakes it', async () => {
    const sim = await startSimulator();
    const unreachable: MessageState = {
      id: '',
      direction: 'out',
      status: 'FAILED',
      attempts: 3,
      error: { code: 'TRAMITE_ERR_PEER_UNREACHABLE', message: 'connect ECONNREFUSED' },
    };
    let failures = 0;
    const bus = simulatorBus(sim, async (m) => {
      // The second of Mario's events meets a network that is down, twice.
      if (m.payload.includes('MutazioneIndirizzo') && failures < 2) {
        failures += 1;
        return unreachable;
      }
      return undefined;
    });
    const comune = await startComune(bus);
    const mario = await submitAll(comune, MARIO_LIFE);
    const amina = (await comune.submit(AMINA_ARRIVES)).record.id;
    await settled(comune, [...mario, amina]);

    expect(await Promise.all(mario.map((id) => stateOf(comune, id)))).toEqual(['ACCEPTED', 'ACCEPTED', 'ACCEPTED', 'ACCEPTED']);
    expect(bus.answered.filter((id) => mario.includes(id))).toEqual(mario);
    expect(await comune.get(mario[1]!)).toMatchObject({ attempts: 3, lastError: { code: 'TRAMITE_ERR_PEER_UNREACHABLE' } });
    expect(eventView((await comune.get(mario[1]!))!)).not.toHaveProperty('ultimoErrore');
    expect(bus.spans.get(mario[1]!)).toHaveLength(3);
    // The same sealed document every time: one communication, several deliveries.
    const attempts = bus.started.filter((m) => idComunicazioneOf(m) === mario[1]);
    expect(new Set(attempts.map((m) => m.payload)).size).toBe(1);
  });

  it('while a person waits for a retry, the registry software sees QUEUED with the last error', async () => {
    const sim = await startSimulator();
    const unreachable: MessageState = {
      id: '',
      direction: 'out',
      status: 'FAILED',
      attempts: 1,
      error: { code: 'TRAMITE_ERR_RETRIES_EXHAUSTED', message: 'gave up' },
    };
    const comune = await startComune(
      simulatorBus(sim, async () => unreachable),
      { retry: { delayMs: 60_000, maxDelayMs: 60_000 } },
    );
    const first = (await comune.submit(MARIO_LIFE[0]!)).record.id;
    const second = (await comune.submit(MARIO_LIFE[1]!)).record.id;
    await eventually(async () => (await comune.get(first))?.attempts === 1 && (await comune.get(first))?.state === 'QUEUED');
    expect(await comune.get(first)).toMatchObject({
      state: 'QUEUED',
      lastError: { code: 'TRAMITE_ERR_RETRIES_EXHAUSTED' },
      nextAttemptAt: expect.any(String),
    });
    expect(await comune.get(second)).toMatchObject({ state: 'QUEUED', attempts: 0 });
  });

  it('when the wait for the esito times out, asks the bus about the same message later instead of sending another', async () => {
    const sim = await startSimulator();
    const bus = simulatorBus(sim, async (_m, n) => (n === 1 ? ('late' as BusTwist) : undefined));
    const comune = await startComune(bus);
    const { record } = await comune.submit(MARIO_LIFE[0]!);
    await settled(comune, [record.id]);
    expect(await comune.get(record.id)).toMatchObject({ state: 'ACCEPTED', attempts: 1, messageId: 'msg-1' });
    expect(bus.started).toHaveLength(1);
  });
});

describe('the ina-saia adapter: restarts', () => {
  it('resumes the queue in order after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tramite-ina-saia-restart-'));
    const sim = await startSimulator();
    // First life: INA cannot be reached at all, and the next attempt is far away.
    const down: MessageState = {
      id: '',
      direction: 'out',
      status: 'FAILED',
      attempts: 1,
      error: { code: 'TRAMITE_ERR_PEER_UNREACHABLE', message: 'down' },
    };
    const firstLife = await startComune(
      simulatorBus(sim, async () => down),
      { retry: { delayMs: 60_000, maxDelayMs: 60_000 } },
      dataDir,
    );
    const mario = await submitAll(firstLife, MARIO_LIFE);
    const amina = (await firstLife.submit(AMINA_ARRIVES)).record.id;
    await eventually(async () => (await firstLife.get(mario[0]!))?.attempts === 1 && (await firstLife.get(amina))?.attempts === 1);
    await firstLife.stop();

    // Second life: INA is up. A new delay policy, the same queue.
    const bus = simulatorBus(sim);
    const secondLife = await startComune(bus, {}, dataDir);
    await settled(secondLife, [...mario, amina]);
    expect(await Promise.all([...mario, amina].map((id) => stateOf(secondLife, id)))).toEqual([
      'ACCEPTED',
      'ACCEPTED',
      'ACCEPTED',
      'ACCEPTED',
      'ACCEPTED',
    ]);
    expect(bus.answered.filter((id) => mario.includes(id))).toEqual(mario);
  });

  it("after a crash that lost INA's answer, sends again and gets the first esito: applied once, accepted once", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tramite-ina-saia-crash-'));
    const sim = await startSimulator();
    // First life: INA applies the iscrizione, but the answer never comes back.
    const firstBus = simulatorBus(sim, async () => 'lost' as BusTwist);
    const firstLife = await startComune(firstBus, {}, dataDir);
    const iscrizione = (await firstLife.submit(MARIO_LIFE[0]!)).record.id;
    const mutazione = (await firstLife.submit(MARIO_LIFE[1]!)).record.id;
    await eventually(() => firstBus.answered.includes(iscrizione));
    expect(await firstLife.get(iscrizione)).toMatchObject({ state: 'SENT' });
    await firstLife.stop();

    const secondBus = simulatorBus(sim);
    const secondLife = await startComune(secondBus, {}, dataDir);
    await settled(secondLife, [iscrizione, mutazione]);
    // Were it applied again, INA would reject the iscrizione as SOGGETTO_GIA_ISCRITTO.
    expect(await secondLife.get(iscrizione)).toMatchObject({ state: 'ACCEPTED', attempts: 2 });
    expect(await secondLife.get(mutazione)).toMatchObject({ state: 'ACCEPTED', attempts: 1 });
    expect(secondBus.answered).toEqual([iscrizione, mutazione]);
  });
});

describe('the ina-saia adapter: the registry API', () => {
  async function api(options: Partial<InaSaiaOptions> = {}): Promise<{ url: string; comune: InaSaiaAdapter; bus: SimulatorBus }> {
    const sim = await startSimulator();
    const bus = simulatorBus(sim);
    const comune = await startComune(bus, { listen: { host: '127.0.0.1', port: 0 }, ...options });
    return { url: `${comune.apiAddress!}/ina-saia/eventi`, comune, bus };
  }

  const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.statusCode, location: res.headers['location'], body: (await res.body.json()) as Record<string, unknown> };
  };
  const get = async (url: string) => {
    const res = await request(url);
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };

  it('POST gives 202 with the event id; GET follows it to its outcome', async () => {
    const { url } = await api();
    const posted = await post(url, events['iscrizione.nascita']);
    expect(posted).toMatchObject({ status: 202, body: { id: expect.stringMatching(/^ev-/), stato: 'QUEUED' } });
    const id = posted.body['id'] as string;
    expect(posted.location).toBe(`/ina-saia/eventi/${id}`);
    await eventually(async () => (await get(`${url}/${id}`)).body['stato'] === 'ACCEPTED');
    const view = (await get(`${url}/${id}`)).body as unknown as EventView;
    expect(view).toMatchObject({
      id,
      stato: 'ACCEPTED',
      tipo: 'iscrizione',
      motivo: 'nascita',
      codiceFiscale: GIULIA_CF,
      riferimentoComune: 'PRATICA-2024-1',
      tentativi: 1,
      esito: { idOperazioneIna: expect.stringMatching(/^INA-/) },
    });
  });

  it('shows a rejection with its errors, and lists a person’s events in order', async () => {
    const { url } = await api();
    const first = (await post(url, events['mutazione.indirizzo'])).body['id'] as string;
    const second = (await post(url, events['iscrizione.immigrazione'])).body['id'] as string;
    await eventually(async () => (await get(`${url}/${second}`)).body['stato'] === 'ACCEPTED');
    expect((await get(`${url}/${first}`)).body).toMatchObject({ stato: 'REJECTED', errori: [{ codice: 'SOGGETTO_NON_ISCRITTO' }] });
    const list = await get(`${url}?codiceFiscale=${MARIO_CF.toLowerCase()}`);
    expect((list.body['eventi'] as EventView[]).map((e) => e.id)).toEqual([first, second]);
  });

  it('refuses an invalid event with 400, naming the field', async () => {
    const { url, bus } = await api();
    const bad = await post(url, {
      ...events['mutazione.indirizzo'],
      soggetto: { codiceFiscale: 'RSSMRA80A01H501A', cognome: 'ROSSI', nome: 'MARIO' },
    });
    expect(bad).toMatchObject({
      status: 400,
      body: {
        error: { code: 'TRAMITE_ERR_BAD_REQUEST', field: 'soggetto.codiceFiscale', problems: [{ field: 'soggetto.codiceFiscale' }] },
      },
    });
    expect((await post(url, '{not json')).status).toBe(400);
    expect(bus.started).toHaveLength(0);
  });

  it('recognises a repeated POST by riferimentoComune, and refuses the reference reused for another event', async () => {
    const { url, comune } = await api();
    const first = await post(url, events['iscrizione.nascita']);
    const again = await post(url, events['iscrizione.nascita']);
    expect(again).toMatchObject({ status: 200, body: { id: first.body['id'] } });
    const reused = await post(url, { ...events['iscrizione.nascita'], famiglia: { idFamiglia: 'FAM-X', relazione: 'figlio' } });
    expect(reused).toMatchObject({
      status: 409,
      body: { error: { code: 'TRAMITE_ERR_BAD_REQUEST', field: 'riferimentoComune', id: first.body['id'] } },
    });
    expect(await comune.byPerson(GIULIA_CF)).toHaveLength(1);
  });

  it('answers 404 for an unknown event or path, and 401 without a configured token', async () => {
    const { url } = await api();
    expect((await get(`${url}/ev-unknown`)).status).toBe(404);
    expect((await get(url.replace('/eventi', '/altro'))).status).toBe(404);

    const token = 'segreto-anagrafe';
    const guarded = await api({
      listen: { host: '127.0.0.1', port: 0, apiTokens: [`sha256:${createHash('sha256').update(token).digest('hex')}`] },
    });
    expect((await post(guarded.url, events['iscrizione.nascita'])).status).toBe(401);
    expect((await post(guarded.url, events['iscrizione.nascita'], { authorization: `Bearer ${token}` })).status).toBe(202);
  });
});

describe('the ina-saia adapter: the back office is told each outcome', () => {
  it('POSTs the outcome as JSON, retrying while the back office fails', async () => {
    const received: EventView[] = [];
    let calls = 0;
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        calls += 1;
        if (calls === 1) return res.writeHead(503).end();
        received.push(JSON.parse(body) as EventView);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const sim = await startSimulator();
    const comune = await startComune(simulatorBus(sim), {
      backOffice: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/esiti` },
    });
    const accepted = (await comune.submit(MARIO_LIFE[0]!)).record.id;
    const amina = (await comune.submit(AMINA_ARRIVES)).record.id;
    const aminaAgain = (await comune.submit({ ...AMINA_ARRIVES, dataEvento: '2025-01-01' })).record.id;
    await eventually(() => received.length === 3);
    expect(received.map((v) => [v.id, v.stato])).toEqual(
      expect.arrayContaining([
        [accepted, 'ACCEPTED'],
        [amina, 'ACCEPTED'],
        [aminaAgain, 'REJECTED'],
      ]),
    );
    expect(received.find((v) => v.id === aminaAgain)).toMatchObject({ errori: [{ codice: 'SOGGETTO_GIA_ISCRITTO' }] });
    await eventually(async () => (await comune.get(aminaAgain))?.notifiedAt !== undefined);
  });
});

describe('the ina-saia adapter: conformance', () => {
  it('passes the conformance kit: options, lifecycle, a final refusal of any egress, ingress through its API', async () => {
    const port = await freePort();
    const report = await checkAdapterConformance<InaSaiaOptions>(inaSaia, {
      options: { ...OPTIONS, listen: { host: '127.0.0.1', port } },
      invalidOptions: [
        { options: { ...OPTIONS, comune: { codice: '058091' } }, field: 'comune.codice' },
        { options: { ...OPTIONS, comune: undefined }, field: 'comune' },
        { options: { ...OPTIONS, ina: { party: 'INA' } }, field: 'ina.party' },
        { options: { ...OPTIONS, timeoutMs: 10 }, field: 'timeoutMs' },
        { options: { ...OPTIONS, listen: { port: 70000 } }, field: 'listen.port' },
      ],
      refused: [
        {
          message: {
            id: 'm1',
            from: 'SPC/INA',
            to: 'SPC/EnteDiProva',
            service: 'ComunicazioneINA',
            profile: 'sincrono',
            payload: '<x xmlns="urn:x"/>',
          },
          retriable: false,
          code: 'TRAMITE_ERR_ADAPTER_REFUSED',
        },
      ],
      reply: (m) =>
        buildEsitoXml({
          stato: 'ACCETTATA',
          idComunicazione: idComunicazioneOf(m),
          dataOraEsito: new Date().toISOString(),
          idOperazioneIna: 'INA-000000001',
        }),
      ingress: {
        trigger: async () => {
          const res = await request(`http://127.0.0.1:${port}/ina-saia/eventi`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(events['iscrizione.nascita']),
          });
          await res.body.dump();
          if (res.statusCode !== 202) throw new Error(`POST answered ${res.statusCode}`);
        },
        expect: 1,
      },
    });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.sent[0]).toMatchObject({ to: 'SPC/INA', service: 'ComunicazioneINA' });
  });

  it('fills in the INA party and service, the timeout and the retry policy by default', async () => {
    const { Ajv } = await import('ajv');
    const addFormats = (await import('ajv-formats')).default;
    const ajv = new Ajv({ useDefaults: true, strict: true });
    addFormats.default(ajv);
    const options: Record<string, unknown> = { comune: { codice: COMUNE } };
    expect(ajv.validate(inaSaia.optionsSchema, options)).toBe(true);
    expect(options).toEqual({
      comune: { codice: COMUNE },
      ina: { party: 'SPC/INA', service: 'ComunicazioneINA' },
      timeoutMs: 30000,
      retry: { delayMs: 5000, maxDelayMs: 300000 },
      maxParallel: 8,
    });
  });
});
