import { Counter, Gauge, type Registry } from 'prom-client';
import type { LogAppendObserver } from '../../log/message-log.js';
import type { Checkpoint } from '../../log/log-store.js';

export interface CheckpointSource {
  head(): Promise<{ seq: number }>;
  latestCheckpoint(): Promise<Checkpoint | undefined>;
  now(): number;
}

/**
 * The message log: records appended and appends refused (counted as the log hears them), and how far
 * the chain head is from its last signed checkpoint (read when scraped): records since it, seconds
 * since it. A log that stops checkpointing can be rewritten undetected back to the last checkpoint.
 */
export class LogMetrics implements LogAppendObserver {
  private readonly appends: Counter;
  private readonly appendFailures: Counter;
  private source: CheckpointSource | undefined;

  constructor(registry: Registry) {
    this.appends = new Counter({
      name: 'tramite_log_appended_records_total',
      help: 'Records appended to the hash-chained message log by this process',
      registers: [registry],
    });
    this.appendFailures = new Counter({
      name: 'tramite_log_append_failures_total',
      help: 'Appends the message log refused (the store failed): each is a message or change not recorded',
      registers: [registry],
    });
    const readLag = () => this.lag();
    let reading: Promise<{ records: number; seconds: number | undefined } | undefined> | undefined;
    const lag = (): Promise<{ records: number; seconds: number | undefined } | undefined> => {
      reading ??= readLag().finally(() => setImmediate(() => (reading = undefined)));
      return reading;
    };
    new Gauge({
      name: 'tramite_log_records_since_checkpoint',
      help: 'Records appended after the last signed checkpoint',
      registers: [registry],
      async collect() {
        this.reset();
        const l = await lag();
        if (l) this.set(l.records);
      },
    });
    new Gauge({
      name: 'tramite_log_seconds_since_checkpoint',
      help: 'Seconds since the last signed checkpoint (absent before the first one)',
      registers: [registry],
      async collect() {
        this.reset();
        const l = await lag();
        if (l?.seconds !== undefined) this.set(l.seconds);
      },
    });
  }

  attach(source: CheckpointSource): void {
    this.source = source;
  }

  appended(records: number): void {
    this.appends.inc(records);
  }

  appendFailed(): void {
    this.appendFailures.inc();
  }

  private async lag(): Promise<{ records: number; seconds: number | undefined } | undefined> {
    if (!this.source) return undefined;
    try {
      const [head, last] = await Promise.all([this.source.head(), this.source.latestCheckpoint()]);
      return {
        records: head.seq - (last?.seq ?? 0),
        seconds: last ? Math.max(0, (this.source.now() - Date.parse(last.time)) / 1000) : undefined,
      };
    } catch {
      // A log that cannot be read says so in tramite_log_append_failures_total and /health; the lag is absent.
      return undefined;
    }
  }
}
