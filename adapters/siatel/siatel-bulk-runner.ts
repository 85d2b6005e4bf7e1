/**
 * Runs bulk jobs in the background: one query per line, in file order, each through the operator's
 * quota like any other query, the answer stored as soon as it comes. The job's state is in the adapter's
 * store, so after a restart `resume` picks every unfinished job up at its first unanswered line; a line
 * whose code was already answered earlier in the same job takes that answer without a new query.
 *
 * Node processes sharing the store share the jobs: a job is worked by the holder of its lease only,
 * which renews it while it works; the others look again every lease period, and take over the jobs
 * of a process that died once its leases run out. An answer is written only while the lease is held,
 * so a holder that lost it (paused past its expiry) stops at its next line without writing it.
 *
 * A query SIATEL could not answer (no answer on the bus, SERVIZIO_NON_DISPONIBILE) is tried again after
 * a pause, up to MAX_ATTEMPTS; then the line is recorded as ERRORE and the job goes on. An operator
 * blocked by SIATEL (which the quota is there to prevent) interrupts the job: every further query would
 * be refused too and prolong the block.
 */
import type { AdapterLogger } from '../sdk/index.js';
import { TramiteError } from '../../src/core/errors.js';
import { checkCodiceFiscale } from '../sdk/index.js';
import type { StoreLease } from '../sdk/index.js';
import type { SiatelBulkStore, BulkItem, BulkItemResult, BulkJob } from './siatel-bulk-store.js';
import type { SiatelQueryKind, SiatelRequest } from './siatel-mapping.js';
import { SiatelQueryError, type SiatelQueryClient } from './siatel-query-client.js';
import type { QuotaTime } from './siatel-quota.js';

/** Tries of one line before it is recorded as ERRORE. */
const MAX_ATTEMPTS = 3;
/** Pause before trying a line again, on the quota's clock. */
const RETRY_PAUSE_MS = 30_000;
/** How long a job's lease lasts unrenewed (real time): a dead process's jobs are taken over after this. */
export const BULK_LEASE_MS = 60_000;

export interface BulkSubmission {
  readonly operatore: string;
  readonly interrogazione: SiatelQueryKind;
  readonly comune?: string;
  readonly codiciFiscali: readonly string[];
}

export class SiatelBulkRunner {
  private readonly workers = new Map<string, Promise<void>>();
  private rescan: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: {
      readonly store: SiatelBulkStore;
      readonly client: SiatelQueryClient;
      readonly time: QuotaTime;
      readonly log: AdapterLogger;
      /** Aborted when the adapter stops: no new query is started, sleeps end. */
      readonly signal: AbortSignal;
      /** A job's lease, real time (default BULK_LEASE_MS): renewed every third of it, jobs looked for again every period. */
      readonly leaseMs?: number;
    },
  ) {}

  private get leaseMs(): number {
    return this.deps.leaseMs ?? BULK_LEASE_MS;
  }

  private get stopping(): boolean {
    return this.deps.signal.aborted;
  }

  /**
   * Starts (again) every job still in progress whose lease is free, now and then every lease period:
   * jobs of another process that stopped are taken over.
   */
  async resume(): Promise<void> {
    await this.resumeFree();
    if (this.rescan || this.stopping) return;
    this.rescan = setInterval(() => {
      this.resumeFree().catch((err: unknown) => {
        if (!this.stopping) this.deps.log.warn({ err: (err as Error).message }, 'SIATEL bulk requests: cannot look for jobs to resume');
      });
    }, this.leaseMs);
    this.rescan.unref();
  }

  private async resumeFree(): Promise<void> {
    for (const job of await this.deps.store.jobsInProgress()) this.run(job.id);
  }

  async submit(s: BulkSubmission): Promise<BulkJob> {
    const lines = s.codiciFiscali.map((inserito) => ({ inserito, codice: checkCodiceFiscale(inserito).normalized }));
    const job = await this.deps.store.createJob(
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
    clearInterval(this.rescan);
    this.rescan = undefined;
    await Promise.allSettled([...this.workers.values()]);
  }

  private run(jobId: string): void {
    if (this.stopping || this.workers.has(jobId)) return;
    const worker = this.leased(jobId)
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

  /** Works the job while this process holds its lease; a job another process holds is left to it. */
  private async leased(jobId: string): Promise<void> {
    const lease = this.deps.store.lease(jobId, this.leaseMs);
    if (!(await lease.acquire())) return;
    let lost = false;
    const renew = setInterval(() => {
      lease.acquire().then(
        (held) => (lost ||= !held),
        () => undefined, // the store unreachable for a moment: the next renewal, or the fence in `answer`, decides
      );
    }, this.leaseMs / 3);
    renew.unref();
    try {
      await this.work(jobId, lease, () => lost);
    } finally {
      clearInterval(renew);
      await lease.release().catch(() => undefined);
    }
  }

  private async work(jobId: string, lease: StoreLease, lost: () => boolean): Promise<void> {
    const { store, client, log } = this.deps;
    const leaseLost = () => log.warn({ job: jobId }, 'SIATEL bulk request: another process holds it now; leaving it to that one');
    for (;;) {
      if (this.stopping) return;
      if (lost()) return leaseLost();
      const job = await store.job(jobId);
      if (!job || job.stato !== 'in_corso') return;
      const item = await store.nextPending(jobId);
      if (!item) {
        await store.complete(jobId, this.deps.time.now().toISOString());
        log.info({ job: jobId, ...(await store.progress(jobId)) }, 'SIATEL bulk request complete');
        return;
      }
      const earlier = await store.answeredBefore(jobId, item.codice);
      if (earlier) {
        if (!(await store.answer(jobId, item.riga, earlier, lease))) return leaseLost();
        continue;
      }
      try {
        if (!(await store.answer(jobId, item.riga, await client.query(requestFor(job, item.codice)), lease))) return leaseLost();
      } catch (err) {
        if (this.stopping) return;
        if (!(err instanceof SiatelQueryError)) throw err;
        if (err.siatel?.codice === 'OPERATORE_BLOCCATO') {
          if (!(await store.answer(jobId, item.riga, notAnswered(job, item, err), lease))) return leaseLost();
          await store.interrupt(jobId, err.message);
          log.error(
            { job: jobId, operatore: job.operatore, riga: item.riga },
            `SIATEL blocked the operator; bulk request interrupted: ${err.message}`,
          );
          return;
        }
        if (err.retriable && item.tentativi + 1 < MAX_ATTEMPTS) {
          await store.countAttempt(jobId, item.riga);
          log.warn(
            { job: jobId, riga: item.riga, attempt: item.tentativi + 1, err: err.message },
            'SIATEL query not answered; trying again after a pause',
          );
          await this.deps.time.sleep(RETRY_PAUSE_MS); // rejected when the adapter stops
          continue;
        }
        if (!(await store.answer(jobId, item.riga, notAnswered(job, item, err), lease))) return leaseLost();
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
