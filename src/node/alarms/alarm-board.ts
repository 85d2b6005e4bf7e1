import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { TramiteError } from '../../core/errors.js';
import type { StaffMember } from '../../core/staff-member.js';
import type { AlarmStore, StoredAlarm } from '../../log/alarm-rows.js';
import type { OperatorAction } from '../../log/message-log.js';
import type { Alarm, AlarmBoard, AlarmCondition, AlarmEvent, AlarmRule } from './alarm.js';

export interface AlarmBoardDeps {
  /** The log store's alarms table: the board's memory, shared by every process of the log. */
  readonly store: AlarmStore;
  /** Where acknowledgements are recorded, hash-chained. */
  readonly operatorActions: { recordOperatorAction(a: OperatorAction): Promise<unknown> };
  /** Told of every event this process claimed (raise, reminder, clear) or made (acknowledgement). */
  readonly notify: (event: AlarmEvent, alarm: Alarm) => void;
  readonly clock: Clock;
  readonly log: Logger;
}

/** A stored alarm as the board shows it. */
export function alarmOf(a: StoredAlarm): Alarm {
  const { notifiedAt: _n, rule, ...rest } = a;
  return { ...rest, rule: rule as AlarmRule };
}

/**
 * The node's alarms, kept in the log store. A rule's findings are reconciled with what is active: a
 * condition with no active alarm is raised — an atomic claim of (rule, subject), so of several processes
 * sharing the log only the one that claimed it notifies — and an active alarm whose condition no longer
 * holds is cleared (the one process that cleared it notifies). Acknowledging shows who took it and stops
 * reminders; it does not hide the alarm, which stays until cleared.
 */
export class LoggedAlarmBoard implements AlarmBoard {
  constructor(private readonly deps: AlarmBoardDeps) {}

  async current(): Promise<Alarm[]> {
    return (await this.deps.store.activeAlarms()).map(alarmOf);
  }

  async recent(limit: number): Promise<Alarm[]> {
    return (await this.deps.store.recentAlarms(limit)).map(alarmOf);
  }

  async acknowledge(id: string, by: StaffMember, note?: string): Promise<Alarm> {
    const before = await this.deps.store.alarm(id);
    if (!before) throw new TramiteError('TRAMITE_ERR_ALARM_NOT_FOUND', `no alarm ${id}`);
    if (before.state === 'cleared') throw new TramiteError('TRAMITE_ERR_ALARM_CLEARED', `alarm ${id} was cleared at ${before.clearedAt}`);
    // The chained record first: an acknowledgement the log does not hold did not happen.
    await this.deps.operatorActions.recordOperatorAction({
      by,
      action: 'alarm-acknowledged',
      target: id,
      detail: { rule: before.rule, subject: before.subject, ...(note !== undefined ? { note } : {}) },
    });
    const after = await this.deps.store.acknowledgeAlarm(id, { at: this.now(), by, ...(note !== undefined ? { note } : {}) });
    if (!after) throw new TramiteError('TRAMITE_ERR_ALARM_CLEARED', `alarm ${id} was cleared while it was being acknowledged`);
    const alarm = alarmOf(after);
    this.deps.log.info({ alarm: id, rule: alarm.rule, subject: alarm.subject, by: by.name }, 'alarm acknowledged');
    this.deps.notify('acknowledged', alarm);
    return alarm;
  }

  /**
   * One rule's findings now: raises what holds and is not active, clears what is active and no longer
   * holds. Call it only when the rule could be judged (its source answered): a rule not judged clears nothing.
   */
  async reconcile(rule: AlarmRule, conditions: readonly AlarmCondition[]): Promise<void> {
    const active = (await this.deps.store.activeAlarms()).filter((a) => a.rule === rule);
    for (const c of conditions) {
      if (active.some((a) => a.subject === c.subject)) continue;
      const raised = await this.deps.store.raiseAlarm({
        id: randomUUID(),
        rule: c.rule,
        subject: c.subject,
        severity: c.severity,
        raisedAt: this.now(),
        summary: c.summary,
        ...(c.facts ? { facts: c.facts } : {}),
      });
      if (!raised) continue; // another process claimed it: it notifies
      this.deps.log.warn({ alarm: raised.id, rule, subject: c.subject, severity: c.severity, summary: c.summary }, 'alarm raised');
      this.deps.notify('raised', alarmOf(raised));
    }
    for (const a of active) {
      if (conditions.some((c) => c.subject === a.subject)) continue;
      const cleared = await this.deps.store.clearAlarm(a.id, this.now());
      if (!cleared) continue;
      this.deps.log.info({ alarm: a.id, rule, subject: a.subject }, 'alarm cleared');
      this.deps.notify('cleared', alarmOf(cleared));
    }
  }

  /** Raised alarms not notified for `everyMs` are notified again (each reminder claimed once across processes). */
  async remind(everyMs: number): Promise<void> {
    const now = this.deps.clock.now();
    const due = new Date(now.getTime() - everyMs).toISOString();
    for (const a of await this.deps.store.activeAlarms()) {
      if (a.state !== 'raised' || a.notifiedAt > due) continue;
      const claimed = await this.deps.store.claimAlarmReminder(a.id, due, now.toISOString());
      if (claimed) this.deps.notify('reminder', alarmOf(claimed));
    }
  }

  /**
   * A verification of the log (auditor API, CLI, console) reports here: issues raise
   * `log-verification-failed` on the message log, a clean run clears it.
   */
  async verificationOutcome(report: VerificationOutcome): Promise<void> {
    await this.reconcile(
      'log-verification-failed',
      report.ok
        ? []
        : [
            {
              rule: 'log-verification-failed',
              subject: 'message-log',
              severity: 'critical',
              summary: `verifica del log: ${report.issues} problemi${report.firstBadSeq !== undefined ? `, il primo al record ${report.firstBadSeq}` : ''}`,
              facts: {
                issues: report.issues,
                ...(report.firstBadSeq !== undefined ? { firstBadSeq: report.firstBadSeq } : {}),
                ...(report.firstReason !== undefined ? { firstReason: report.firstReason } : {}),
                by: report.by,
              },
            },
          ],
    );
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }
}

/** What a log verification found, as the board needs it. */
export interface VerificationOutcome {
  readonly ok: boolean;
  readonly issues: number;
  readonly firstBadSeq?: number;
  readonly firstReason?: string;
  /** Who ran it: `auditor API`, `tramite log verify`, `console`. */
  readonly by: string;
}
