import type { Alarm } from '../../node/alarms/alarm.js';
import { html, type Html } from './html.js';
import { stateBadge } from './console-layout.js';
import type { Dictionary } from './i18n/dictionary.js';
import { formatTime } from './console-format.js';

/** What a row may carry after the facts: the acknowledge form, on the alarms page, for an operator. */
export interface AlarmTableOptions {
  /** The table's name for screen readers (a page may hold two). */
  readonly caption: string;
  /** Show each alarm's state (the recent list mixes raised, acknowledged and cleared ones). */
  readonly withState?: boolean;
  readonly action?: (a: Alarm, i: number) => Html;
  readonly actionHeader?: string;
}

/** Who took an alarm and when, with the note if any; "not yet" otherwise. */
export function acknowledgement(t: Dictionary, a: Alarm): Html {
  if (!a.acknowledged) return html`${t.notAcknowledged}`;
  const { by, at, note } = a.acknowledged;
  return html`${t.acknowledgedBy(by.name, formatTime(at))}${note ? html`<br /><q>${note}</q>` : ''}`;
}

/** Alarms as the dashboard and the alarms page list them: severity, rule, subject, summary, since when, who acknowledged. */
export function alarmTable(t: Dictionary, alarms: readonly Alarm[], opts: AlarmTableOptions): Html {
  return html`<table class="alarms">
    <caption class="sr-only">
      ${opts.caption}
    </caption>
    <thead>
      <tr>
        <th scope="col">${t.severity}</th>
        ${opts.withState ? html`<th scope="col">${t.state}</th>` : ''}
        <th scope="col">${t.alarmRule}</th>
        <th scope="col">${t.alarmSubject}</th>
        <th scope="col">${t.alarmSummary}</th>
        <th scope="col">${t.alarmSince}</th>
        <th scope="col">${t.alarmAcknowledged}</th>
        ${opts.withState ? html`<th scope="col">${t.alarmCleared}</th>` : ''}
        ${opts.action ? html`<th scope="col">${opts.actionHeader ?? ''}</th>` : ''}
      </tr>
    </thead>
    <tbody>
      ${alarms.map(
        (a, i) =>
          html`<tr>
            <td>${stateBadge(t.severities[a.severity])}</td>
            ${opts.withState ? html`<td>${stateBadge(t.alarmStates[a.state])}</td>` : ''}
            <td><code>${a.rule}</code></td>
            <td>${a.subject}</td>
            <td>${a.summary}</td>
            <td>${formatTime(a.raisedAt)}</td>
            <td>${acknowledgement(t, a)}</td>
            ${opts.withState ? html`<td>${a.clearedAt ? formatTime(a.clearedAt) : t.none}</td>` : ''}
            ${opts.action ? html`<td>${opts.action(a, i)}</td>` : ''}
          </tr>`,
      )}
    </tbody>
  </table>`;
}
