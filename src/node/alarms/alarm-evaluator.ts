import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import type { LoggedAlarmBoard } from './alarm-board.js';
import type { AlarmRuleCheck } from './rules/alarm-rule-check.js';

/**
 * Judges the rules every `everyMs` and reconciles the board with what holds; then sends the reminders
 * that are due. One round at a time (a slow one is not overtaken by the next); a rule whose source
 * did not answer is skipped — logged — and clears nothing.
 */
export class AlarmEvaluator {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      readonly board: LoggedAlarmBoard;
      readonly rules: readonly AlarmRuleCheck[];
      readonly everyMs: number;
      /** 0: no reminders. */
      readonly remindEveryMs: number;
      readonly clock: Clock;
      readonly log: Logger;
    },
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.evaluate(), this.deps.everyMs);
    this.timer.unref();
  }

  /** One round now (or the one running). */
  evaluate(): Promise<void> {
    this.running ??= this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async round(): Promise<void> {
    const now = this.deps.clock.now();
    for (const r of this.deps.rules) {
      try {
        await this.deps.board.reconcile(r.rule, await r.check(now));
      } catch (err) {
        this.deps.log.warn({ rule: r.rule, err: (err as Error).message }, 'alarm rule not judged this round');
      }
    }
    if (this.deps.remindEveryMs > 0)
      await this.deps.board
        .remind(this.deps.remindEveryMs)
        .catch((err: unknown) => this.deps.log.warn({ err: (err as Error).message }, 'alarm reminders not sent this round'));
  }
}
