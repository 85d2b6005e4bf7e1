import type { StaffMember } from '../core/staff-member.js';

/**
 * An alarm as the log store keeps it (the node's AlarmBoard gives it its meaning): in the log store so
 * that it survives a restart and is one for every process sharing a PostgreSQL log.
 */
export interface StoredAlarm {
  readonly id: string;
  readonly rule: string;
  readonly subject: string;
  readonly severity: 'warning' | 'critical';
  readonly state: 'raised' | 'acknowledged' | 'cleared';
  readonly raisedAt: string;
  readonly summary: string;
  readonly facts?: Readonly<Record<string, unknown>>;
  readonly acknowledged?: { readonly at: string; readonly by: StaffMember; readonly note?: string };
  readonly clearedAt?: string;
  /** When its last notification (raise or reminder) was claimed. */
  readonly notifiedAt: string;
}

/** What raising needs: the store adds the id, the state and the claim. */
export interface NewAlarm {
  readonly id: string;
  readonly rule: string;
  readonly subject: string;
  readonly severity: 'warning' | 'critical';
  readonly raisedAt: string;
  readonly summary: string;
  readonly facts?: Readonly<Record<string, unknown>>;
}

/** The store's alarm operations (LogStore extends it). Each write is one atomic statement: of racing callers, one wins. */
export interface AlarmStore {
  /**
   * Claims (rule, subject): the new alarm when none of that rule and subject is active (raised or
   * acknowledged), undefined when one is — so of concurrent raisers, in one process or several, exactly
   * one gets it back, and only that one notifies.
   */
  raiseAlarm(a: NewAlarm): Promise<StoredAlarm | undefined>;
  /** Records who acknowledged an active alarm; undefined when it is not active (cleared, or no such id). */
  acknowledgeAlarm(id: string, ack: { at: string; by: StaffMember; note?: string }): Promise<StoredAlarm | undefined>;
  /** Clears an active alarm: the alarm when this call cleared it, undefined when it was not active. */
  clearAlarm(id: string, at: string): Promise<StoredAlarm | undefined>;
  /**
   * Claims a reminder of a raised (not acknowledged) alarm last notified at or before `due`: the alarm
   * when this call claimed it (its notifiedAt now `at`), undefined otherwise.
   */
  claimAlarmReminder(id: string, due: string, at: string): Promise<StoredAlarm | undefined>;
  alarm(id: string): Promise<StoredAlarm | undefined>;
  /** Raised and acknowledged alarms, newest first. */
  activeAlarms(): Promise<StoredAlarm[]>;
  /** The latest alarms whatever their state, newest first. */
  recentAlarms(limit: number): Promise<StoredAlarm[]>;
}

/** A row of the alarms table (both stores). */
export interface AlarmRowDb {
  id: string;
  rule: string;
  subject: string;
  severity: string;
  state: string;
  raised_at: string;
  summary: string;
  facts: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  acknowledged_note: string | null;
  cleared_at: string | null;
  notified_at: string;
}

export function alarmFromRow(r: AlarmRowDb): StoredAlarm {
  return {
    id: r.id,
    rule: r.rule,
    subject: r.subject,
    severity: r.severity as StoredAlarm['severity'],
    state: r.state as StoredAlarm['state'],
    raisedAt: r.raised_at,
    summary: r.summary,
    ...(r.facts !== null ? { facts: JSON.parse(r.facts) as Record<string, unknown> } : {}),
    ...(r.acknowledged_at !== null && r.acknowledged_by !== null
      ? {
          acknowledged: {
            at: r.acknowledged_at,
            by: JSON.parse(r.acknowledged_by) as StaffMember,
            ...(r.acknowledged_note !== null ? { note: r.acknowledged_note } : {}),
          },
        }
      : {}),
    ...(r.cleared_at !== null ? { clearedAt: r.cleared_at } : {}),
    notifiedAt: r.notified_at,
  };
}

/** While an alarm is active its key is `rule subject`: unique, so a second raise of the same finds it taken. */
export function activeKey(rule: string, subject: string): string {
  return `${rule} ${subject}`; // a rule name holds no space: unambiguous
}

/**
 * The statements, one text for both stores: `ph(i)` writes the i-th placeholder (each bound once: `?` for SQLite). Each is a single
 * statement — the unique active_key makes a raise an atomic claim, and the state guards in the WHERE
 * clauses make acknowledging, clearing and reminding single too.
 */
export function alarmSql(ph: (i: number) => string) {
  return {
    raise: `INSERT INTO alarms (id, rule, subject, active_key, severity, state, raised_at, summary, facts, notified_at)
      VALUES (${ph(1)}, ${ph(2)}, ${ph(3)}, ${ph(4)}, ${ph(5)}, 'raised', ${ph(6)}, ${ph(7)}, ${ph(8)}, ${ph(9)})
      ON CONFLICT (active_key) DO NOTHING RETURNING *`,
    acknowledge: `UPDATE alarms SET state = 'acknowledged', acknowledged_at = ${ph(1)}, acknowledged_by = ${ph(2)}, acknowledged_note = ${ph(3)}
      WHERE id = ${ph(4)} AND state <> 'cleared' RETURNING *`,
    clear: `UPDATE alarms SET state = 'cleared', active_key = NULL, cleared_at = ${ph(1)} WHERE id = ${ph(2)} AND state <> 'cleared' RETURNING *`,
    remind: `UPDATE alarms SET notified_at = ${ph(1)} WHERE id = ${ph(2)} AND state = 'raised' AND notified_at <= ${ph(3)} RETURNING *`,
    one: `SELECT * FROM alarms WHERE id = ${ph(1)}`,
    active: `SELECT * FROM alarms WHERE state <> 'cleared' ORDER BY raised_at DESC, id DESC`,
    recent: `SELECT * FROM alarms ORDER BY raised_at DESC, id DESC LIMIT ${ph(1)}`,
  };
}

export function raiseParams(a: NewAlarm): unknown[] {
  return [
    a.id,
    a.rule,
    a.subject,
    activeKey(a.rule, a.subject),
    a.severity,
    a.raisedAt,
    a.summary,
    a.facts ? JSON.stringify(a.facts) : null,
    a.raisedAt,
  ];
}

export function acknowledgeParams(id: string, ack: { at: string; by: StaffMember; note?: string }): unknown[] {
  return [ack.at, JSON.stringify({ role: ack.by.role, name: ack.by.name }), ack.note ?? null, id];
}
