/**
 * The adapters' load beside the SteadyLoad of the cluster fault tests (test/faults/cluster-load.ts), and
 * what is checked once it has stopped (issue 18 item 3):
 * - protocollo: documents the Regione's AOO sends to Francavilla's (registered by whichever CST process
 *   the dispatch hands them to) and documents Francavilla's back office registers through the adapter
 *   API of whichever CST process is up. Every number of register PROT is issued once and in sequence per
 *   year, every inbound document is registered once, every number answered is the document's own.
 * - SIATEL: queries through Ortona's siatel adapter API, spread over the live CST processes, with the
 *   operator's limits low enough that the load presses against them: the simulator never blocked the
 *   operator, and the usage the shared quota counted never exceeded a limit in any window.
 */
import pg from 'pg';
import { request } from 'undici';
import { expect } from 'vitest';
import { romeDay } from '../../adapters/sdk/index.js';
import { SIATEL_LIMITS } from '../../adapters/siatel/siatel-quota.js';
import { DEMO_AOO, DEMO_REGISTRY_COMUNE, protocolloUrlOf } from '../../src/demo/demo-federation.js';
import type { ConfigFileJson } from '../../src/demo/run-demo.js';
import { adapterSchema } from '../../src/node/dispatch/adapter-store-opener.js';
import type { NodeCluster } from '../../test-support/node-cluster.js';

const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const REGIONE = 'SPC/RegioneAbruzzo';
const AGENZIA = 'SPC/AgenziaEntrate';
const ORTONA = DEMO_REGISTRY_COMUNE.party;

/**
 * The SIATEL limits the cluster runs with. At a few calls a second only one of SIATEL's two limits can
 * bind at a time (its day, 500 codes, is under nine of its minutes at 60 a minute), so the load presses
 * the day: the clock runs 2,880× faster, an Italian day lasting 30 real seconds, and the operator may
 * ask 10 codes a day — what the load asks in a couple of seconds — so the quota holds queries back for
 * most of each day, and at each midnight the queries queued on the three processes race for the new
 * day under the quota's lock. A query reaches the simulator on the day it was admitted or not at all:
 * the quota admits none in a day's last real second, and each carries a Scadenza at its day's end
 * (docs/siatel.md) — under a loaded machine a second of latency is 48 fast minutes, and a burst admitted
 * late in a day (the load starting, processes back after a fault) would otherwise land on the next one.
 * The minute limit stays SIATEL's own: at 2,880× a minute lasts 21 real ms, below the jitter of the bus's
 * latency, so a lower one would count in one simulator minute queries the client admitted in different
 * ones; it is checked all the same. The simulator allows one code more a day than the client, for a
 * query the Agenzia's node takes before midnight and its simulator counts after it (the few ms between
 * the Scadenza's last check and the count); two processes admitting past the limit at once exceed it,
 * and the quota's own usage is checked at the client's exact limit.
 */
export const SIATEL_LOAD = { operatore: 'carico-cluster', clockFactor: 2_880, codesPerDay: 10, simulatorCodesPerDay: 11 } as const;

/**
 * Where the run's fast clock starts: this module's first load, once per test run. Every process of the
 * run — on both ends, and each one restarted — counts the limits on this one timeline, even across 00:00
 * UTC (without it each process would anchor at the start of the UTC day it started on).
 */
const SIATEL_RUN_ANCHOR = new Date().toISOString();

