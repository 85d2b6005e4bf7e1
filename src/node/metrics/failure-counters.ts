import { Counter, Gauge, type Registry } from 'prom-client';
import { settlesWithin } from '../../core/deadline.js';

/** How long a scrape waits for the adapters' health, ms. */
const ADAPTER_HEALTH_TIMEOUT_MS = 1000;

const ADAPTER_STATES = ['up', 'degraded', 'down'] as const;

export interface AdapterHealthSource {
  health(): Promise<ReadonlyArray<{ readonly party: string; readonly adapter: string; readonly status: (typeof ADAPTER_STATES)[number] }>>;
}

/**
 * The node's helpers failing: the TSA (a checkpoint kept without its time-stamp), status webhooks
 * (a notification attempt refused or unanswered), and each adapter's own health when scraped.
 * Adapters' failed hand-overs are in tramite_dispatch_failures_total.
 */
export class FailureCounters {
  private readonly tsa: Counter;
  private readonly webhooks: Counter<'party'>;
  private adapters: AdapterHealthSource | undefined;

  constructor(registry: Registry) {
    this.tsa = new Counter({
      name: 'tramite_tsa_failures_total',
      help: 'Time-stamp requests to the TSA that failed (the checkpoint is kept without its time-stamp)',
      registers: [registry],
    });
    this.webhooks = new Counter({
      name: 'tramite_webhook_failures_total',
      help: "Status notifications a party's webhook refused or did not answer (each is retried)",
      labelNames: ['party'],
      registers: [registry],
    });
    const adapterHealth = () => this.adapterHealth();
    new Gauge({
      name: 'tramite_adapter_status',
      help: "1 for each adapter's current health (up, degraded, down), 0 for the others; down also while it does not answer",
      labelNames: ['party', 'adapter', 'status'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const a of await adapterHealth())
          for (const status of ADAPTER_STATES) this.set({ party: a.party, adapter: a.adapter, status }, a.status === status ? 1 : 0);
      },
    });
  }

  attach(adapters: AdapterHealthSource): void {
    this.adapters = adapters;
  }

  tsaFailed(): void {
    this.tsa.inc();
  }

  webhookFailed(party: string): void {
    this.webhooks.inc({ party });
  }

  private async adapterHealth(): Promise<ReadonlyArray<{ party: string; adapter: string; status: (typeof ADAPTER_STATES)[number] }>> {
    if (!this.adapters) return [];
    let health: Awaited<ReturnType<AdapterHealthSource['health']>> = [];
    await settlesWithin(
      this.adapters.health().then(
        (h) => (health = h),
        () => undefined,
      ),
      ADAPTER_HEALTH_TIMEOUT_MS,
    );
    return health;
  }
}
