import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job, type MinimalJob } from 'bullmq';
import { retryDelayMs, type RetryPolicy } from './retry-policy.js';

/** What a deliver job carries: the message id (the log holds everything else) and how to retry it. */
export interface DeliverJobData {
  readonly messageId: string;
  readonly retry: RetryPolicy;
  /** ISO instant after which the message must not be sent any more (Scadenza). */
  readonly expiresAt?: string;
}

/** What the handler tells the queue about one attempt. */
export type AttemptOutcome = { readonly kind: 'done' } | { readonly kind: 'retry'; readonly error: Error } | { readonly kind: 'final'; readonly error: Error };

export interface DeliveryQueueOptions {
  readonly connection: ConnectionOptions;
  /** Key prefix in Redis, so several nodes (or tests) can share one server. */
  readonly prefix: string;
  readonly concurrency: number;
  /** One attempt at message `id` (attempt counts from 1). */
  readonly attempt: (data: DeliverJobData, attempt: number) => Promise<AttemptOutcome>;
  /** The message will not be tried again: attempts exhausted or expired (not called for 'final'). */
  readonly exhausted: (data: DeliverJobData, attempts: number, lastError: Error) => Promise<void>;
  readonly onError?: (err: Error) => void;
}

/** BullMQ job ids may not contain ':', which e-Gov ids do; base64url keeps them unique and reversible. */
export function jobIdOf(messageId: string): string {
  return Buffer.from(messageId, 'utf8').toString('base64url');
}

const DELIVER = 'deliver';

function jobOptions(data: DeliverJobData, delayMs: number) {
  return { jobId: jobIdOf(data.messageId), attempts: data.retry.maxAttempts, backoff: { type: 'tramite' }, delay: delayMs, removeOnComplete: true, removeOnFail: true };
}

/** Adds deliver jobs without running any: for tools (e.g. `tramite messages resend`) beside a running node. */
export class DeliveryProducer {
  private readonly queue: Queue<DeliverJobData>;
  constructor(connection: ConnectionOptions, prefix: string) {
    this.queue = new Queue<DeliverJobData>(DELIVER, { connection, prefix });
  }
  async enqueue(data: DeliverJobData, delayMs = 0): Promise<void> {
    await this.queue.add(DELIVER, data, jobOptions(data, delayMs));
  }
  async close(): Promise<void> {
    if (!(await within(this.queue.close(), 3000))) await within(this.queue.disconnect(), 1000);
  }
}

/**
 * The `deliver` queue: one job per outbound message (job id = message id), retried with the
 * message's service policy — exponential backoff with jitter, capped, until the attempts or the
 * message's Scadenza run out. The log stays the source of truth; the queue only schedules attempts,
 * and enqueuing a message twice is harmless.
 */
export class DeliveryQueue {
  private readonly queue: Queue<DeliverJobData>;
  private readonly worker: Worker<DeliverJobData>;

  constructor(private readonly opts: DeliveryQueueOptions) {
    this.queue = new Queue<DeliverJobData>(DELIVER, { connection: opts.connection, prefix: opts.prefix });
    this.worker = new Worker<DeliverJobData>(DELIVER, (job) => this.process(job), {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency,
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, _err?: Error, job?: MinimalJob) => {
          const data = job?.data as DeliverJobData | undefined;
          if (!data) return 1000;
          const msUntilExpiry = data.expiresAt ? Date.parse(data.expiresAt) - Date.now() : undefined;
          return retryDelayMs(attemptsMade, data.retry, msUntilExpiry === undefined ? {} : { msUntilExpiry });
        },
      },
    });
    this.worker.on('failed', (job, err) => {
      if (!job || err instanceof UnrecoverableError) return;
      if (job.attemptsMade >= (job.opts.attempts ?? 1)) void this.opts.exhausted(job.data, job.attemptsMade, err).catch((e: Error) => this.opts.onError?.(e));
    });
    this.worker.on('error', (err) => this.opts.onError?.(err));
    this.queue.on('error', (err) => this.opts.onError?.(err));
  }

  /** Schedules delivery of a logged message; a message already queued is left as it is. */
  async enqueue(data: DeliverJobData, delayMs = 0): Promise<void> {
    await this.queue.add(DELIVER, data, jobOptions(data, delayMs));
  }

  private async process(job: Job<DeliverJobData>): Promise<void> {
    const outcome = await this.opts.attempt(job.data, job.attemptsMade + 1);
    if (outcome.kind === 'done') return;
    // A refusal by the peer will not change on retry; nor will anything past the Scadenza.
    if (outcome.kind === 'final') throw new UnrecoverableError(outcome.error.message);
    throw outcome.error;
  }

  /**
   * Lets attempts in flight finish, then stops taking jobs. Bounded: with Redis gone, BullMQ would
   * wait for a reconnection forever, so after the grace period the connections are dropped.
   */
  async close(): Promise<void> {
    if (!(await within(this.worker.close(), 10_000))) await within(this.worker.disconnect(), 1000);
    if (!(await within(this.queue.close(), 3000))) await within(this.queue.disconnect(), 1000);
  }
}

/** Whether `p` settled within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
