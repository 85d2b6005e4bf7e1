import type { StaffMember } from '../../core/staff-member.js';

/** What the node watches for (docs/operators.md, "Alarms"). */
export type AlarmRule =
  'stuck-messages' | 'backlog' | 'peer-failing' | 'certificate-expiring' | 'checkpoint-lag' | 'tsa-failing' | 'log-verification-failed';

export const ALARM_RULES: readonly AlarmRule[] = [
  'stuck-messages',
  'backlog',
  'peer-failing',
  'certificate-expiring',
  'checkpoint-lag',
  'tsa-failing',
  'log-verification-failed',
];

export interface Alarm {
  /** Stable, URL-safe. */
  readonly id: string;
  readonly rule: AlarmRule;
  /** What it is about: a service, a peer, a certificate, the log… */
  readonly subject: string;
  readonly severity: 'warning' | 'critical';
  readonly state: 'raised' | 'acknowledged' | 'cleared';
  /** ISO. */
  readonly raisedAt: string;
  /** One line, Italian or neutral (facts, numbers). */
  readonly summary: string;
  readonly acknowledged?: { readonly at: string; readonly by: StaffMember; readonly note?: string };
  readonly clearedAt?: string;
  readonly facts?: Readonly<Record<string, unknown>>;
}

export interface AlarmBoard {
  /** Raised and acknowledged alarms, newest first. */
  current(): Promise<Alarm[]>;
  /** The latest alarms whatever their state (cleared ones too), newest first. */
  recent(limit: number): Promise<Alarm[]>;
  /** Records the acknowledgement in the message log (MessageLog.recordOperatorAction) and on the alarm. */
  acknowledge(id: string, by: StaffMember, note?: string): Promise<Alarm>;
}

/** A rule's finding: (rule, subject) holds now, with how bad and why. */
export interface AlarmCondition {
  readonly rule: AlarmRule;
  readonly subject: string;
  readonly severity: 'warning' | 'critical';
  readonly summary: string;
  readonly facts?: Readonly<Record<string, unknown>>;
}

/** What a notification tells: an alarm raised, reminded (still raised, not acknowledged), acknowledged or cleared. */
export type AlarmEvent = 'raised' | 'reminder' | 'acknowledged' | 'cleared';
