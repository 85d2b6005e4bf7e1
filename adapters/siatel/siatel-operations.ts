/**
 * What the SIATEL adapter does while it runs, for its back-office API and its health: single queries,
 * bulk jobs, and the status of each operator's quota. Owns the stores (the quota's and the bulk jobs',
 * opened through the adapter's context: SQLite in its folder, or PostgreSQL shared by the node's
 * processes), the query client and the bulk runner; opened by `start`, closed by `stop`.
 */
import type { AdapterLogger, AdapterStoreOpener, BusClient } from '../sdk/index.js';
import { SiatelBulkRunner, type BulkSubmission } from './siatel-bulk-runner.js';
import { resultFile, type ResultFormat } from './siatel-bulk-result.js';
import { SiatelBulkStore, type BulkJob } from './siatel-bulk-store.js';
import type { SiatelRequest } from './siatel-mapping.js';
import type { ResolvedSiatelOptions } from './siatel-options.js';
import { SiatelQueryClient, type NextAdmission, type QueryOutcome } from './siatel-query-client.js';
import { SiatelQuota, type QuotaTime } from './siatel-quota.js';

/** An operator's quota as the API and health show it. */
export interface OperatorStatus {
  readonly operatore: string;
  readonly interrogazioniUltimoMinuto: number;
  readonly codiciOggi: number;
  /** Queries the quota holds now, waiting for a limit to allow them, and the codes they carry. */
  readonly inCoda: { readonly richieste: number; readonly codici: number };
  /** Bulk jobs in progress for the operator, and their lines still to answer. */
  readonly massive: { readonly inCorso: number; readonly codiciDaElaborare: number };
  readonly prossimaAmmissione: NextAdmission;
  readonly limiti: { readonly interrogazioniAlMinuto: number; readonly codiciAlGiorno: number };
}

export interface BulkJobProgress extends BulkJob {
  readonly completati: number;
  readonly daElaborare: number;
  /** Lines answered by the adapter itself (not a codice fiscale): no query, no quota. */
  readonly risposteLocali: number;
  readonly errori: number;
  readonly quota: OperatorStatus;
}

/** How long an operator stays listed (health, status) after its last query. */
const OPERATOR_LISTED_MS = 2 * 86_400_000;

export interface SiatelOperationsDeps {
  readonly bus: BusClient;
  readonly openStore: AdapterStoreOpener;
  readonly options: ResolvedSiatelOptions;
  /** The quota's time, its sleeps ended by `signal`. */
  readonly time: QuotaTime;
  /** The real clock (the node's), whatever the quota's. */
  readonly realNow: () => Date;
  readonly log: AdapterLogger;
  readonly signal: AbortSignal;
  /** A bulk job's lease (real time; default BULK_LEASE_MS). */
  readonly bulkLeaseMs?: number;
}

export class SiatelOperations {
  private readonly client: SiatelQueryClient;
  private readonly runner: SiatelBulkRunner;
  private readonly inFlight = new Set<Promise<unknown>>();

  private constructor(
    private readonly deps: SiatelOperationsDeps,
    private readonly quota: SiatelQuota,
    private readonly store: SiatelBulkStore,
  ) {
    const { options, time, signal } = deps;
    this.client = new SiatelQueryClient({
      bus: deps.bus,
      quota: this.quota,
      siatel: options.siatel,
      timeoutMs: options.timeoutMs,
      realNow: deps.realNow,
      signal,
    });
    this.runner = new SiatelBulkRunner({
      store,
      client: this.client,
      time,
      log: deps.log,
      signal,
      ...(deps.bulkLeaseMs !== undefined ? { leaseMs: deps.bulkLeaseMs } : {}),
    });
  }

  /** Opens the quota's and the bulk jobs' stores. */
  static async open(deps: SiatelOperationsDeps): Promise<SiatelOperations> {
    const quota = await SiatelQuota.open(deps.openStore, deps.options.limits, deps.time);
    try {
      return new SiatelOperations(deps, quota, await SiatelBulkStore.open(deps.openStore));
    } catch (err) {
      await quota.close();
      throw err;
    }
  }

  /** Resumes the bulk jobs a previous run (of this process or another) left unfinished. */
  async start(): Promise<void> {
    await this.quota.prune();
    await this.runner.resume();
  }

  /** One query (it waits for the quota when the operator's limits are reached). */
  async query(request: SiatelRequest): Promise<QueryOutcome> {
    await this.store.noteOperator(request.operatore, this.deps.time.now().toISOString());
    const running = this.client.query(request);
    this.inFlight.add(running);
    void running.then(
      () => this.inFlight.delete(running),
      () => this.inFlight.delete(running),
    );
    return running;
  }

  async submitBulk(s: BulkSubmission): Promise<BulkJob> {
    await this.store.noteOperator(s.operatore, this.deps.time.now().toISOString());
    return this.runner.submit(s);
  }

  async progress(jobId: string): Promise<BulkJobProgress | undefined> {
    const job = await this.store.job(jobId);
    if (!job) return undefined;
    const { completati, locali, errori } = await this.store.progress(jobId);
    return {
      ...job,
      completati,
      daElaborare: job.totale - completati,
      risposteLocali: locali,
      errori,
      quota: await this.status(job.operatore),
    };
  }

  /** The result file of a job that has ended (complete or interrupted); undefined for an unknown job. */
  async result(jobId: string, format: ResultFormat): Promise<{ job: BulkJob; file?: string } | undefined> {
    const job = await this.store.job(jobId);
    if (!job) return undefined;
    return job.stato === 'in_corso' ? { job } : { job, file: resultFile(job, await this.store.items(jobId), format) };
  }

  async status(operatore: string): Promise<OperatorStatus> {
    const q = await this.quota.status(operatore);
    const jobs = await this.store.jobsInProgress(operatore);
    let codiciDaElaborare = 0;
    for (const j of jobs) codiciDaElaborare += await this.store.pendingCount(j.id);
    return {
      operatore,
      interrogazioniUltimoMinuto: q.queriesLastMinute,
      codiciOggi: q.codesToday,
      inCoda: { richieste: q.queuedRequests, codici: q.queuedCodes },
      massive: { inCorso: jobs.length, codiciDaElaborare },
      prossimaAmmissione: await this.client.nextAdmission(operatore),
      limiti: { interrogazioniAlMinuto: q.limits.queriesPerMinute, codiciAlGiorno: q.limits.codesPerDay },
    };
  }

  /** Operators queried for in the last two days (by the quota's clock), most recent first. */
  operators(): Promise<string[]> {
    return this.store.operatorsSince(new Date(this.deps.time.now().getTime() - OPERATOR_LISTED_MS).toISOString());
  }

  /** Call once `signal` is aborted: waits for the queries under way to end, then closes the stores. */
  async close(): Promise<void> {
    await this.runner.stopped();
    await Promise.allSettled([...this.inFlight]);
    await this.store.close();
    await this.quota.close();
  }
}
