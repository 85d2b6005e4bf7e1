import { Counter, Gauge, type Registry } from 'prom-client';

export interface AlarmSource {
  /** The active alarms (raised and acknowledged): AlarmBoard.current. */
  current(): Promise<ReadonlyArray<{ readonly rule: string; readonly severity: string; readonly state: string }>>;
}

/**
 * The alarm board as metrics: the active alarms by rule, severity and state, read from the log store
 * when scraped (the same in every process of a shared log), and the notifications sent and failed per
 * channel (this process's own).
 */
export class AlarmMetrics {
  private readonly notifications: Counter<'channel' | 'outcome'>;
  private source: AlarmSource | undefined;

  constructor(registry: Registry) {
    const active = () => this.active();
    new Gauge({
      name: 'tramite_alarms',
      help: 'Active alarms (raised, or acknowledged and not yet cleared) by rule, severity and state',
      labelNames: ['rule', 'severity', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        const counts = new Map<string, { rule: string; severity: string; state: string; n: number }>();
        for (const a of await active()) {
          const key = `${a.rule} ${a.severity} ${a.state}`;
          const had = counts.get(key);
          if (had) had.n += 1;
          else counts.set(key, { rule: a.rule, severity: a.severity, state: a.state, n: 1 });
        }
        for (const c of counts.values()) this.set({ rule: c.rule, severity: c.severity, state: c.state }, c.n);
      },
    });
    this.notifications = new Counter({
      name: 'tramite_alarm_notifications_total',
      help: 'Alarm notifications (raised, reminder, acknowledged, cleared) by channel (webhook, email) and outcome (sent, failed after its retries)',
      labelNames: ['channel', 'outcome'],
      registers: [registry],
    });
  }

  attach(source: AlarmSource): void {
    this.source = source;
  }

  notified(channel: string, outcome: 'sent' | 'failed'): void {
    this.notifications.inc({ channel, outcome });
  }

  private async active(): Promise<ReadonlyArray<{ rule: string; severity: string; state: string }>> {
    try {
      return this.source ? await this.source.current() : [];
    } catch {
      // A log that cannot be read says so in /health and tramite_log_append_failures_total; the series are absent.
      return [];
    }
  }
}
