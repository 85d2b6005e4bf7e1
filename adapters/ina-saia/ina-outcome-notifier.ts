/**
 * Tells the Comune's back office each outcome (POST of the event's JSON view to backOffice.url). An
 * outcome is marked notified only on a 2xx; the others are tried again after `retryMs`, and at every
 * start, oldest first, so a back office that was down catches up.
 */
import { request } from 'undici';
import { AdapterError, BackgroundWorker, discardBoundedBody, type AdapterLogger, type PassOutcome, type WorkerPass } from '../sdk/index.js';
import type { InaEventQueue } from './ina-event-queue.js';
import { eventView } from './ina-saia-http-api.js';

const POST_TIMEOUT_MS = 10_000;
/** The back office's answer is not used: drained within this bound, never buffered whole. */
const ANSWER_MAX_BYTES = 64 * 1024;

export class InaOutcomeNotifier {
  private readonly worker: BackgroundWorker;

  constructor(
    private readonly queue: InaEventQueue,
    private readonly url: string,
    private readonly log: AdapterLogger,
    private readonly retryMs: number,
  ) {
    this.worker = new BackgroundWorker({ name: 'ina-saia: notifying the back office', log, pass: (pass) => this.flush(pass) });
  }

  start(): void {
    this.worker.start();
  }

  /** Stops; a POST under way gets a moment to finish (unmarked, it is sent again at the next start). */
  async stop(graceMs = 1000): Promise<void> {
    await this.worker.stop(graceMs);
  }

  /** An outcome was recorded: send whatever is unsent. */
  notify(): void {
    this.worker.wake();
  }

  private async flush(pass: WorkerPass): Promise<PassOutcome> {
    while (!pass.stopping()) {
      const batch = await this.queue.unnotified();
      if (batch.length === 0) return 'idle';
      if (!(await this.send(batch, pass))) return { retryInMs: this.retryMs };
    }
    return 'idle';
  }

  /** Sends a batch in order; false when one could not be delivered (the rest waits for the retry). */
  private async send(batch: Awaited<ReturnType<InaEventQueue['unnotified']>>, pass: WorkerPass): Promise<boolean> {
    for (const record of batch) {
      if (pass.stopping()) return true;
      try {
        const res = await request(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(eventView(record)),
          headersTimeout: POST_TIMEOUT_MS,
          bodyTimeout: POST_TIMEOUT_MS,
        });
        await discardBoundedBody(res.body, {
          maxBytes: ANSWER_MAX_BYTES,
          source: `back office at ${this.url}`,
          declaredLength: res.headers['content-length'],
        });
        if (res.statusCode < 200 || res.statusCode > 299) throw AdapterError.unavailable(`the back office answered ${res.statusCode}`);
      } catch (err) {
        this.log.warn(
          { id: record.id, err: (err as Error).message, retryInMs: this.retryMs },
          'ina-saia: back office not told the outcome yet',
        );
        // Stop here: outcomes reach the back office in the order they were reached.
        return false;
      }
      if (pass.stopping()) return true;
      await this.queue.markNotified(record.id);
    }
    return true;
  }
}
