import type { TsaStatus } from '../../../log/message-log.js';
import type { AlarmRuleCheck } from './alarm-rule-check.js';

/** `tsa-failing` (only with log.tsa): the TSA's last answer to a checkpoint was no token. Cleared by the next token. */
export function tsaFailingRule(tsaUrl: string, status: () => TsaStatus | undefined): AlarmRuleCheck {
  return {
    rule: 'tsa-failing',
    async check() {
      const s = status();
      if (s?.state !== 'down') return [];
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
