import type { Checkpoint } from '../../../log/log-store.js';
import type { AlarmRuleCheck } from './alarm-rule-check.js';

export interface CheckpointLagSource {
  head(): Promise<{ seq: number }>;
  latestCheckpoint(): Promise<Checkpoint | undefined>;
}

/**
 * `checkpoint-lag`: more than `maxRecords` records since the last signed checkpoint, or records after
 * one older than `maxMinutes` — the log could be rewritten undetected back to that checkpoint.
 */
export function checkpointLagRule(source: CheckpointLagSource, maxRecords: number, maxMinutes: number): AlarmRuleCheck {
  return {
    rule: 'checkpoint-lag',
    async check(now) {
      const [head, last] = await Promise.all([source.head(), source.latestCheckpoint()]);
      const records = head.seq - (last?.seq ?? 0);
      if (records <= 0) return [];
      const minutes = last ? (now.getTime() - Date.parse(last.time)) / 60_000 : undefined;
      const tooMany = records > maxRecords;
      const tooOld = minutes !== undefined && minutes > maxMinutes;
      if (!tooMany && !tooOld) return [];
      return [
        {
          rule: 'checkpoint-lag',
          subject: 'message-log',
          severity: 'warning',
          summary: `${records} record dopo l'ultimo checkpoint firmato${minutes !== undefined ? `, di ${Math.round(minutes)} min fa` : ' (nessun checkpoint)'}`,
          facts: {
            recordsSinceCheckpoint: records,
            ...(minutes !== undefined ? { minutesSinceCheckpoint: Math.round(minutes) } : {}),
            thresholdRecords: maxRecords,
            thresholdMinutes: maxMinutes,
          },
        },
      ];
    },
  };
}
