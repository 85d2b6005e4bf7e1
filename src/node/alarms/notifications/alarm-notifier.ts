import type { Logger } from 'pino';
import type { Alarm, AlarmEvent } from '../alarm.js';
import type { AlarmChannel } from './alarm-channel.js';

/**
 * Sends each alarm event to every configured channel, in the background: the alarm is already on the
 * board (in the log store), so a channel that fails loses a message, never the alarm — the failure is
 * logged and counted. `idle()` waits for the sends in flight (the node's stop).
 */
export class AlarmNotifier {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      readonly channels: readonly AlarmChannel[];
      readonly node: { readonly name: string; readonly pdd: string };
      readonly log: Logger;
      /** Counts each send: tramite_alarm_notifications_total{channel, outcome}. */
      readonly counted: (channel: string, outcome: 'sent' | 'failed') => void;
    },
  ) {}

  notify(event: AlarmEvent, alarm: Alarm): void {
    for (const channel of this.deps.channels) {
      const sending = channel
        .send({ event, alarm, node: this.deps.node })
        .then(
          () => this.deps.counted(channel.name, 'sent'),
          (err: unknown) => {
            this.deps.counted(channel.name, 'failed');
            this.deps.log.error(
              { code: 'TRAMITE_ERR_ALARM_NOTIFICATION_FAILED', channel: channel.name, alarm: alarm.id, event, err: (err as Error).message },
              'alarm notification failed; the alarm stays on the board',
            );
          },
        )
        .finally(() => this.inFlight.delete(sending));
      this.inFlight.add(sending);
    }
  }

  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  async close(): Promise<void> {
    await Promise.all(this.deps.channels.map((c) => c.close?.()));
  }
}
