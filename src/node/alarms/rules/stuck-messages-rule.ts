import type { MessageCount } from '../../../log/log-store.js';
import type { AlarmRuleCheck } from './alarm-rule-check.js';
import { isNotFinalStatus } from '../../../core/message-record.js';

/** States a message leaves by itself (as the metrics count them): in one too long, it is stuck. */

export interface StuckMessagesSource {
  /** LogStore.messageCounts: one grouped query, with each group's oldest creation time. */
  messageCounts(): Promise<MessageCount[]>;
  /** The service's stuck threshold, ms (stuckAfterMsFor). */
  thresholdMs(service: string): number;
}

/**
 * `stuck-messages`, per service: its oldest message not final is older than the service's threshold.
 * Critical once it is older than four thresholds. The facts count the service's messages not final
 * (the grouped counts do not tell how many of them passed the threshold).
 */
export function stuckMessagesRule(source: StuckMessagesSource): AlarmRuleCheck {
  return {
    rule: 'stuck-messages',
    async check(now) {
      const byService = new Map<string, { oldest: string; open: number }>();
      for (const c of await source.messageCounts()) {
        if (!isNotFinalStatus(c.state)) continue;
        const had = byService.get(c.service);
        byService.set(c.service, {
          oldest: had && had.oldest < c.oldestCreatedAt ? had.oldest : c.oldestCreatedAt,
          open: (had?.open ?? 0) + c.count,
        });
      }
      return [...byService].flatMap(([service, g]) => {
        const ageMs = now.getTime() - Date.parse(g.oldest);
        const threshold = source.thresholdMs(service);
        if (ageMs < threshold) return [];
        const ageSeconds = Math.round(ageMs / 1000);
        return [
          {
            rule: 'stuck-messages' as const,
            subject: service,
            severity: ageMs >= 4 * threshold ? ('critical' as const) : ('warning' as const),
            summary: `servizio ${service}: ${g.open} messaggi non finali, il più vecchio da ${ageSeconds} s (soglia ${threshold / 1000} s)`,
            facts: {
              service,
              notFinal: g.open,
              oldestCreatedAt: g.oldest,
              oldestAgeSeconds: ageSeconds,
              thresholdSeconds: threshold / 1000,
            },
          },
        ];
      });
    },
  };
}
