import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TramiteError } from '../../../core/errors.js';
import type { Alarm } from '../../../node/alarms/alarm.js';
import { html, type Html } from '../html.js';
import { notice } from '../console-layout.js';
import { HIDDEN, requireOperator, sendPage, type ConsoleContext } from '../console-context.js';
import { alarmTable } from '../alarm-table.js';
import type { Dictionary } from '../i18n/dictionary.js';

/** How many of the latest alarms (cleared ones too) the page lists under the current ones. */
export const RECENT_ALARMS = 50;
/** A note longer than this is cut: it is a line in the log, not a report. */
const MAX_NOTE = 500;

/** The board's refusals an operator can cause by acting on a stale page: a notice, not an error page. */
const STALE_ALARM: ReadonlySet<string> = new Set(['TRAMITE_ERR_ALARM_NOT_FOUND', 'TRAMITE_ERR_ALARM_CLEARED']);

/** One alarm's acknowledge form: the CSRF token, the alarm, an optional note. Only raised (not yet taken) alarms have one. */
function acknowledgeForm(t: Dictionary, csrf: string, a: Alarm, i: number): Html {
  if (a.state !== 'raised') return html``;
  return html`<form method="post" action="/console/alarms/acknowledge" class="ack">
    <input type="hidden" name="_csrf" value="${csrf}" /><input type="hidden" name="id" value="${a.id}" />
    <label for="note-${i}">${t.acknowledgeNote}</label>
    <input id="note-${i}" name="note" type="text" maxlength="${MAX_NOTE}" />
    <button type="submit">${t.acknowledge}<span class="sr-only">: ${a.subject}</span></button>
  </form>`;
}

async function render(ctx: ConsoleContext, req: FastifyRequest, reply: FastifyReply, outcome?: Html): Promise<FastifyReply> {
  const { t } = req.console;
  const session = req.console.session!;
  const operator = session.member.role === 'operator';
  const [current, recent] = await Promise.all([ctx.node.alarms.current(), ctx.node.alarms.recent(RECENT_ALARMS)]);
  const body = html`${outcome ?? ''}
    <section aria-labelledby="current-alarms-h">
      <h2 id="current-alarms-h">${t.alarmsCurrent}</h2>
      ${operator && current.length ? html`<p class="hint">${t.acknowledgeHint}</p>` : ''}
      ${
        current.length === 0
          ? html`<p>${t.noAlarms}</p>`
          : alarmTable(t, current, {
              caption: t.alarmsCurrent,
              ...(operator ? { action: (a, i) => acknowledgeForm(t, session.csrf, a, i), actionHeader: t.acknowledge } : {}),
            })
      }
    </section>
    <section aria-labelledby="recent-alarms-h">
      <h2 id="recent-alarms-h">${t.alarmsRecent}</h2>
      ${recent.length === 0 ? html`<p>${t.noRecentAlarms}</p>` : alarmTable(t, recent, { caption: t.alarmsRecent, withState: true })}
    </section>`;
  return sendPage(ctx, req, reply, { title: t.navAlarms, place: 'alarms', path: '/console/alarms', body });
}

/**
 * GET /console/alarms: the current alarms and the latest ones (cleared too); POST …/acknowledge: an
 * operator takes one, with an optional note — the board records it in the chained log with the
 * operator's name before the alarm shows it.
 */
export function registerAlarmsPage(scope: FastifyInstance, ctx: ConsoleContext): void {
  scope.get('/console/alarms', HIDDEN, (req, reply) => render(ctx, req, reply));

  scope.post<{ Body: { id?: unknown; note?: unknown } }>('/console/alarms/acknowledge', HIDDEN, async (req, reply) => {
    const session = requireOperator(req);
    const { t } = req.console;
    const id = typeof req.body?.id === 'string' ? req.body.id : '';
    const note = typeof req.body?.note === 'string' && req.body.note.trim() !== '' ? req.body.note.trim().slice(0, MAX_NOTE) : undefined;
    try {
      const alarm = await ctx.node.alarms.acknowledge(id, session.member, note);
      return render(ctx, req, reply, notice('ok', t.acknowledged(alarm.subject)));
    } catch (err) {
      if (err instanceof TramiteError && STALE_ALARM.has(err.code)) return render(ctx, req, reply, notice('error', t.alarmGone));
      throw err;
    }
  });
}
