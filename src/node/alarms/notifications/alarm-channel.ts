import type { Alarm, AlarmEvent } from '../alarm.js';

/** What every channel is given: the event, the alarm as the board shows it, and which node speaks. */
export interface AlarmNotice {
  readonly event: AlarmEvent;
  readonly alarm: Alarm;
  readonly node: { readonly name: string; readonly pdd: string };
}

/** A way of telling people (webhook, e-mail). `send` resolves once delivered, or throws after its own retries. */
export interface AlarmChannel {
  readonly name: 'webhook' | 'email';
  send(notice: AlarmNotice): Promise<void>;
  close?(): Promise<void>;
}
