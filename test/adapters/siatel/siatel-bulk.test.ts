import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { computeCodiceFiscale } from '../../../adapters/sdk/codice-fiscale/codice-fiscale.js';
import { writeSiatelRequest } from '../../../adapters/siatel/siatel-mapping.js';
import { SiatelBulkStore } from '../../../adapters/siatel/siatel-bulk-store.js';
import type { SiatelOptions } from '../../../adapters/siatel/siatel-options.js';
import type { QuotaTime } from '../../../adapters/siatel/siatel-quota.js';
import type { SiatelSimulator } from '../../../adapters/siatel/siatel-simulator-adapter.js';
import {
  AGENZIA,
  COMUNE,
  DirectBus,
  GatedTime,
  LISTEN,
  NOON_ROME,
  VirtualTime,
  get,
  getJson,
  post,
  startAdapter,
  startSimulator,
  until,
} from './siatel-harness.js';
import { newStorePlace, STORE_ENGINES } from '../store-engines.js';

const options: SiatelOptions = { listen: LISTEN, siatel: { party: AGENZIA, service: 'InterrogazioneSIATEL' }, timeoutMs: 5000 };

interface Progress {
  stato: 'in_corso' | 'completato' | 'interrotto';
  motivo?: string;
  totale: number;
  completati: number;
  daElaborare: number;
  risposteLocali: number;
  errori: number;
  risultato?: { csv: string; jsonl: string };
}

/** Valid codes attributed to nobody in the simulator's registry. */
function unattributedCodes(sim: SiatelSimulator, n: number): string[] {
  const codes: string[] = [];
  for (let day = 0; codes.length < n; day++) {
    const birthDate = new Date(Date.UTC(1950, 0, 1) + day * 86_400_000).toISOString().slice(0, 10);
    const code = computeCodiceFiscale({ surname: 'Fuori', name: 'Registro', birthDate, sex: day % 2 ? 'F' : 'M', placeCode: 'Z404' });
    if (!sim.registry.person(code)) codes.push(code);
  }
  return codes;
}

const withWrongCheck = (code: string) => `${code.slice(0, 15)}${code[15] === 'A' ? 'B' : 'A'}`;
/** "rss mra80a01h501x": how a code may be typed in a file. */
const asTyped = (code: string) => `${code.slice(0, 3).toLowerCase()} ${code.slice(3, 6).toLowerCase()}${code.slice(6)}`;

/** Rolling minute and Italian day, as the simulator counted the operator's queries. */
function expectWithinSiatelLimits(sim: SiatelSimulator, operatore: string): void {
  const c = sim.counters(operatore);
  expect(c.blocchi).toEqual([]);
  expect(c.massimoInUnMinuto).toBeLessThanOrEqual(60);
  for (const codes of Object.values(c.codiciPerGiorno)) expect(codes).toBeLessThanOrEqual(500);
}

