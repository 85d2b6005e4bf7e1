import type { AlarmCondition, AlarmRule } from '../alarm.js';

/**
 * One rule, judged on the evaluator's timer: what holds now. A check that throws (its source did not
 * answer) is not judged this round, and clears nothing.
 */
export interface AlarmRuleCheck {
  readonly rule: AlarmRule;
  check(now: Date): Promise<AlarmCondition[]>;
}