/** The configuration the adapter load needs: the SIATEL limits and clock above, on both ends. */
export function adapterLoadConfig(raw: ConfigFileJson, _node: 'cst' | 'regione'): void {
  for (const party of raw['parties'] as ConfigFileJson[]) {
    for (const adapter of (party['adapters'] ?? []) as ConfigFileJson[]) {
      if (party['code'] === ORTONA && adapter['use'] === 'siatel')
        adapter['options'] = {
          ...adapter['options'],
          clockFactor: SIATEL_LOAD.clockFactor,
          clockAnchor: SIATEL_RUN_ANCHOR,
          limits: { queriesPerMinute: SIATEL_LIMITS.queriesPerMinute, codesPerDay: SIATEL_LOAD.codesPerDay },
        };
      if (party['code'] === AGENZIA && adapter['use'] === 'siatel-simulator')
        adapter['options'] = {
          ...adapter['options'],
          clockFactor: SIATEL_LOAD.clockFactor,
          clockAnchor: SIATEL_RUN_ANCHOR,
          limits: { codesPerDay: SIATEL_LOAD.simulatorCodesPerDay },
        };
    }
  }
}

const pdf = Buffer.from('%PDF-1.4 documento del carico di prova\n').toString('base64');
const inoltro = (to: string, oggetto: string, confermaRicezione: boolean) => ({
  to,
  destinatario: {
    codiceAmministrazione: DEMO_AOO[to]!.codiceAmministrazione,
    codiceAOO: DEMO_AOO[to]!.codiceAOO,
    denominazione: DEMO_AOO[to]!.denominazione,
  },
  oggetto,
  classifica: { denominazione: 'Carico di prova', codice: 'I.1' },
  documentoPrimario: { nomeFile: 'documento.pdf', mimeType: 'application/pdf', contenuto: pdf },
  confermaRicezione,
});

/** A registration Francavilla's API answered 202 for. */
interface Registered {
  readonly oggetto: string;
  readonly anno: number;
  readonly numero: number;
  readonly messageId: string;
}

export class AdapterLoad {
  /** Francavilla's registrations answered 202 (documents its back office sent to the Regione). */
  readonly registered: Registered[] = [];
  /** Documents the Regione's AOO sent to Francavilla (bus message ids answered 202). */
  readonly sentToFrancavilla: string[] = [];
  /** Registrations a live process refused because the number it took was taken meanwhile (a unique key). */
  readonly numberTaken: string[] = [];
  /** SIATEL queries answered by SIATEL, and those answered OPERATORE_BLOCCATO. */
  siatelAnswered = 0;
  readonly siatelBlocked: string[] = [];
  /** Calls not answered as asked (a process killed or stopping, PostgreSQL away), by what happened. */
  readonly refused: Record<string, number> = {};
  private running = true;
  private readonly loops: Array<Promise<void>>;
  private readonly urls = new Map<string, string>();
  private next = 0;
  private n = 0;
  private stopped: Promise<void> | undefined;

  constructor(private readonly cluster: NodeCluster) {
    const tag = Date.now().toString(36);
    this.loops = [
      ...[1, 2].map(() => this.loop(1500, () => this.registerAtFrancavilla(tag))),
      ...[1, 2].map(() => this.loop(1500, () => this.sendToFrancavilla(tag))),
      // Three queries waiting on each process at once: at each fast midnight the processes admit theirs back to
      // back, side by side, so the quota's lock across processes is what keeps the new day to its limit.
      ...Array.from({ length: 9 }, () => this.loop(200, () => this.querySiatel())),
    ];
  }

  /** Stops asking; resolves when every call made has been answered (a SIATEL query may wait for the next fast day). */
  stop(): Promise<void> {
    this.running = false;
    this.stopped ??= Promise.all(this.loops).then(() => undefined);
    return this.stopped;
  }

  private async loop(periodMs: number, call: () => Promise<void>): Promise<void> {
    while (this.running) {
      const started = Date.now();
      await call();
      await new Promise((r) => setTimeout(r, Math.max(0, periodMs - (Date.now() - started))));
    }
  }

  /** The next CST process that is running, like a balancer's round robin. */
  private nextMember(): number | undefined {
    const live = this.cluster.members.map((m, i) => (m.process ? i : -1)).filter((i) => i >= 0);
    return live.length === 0 ? undefined : live[this.next++ % live.length];
  }

