import type { QueueDepth } from '../../../queue/work-queue.js';
import type { AlarmRuleCheck } from './alarm-rule-check.js';

/** `backlog`: the deliver queue holds more jobs waiting to run than `maxWaiting`; critical past ten times that. */
export function backlogRule(source: { depth(now: number): Promise<QueueDepth> }, maxWaiting: number): AlarmRuleCheck {
  return {
    rule: 'backlog',
    async check(now) {
      const d = await source.depth(now.getTime());
      if (d.waiting <= maxWaiting) return [];
      return [
        {
          rule: 'backlog',
          subject: 'deliver',
          severity: d.waiting > 10 * maxWaiting ? 'critical' : 'warning',
          summary: `coda deliver: ${d.waiting} job in attesa (soglia ${maxWaiting}), il più vecchio da ${Math.round(d.oldestWaitingSeconds)} s`,
          facts: {
            queue: 'deliver',
            waiting: d.waiting,
            delayed: d.delayed,
            oldestWaitingSeconds: d.oldestWaitingSeconds,
            threshold: maxWaiting,
          },
        },
      ];
    },
  };
}
