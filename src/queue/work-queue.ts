import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job, type MinimalJob } from 'bullmq';
import { retryDelayMs, type RetryPolicy } from './retry-policy.js';

/** The node's queues: deliver (outbound → peer), dispatch (inbound → back office), notify (status webhooks). */
export type QueueName = 'deliver' | 'dispatch' | 'notify';

/** What a job carries: a key (one job per key at a time) and how to retry it; the log holds the rest. */
export interface WorkItem {
  /** Unique per piece of work: the message id (deliver, dispatch), or message id + state (notify). */
  readonly key: string;
  readonly messageId: string;
  readonly retry: RetryPolicy;
  /** ISO instant after which the work is pointless (Scadenza). */
  readonly expiresAt?: string;
}

/** What the handler tells the queue about one attempt. */
export type AttemptOutcome = { readonly kind: 'done' } | { readonly kind: 'retry'; readonly error: Error } | { readonly kind: 'final'; readonly error: Error };

export interface WorkQueueOptions<T extends WorkItem> {
  readonly name: QueueName;
  readonly connection: ConnectionOptions;
  /** Key prefix in Redis, so several nodes (or tests) can share one server. */
  readonly prefix: string;
  readonly concurrency: number;
  /** One attempt (attempt counts from 1). */
  readonly attempt: (item: T, attempt: number) => Promise<AttemptOutcome>;
  /** The work will not be tried again: attempts exhausted (not called for 'final'). */
  readonly exhausted: (item: T, attempts: number, lastError: Error) => Promise<void>;
  readonly onError?: (err: Error) => void;
}

/** BullMQ job ids may not contain ':', which e-Gov ids do; base64url keeps them unique and reversible. */
export function jobIdOf(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function jobOptions(item: WorkItem, delayMs: number) {
  return { jobId: jobIdOf(item.key), attempts: item.retry.maxAttempts, backoff: { type: 'tramite' }, delay: delayMs, removeOnComplete: true, removeOnFail: true };
}

/** Adds jobs without running any: for tools (e.g. `tramite messages resend`) beside a running node. */
export class QueueProducer<T extends WorkItem> {
  private readonly queue: Queue<T>;
  constructor(name: QueueName, connection: ConnectionOptions, prefix: string) {
    this.queue = new Queue<T>(name, { connection, prefix });
  }
  async enqueue(item: T, delayMs = 0): Promise<void> {
    await this.queue.add(this.queue.name as never, item as never, jobOptions(item, delayMs));
  }
  async close(): Promise<void> {
    if (!(await within(this.queue.close(), 3000))) await within(this.queue.disconnect(), 1000);
  }
}

/**
 * A BullMQ queue and its worker: one job per key, retried with the item's policy — exponential
 * backoff with jitter, capped, until the attempts run out or the item's expiry. The log stays the
 * source of truth; the queue only schedules attempts, and enqueuing the same key twice is harmless.
 */
export class WorkQueue<T extends WorkItem> {
  private readonly producer: QueueProducer<T>;
  private readonly worker: Worker<T>;

  constructor(private readonly opts: WorkQueueOptions<T>) {
    this.producer = new QueueProducer<T>(opts.name, opts.connection, opts.prefix);
    this.worker = new Worker<T>(opts.name, (job) => this.process(job), {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency,
      // A job held by a process that was killed is taken up again once its lock lapses: 10 s locks
      // (renewed while an attempt runs), checked every 5 s; a crash is no reason to give a job up.
      lockDuration: 10_000,
      stalledInterval: 5_000,
      maxStalledCount: 100,
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, _err?: Error, job?: MinimalJob) => {
          const item = job?.data as WorkItem | undefined;
          if (!item) return 1000;
          const msUntilExpiry = item.expiresAt ? Date.parse(item.expiresAt) - Date.now() : undefined;
          return retryDelayMs(attemptsMade, item.retry, msUntilExpiry === undefined ? {} : { msUntilExpiry });
        },
      },
    });
    this.worker.on('failed', (job, err) => {
      if (!job || err instanceof UnrecoverableError) return;
      if (job.attemptsMade >= (job.opts.attempts ?? 1)) void this.opts.exhausted(job.data, job.attemptsMade, err).catch((e: Error) => this.opts.onError?.(e));
    });
    this.worker.on('error', (err) => this.opts.onError?.(err));
  }

  /** Schedules the work; a key already queued is left as it is. */
  enqueue(item: T, delayMs = 0): Promise<void> {
    return this.producer.enqueue(item, delayMs);
  }

  private async process(job: Job<T>): Promise<void> {
    const outcome = await this.opts.attempt(job.data, job.attemptsMade + 1);
    if (outcome.kind === 'done') return;
    // A refusal will not change on retry.
    if (outcome.kind === 'final') throw new UnrecoverableError(outcome.error.message);
    throw outcome.error;
  }

  /**
   * Lets attempts in flight finish, then stops taking jobs. Bounded: with Redis gone, BullMQ would
   * wait for a reconnection forever, so after the grace period the connections are dropped.
   */
  async close(): Promise<void> {
    if (!(await within(this.worker.close(), 10_000))) await within(this.worker.disconnect(), 1000);
    await this.producer.close();
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