describe.each(STORE_ENGINES)('the SIATEL adapter: bulk requests, stores on %s', (engine) => {
  /** A new place for the adapter's stores (its folder, and where its stores are opened). */
  const at = () => {
    const place = newStorePlace(engine);
    return { dataDir: place.dataDir, openStore: place.openStore };
  };

  it('answers 1,000 codes within the limits (quota on virtual time) and writes the result file', async () => {
    const time = new VirtualTime(NOON_ROME);
    // The simulator validates every request against the XSD, and the adapter every answer, as in production.
    const simulator = await startSimulator({ registry: { generatedPeople: 1000, seed: 1 } }, time.now);
    const bus = new DirectBus(simulator);
    const { adapter, url } = await startAdapter(options, { bus, ...at(), quotaTime: time });
    try {
      const registered = simulator.registry
        .people()
        .slice(0, 600)
        .map((p) => p.codiceFiscale);
      const unattributed = unattributedCodes(simulator, 380);
      const invalid = unattributed.slice(0, 10).map(withWrongCheck);
      const repeated = registered.slice(0, 10).map(asTyped); // asked again, differently typed: answered without a query
      const codes = [...registered, ...unattributed, ...invalid, ...repeated];
      expect(codes).toHaveLength(1000);

      const accepted = await post(`${url}/siatel/massive`, { operatore: 'massivo', codiciFiscali: codes });
      expect(accepted).toMatchObject({ status: 202, json: { stato: 'in_corso', totale: 1000 } });
      const progressUrl = `${url}${(accepted.json as { avanzamento: string }).avanzamento}`;
      let progress = await getJson<Progress>(progressUrl);
      await until(async () => (progress = await getJson<Progress>(progressUrl)).stato !== 'in_corso', 110_000, 'the bulk request to end');

      expect(progress).toMatchObject({
        stato: 'completato',
        totale: 1000,
        completati: 1000,
        daElaborare: 0,
        risposteLocali: 10,
        errori: 0,
      });
      // 980 distinct valid codes, one query each; more than a day's 500, so the quota waited for Italian midnight.
      expect(bus.requests).toHaveLength(980);
      expect(new Set(bus.requests.map((r) => r.codiceFiscale)).size).toBe(980);
      expect(time.t).toBeGreaterThanOrEqual(Date.parse('2026-11-23T23:00:00Z'));
      expectWithinSiatelLimits(simulator, 'massivo');
      expect(simulator.counters('massivo')).toMatchObject({
        interrogazioni: 980,
        massimoInUnMinuto: 60,
        codiciPerGiorno: { '2026-11-23': 500, '2026-11-24': 480 },
      });

      const expected = (code: string): string => {
        const person = simulator.registry.person(code);
        return person ? (person.omocodico ? 'OMOCODICO' : 'VALIDO') : 'NON_ATTRIBUITO';
      };
      const csv = await get(progress.risultato ? `${url}${progress.risultato.csv}` : '');
      expect(csv.contentType).toMatch(/^text\/csv/);
      const [header, ...rows] = csv.text.trimEnd().split('\r\n');
      expect(header).toBe('riga,inserito,codice_fiscale,esito,fonte,motivo,id_messaggio');
      expect(rows).toHaveLength(1000);
      const lines = await get(`${url}${progress.risultato!.jsonl}`);
      const records = lines.text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { riga: number; inserito: string; codiceFiscale: string; esito: string; fonte: string });
      expect(records.map((r) => r.riga)).toEqual(codes.map((_, i) => i + 1));
      records.forEach((r, i) => {
        const submitted = codes[i]!;
        expect(r.inserito).toBe(submitted);
        if (invalid.includes(submitted)) expect(r).toMatchObject({ esito: 'NON_VALIDO', fonte: 'locale' });
        else
          expect(r).toMatchObject({
            codiceFiscale: submitted.replace(/\s/g, '').toUpperCase(),
            esito: expected(r.codiceFiscale),
            fonte: 'SIATEL',
          });
        expect(rows[i]!.split(',')[3]).toBe(r.esito);
      });
      expect(records.some((r) => r.esito === 'OMOCODICO')).toBe(true);
    } finally {
      await adapter.stop();
    }
  }, 120_000); // a thousand lines of a dozen statements each: longer on PostgreSQL on a shared machine

  it('shows queued work while the quota holds it, and after a restart resumes without asking again', async () => {
    const gated = new GatedTime(NOON_ROME);
    // The simulator reads the time of whichever run of the adapter is on.
    let current: QuotaTime = gated;
    const simulator = await startSimulator({ registry: { generatedPeople: 200, seed: 2 }, validateSchema: false }, () => current.now());
    const bus = new DirectBus(simulator);
    const where = at();
    const codes = simulator.registry
      .people()
      .slice(0, 150)
      .map((p) => p.codiceFiscale);
    const first = await startAdapter(options, { bus, ...where, quotaTime: gated });

    // A text file, one code a line (blank lines ignored), the operator in the query string.
    const res = await request(`${first.url}/siatel/massive?operatore=riavvio`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: `${codes.join('\n')}\n\n`,
    });
    expect(res.statusCode).toBe(202);
    const { id, avanzamento } = (await res.body.json()) as { id: string; avanzamento: string };
    await until(
      async () => (await getJson<Progress>(`${first.url}${avanzamento}`)).completati === 60 && gated.sleeping === 1,
      20_000,
      '60 answers and the 61st query held',
    );

    const held = await getJson(`${first.url}/siatel/stato?operatore=riavvio`);
    expect(held).toEqual({
      operatore: 'riavvio',
      interrogazioniUltimoMinuto: 60,
      codiciOggi: 60,
      inCoda: { richieste: 1, codici: 1 },
      massive: { inCorso: 1, codiciDaElaborare: 90 },
      prossimaAmmissione: { at: new Date(NOON_ROME + 61_001).toISOString(), limite: 'minuto' },
      limiti: { interrogazioniAlMinuto: 60, codiciAlGiorno: 500 },
    });
    // A single query of the same operator waits behind the bulk: queued, not refused.
    const single = post(`${first.url}/siatel/verifiche`, { operatore: 'riavvio', codiceFiscale: codes[0]! });
    await until(
      async () => (await getJson<{ inCoda: { richieste: number } }>(`${first.url}/siatel/stato?operatore=riavvio`)).inCoda.richieste === 2,
      5_000,
      'the single query to queue',
    );
    expect(await getJson(`${first.url}/siatel/stato`)).toMatchObject({ operatori: [{ operatore: 'riavvio', inCoda: { richieste: 2 } }] });
    expect((await first.adapter.health()).detail).toMatch(/riavvio:minuto=60\/60,oggi=60\/500,in_coda=2,massive=90/);
    expect((await get(`${first.url}${avanzamento}/risultato`)).status).toBe(409);

    await first.adapter.stop();
    expect(await single).toMatchObject({ status: 503, json: { error: { code: 'TRAMITE_ERR_ADAPTER_UNAVAILABLE' } } });
    expect(bus.requests).toHaveLength(60);

    const time = new VirtualTime(gated.t);
    current = time;
    const second = await startAdapter(options, { bus, ...where, quotaTime: time });
    try {
      let progress = await getJson<Progress>(`${second.url}${avanzamento}`);
      await until(
        async () => (progress = await getJson<Progress>(`${second.url}${avanzamento}`)).stato === 'completato',
        20_000,
        'the resumed job to end',
      );
      expect(progress).toMatchObject({ totale: 150, completati: 150, errori: 0 });
      // Every code asked exactly once across both runs; the 61st query waited for the minute to pass.
      expect(bus.requests.map((r) => r.codiceFiscale).sort()).toEqual([...codes].sort());
      expect(time.t).toBe(NOON_ROME + 61_001 + 61_001);
      expectWithinSiatelLimits(simulator, 'riavvio');
      const result = await get(`${second.url}/siatel/massive/${id}/risultato?formato=jsonl`);
      expect(
        result.text
          .trimEnd()
          .split('\n')
          .map((l) => (JSON.parse(l) as { esito: string }).esito)
          .every((e) => e === 'VALIDO' || e === 'OMOCODICO'),
      ).toBe(true);
    } finally {
      await second.adapter.stop();
    }
  });

  it('checks residence in bulk, with the Comune in each result line', async () => {
    const time = new VirtualTime(NOON_ROME);
    const simulator = await startSimulator({ registry: { generatedPeople: 50, seed: 3 }, validateSchema: false }, time.now);
    const { adapter, url } = await startAdapter(options, { bus: new DirectBus(simulator), ...at(), quotaTime: time });
    try {
      expect(
        await post(`${url}/siatel/massive`, { operatore: 'op', codiciFiscali: ['X'], interrogazione: 'verificaResidenza' }),
      ).toMatchObject({ status: 400, json: { error: { message: expect.stringMatching(/comune/) } } });
      const people = simulator.registry.people().slice(0, 20);
      const accepted = await post(`${url}/siatel/massive`, {
        operatore: 'op',
        codiciFiscali: people.map((p) => p.codiceFiscale),
        interrogazione: 'verificaResidenza',
        comune: 'g141',
      });
      const avanzamento = (accepted.json as { avanzamento: string }).avanzamento;
      await until(async () => (await getJson<Progress>(`${url}${avanzamento}`)).stato === 'completato', 20_000, 'the job to end');
      const [header, ...rows] = (await get(`${url}${avanzamento}/risultato`)).text.trimEnd().split('\r\n');
      expect(header).toBe('riga,inserito,codice_fiscale,esito,fonte,motivo,comune,id_messaggio');
      rows.forEach((row, i) => {
        const cells = row.split(',');
        expect(cells[3]).toBe(people[i]!.comuneResidenza === 'G141' ? 'RESIDENTE' : 'NON_RESIDENTE');
        expect(cells[6]).toBe('G141');
      });
    } finally {
      await adapter.stop();
    }
  });

  it('interrupts a bulk request when SIATEL blocks the operator, and says which lines were not processed', async () => {
    const time = new VirtualTime(NOON_ROME);
    const simulator = await startSimulator({ registry: { generatedPeople: 20, seed: 4 }, validateSchema: false }, time.now);
    const codes = simulator.registry
      .people()
      .slice(0, 5)
      .map((p) => p.codiceFiscale);
    // Another client used the operator's minute up (SIATEL's alarm counts the operator, not the client).
    const trip = writeSiatelRequest({ interrogazione: 'verificaCodiceFiscale', operatore: 'bloccato', codiceFiscale: codes[0]! });
    for (let i = 0; i < 61; i++)
      await simulator.egress(
        { id: `t${i}`, from: COMUNE, to: AGENZIA, service: 'InterrogazioneSIATEL', profile: 'sincrono', payload: trip },
        AbortSignal.timeout(5000),
      );
    const { adapter, url } = await startAdapter(options, { bus: new DirectBus(simulator), ...at(), quotaTime: time });
    try {
      const accepted = await post(`${url}/siatel/massive`, { operatore: 'bloccato', codiciFiscali: codes });
      const avanzamento = (accepted.json as { avanzamento: string }).avanzamento;
      let progress = await getJson<Progress>(`${url}${avanzamento}`);
      await until(async () => (progress = await getJson<Progress>(`${url}${avanzamento}`)).stato !== 'in_corso', 20_000, 'the job to end');
      expect(progress).toMatchObject({
        stato: 'interrotto',
        motivo: expect.stringMatching(/OPERATORE_BLOCCATO/),
        completati: 1,
        errori: 1,
      });
      const records = (await get(`${url}${avanzamento}/risultato?formato=jsonl`)).text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { esito: string; errore?: string });
      expect(records.map((r) => r.esito)).toEqual(['ERRORE', 'NON_ELABORATO', 'NON_ELABORATO', 'NON_ELABORATO', 'NON_ELABORATO']);
      expect(records[0]!.errore).toBe('OPERATORE_BLOCCATO');
    } finally {
      await adapter.stop();
    }
  });
});

