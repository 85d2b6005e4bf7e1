import {
  DelayedError,
  Queue,
  RedisConnection,
  UnrecoverableError,
  Worker,
  type ConnectionOptions,
  type Job,
  type MinimalJob,
} from 'bullmq';
import { settlesWithin, type Deadline } from '../core/deadline.js';
import { TramiteError } from '../core/errors.js';
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
  /**
   * Attempts made before this job (a first attempt outside the queue, or before a recovery): counted
   * in the attempt numbers, the backoff and the exhaustion report; `retry.maxAttempts` is what is left.
   */
  readonly attemptsBefore?: number;
}

/**
 * What the handler tells the queue about one attempt: done; failed, to be retried (an attempt spent) or
 * not; or not made now — another attempt of the same work holds it (`later`: tried again after
 * `delayMs`, no attempt spent).
 */
export type AttemptOutcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'retry'; readonly error: Error }
  | { readonly kind: 'final'; readonly error: Error }
  | { readonly kind: 'later'; readonly delayMs: number };

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
  /** Whether Redis answers now; while it does not, enqueue refuses at once instead of waiting for it. */
  readonly available?: () => boolean;
}

/** A queue's backlog as the metrics show it. */
export interface QueueDepth {
  /** Ready to run, not yet taken by a worker. */
  readonly waiting: number;
  /** Waiting for their time: retries in backoff, first attempts' safety nets. */
  readonly delayed: number;
  /** Failed and kept (jobs are removed on failure, so 0 unless that changes). */
  readonly failed: number;
  /** Age of the oldest waiting job, seconds (0 when none waits): workers not keeping up. */
  readonly oldestWaitingSeconds: number;
}

/** The longest an enqueue waits for Redis, ms; the log keeps the message and reconciliation schedules it. */
const ENQUEUE_TIMEOUT_MS = 5000;