  /** Member `i`'s adapter API, asked of that process once per process (its ports are new at each start). */
  private async memberApi(i: number, party: string, adapter: string): Promise<string> {
    const key = `${i} ${this.cluster.members[i]!.process?.pid} ${adapter}`;
    let url = this.urls.get(key);
    if (!url) {
      url = await this.cluster.adapterUrlAt(i, party, adapter);
      this.urls.set(key, url);
    }
    return url;
  }

  private async registerAtFrancavilla(tag: string): Promise<void> {
    const i = this.nextMember();
    if (i === undefined) return this.count('protocollo out: no process up');
    const oggetto = `Carico ${tag} n. ${++this.n}`;
    try {
      const api = await this.memberApi(i, FRANCAVILLA, 'protocollo');
      const res = await request(`${api}/protocollo/inoltri`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(inoltro(REGIONE, oggetto, false)),
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
      const body = (await res.body.json().catch(() => ({}))) as {
        identificatore?: { numeroRegistrazione: string; dataRegistrazione: string };
        messageId?: string;
        error?: { code?: string; message?: string };
      };
      if (res.statusCode === 202 && body.identificatore && body.messageId) {
        const id = body.identificatore;
        this.registered.push({
          oggetto,
          anno: Number(id.dataRegistrazione.slice(0, 4)),
          numero: Number(id.numeroRegistrazione),
          messageId: body.messageId,
        });
        return;
      }
      if (/duplicate key|unique/i.test(body.error?.message ?? '')) this.numberTaken.push(`${oggetto}: ${body.error?.message}`);
      this.count(`protocollo out HTTP ${res.statusCode} ${body.error?.code ?? ''}`.trim());
    } catch (err) {
      this.count(`protocollo out ${errorName(err)}`);
    }
  }

  private async sendToFrancavilla(tag: string): Promise<void> {
    try {
      const api = await this.regioneApi();
      const res = await request(`${api}/protocollo/inoltri`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(inoltro(FRANCAVILLA, `Dalla Regione ${tag} n. ${++this.n}`, true)),
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
      const body = (await res.body.json().catch(() => ({}))) as { messageId?: string; error?: { code?: string } };
      if (res.statusCode === 202 && body.messageId) this.sentToFrancavilla.push(body.messageId);
      else this.count(`protocollo in HTTP ${res.statusCode} ${body.error?.code ?? ''}`.trim());
    } catch (err) {
      this.count(`protocollo in ${errorName(err)}`);
    }
  }

  private async regioneApi(): Promise<string> {
    let url = this.urls.get('regione');
    if (!url) {
      url = await protocolloUrlOf(this.cluster.regione, REGIONE);
      this.urls.set('regione', url);
    }
    return url;
  }

  private async querySiatel(): Promise<void> {
    const i = this.nextMember();
    if (i === undefined) return this.count('siatel: no process up');
    try {
      const api = await this.memberApi(i, ORTONA, 'siatel');
      const res = await request(`${api}/siatel/verifiche`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ operatore: SIATEL_LOAD.operatore, codiceFiscale: 'RSSMRA80A01H501U' }),
        // The quota may hold a query until the next fast day (30 s), then the bus has its own 30 s.
        headersTimeout: 90_000,
        bodyTimeout: 90_000,
      });
      const body = (await res.body.json().catch(() => ({}))) as { esito?: string; error?: { code?: string; siatel?: { codice?: string } } };
      if (res.statusCode === 200 && body.esito) this.siatelAnswered += 1;
      else if (body.error?.siatel?.codice === 'OPERATORE_BLOCCATO') this.siatelBlocked.push(JSON.stringify(body.error));
      else this.count(`siatel HTTP ${res.statusCode} ${body.error?.code ?? ''}`.trim());
    } catch (err) {
      this.count(`siatel ${errorName(err)}`);
    }
  }

  private count(what: string): void {
    this.refused[what] = (this.refused[what] ?? 0) + 1;
  }
}

