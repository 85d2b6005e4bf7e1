/**
 * When each day's PDND tracing file is uploaded (reference §5.8: every day, processed asynchronously,
 * replaceable). A pass (`runDue(now)`):
 *
 *  1. uploads, oldest day first, every (tenant, day) before the cutoff whose file is due: never tried,
 *     `pending` or cut short by a restart (`uploading`), uploaded but grown since (a late record: the
 *     new file replaces the day's at PDND), or `failed` and last tried at least `retryFailedAfterMs`
 *     ago (default an hour). The cutoff is today once the UTC hour reaches `uploadHourUtc`, yesterday
 *     before it: yesterday waits for the hour, older days missed during downtime go at once (catch-up).
 *     A day ending `failed` ends the pass's uploads: PDND is down, the next days would fail the same way
 *     and each costs the uploader's retries. `rejected` days are left to an operator; `uploaded` ones alone.
 *  2. asks PDND the state of every file sent whose state is not final (COMPLETED, ERROR, REPLACED), at
 *     most `maxPolls` times each (default 12: two hours of passes); ERROR makes the day `rejected` with
 *     PDND's problems, so `tramite pdnd tracing` and GET /health show it.
 *
 * One pass at a time: a timer firing during a long pass (an outage, many days to catch up) does nothing;
 * and one process at a time of those sharing the ledger (a lease in its store, twice `checkEveryMs` long,
 * renewed by each pass of its holder; taken over once a dead holder's runs out).
 */
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../core/clock.js';
import { TramiteError } from '../core/errors.js';
import { type TracingDay, type TracingLedger, type TracingSummary, type TracingUpload, tracingDay } from './tracing-ledger.js';
import type { TracingUploader } from './tracing-uploader.js';

/** PDND's states after which a file's state no longer changes by itself. */
export const FINAL_TRACING_STATES = ['COMPLETED', 'ERROR', 'REPLACED'] as const;

const HOUR_MS = 3_600_000;

export interface TracingScheduleOptions {
  readonly ledger: TracingLedger;
  readonly uploader: Pick<TracingUploader, 'upload' | 'verdict'>;
  readonly clock?: Clock;
  /** Hour (UTC, 0–23) after which yesterday's file is uploaded (config `pdnd.uploadHourUtc`, default 2). */
  readonly uploadHourUtc?: number;
  readonly log?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Between two passes (default 10 min). */
  readonly checkEveryMs?: number;
  /** How long a `failed` day waits before it is tried again (default 1 h). */
  readonly retryFailedAfterMs?: number;
  /** How many times PDND's state of one file is asked before the schedule stops asking (default 12). */
  readonly maxPolls?: number;
  /** How long `stop()` waits for a pass in flight (default 15 s). */
  readonly stopTimeoutMs?: number;
}

export interface TracingPassResult {
  /** True when another pass was running and this one did nothing. */
  readonly skipped: boolean;
  /** Days before this date were due. */
  readonly cutoff: string;
  /** The upload of each day tried, in the order tried, as it ended. */
  readonly uploads: readonly TracingUpload[];
  /** Each file whose PDND state was asked, as recorded afterwards. */
  readonly verdicts: readonly TracingUpload[];
}

export class TracingSchedule {
  private readonly clock: Clock;
  private readonly uploadHourUtc: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<TracingPassResult> | undefined;
  private stopping = false;

  constructor(private readonly opts: TracingScheduleOptions) {
    this.clock = opts.clock ?? systemClock;
    this.uploadHourUtc = opts.uploadHourUtc ?? 2;
    if (!Number.isInteger(this.uploadHourUtc) || this.uploadHourUtc < 0 || this.uploadHourUtc > 23)
      throw new TramiteError('TRAMITE_ERR_INVALID_ARGUMENT', `uploadHourUtc ${this.uploadHourUtc} is not an hour 0-23`);
  }

  /** A pass now (catch-up after downtime), then one every `checkEveryMs`; the timer keeps no process alive. */
  start(): void {
    if (this.timer) return;
    this.stopping = false;
    const tick = () =>
      void this.runDue(this.clock.now()).catch((err: unknown) => this.opts.log?.error({ err }, 'PDND tracing pass failed'));
    this.timer = setInterval(tick, this.checkEveryMs);
    this.timer.unref();
    tick();
  }