/** BullMQ job ids may not contain ':', which e-Gov ids do; base64url keeps them unique and reversible. */
export function jobIdOf(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function jobOptions(item: WorkItem, delayMs: number) {
  return {
    jobId: jobIdOf(item.key),
    attempts: item.retry.maxAttempts,
    backoff: { type: 'tramite' },
    delay: delayMs,
    removeOnComplete: true,
    removeOnFail: true,
  };
}

/** A connection that can be cut at once, whatever state Redis is in (BullMQ's close waits for Redis). */
interface CuttableConnection {
  cut(): void;
}

/** BullMQ's connection class, keeping in `made` every connection it opens, so a stuck shutdown can cut them. */
function connectionsKeptIn(made: Set<CuttableConnection>): typeof RedisConnection {
  return class KeptConnection extends RedisConnection implements CuttableConnection {
    constructor(...args: ConstructorParameters<typeof RedisConnection>) {
      super(...args);
      made.add(this);
    }
    cut(): void {
      this._client.disconnect();
    }
  };
}

/** Adds jobs without running any: for tools (e.g. `tramite messages resend`) beside a running node. */
export class QueueProducer<T extends WorkItem> {
  private readonly queue: Queue<T>;
  private readonly connections = new Set<CuttableConnection>();
  constructor(
    name: QueueName,
    connection: ConnectionOptions,
    prefix: string,
    private readonly available: () => boolean = () => true,
  ) {
    this.queue = new Queue<T>(name, { connection, prefix }, connectionsKeptIn(this.connections));
    this.queue.on('error', () => undefined); // the node's RedisMonitor reports Redis outages
  }
  async enqueue(item: T, delayMs = 0): Promise<void> {
    // Waiting for a Redis that is away would hold the caller (an HTTP request) for as long as it is away.
    if (!this.available()) throw new TramiteError('TRAMITE_ERR_QUEUE_UNAVAILABLE', `the ${this.queue.name} queue's Redis is unavailable`);
    const added = this.queue.add(this.queue.name as never, item as never, jobOptions(item, delayMs));
    if (!(await settlesWithin(added, ENQUEUE_TIMEOUT_MS)))
      throw new TramiteError(
        'TRAMITE_ERR_QUEUE_UNAVAILABLE',
        `the ${this.queue.name} queue's Redis did not answer within ${ENQUEUE_TIMEOUT_MS} ms`,
      );
    await added;
  }
  /**
   * The key's job, when it is still waiting for its time, is due in `delayMs` instead; a key with no job
   * gets one. A job already running (or waiting to run) is left as it is: it runs anyway.
   */
  async reschedule(item: T, delayMs: number): Promise<void> {
    if (!this.available()) throw new TramiteError('TRAMITE_ERR_QUEUE_UNAVAILABLE', `the ${this.queue.name} queue's Redis is unavailable`);
    const job = await this.queue.getJob(jobIdOf(item.key));
    if (!job) return this.enqueue(item, delayMs);
    try {
      await job.changeDelay(delayMs);
    } catch (err) {
      // Promoted meanwhile (or running): it runs anyway.
      if (await job.isDelayed()) throw err;
    }
  }
  /** Drops the key's job unless it is running: the work is done. */
  async remove(key: string): Promise<void> {
    if (!this.available()) throw new TramiteError('TRAMITE_ERR_QUEUE_UNAVAILABLE', `the ${this.queue.name} queue's Redis is unavailable`);
    await this.queue.remove(jobIdOf(key));
  }
  /** How many jobs wait, and for how long the oldest has; refused at once while Redis is away. */
  async depth(now: number): Promise<QueueDepth> {
    if (!this.available()) throw new TramiteError('TRAMITE_ERR_QUEUE_UNAVAILABLE', `the ${this.queue.name} queue's Redis is unavailable`);
    const counts = await this.queue.getJobCounts('waiting', 'delayed', 'failed');
    // The wait list is pushed at its head: ascending order gives the oldest first.
    const [oldest] = await this.queue.getJobs(['waiting'], 0, 0, true);
    return {
      waiting: counts['waiting'] ?? 0,
      delayed: counts['delayed'] ?? 0,
      failed: counts['failed'] ?? 0,
      oldestWaitingSeconds: oldest ? Math.max(0, (now - oldest.timestamp) / 1000) : 0,
    };
  }
  /** Closes within `deadline`, cutting the connections when Redis is away or slow. */
  async close(deadline: Deadline): Promise<void> {
    if (this.available() && (await settlesWithin(this.queue.close(), deadline.capped(3000)))) return;
    cutAll(this.connections);
  }
}

function cutAll(connections: Set<CuttableConnection>): void {
  for (const c of connections) c.cut();
}

/**
 * A BullMQ queue and its worker: one job per key, retried with the item's policy — exponential
 * backoff with jitter, capped, until the attempts run out or the item's expiry. The log stays the
 * source of truth; the queue only schedules attempts, and enqueuing the same key twice is harmless.
 */
export class WorkQueue<T extends WorkItem> {
  private readonly producer: QueueProducer<T>;
  private readonly worker: Worker<T>;
  private readonly workerConnections = new Set<CuttableConnection>();
  /** Jobs this worker is processing now: those still running when close cuts it short are handed back. */
  private running = 0;
  /** Set when close cut the worker's connections. */
  private cut = false;

  constructor(private readonly opts: WorkQueueOptions<T>) {
    this.producer = new QueueProducer<T>(opts.name, opts.connection, opts.prefix, opts.available);
    this.worker = new Worker<T>(
      opts.name,
      (job, token) => this.process(job, token),
      {
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
            return retryDelayMs(
              (item.attemptsBefore ?? 0) + attemptsMade,
              item.retry,
              msUntilExpiry === undefined ? {} : { msUntilExpiry },
            );
          },
        },
      },
      connectionsKeptIn(this.workerConnections),
    );
    this.worker.on('failed', (job, err) => {
      if (!job || err instanceof UnrecoverableError) return;
      if (job.attemptsMade >= (job.opts.attempts ?? 1))
        void this.opts
          .exhausted(job.data, (job.data.attemptsBefore ?? 0) + job.attemptsMade, err)
          .catch((e: Error) => this.opts.onError?.(e));
    });
    this.worker.on('error', (err) => this.opts.onError?.(err));
  }

  /** Schedules the work; a key already queued is left as it is. */
  enqueue(item: T, delayMs = 0): Promise<void> {
    return this.producer.enqueue(item, delayMs);
  }

  /** See QueueProducer.reschedule. */
  reschedule(item: T, delayMs: number): Promise<void> {
    return this.producer.reschedule(item, delayMs);
  }

  /** See QueueProducer.depth. */
  depth(now: number): Promise<QueueDepth> {
    return this.producer.depth(now);
  }

  /** See QueueProducer.remove. */
  remove(key: string): Promise<void> {
    return this.producer.remove(key);
  }

  private async process(job: Job<T>, token: string | undefined): Promise<void> {
    this.running += 1;
    try {
      await this.processJob(job, token);
    } finally {
      this.running -= 1;
    }
    // Handed back by close: BullMQ must not record the outcome through the connections it cut (it spins
    // on them, holding the event loop). The job's lock lapses and it runs again; the log has the outcome.
    if (this.cut) await new Promise<never>(() => undefined);
  }

  private async processJob(job: Job<T>, token: string | undefined): Promise<void> {
    const outcome = await this.opts.attempt(job.data, (job.data.attemptsBefore ?? 0) + job.attemptsMade + 1);
    if (outcome.kind === 'done') return;
    if (outcome.kind === 'later') {
      await job.moveToDelayed(Date.now() + outcome.delayMs, token);
      throw new DelayedError();
    }
    // A refusal will not change on retry.
    if (outcome.kind === 'final') throw new UnrecoverableError(outcome.error.message);
    throw outcome.error;
  }

  /**
   * Lets attempts in flight finish, then stops taking jobs, within `deadline`. With Redis away, BullMQ
   * would wait for it forever (a finished attempt cannot be recorded), so the connections are cut:
   * at once when Redis is known to be down, else when the deadline comes. A job cut short is taken up
   * again when its lock lapses, and the log says whether it still needs doing. Resolves with how many
   * jobs were cut short so (handed back to the queue).
   */
  async close(deadline: Deadline): Promise<number> {
    const up = this.opts.available?.() ?? true;
    let handedBack = 0;
    if (!up || !(await settlesWithin(this.worker.close(), deadline.remainingMs()))) {
      handedBack = this.running;
      this.cut = true;
      cutAll(this.workerConnections);
      void this.worker.close(true).catch(() => undefined);
    }
    await this.producer.close(deadline);
    return handedBack;
  }
}
