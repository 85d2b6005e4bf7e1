import type { Logger } from 'pino';
import type { MessageRecord } from '../../core/message-record.js';
import { servicePolicy, type RetryPolicy } from '../../queue/retry-policy.js';
import type { WorkItem } from '../../queue/work-queue.js';
import type { RegistrySource } from '../registry/registry.js';

/** The deliver job of a message: job id = message id, so one already queued is not doubled. */
export function deliveryJob(rec: MessageRecord, retry: RetryPolicy): WorkItem {
  return {
    key: rec.id,
    messageId: rec.id,
    // A message scheduled again (reconciliation) has the attempts it made behind it, not a fresh count;
    // always one more, though: a crash must not leave it without a try.
    retry: rec.attempts > 0 ? { ...retry, maxAttempts: Math.max(1, retry.maxAttempts - rec.attempts) } : retry,
    ...(rec.attempts > 0 ? { attemptsBefore: rec.attempts } : {}),
    ...(rec.expiresAt ? { expiresAt: rec.expiresAt } : {}),
  };
}

/** Puts messages on the deliver queue with their service's retry policy (the node's, overridden per service). */
export class DeliverySchedule {
  constructor(
    private readonly deps: {
      readonly registry: RegistrySource;
      readonly log: Logger;
      /** The node-wide retry policy; a service's own `retry` fields override it. */
      readonly retry: RetryPolicy;
      /** Where delivery attempts are scheduled (the BullMQ deliver queue). */
      readonly deliveries: { enqueue(data: WorkItem): Promise<void> };
      /** The first attempt made at once, the queue as its safety net (ImmediateDelivery). */
      readonly immediate?: { start(data: WorkItem): Promise<void> };
    },
  ) {}

  /** A message just accepted (durably logged): its first attempt now, the queue holding retries and recovery. */
  async deliverNow(rec: MessageRecord): Promise<void> {
    if (!this.deps.immediate) return this.schedule(rec);
    const service = this.deps.registry.current().service(rec.to, rec.service);
    await this.deps.immediate.start(deliveryJob(rec, servicePolicy(this.deps.retry, service?.retry)));
  }

  async schedule(rec: MessageRecord): Promise<void> {
    const service = this.deps.registry.current().service(rec.to, rec.service);
    try {
      await this.deps.deliveries.enqueue(deliveryJob(rec, servicePolicy(this.deps.retry, service?.retry)));
    } catch (err) {
      // The message is safe in the log as ACCEPTED; the next start-up reconciliation schedules it.
      this.deps.log.error({ id: rec.id, err: (err as Error).message }, 'could not queue the message; it stays ACCEPTED in the log');
    }
  }
}
