import { Gauge, type Registry } from 'prom-client';
import type { MessageCount } from '../../log/log-store.js';
import { CachedRead } from './cached-read.js';
import { isNotFinalStatus } from '../../core/message-record.js';

/** States a message leaves by itself: its age in them is a backlog, its age in the others is history. */

/** How long one grouped read of the log serves scrapes, ms. */
export const MESSAGE_COUNTS_TTL_MS = 5000;

export interface MessageStateSource {
  /** LogStore.messageCounts: one grouped query over the projection. */
  messageCounts(): Promise<MessageCount[]>;
  /** The peer node hosting `party`; `local` for a party hosted here. */
  peerOf(party: string): string;
  now(): number;
}

/**
 * Messages by direction, peer, service and state, and the oldest non-final one's age: gauges computed
 * when scraped from the log's projection — the log is the truth, and counts survive restarts and are
 * the same whichever process of a shared (PostgreSQL) log is scraped. Counters kept in memory would
 * start from zero at each restart and differ between processes.
 */
export class MessageStateGauges {
  private source: MessageStateSource | undefined;
  private counts: CachedRead<MessageCount[]> | undefined;

  constructor(registry: Registry) {
    const grouped = () => this.grouped();
    const clock = (): number => this.source?.now() ?? 0;
    new Gauge({
      name: 'tramite_messages',
      help: 'Messages in the log by direction, peer (the counterpart party\'s node; "local" for parties hosted here), service and current state',
      labelNames: ['direction', 'peer', 'service', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const [labels, group] of (await grouped()).values()) this.set(labels, group.count);
      },
    });
    new Gauge({
      name: 'tramite_messages_oldest_age_seconds',
      help: 'Age of the oldest message still in a non-final state (ACCEPTED, SENDING, RECEIVED), seconds',
      labelNames: ['direction', 'peer', 'service', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        const now = clock();
        for (const [labels, group] of (await grouped()).values())
          if (isNotFinalStatus(labels.state)) this.set(labels, Math.max(0, (now - Date.parse(group.oldestCreatedAt)) / 1000));
      },
    });
  }

  attach(source: MessageStateSource): void {
    this.source = source;
    this.counts = new CachedRead(
      () => source.messageCounts(),
      MESSAGE_COUNTS_TTL_MS,
      () => source.now(),
    );
  }

  /** The store's groups folded by peer (several parties share a node): count summed, oldest kept. */
  private async grouped(): Promise<Map<string, [Labels, { count: number; oldestCreatedAt: string }]>> {
    const folded = new Map<string, [Labels, { count: number; oldestCreatedAt: string }]>();
    if (!this.source || !this.counts) return folded;
    for (const c of await this.counts.get()) {
      const labels: Labels = {
        direction: c.direction,
        peer: this.source.peerOf(c.direction === 'out' ? c.to : c.from),
        service: c.service,
        state: c.state,
      };
      const key = `${labels.direction} ${labels.peer} ${labels.service} ${labels.state}`;
      const had = folded.get(key);
      if (!had) folded.set(key, [labels, { count: c.count, oldestCreatedAt: c.oldestCreatedAt }]);
      else
        had[1] = {
          count: had[1].count + c.count,
          oldestCreatedAt: c.oldestCreatedAt < had[1].oldestCreatedAt ? c.oldestCreatedAt : had[1].oldestCreatedAt,
        };
    }
    return folded;
  }
}

type Labels = { direction: string; peer: string; service: string; state: string };
