/**
 * Runs bulk jobs in the background: one query per line, in file order, each through the operator's
 * quota like any other query, the answer stored as soon as it comes. The job's state is in SQLite, so
 * after a restart `resume` picks every unfinished job up at its first unanswered line; a line whose
 * code was already answered earlier in the same job takes that answer without a new query.
 *
 * A query SIATEL could not answer (no answer on the bus, SERVIZIO_NON_DISPONIBILE) is tried again after
 * a pause, up to MAX_ATTEMPTS; then the line is recorded as ERRORE and the job goes on. An operator
 * blocked by SIATEL (which the quota is there to prevent) interrupts the job: every further query would
 * be refused too and prolong the block.
 */
import type { AdapterLogger } from '../sdk/index.js';
import { TramiteError } from '../../src/core/errors.js';
import { checkCodiceFiscale } from '../sdk/index.js';
import type { SiatelBulkStore, BulkItem, BulkItemResult, BulkJob } from './siatel-bulk-store.js';
import type { SiatelQueryKind, SiatelRequest } from './siatel-mapping.js';
import { SiatelQueryError, type SiatelQueryClient } from './siatel-query-client.js';
import type { QuotaTime } from './siatel-quota.js';

/** Tries of one line before it is recorded as ERRORE. */
const MAX_ATTEMPTS = 3;
/** Pause before trying a line again, on the quota's clock. */
const RETRY_PAUSE_MS = 30_000;

export interface BulkSubmission {
  readonly operatore: string;
  readonly interrogazione: SiatelQueryKind;
  readonly comune?: string;
  readonly codiciFiscali: readonly string[];
}

export class SiatelBulkRunner {
  private readonly workers = new Map<string, Promise<void>>();

  constructor(
    private readonly deps: {
      readonly store: SiatelBulkStore;
      readonly client: SiatelQueryClient;
      readonly time: QuotaTime;
      readonly log: AdapterLogger;
      /** Aborted when the adapter stops: no new query is started, sleeps end. */
      readonly signal: AbortSignal;
    },
  ) {}

  private get stopping(): boolean {
    return this.deps.signal.aborted;
  }

  /** Starts (again) every job still in progress. */
  resume(): void {
    for (const job of this.deps.store.jobsInProgress()) this.run(job.id);
  }

  submit(s: BulkSubmission): BulkJob {
    const lines = s.codiciFiscali.map((inserito) => ({ inserito, codice: checkCodiceFiscale(inserito).normalized }));
    const job = this.deps.store.createJob(
      {
        operatore: s.operatore,
        interrogazione: s.interrogazione,
        ...(s.comune !== undefined ? { comune: s.comune } : {}),
        creatoIl: this.deps.time.now().toISOString(),
      },
      lines,
    );
    this.deps.log.info({ job: job.id, operatore: job.operatore, totale: job.totale }, 'SIATEL bulk request accepted');
    this.run(job.id);
    return job;
  }

  /**
   * Resolves when every worker has ended, once the signal is aborted: a query on the bus ends first, one
   * waiting for the quota is abandoned (its line stays unanswered, for the next start).
   */
  async stopped(): Promise<void> {
    await Promise.allSettled([...this.workers.values()]);
  }

  private run(jobId: string): void {
    if (this.stopping || this.workers.has(jobId)) return;
    const worker = this.work(jobId)
      .catch((err: unknown) => {
        if (!this.stopping)
          this.deps.log.error(
            { job: jobId, err: (err as Error).message },
            'SIATEL bulk job stopped by an unexpected error; it resumes at the next start',
          );
      })
      .finally(() => this.workers.delete(jobId));
    this.workers.set(jobId, worker);
  }

  private async work(jobId: string): Promise<void> {
    const { store, client, log } = this.deps;
    for (;;) {
      if (this.stopping) return;
      const job = store.job(jobId);
      if (!job || job.stato !== 'in_corso') return;
      const item = store.nextPending(jobId);
      if (!item) {
        store.complete(jobId, this.deps.time.now().toISOString());
        log.info({ job: jobId, ...store.progress(jobId) }, 'SIATEL bulk request complete');
        return;
      }
      const earlier = store.answeredBefore(jobId, item.codice);
      if (earlier) {
        store.answer(jobId, item.riga, earlier);
        continue;
      }
      try {
        store.answer(jobId, item.riga, await client.query(requestFor(job, item.codice)));
      } catch (err) {
        if (this.stopping) return;
        if (!(err instanceof SiatelQueryError)) throw err;
        if (err.siatel?.codice === 'OPERATORE_BLOCCATO') {
          store.answer(jobId, item.riga, notAnswered(job, item, err));
          store.interrupt(jobId, err.message);
          log.error(
            { job: jobId, operatore: job.operatore, riga: item.riga },
            `SIATEL blocked the operator; bulk request interrupted: ${err.message}`,
          );
          return;
        }
        if (err.retriable && item.tentativi + 1 < MAX_ATTEMPTS) {
          store.countAttempt(jobId, item.riga);
          log.warn(
            { job: jobId, riga: item.riga, attempt: item.tentativi + 1, err: err.message },
            'SIATEL query not answered; trying again after a pause',
          );
          await this.deps.time.sleep(RETRY_PAUSE_MS); // rejected when the adapter stops
          continue;
        }
        store.answer(jobId, item.riga, notAnswered(job, item, err));
      }
    }
  }
}

function requestFor(job: BulkJob, codiceFiscale: string): SiatelRequest {
  if (job.interrogazione !== 'verificaResidenza') return { interrogazione: job.interrogazione, operatore: job.operatore, codiceFiscale };
  if (job.comune === undefined) throw new TramiteError('TRAMITE_ERR_INTERNAL', `bulk job ${job.id}: a residence check without a Comune`);
  return { interrogazione: 'verificaResidenza', operatore: job.operatore, codiceFiscale, comune: job.comune };
}

function notAnswered(job: BulkJob, item: BulkItem, err: SiatelQueryError): BulkItemResult {
  return {
    interrogazione: job.interrogazione,
    codiceFiscale: item.codice,
    fonte: 'SIATEL',
    esito: 'ERRORE',
    motivo: err.message,
    ...(err.siatel ? { errore: err.siatel.codice } : {}),
  };
}