  /** No new pass; a pass in flight ends after its current day, waited for at most `stopTimeoutMs`. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.stopping = true;
    const running = this.running;
    if (!running) return;
    let timeout: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      running.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => (timeout = setTimeout(() => resolve(false), this.opts.stopTimeoutMs ?? 15_000))),
    ]);
    clearTimeout(timeout);
    if (!waited) this.opts.log?.warn('PDND tracing: stopped without waiting for the upload in flight (it resumes at the next start)');
  }

  private get checkEveryMs(): number {
    return this.opts.checkEveryMs ?? 10 * 60_000;
  }

  /** Days before this date are due at `now`. */
  cutoff(now: Date): string {
    return tracingDay(new Date(now.getTime() - this.uploadHourUtc * HOUR_MS));
  }

  /** What GET /health's details show: the last upload and the due days waiting, failed or rejected, as of now. */
  health(): Promise<TracingSummary> {
    return this.opts.ledger.summary(this.cutoff(this.clock.now()));
  }

  /** One pass at `now`; resolves with what it did (skipped when a pass is already running). */
  runDue(now: Date): Promise<TracingPassResult> {
    if (this.running) return Promise.resolve({ skipped: true, cutoff: this.cutoff(now), uploads: [], verdicts: [] });
    const pass = this.pass(now).finally(() => (this.running = undefined));
    this.running = pass;
    return pass;
  }

  /** The days a pass at `now` uploads, oldest first. */
  async dueDays(now: Date): Promise<TracingDay[]> {
    const { ledger } = this.opts;
    const cutoff = this.cutoff(now);
    const retryBefore = now.getTime() - (this.opts.retryFailedAfterMs ?? HOUR_MS);
    const failed: TracingDay[] = [];
    for (const u of await ledger.uploads({ state: 'failed' }))
      if (u.date < cutoff && Date.parse(u.updatedAt) <= retryBefore)
        failed.push(...(await ledger.days({ date: u.date })).filter((d) => d.tenant === u.tenant));
    return [...(await ledger.pendingDays(cutoff)), ...failed].sort(
      (a, b) => a.date.localeCompare(b.date) || a.tenant.localeCompare(b.tenant),
    );
  }

  private async pass(now: Date): Promise<TracingPassResult> {
    const { ledger, uploader, log } = this.opts;
    const cutoff = this.cutoff(now);
    const uploads: TracingUpload[] = [];
    // Processes sharing the ledger (PostgreSQL) take turns by a lease: one uploads, the others skip.
    if (!(await ledger.takeSchedule(2 * this.checkEveryMs))) return { skipped: true, cutoff, uploads, verdicts: [] };
    for (const day of await this.dueDays(now)) {
      const reason =
        day.upload === undefined ? 'first upload' : day.grownSinceUpload ? 'traffic recorded after its upload' : day.upload.state;
      const result = await uploader.upload(day.tenant, day.date);
      uploads.push(result);
      const fields = {
        tenant: day.tenant,
        date: day.date,
        reason,
        state: result.state,
        attempts: result.attempts,
        tracingId: result.tracingId,
      };
      if (result.state === 'uploaded') log?.info(fields, 'PDND tracing file uploaded');
      else log?.warn({ ...fields, lastError: result.lastError }, `PDND tracing file ${result.state}`);
      // A stop ends the pass after the day in flight (a pass started is one upload at least, as stop() says).
      if (result.state === 'failed' || this.stopping) break;
    }
    const verdicts: TracingUpload[] = [];
    for (const sent of await ledger.awaitingVerdict(FINAL_TRACING_STATES, this.opts.maxPolls ?? 12)) {
      if (this.stopping) break;
      try {
        const v = await uploader.verdict(sent.tenant, sent.tracingId!);
        const rejected = v.state === 'ERROR';
        await ledger.setVerdict(
          sent.tenant,
          sent.date,
          { pdndState: v.state, problems: v.problems, ...(rejected ? { state: 'rejected' } : {}) },
          this.clock.now(),
        );
        const after = (await ledger.upload(sent.tenant, sent.date))!;
        verdicts.push(after);
        if (rejected)
          log?.error(
            { tenant: sent.tenant, date: sent.date, tracingId: sent.tracingId, problems: v.problems },
            'PDND rejected the tracing file',
          );
      } catch (err) {
        // Asked again on the next pass; the poll is not counted, so an outage does not use up the polls.
        log?.warn({ err, tenant: sent.tenant, date: sent.date, tracingId: sent.tracingId }, 'PDND tracing state not read');
      }
    }
    return { skipped: false, cutoff, uploads, verdicts };
  }
}