function errorName(err: unknown): string {
  return (err as { code?: string }).code ?? (err as Error).name;
}

/** Statements on the CST's PostgreSQL (where the adapters' stores are), on a connection of their own. */
async function onPostgres<T>(cluster: NodeCluster, work: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: cluster.postgres.url });
  await db.connect();
  try {
    return await work(db);
  } finally {
    await db.end();
  }
}

interface RegisterRow {
  anno: number;
  numero: number;
  direction: string;
  data: string;
  ora: string;
  oggetto: string;
  message_id: string | null;
}

/**
 * Francavilla's register PROT, from the adapter's shared store, once every document sent to it has been
 * registered: each year's numbers are 1..N, each once, their times ascending with them; every document
 * sent to it registered once; every number its API answered is that document's, sent with that message.
 * No gap is allowed: the register takes a number, builds and seals its document and records it in one
 * transaction under the register's lock (adapters/protocollo/register/protocol-register.ts,
 * docs/protocollo.md), so a number is never taken without being recorded — a process killed after the
 * commit leaves the number issued to its document (REGISTRATA, perhaps never sent), not a hole.
 */
export async function expectProtocolloNumbering(cluster: NodeCluster, load: AdapterLoad): Promise<void> {
  const schema = adapterSchema(FRANCAVILLA, 'protocollo', 'registro');
  const registro = DEMO_AOO[FRANCAVILLA]!.codiceRegistro;
  const rows = () =>
    onPostgres(cluster, async (db) =>
      (
        await db.query<RegisterRow>(
          `SELECT anno, numero, direction, data, ora, oggetto, message_id FROM ${schema}.registrations WHERE registro = $1 ORDER BY anno, numero`,
          [registro],
        )
      ).rows.map((r) => ({ ...r, anno: Number(r.anno), numero: Number(r.numero) })),
    );
  // Inbound documents are registered when the dispatch hands them over, after a fault perhaps on a retry.
  const registeredOnce = async () => {
    const inbound = (await rows()).filter((r) => r.direction === 'in').map((r) => r.message_id);
    return load.sentToFrancavilla.filter((id) => inbound.filter((m) => m === id).length !== 1);
  };
  await expect.poll(registeredOnce, { timeout: 120_000, interval: 500 }).toEqual([]);

  const all = await rows();
  const years = [...new Set(all.map((r) => r.anno))];
  for (const anno of years) {
    const ofYear = all.filter((r) => r.anno === anno);
    expect(
      ofYear.map((r) => r.numero),
      `register ${registro} of ${anno}: numbers 1..N, each once`,
    ).toEqual(ofYear.map((_, k) => k + 1));
    const times = ofYear.map((r) => `${r.data}T${r.ora}`);
    expect(times, `register ${registro} of ${anno}: times ascend with the numbers`).toEqual([...times].sort());
  }
  const byNumber = new Map(all.map((r) => [`${r.anno}/${r.numero}`, r]));
  const wrong = load.registered
    .map((reg) => ({ reg, row: byNumber.get(`${reg.anno}/${reg.numero}`) }))
    .filter(({ reg, row }) => row?.direction !== 'out' || row.oggetto !== reg.oggetto || row.message_id !== reg.messageId)
    .map(({ reg, row }) => `${reg.anno}/${reg.numero} answered for "${reg.oggetto}" (${reg.messageId}), registered ${JSON.stringify(row)}`);
  expect(wrong, 'numbers answered by the API that are not their document in the register').toEqual([]);
  expect(load.numberTaken, 'registrations refused because their number was taken meanwhile').toEqual([]);
  // The back office may be told of a document twice (a hand-over retried after a crash), never under two numbers.
  const numbersOf = new Map<string, Set<string>>();
  for (const e of cluster.backOffice.protocollo) {
    const ev = e as unknown as {
      party: string;
      evento: string;
      messageId: string;
      registrazione?: { identificatore: { numeroRegistrazione: string } };
    };
    if (ev.party !== FRANCAVILLA || ev.evento !== 'protocollato' || !ev.registrazione) continue;
    const set = numbersOf.get(ev.messageId) ?? new Set<string>();
    set.add(ev.registrazione.identificatore.numeroRegistrazione);
    numbersOf.set(ev.messageId, set);
  }
  expect(
    [...numbersOf].filter(([, set]) => set.size > 1).map(([id, set]) => `${id}: ${[...set].join(', ')}`),
    'documents handed to the back office under more than one number',
  ).toEqual([]);
}

