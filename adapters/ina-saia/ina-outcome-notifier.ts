/**
 * Tells the Comune's back office each outcome (POST of the event's JSON view to backOffice.url). An
 * outcome is marked notified only on a 2xx; the others are tried again after `retryMs`, and at every
 * start, oldest first, so a back office that was down catches up.
 */
import { request } from 'undici';
import { AdapterError, discardBoundedBody, type AdapterLogger } from '../sdk/index.js';
import type { InaEventQueue } from './ina-event-queue.js';
import { eventView } from './ina-saia-http-api.js';

const POST_TIMEOUT_MS = 10_000;
/** The back office's answer is not used: drained within this bound, never buffered whole. */
const ANSWER_MAX_BYTES = 64 * 1024;

export class InaOutcomeNotifier {
  private running = false;
  private flushing: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly queue: InaEventQueue,
    private readonly url: string,
    private readonly log: AdapterLogger,
    private readonly retryMs: number,
  ) {}

  start(): void {
    this.running = true;
    this.notify();
  }

  /** Stops; a POST under way gets a moment to finish (unmarked, it is sent again at the next start). */
  async stop(graceMs = 1000): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([this.flushing, new Promise<void>((resolve) => (grace = setTimeout(resolve, graceMs)))]);
    clearTimeout(grace);
  }

  /** An outcome was recorded: send whatever is unsent. */
  notify(): void {
    if (!this.running) return;
    if (this.flushing) {
      this.again = true;
      return;
    }
    this.flushing = this.flush()
      .catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'ina-saia: notifying the back office failed'))
      .finally(() => {
        this.flushing = undefined;
        if (this.again) {
          this.again = false;
          this.notify();
        }
      });
  }

  private async flush(): Promise<void> {
    while (this.running) {
      const batch = this.queue.unnotified();
      if (batch.length === 0 || !(await this.send(batch))) return;
    }
  }

  /** Sends a batch in order; false when one could not be delivered (the rest waits for the retry). */
  private async send(batch: ReturnType<InaEventQueue['unnotified']>): Promise<boolean> {
    for (const record of batch) {
      if (!this.running) return false;
      try {
        const res = await request(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(eventView(record)),
          headersTimeout: POST_TIMEOUT_MS,
          bodyTimeout: POST_TIMEOUT_MS,
        });
        await discardBoundedBody(res.body, { maxBytes: ANSWER_MAX_BYTES, source: `back office at ${this.url}`, declaredLength: res.headers['content-length'] });
        if (res.statusCode < 200 || res.statusCode > 299) throw AdapterError.unavailable(`the back office answered ${res.statusCode}`);
      } catch (err) {
        this.log.warn({ id: record.id, err: (err as Error).message, retryInMs: this.retryMs }, 'ina-saia: back office not told the outcome yet');
        this.retryLater();
        // Stop here: outcomes reach the back office in the order they were reached.
        return false;
      }
      if (!this.running) return false;
      this.queue.markNotified(record.id);
    }
    return true;
  }

  private retryLater(): void {
    if (!this.running || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.notify();
    }, this.retryMs);
    this.timer.unref();
  }
}
