import type { Logger } from 'pino';
import { settlesWithin, type Deadline } from '../core/deadline.js';
import { retryDelayMs } from './retry-policy.js';
import type { AttemptOutcome, WorkItem } from './work-queue.js';

/** The first attempt is cut after this: it must be over well before the safety net's job is due. */
export const FIRST_ATTEMPT_TIMEOUT_MS = 10_000;
/**
 * When the safety net's job is due if nothing moved it: after the first attempt's bound with room for
 * checking the reply and logging it. Only a crash (or a first attempt still running then) leaves it there.
 */
export const SAFETY_NET_DELAY_MS = 20_000;

/** The work's queue, as the first attempt uses it (a WorkQueue). */
export interface SafetyNetQueue<T extends WorkItem> {
  enqueue(item: T, delayMs: number): Promise<void>;
  reschedule(item: T, delayMs: number): Promise<void>;
  remove(key: string): Promise<void>;
}

export interface FirstAttemptDeps<T extends WorkItem> {
  readonly log: Logger;
  readonly queue: SafetyNetQueue<T>;
  /** One attempt (the worker's: a delivery, a hand-over), bounded — cut short by `signal` if it takes that. */
  readonly attempt: (item: T, attemptNo: number, signal: AbortSignal) => Promise<AttemptOutcome>;
  /** FIRST_ATTEMPT_TIMEOUT_MS and SAFETY_NET_DELAY_MS unless given (tests shorten them, keeping the first the smaller). */
  readonly timing?: { readonly firstAttemptTimeoutMs: number; readonly safetyNetDelayMs: number };
}

/**
 * The first attempt of a piece of work (a message's delivery to its peer, an inbound message's hand-over
 * to its back office), made at once, once the work is durably logged, instead of through the queue —
 * exactly once:
 * - before it starts, the work's job goes on its queue, due only after SAFETY_NET_DELAY_MS:
 *   a crash during the attempt (or before it) leaves the job, which delivers the message then — and the
 *   log, reconciled at start-up, covers a job Redis lost;
 * - the attempt is bounded (FIRST_ATTEMPT_TIMEOUT_MS; a hand-over by backOfficeTimeoutMs, then the
 *   record of its outcome, which a log outage can stretch — the hand-over's claim then keeps a job of
 *   another process off it) well within that delay, so the job cannot start
 *   while the attempt runs in another process; in this one, the job waits for it (`settled`) and then
 *   finds the message as the attempt left it;
 * - afterwards the job goes (delivered, or failed for good), or is due at the retry delay (retriable).
 * The queue keeps retries and recovery; the first try costs no queue round trip.
 */
export class FirstAttempt<T extends WorkItem> {
  private readonly inFlight = new Map<string, Promise<void>>();
  private stopping = false;
  private readonly timing: { readonly firstAttemptTimeoutMs: number; readonly safetyNetDelayMs: number };

  constructor(private readonly deps: FirstAttemptDeps<T>) {
    this.timing = deps.timing ?? { firstAttemptTimeoutMs: FIRST_ATTEMPT_TIMEOUT_MS, safetyNetDelayMs: SAFETY_NET_DELAY_MS };
  }

  /**
   * The message is durably logged: its safety net on the queue, then the first attempt (not awaited).
   * The attempt is registered before the queue is asked anything, so a job of the same key that a
   * reconciliation queued meanwhile waits for it (`settled`) instead of running beside it. With a
   * single allowed attempt there is no first attempt outside the queue: the queue makes the one.
   */
  async start(item: T): Promise<void> {
    if (item.retry.maxAttempts <= 1) return this.deps.queue.enqueue(item, 0);
    if (this.stopping || this.inFlight.has(item.key)) return this.queueSafetyNet(item);
    let queued!: () => void;
    const safetyNetQueued = new Promise<void>((resolve) => (queued = resolve));
    this.inFlight.set(
      item.key,
      safetyNetQueued.then(() => this.firstAttempt(item)).finally(() => this.inFlight.delete(item.key)),
    );
    try {
      await this.queueSafetyNet(item);
    } finally {
      queued();
    }
  }

  private async queueSafetyNet(item: T): Promise<void> {
    try {
      await this.deps.queue.enqueue(safetyNet(item), this.timing.safetyNetDelayMs);
    } catch (err) {
      // The log has it as ACCEPTED: the next reconciliation schedules it if this attempt does not deliver it.
      this.deps.log.error({ id: item.messageId, err: (err as Error).message }, 'could not queue the message; it stays in the log');
    }
  }

  /** Settles once this process's first attempt of `key` (if one runs) is over: the queue's attempt waits for it. */
  async settled(key: string): Promise<void> {
    await this.inFlight.get(key);
  }

  /**
   * No new first attempts; those running get until `deadline` to finish. Resolves with how many did not:
   * they are handed back to the queue, whose safety-net job (already there) makes the attempt again.
   */
  async stop(deadline: Deadline): Promise<number> {
    this.stopping = true;
    await settlesWithin(Promise.allSettled([...this.inFlight.values()]), deadline.remainingMs());
    return this.inFlight.size;
  }

  private async firstAttempt(item: T): Promise<void> {
    let outcome: AttemptOutcome;
    try {
      outcome = await this.deps.attempt(item, 1, AbortSignal.timeout(this.timing.firstAttemptTimeoutMs));
    } catch (err) {
      outcome = { kind: 'retry', error: err as Error };
    }
    try {
      if (outcome.kind === 'later') await this.deps.queue.reschedule(item, outcome.delayMs);
      else if (outcome.kind === 'retry') {
        const msUntilExpiry = item.expiresAt ? Date.parse(item.expiresAt) - Date.now() : undefined;
        await this.deps.queue.reschedule(
          safetyNet(item),
          retryDelayMs((item.attemptsBefore ?? 0) + 1, item.retry, msUntilExpiry === undefined ? {} : { msUntilExpiry }),
        );
      } else await this.deps.queue.remove(item.key);
    } catch (err) {
      // The job stays due at SAFETY_NET_DELAY_MS, or reconciliation schedules the message again.
      this.deps.log.warn({ id: item.messageId, err: (err as Error).message }, 'could not move the delivery job after the first attempt');
    }
  }
}

/** The queue's job after a first attempt: the attempts left (the first one made outside the queue). */
function safetyNet<T extends WorkItem>(item: T): T {
  return {
    ...item,
    attemptsBefore: (item.attemptsBefore ?? 0) + 1,
    retry: { ...item.retry, maxAttempts: Math.max(1, item.retry.maxAttempts - 1) },
  };
}