/**
 * SIATEL's limits were never exceeded: the simulator (on the Regione's node, one process) never blocked
 * the operator nor counted more than its limits in a minute or a day, and the usage the CST's processes
 * admitted through their shared quota never exceeded the client's limits in any window. The load
 * pressed against the day limit: some day's usage reached it.
 */
export async function expectSiatelLimitsHeld(cluster: NodeCluster, load: AdapterLoad): Promise<void> {
  expect(load.siatelBlocked, 'SIATEL queries answered OPERATORE_BLOCCATO').toEqual([]);
  expect(load.siatelAnswered, 'SIATEL queries answered during the scenario').toBeGreaterThan(0);
  const res = await request(`${cluster.regione.baseUrl}/health`, { headers: { authorization: `Bearer ${cluster.regione.operatorToken}` } });
  const health = (await res.body.json()) as { adapters?: Array<{ party: string; adapter: string; detail?: string }> };
  const detail = health.adapters?.find((a) => a.party === AGENZIA && a.adapter === 'siatel-simulator')?.detail ?? '';
  // `<operatore> interrogazioni=N max_minuto=M max_giorno=G blocchi=B` (siatel-simulator-adapter.ts health)
  const seen = new RegExp(`${SIATEL_LOAD.operatore} interrogazioni=(\\d+) max_minuto=(\\d+) max_giorno=(\\d+) blocchi=(\\d+)`).exec(detail);
  expect(seen, `the simulator's counters of ${SIATEL_LOAD.operatore} in: ${detail}`).not.toBeNull();
  const [, , maxMinute, maxDay, blocks] = seen!.map(Number);
  expect(
    { blocks, maxMinuteOver: maxMinute! > SIATEL_LIMITS.queriesPerMinute, maxDayOver: maxDay! > SIATEL_LOAD.simulatorCodesPerDay },
    detail,
  ).toEqual({
    blocks: 0,
    maxMinuteOver: false,
    maxDayOver: false,
  });

  const usage = await onPostgres(cluster, async (db) =>
    (
      await db.query<{ at_ms: string; codes: number }>(
        `SELECT at_ms, codes FROM ${adapterSchema(ORTONA, 'siatel', 'siatel-quota')}.usage WHERE operator = $1 ORDER BY at_ms`,
        [SIATEL_LOAD.operatore],
      )
    ).rows.map((r) => ({ at: Number(r.at_ms), codes: r.codes })),
  );
  const perDay = new Map<string, number>();
  for (const u of usage) perDay.set(romeDay(u.at), (perDay.get(romeDay(u.at)) ?? 0) + u.codes);
  expect(
    [...perDay].filter(([, codes]) => codes > SIATEL_LOAD.codesPerDay),
    'fast days over the client limit',
  ).toEqual([]);
  expect(Math.max(...perDay.values()), 'the load pressed against the day limit').toBe(SIATEL_LOAD.codesPerDay);
  let busiestMinute = 0;
  for (let a = 0, b = 0; b < usage.length; b++) {
    while (usage[a]!.at <= usage[b]!.at - 60_000) a++;
    busiestMinute = Math.max(busiestMinute, b - a + 1);
  }
  expect(busiestMinute, 'queries admitted in a rolling minute').toBeLessThanOrEqual(SIATEL_LIMITS.queriesPerMinute);
}
