/**
 * What the SIATEL adapter does while it runs, for its back-office API and its health: single queries,
 * bulk jobs, and the status of each operator's quota. Owns the stores (the quota's and the bulk jobs',
 * both SQLite in the adapter's data folder), the query client and the bulk runner; built by `start`,
 * closed by `stop`.
 */
import { join } from 'node:path';
import type { AdapterLogger, BusClient } from '../sdk/index.js';
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

export class SiatelOperations {
  private readonly quota: SiatelQuota;
  private readonly store: SiatelBulkStore;
  private readonly client: SiatelQueryClient;
  private readonly runner: SiatelBulkRunner;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly deps: {
      readonly bus: BusClient;
      readonly dataDir: string;
      readonly options: ResolvedSiatelOptions;
      /** The quota's time, its sleeps ended by `signal`. */
      readonly time: QuotaTime;
      readonly today: () => Date;
      readonly log: AdapterLogger;
      readonly signal: AbortSignal;
    },
  ) {
    const { options, time, signal } = deps;
    this.quota = new SiatelQuota(join(deps.dataDir, 'siatel-quota.sqlite'), options.limits, time);
    try {
      this.store = new SiatelBulkStore(join(deps.dataDir, 'siatel-bulk.sqlite'));
    } catch (err) {
      this.quota.close();
      throw err;
    }
    this.client = new SiatelQueryClient({
      bus: deps.bus,
      quota: this.quota,
      time,
      siatel: options.siatel,
      timeoutMs: options.timeoutMs,
      today: deps.today,
      signal,
    });
    this.runner = new SiatelBulkRunner({ store: this.store, client: this.client, time, log: deps.log, signal });
  }

  /** Resumes the bulk jobs a previous run left unfinished. */
  start(): void {
    this.quota.prune();
    this.runner.resume();
  }

  /** One query (it waits for the quota when the operator's limits are reached). */
  query(request: SiatelRequest): Promise<QueryOutcome> {
    this.store.noteOperator(request.operatore, this.deps.time.now().toISOString());
    const running = this.client.query(request);
    this.inFlight.add(running);
    void running.then(
      () => this.inFlight.delete(running),
      () => this.inFlight.delete(running),
    );
    return running;
  }

  submitBulk(s: BulkSubmission): BulkJob {
    this.store.noteOperator(s.operatore, this.deps.time.now().toISOString());
    return this.runner.submit(s);
  }

  progress(jobId: string): BulkJobProgress | undefined {
    const job = this.store.job(jobId);
    if (!job) return undefined;
    const { completati, locali, errori } = this.store.progress(jobId);
    return { ...job, completati, daElaborare: job.totale - completati, risposteLocali: locali, errori, quota: this.status(job.operatore) };
  }

  /** The result file of a job that has ended (complete or interrupted); undefined for an unknown job. */
  result(jobId: string, format: ResultFormat): { job: BulkJob; file?: string } | undefined {
    const job = this.store.job(jobId);
    if (!job) return undefined;
    return job.stato === 'in_corso' ? { job } : { job, file: resultFile(job, this.store.items(jobId), format) };
  }

  status(operatore: string): OperatorStatus {
    const q = this.quota.status(operatore);
    const jobs = this.store.jobsInProgress(operatore);
    return {
      operatore,
      interrogazioniUltimoMinuto: q.queriesLastMinute,
      codiciOggi: q.codesToday,
      inCoda: { richieste: q.queuedRequests, codici: q.queuedCodes },
      massive: { inCorso: jobs.length, codiciDaElaborare: jobs.reduce((n, j) => n + this.store.pendingCount(j.id), 0) },
      prossimaAmmissione: this.client.nextAdmission(operatore),
      limiti: { interrogazioniAlMinuto: q.limits.queriesPerMinute, codiciAlGiorno: q.limits.codesPerDay },
    };
  }

  /** Operators queried for in the last two days (by the quota's clock), most recent first. */
  operators(): string[] {
    return this.store.operatorsSince(new Date(this.deps.time.now().getTime() - OPERATOR_LISTED_MS).toISOString());
  }

  /** Call once `signal` is aborted: waits for the queries under way to end, then closes the stores. */
  async close(): Promise<void> {
    await this.runner.stopped();
    await Promise.allSettled([...this.inFlight]);
    this.store.close();
    this.quota.close();
  }
}
