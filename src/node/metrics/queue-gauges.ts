import { Gauge, type Registry } from 'prom-client';
import { settlesWithin } from '../../core/deadline.js';
import type { QueueDepth, QueueName } from '../../queue/work-queue.js';

/** How long a scrape waits for Redis, ms: a scrape must answer while Redis does not. */
const QUEUE_READ_TIMEOUT_MS = 1000;

export interface QueueSource {
  readonly queues: ReadonlyArray<{ readonly name: QueueName; depth(now: number): Promise<QueueDepth> }>;
  now(): number;
}

/**
 * The queues' backlog, read from Redis when scraped: jobs waiting, delayed (retries in backoff) and
 * failed, and the oldest waiting job's age. While Redis does not answer the series are absent
 * (`tramite_queue_up` says so) rather than stale.
 */
export class QueueGauges {
  private source: QueueSource | undefined;

  constructor(registry: Registry) {
    const readDepths = () => this.depths();
    const depths = (): Promise<Array<[QueueName, QueueDepth | undefined]>> => readDepths();
    let reading: Promise<Array<[QueueName, QueueDepth | undefined]>> | undefined;
    // The four gauges are collected one after the other within one scrape: they share one read.
    const shared = (): Promise<Array<[QueueName, QueueDepth | undefined]>> => {
      reading ??= depths().finally(() => setImmediate(() => (reading = undefined)));
      return reading;
    };
    const gauge = (name: string, help: string, value: (d: QueueDepth) => number, labels: string[] = ['queue']): void => {
      new Gauge({
        name,
        help,
        labelNames: labels,
        registers: [registry],
        async collect() {
          this.reset();
          for (const [queue, d] of await shared()) if (d) this.set({ queue }, value(d));
        },
      });
    };
    gauge('tramite_queue_waiting_jobs', 'Jobs ready to run and not yet taken, per queue (deliver, dispatch, notify)', (d) => d.waiting);
    gauge('tramite_queue_delayed_jobs', 'Jobs waiting for their time (retries in backoff), per queue', (d) => d.delayed);
    gauge('tramite_queue_failed_jobs', 'Failed jobs kept in the queue', (d) => d.failed);
    gauge(
      'tramite_queue_oldest_waiting_job_age_seconds',
      'Age of the oldest job ready to run and not yet taken, seconds',
      (d) => d.oldestWaitingSeconds,
    );
    new Gauge({
      name: 'tramite_queue_up',
      help: "1 when the queue's Redis answered this scrape, 0 when it did not",
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const [queue, d] of await shared()) this.set({ queue }, d ? 1 : 0);
      },
    });
  }

  attach(source: QueueSource): void {
    this.source = source;
  }

  private async depths(): Promise<Array<[QueueName, QueueDepth | undefined]>> {
    const source = this.source;
    if (!source) return [];
    return Promise.all(
      source.queues.map(async (q): Promise<[QueueName, QueueDepth | undefined]> => {
        let depth: QueueDepth | undefined;
        const read = q.depth(source.now()).then(
          (d) => (depth = d),
          () => undefined,
        );
        await settlesWithin(read, QUEUE_READ_TIMEOUT_MS);
        return [q.name, depth];
      }),
    );
  }
}
