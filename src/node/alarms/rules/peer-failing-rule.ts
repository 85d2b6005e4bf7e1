import type { PeerOutcomes } from '../peer-outcomes.js';
import type { AlarmRuleCheck } from './alarm-rule-check.js';

/** `peer-failing`: a peer to which every delivery has failed, with no success since, for `minutes`. */
export function peerFailingRule(outcomes: PeerOutcomes, minutes: number): AlarmRuleCheck {
  return {
    rule: 'peer-failing',
    async check(now) {
      return outcomes.failingBefore(now.getTime() - minutes * 60_000).map((f) => ({
        rule: 'peer-failing' as const,
        subject: f.peer,
        severity: 'critical' as const,
        summary: `peer ${f.peer}: ${f.failures} consegne fallite dal ${new Date(f.since).toISOString()}, nessuna riuscita (ultimo errore ${f.lastCode})`,
        facts: {
          peer: f.peer,
          failingSince: new Date(f.since).toISOString(),
          failures: f.failures,
          lastCode: f.lastCode,
          thresholdMinutes: minutes,
        },
      }));
    },
  };
}
