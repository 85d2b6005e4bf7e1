import { collectDefaultMetrics, Registry } from 'prom-client';
import { AlarmMetrics, type AlarmSource } from './alarm-metrics.js';
import { CertificateGauges, type CertificateSource } from './certificate-gauges.js';
import { DeliveryMetrics } from './delivery-metrics.js';
import { FailureCounters, type AdapterHealthSource } from './failure-counters.js';
import { LogMetrics, type CheckpointSource } from './log-metrics.js';
import { MessageStateGauges, type MessageStateSource } from './message-state-gauges.js';
import { QueueGauges, type QueueSource } from './queue-gauges.js';
import { RestMetrics } from './rest-metrics.js';

/** What the scrape-time gauges read, handed over once the node's parts exist. */
export interface MetricsSources {
  readonly messages: MessageStateSource;
  readonly queues: QueueSource;
  readonly checkpoints: CheckpointSource;
  readonly certificates: CertificateSource;
  readonly adapters: AdapterHealthSource;
  readonly alarms: AlarmSource;
}

/**
 * One node's metrics (docs/operators.md, "Metrics"), in a registry of its own — never prom-client's
 * global one: several nodes run in one process (tests, the demo), each scraped apart. Counters are
 * fed by hooks where things happen (the measuring store, the log's observer, the REST recorder);
 * gauges are read when scraped from the sources the node attaches.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly delivery: DeliveryMetrics;
  readonly log: LogMetrics;
  readonly rest: RestMetrics;
  readonly failures: FailureCounters;
  readonly alarms: AlarmMetrics;
  private readonly messages: MessageStateGauges;
  private readonly queues: QueueGauges;
  private readonly certificates: CertificateGauges;

  constructor(labels: { readonly node: string }) {
    this.registry.setDefaultLabels({ node: labels.node });
    collectDefaultMetrics({ register: this.registry, prefix: 'tramite_' });
    // Gauges prom-client names `_total`, which promtool's lint refuses (only counters end so): the same
    // counts are in tramite_nodejs_active_handles / _requests / _resources, by type.
    for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total'])
      this.registry.removeSingleMetric(`tramite_nodejs_${name}`);
    this.delivery = new DeliveryMetrics(this.registry);
    this.log = new LogMetrics(this.registry);
    this.rest = new RestMetrics(this.registry);
    this.failures = new FailureCounters(this.registry);
    this.messages = new MessageStateGauges(this.registry);
    this.queues = new QueueGauges(this.registry);
    this.certificates = new CertificateGauges(this.registry);
    this.alarms = new AlarmMetrics(this.registry);
  }

  attach(sources: MetricsSources): void {
    this.messages.attach(sources.messages);
    this.queues.attach(sources.queues);
    this.log.attach(sources.checkpoints);
    this.certificates.attach(sources.certificates);
    this.failures.attach(sources.adapters);
    this.alarms.attach(sources.alarms);
  }

  /** The text exposition format, and its content type. */
  async exposition(): Promise<{ readonly contentType: string; readonly text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