describe('the SIATEL adapter: bulk requests run by several processes sharing a PostgreSQL store', () => {
  it('runs a job in one process at a time, and another takes it over when that one stops: every code asked once', async () => {
    const time = new GatedTime(NOON_ROME);
    const simulator = await startSimulator({ registry: { generatedPeople: 200, seed: 5 }, validateSchema: false }, time.now);
    const bus = new DirectBus(simulator);
    const place = newStorePlace('postgres');
    // Both processes look for jobs every lease period (2 s): only the holder of the job's lease works it.
    const where = { dataDir: place.dataDir, openStore: place.openStore, quotaTime: time, bulkLeaseMs: 2000 };
    const codes = simulator.registry
      .people()
      .slice(0, 150)
      .map((p) => p.codiceFiscale);
    const first = await startAdapter(options, { bus, ...where });
    const second = await startAdapter(options, { bus, ...where });
    try {
      const accepted = await post(`${first.url}/siatel/massive`, { operatore: 'condiviso', codiciFiscali: codes });
      const avanzamento = (accepted.json as { avanzamento: string }).avanzamento;
      // The first process answers a minute's worth, then its quota holds the 61st query.
      await until(
        async () => (await getJson<Progress>(`${second.url}${avanzamento}`)).completati === 60 && time.sleeping === 1,
        20_000,
        '60 answers and the 61st query held',
      );
      expect(bus.requests).toHaveLength(60);
      await first.adapter.stop();
      let progress = await getJson<Progress>(`${second.url}${avanzamento}`);
      await until(
        async () => {
          time.wakeAll();
          return (progress = await getJson<Progress>(`${second.url}${avanzamento}`)).stato === 'completato';
        },
        20_000,
        'the job to end in the second process',
      );
      expect(progress).toMatchObject({ totale: 150, completati: 150, errori: 0 });
      expect(bus.requests.map((r) => r.codiceFiscale).sort()).toEqual([...codes].sort());
      expectWithinSiatelLimits(simulator, 'condiviso');
    } finally {
      await first.adapter.stop();
      await second.adapter.stop();
    }
  });
});

