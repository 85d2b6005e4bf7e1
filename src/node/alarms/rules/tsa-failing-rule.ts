import type { TsaStatus } from '../../../log/message-log.js';
import type { AlarmRuleCheck } from './alarm-rule-check.js';

/**
 * `tsa-failing` (with log.tsa): the TSA's last answer to a checkpoint was no token. Cleared by the next
 * token — or when log.tsa is no longer configured (`tsaUrl` undefined), so an alarm left from before goes.
 */
export function tsaFailingRule(tsaUrl: string | undefined, status: () => TsaStatus | undefined): AlarmRuleCheck {
  return {
    rule: 'tsa-failing',
    async check() {
      const s = status();
      if (tsaUrl === undefined || s?.state !== 'down') return [];
      return [
        {
          rule: 'tsa-failing',
          subject: tsaUrl,
          severity: 'warning',
          summary: `la TSA ${tsaUrl} non ha marcato il checkpoint (${s.at}): ${s.reason ?? 'nessun token'}`,
          facts: { url: tsaUrl, at: s.at, ...(s.reason ? { reason: s.reason } : {}) },
        },
      ];
    },
  };
}
