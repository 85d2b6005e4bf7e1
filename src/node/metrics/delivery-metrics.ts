import { Counter, Histogram, type Registry } from 'prom-client';

/** End-to-end latency buckets, seconds: a local hand-over takes milliseconds, a retried delivery hours. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400, 86_400];

/**
 * What happens to messages as they move: delivery attempts and their failures (by the bus's error
 * code), the time from accepted to DELIVERED, and hand-overs to adapters and back offices that failed.
 * Labels are the configuration's names (peers, services, adapters) and the error registry's codes: a
 * bounded set, never a message id.
 */
export class DeliveryMetrics {
  private readonly attempts: Counter<'peer' | 'service'>;
  private readonly failures: Counter<'peer' | 'service' | 'code' | 'outcome'>;
  private readonly latency: Histogram<'service'>;
  private readonly dispatchFailures: Counter<'party' | 'target' | 'code'>;

  constructor(registry: Registry) {
    this.attempts = new Counter({
      name: 'tramite_delivery_attempts_total',
      help: 'Delivery attempts of outbound messages to a peer (or to a party hosted here)',
      labelNames: ['peer', 'service'],
      registers: [registry],
    });
    this.failures = new Counter({
      name: 'tramite_delivery_failures_total',
      help: 'Failed delivery attempts, by error code; outcome "retry" will be tried again, "final" left the message FAILED',
      labelNames: ['peer', 'service', 'code', 'outcome'],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'tramite_delivery_latency_seconds',
      help: 'Time from an outbound message accepted to DELIVERED (its receipt checked), seconds',
      labelNames: ['service'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.dispatchFailures = new Counter({
      name: 'tramite_dispatch_failures_total',
      help: 'Failed hand-overs of inbound messages to an adapter or a back office, by error code',
      labelNames: ['party', 'target', 'code'],
      registers: [registry],
    });
  }

  attempted(peer: string, service: string): void {
    this.attempts.inc({ peer, service });
  }

  failed(peer: string, service: string, code: string, outcome: 'retry' | 'final'): void {
    this.failures.inc({ peer, service, code, outcome });
  }

  delivered(service: string, seconds: number): void {
    this.latency.observe({ service }, Math.max(0, seconds));
  }

  dispatchFailed(party: string, target: string, code: string): void {
    this.dispatchFailures.inc({ party, target, code });
  }
}