describe('the SIATEL bulk jobs on a node upgraded in place', () => {
  it('opens the siatel-bulk.sqlite written by the previous version and reads its jobs', async () => {
    const place = newStorePlace('sqlite');
    const old = new Database(join(place.dataDir, 'siatel-bulk.sqlite'));
    old.exec(`
      CREATE TABLE IF NOT EXISTS bulk_jobs (
        id TEXT PRIMARY KEY, operatore TEXT NOT NULL, interrogazione TEXT NOT NULL, comune TEXT,
        stato TEXT NOT NULL CHECK (stato IN ('in_corso', 'completato', 'interrotto')), motivo TEXT,
        creato_il TEXT NOT NULL, completato_il TEXT, totale INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS bulk_items (
        job_id TEXT NOT NULL REFERENCES bulk_jobs (id), riga INTEGER NOT NULL, inserito TEXT NOT NULL, codice TEXT NOT NULL,
        tentativi INTEGER NOT NULL DEFAULT 0, risultato TEXT, PRIMARY KEY (job_id, riga));
      CREATE INDEX IF NOT EXISTS bulk_items_by_code ON bulk_items (job_id, codice);
      CREATE TABLE IF NOT EXISTS operators (operatore TEXT PRIMARY KEY, ultimo_uso TEXT NOT NULL);`);
    old.pragma('user_version = 1');
    old
      .prepare(
        "INSERT INTO bulk_jobs (id, operatore, interrogazione, stato, creato_il, totale) VALUES ('j1', 'op', 'verificaCodiceFiscale', 'in_corso', ?, 2)",
      )
      .run(new Date(NOON_ROME).toISOString());
    const answer = { interrogazione: 'verificaCodiceFiscale', codiceFiscale: 'X', esito: 'NON_VALIDO', motivo: 'm', fonte: 'locale' };
    old
      .prepare("INSERT INTO bulk_items (job_id, riga, inserito, codice, risultato) VALUES ('j1', 1, 'x', 'X', ?)")
      .run(JSON.stringify(answer));
    old.prepare("INSERT INTO bulk_items (job_id, riga, inserito, codice) VALUES ('j1', 2, 'y', 'Y')").run();
    old.close();
    const store = await SiatelBulkStore.open(place.openStore);
    try {
      expect((await store.jobsInProgress('op')).map((j) => j.id)).toEqual(['j1']);
      expect(await store.progress('j1')).toEqual({ completati: 1, locali: 1, errori: 0 });
      expect(await store.nextPending('j1')).toMatchObject({ riga: 2, codice: 'Y' });
    } finally {
      await store.close();
    }
  });
});
