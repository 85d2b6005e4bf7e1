/**
 * The SIATEL adapter, for a Comune's party: its back office queries the Agenzia delle Entrate's SIATEL
 * through the bus — verify a codice fiscale, registry data of a person, residence check — one at a time
 * or in bulk (a file of codes → a result file), through its API (siatel-http-api.ts).
 *
 * SIATEL blocks an operator above 60 queries a minute or 500 codici fiscali a day, and a client must
 * limit itself: every query goes through the operator's quota (siatel-quota.ts), which queues rather
 * than refuses, persists across restarts, holds across the node's processes when they share a
 * PostgreSQL store, and shows in `GET /siatel/stato` and in health. A code that
 * cannot be a codice fiscale is answered locally, without a query and without using the quota.
 *
 * Each query is one sincrono bus message to the Agenzia's party (default SPC/AgenziaEntrate) on its
 * service (default InterrogazioneSIATEL), in the XML of siatel-mapping.ts. The adapter serves no bus
 * service itself: it only sends.
 */
import {
  AdapterError,
  type AdapterHttpServer,
  defineAdapter,
  type AdapterContext,
  type AdapterDefinition,
  type AdapterHealth,
  type AdapterInstance,
  type EgressOutcome,
} from '../sdk/index.js';
import { fastClock, stoppable, stoppableQuotaTime } from './siatel-clock.js';
import { siatelHttpApi } from './siatel-http-api.js';
import { SiatelOperations, type OperatorStatus } from './siatel-operations.js';
import { resolveSiatelOptions, siatelOptionsSchema, type SiatelOptions } from './siatel-options.js';
import type { QuotaTime } from './siatel-quota.js';

/** What tests inject: the quota's time (a virtual one), instead of the node's clock and real sleeps. */
export interface SiatelAdapterDeps {
  readonly quotaTime?: QuotaTime;
  /** A bulk job's lease, real time (default 60 s): tests shorten it to see a job taken over. */
  readonly bulkLeaseMs?: number;
}

/** Operators shown in the health detail, at most (the API's /siatel/stato lists all). */
const HEALTH_OPERATORS = 10;

export function siatelAdapter(deps: SiatelAdapterDeps = {}): AdapterDefinition<SiatelOptions> {
  return defineAdapter<SiatelOptions>({
    id: 'siatel',
    version: '1.0.0',
    busApi: '^1',
    description:
      "SIATEL queries (codice fiscale, registry data, residence; single and bulk) to the Agenzia delle Entrate through the bus, within SIATEL's per-operator limits",
    optionsSchema: siatelOptionsSchema,
    services: [],
    setup: (ctx) => new SiatelAdapter(ctx, deps),
  });
}

export default siatelAdapter();

export class SiatelAdapter implements AdapterInstance {
  private running: { operations: SiatelOperations; api?: AdapterHttpServer; abort: AbortController } | undefined;

  constructor(
    private readonly ctx: AdapterContext<SiatelOptions>,
    private readonly deps: SiatelAdapterDeps,
  ) {}

  async start(): Promise<void> {
    if (this.running) return;
    const options = resolveSiatelOptions(this.ctx.options);
    const abort = new AbortController();
    const realNow = () => this.ctx.clock.now();
    const time = this.deps.quotaTime
      ? stoppable(this.deps.quotaTime, abort.signal)
      : stoppableQuotaTime(fastClock(options.clockFactor, realNow, options.clockAnchor), options.clockFactor, abort.signal);
    const operations = await SiatelOperations.open({
      bus: this.ctx.bus,
      openStore: this.ctx.openStore,
      options,
      time,
      realNow,
      log: this.ctx.log,
      signal: abort.signal,
      ...(this.deps.bulkLeaseMs !== undefined ? { bulkLeaseMs: this.deps.bulkLeaseMs } : {}),
    });
    let api: AdapterHttpServer | undefined;
    try {
      if (options.listen) {
        api = siatelHttpApi(operations, this.ctx.log, options.listen.apiTokens);
        await api.listen(options.listen.host, options.listen.port);
        this.ctx.log.info({ url: api.address }, 'SIATEL back-office API listening');
      }
    } catch (err) {
      abort.abort();
      await operations.close();
      throw err;
    }
    try {
      await operations.start();
    } catch (err) {
      abort.abort();
      await api?.close();
      await operations.close();
      throw err;
    }
    if (options.clockFactor !== 1)
      this.ctx.log.warn({ clockFactor: options.clockFactor }, 'SIATEL quota clock runs faster than real time (demo only)');
    this.running = { operations, ...(api ? { api } : {}), abort };
  }

  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    if (!running) return;
    // First end the waits (queued queries fail as "stopping"), then let the API answer what it has, then close.
    running.abort.abort();
    await running.api?.close();
    await running.operations.close();
  }

  async health(): Promise<AdapterHealth> {
    if (!this.running) return { status: 'down', detail: 'not started' };
    const { operations, api } = this.running;
    const quotas: string[] = [];
    for (const op of (await operations.operators()).slice(0, HEALTH_OPERATORS)) quotas.push(describeQuota(await operations.status(op)));
    // The API's address first: tools find it as the detail's first word, as with the protocollo adapter.
    const detail = [api?.address, ...quotas].filter((x): x is string => x !== undefined).join(' ');
    return { status: 'up', ...(detail ? { detail } : {}) };
  }

  /** Where the back-office API listens, once started. */
  get apiAddress(): string | undefined {
    return this.running?.api?.address;
  }

  async egress(): Promise<EgressOutcome> {
    throw AdapterError.refused(
      'TRAMITE_ERR_ADAPTER_REFUSED',
      'the SIATEL adapter serves no bus service: it only sends queries to the Agenzia',
    );
  }
}

function describeQuota(s: OperatorStatus): string {
  return `${s.operatore}:minuto=${s.interrogazioniUltimoMinuto}/${s.limiti.interrogazioniAlMinuto},oggi=${s.codiciOggi}/${s.limiti.codiciAlGiorno},in_coda=${s.inCoda.richieste},massive=${s.massive.codiciDaElaborare}`;
}
