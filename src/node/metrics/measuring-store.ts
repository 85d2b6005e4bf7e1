import type { MessageKey, MessageRecord, MessageStore, StateChange } from '../../core/message-record.js';
import { ForwardingStore } from '../forwarding-store.js';
import type { DeliveryMetrics } from './delivery-metrics.js';

/** Names what the labels name: the peer of a counterpart party, where an inbound message is handed over. */
export interface MessageLabels {
  /** The peer node hosting `party`; `local` for a party hosted here. */
  peerOf(party: string): string;
  /** `adapter:<id>` when an adapter takes `party`'s messages on `service`, else `back_office`. */
  dispatchTarget(party: string, service: string): string;
}

/** Hears each delivery attempt's outcome per peer (the peer-failing alarm's source). */
export interface DeliveryOutcomes {
  succeeded(peer: string): void;
  failed(peer: string, code: string): void;
}

/**
 * The message store as the pipelines see it, counting as it records: every change of state passes
 * here, so the delivery worker and the dispatch worker need no metrics code of their own. A change
 * that sets `attempts` starts an attempt; one that records an error is a failed attempt (FAILED:
 * final); DELIVERED closes the latency from the message's creation.
 */
export class MeasuringStore extends ForwardingStore {
  constructor(
    inner: MessageStore,
    private readonly metrics: DeliveryMetrics,
    private readonly labels: MessageLabels,
    private readonly outcomes?: DeliveryOutcomes,
  ) {
    super(inner);
  }

  protected override async changing<T extends MessageRecord | undefined>(
    key: MessageKey,
    change: StateChange,
    make: () => Promise<T>,
  ): Promise<T> {
    const next = await make();
    if (next) this.count(next, change);
    else if (change.error) {
      // A conditional change not made (another attempt settled the message meanwhile), yet this attempt
      // did fail against its peer or back office: the failure is counted, as a retry — the message did not end on it.
      const current = await this.inner.get(key);
      if (current) this.count(current, { error: change.error });
    }
    return next;
  }

  private count(next: MessageRecord, change: StateChange): void {
    const final = change.status === 'FAILED' ? 'final' : 'retry';
    if (next.direction === 'out') {
      const peer = this.labels.peerOf(next.to);
      if (change.attempts !== undefined) this.metrics.attempted(peer, next.service);
      if (change.error) this.metrics.failed(peer, next.service, change.error.code, final);
      if (change.status === 'DELIVERED')
        this.metrics.delivered(next.service, (Date.parse(next.updatedAt) - Date.parse(next.createdAt)) / 1000);
      // Parties hosted here are no peer that could fail.
      if (peer !== 'local' && this.outcomes) {
        if (change.error) this.outcomes.failed(peer, change.error.code);
        else if (change.status === 'DELIVERED') this.outcomes.succeeded(peer);
      }
    } else if (change.error) {
      this.metrics.dispatchFailed(next.to, this.labels.dispatchTarget(next.to, next.service), change.error.code);
    }
  }
}
