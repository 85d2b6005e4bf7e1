import type { FastifyInstance } from 'fastify';
import { html, type Html } from '../html.js';
import { stateBadge } from '../console-layout.js';
import { HIDDEN, sendPage, type ConsoleContext } from '../console-context.js';
import { dashboardFacts, type DashboardFacts, type StateCount } from '../dashboard-facts.js';
import type { Alarm } from '../../../node/alarms/alarm.js';
import { alarmTable } from '../alarm-table.js';
import type { Dictionary } from '../i18n/dictionary.js';
import { formatSeconds, formatTime } from '../console-format.js';

function statesSection(t: Dictionary, f: DashboardFacts): Html {
  return html`<section aria-labelledby="states-h">
    <h2 id="states-h">${t.dashStates}</h2>
    <p class="hint">${t.dashStatesAllTime}</p>
    ${
      f.states.length === 0
        ? html`<p>${t.noMessages}</p>`
        : html`<table>
            <caption class="sr-only">
              ${t.dashStates}
            </caption>
            <thead>
              <tr>
                <th scope="col">${t.direction}</th>
                <th scope="col">${t.state}</th>
                <th scope="col" class="num">${t.count}</th>
              </tr>
            </thead>
            <tbody>
              ${f.states.map(
                (s) =>
                  html`<tr>
                    <td>${s.direction === 'out' ? t.directionOut : t.directionIn}</td>
                    <td>${stateBadge(s.state)}</td>
                    <td class="num"><a href="/console/messages?direction=${s.direction}&amp;state=${s.state}">${s.count}</a></td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
  </section>`;
}

function latencySection(t: Dictionary, f: DashboardFacts): Html {
  const l = f.latency;
  return html`<section aria-labelledby="latency-h">
    <h2 id="latency-h">${t.dashLatency}</h2>
    <p class="hint">${t.dashLatencyHint}</p>
    <dl class="facts">
      <dt>${t.latencyDelivered}</dt>
      <dd>${l.count}</dd>
      <dt>${t.latencyMean}</dt>
      <dd>${formatSeconds(l.meanSeconds, t)}</dd>
      <dt>${t.latencyP50}</dt>
      <dd>${l.p50Seconds === undefined ? t.none : html`≤ ${formatSeconds(l.p50Seconds, t)}`}</dd>
      <dt>${t.latencyP95}</dt>
      <dd>${l.p95Seconds === undefined ? t.none : html`≤ ${formatSeconds(l.p95Seconds, t)}`}</dd>
    </dl>
  </section>`;
}

function queuesSection(t: Dictionary, f: DashboardFacts): Html {
  return html`<section aria-labelledby="queues-h">
    <h2 id="queues-h">${t.dashQueues}</h2>
    <table>
      <thead>
        <tr>
          <th scope="col">${t.queue}</th>
          <th scope="col">${t.queueState}</th>
          <th scope="col" class="num">${t.queueWaiting}</th>
          <th scope="col" class="num">${t.queueDelayed}</th>
          <th scope="col" class="num">${t.queueFailed}</th>
          <th scope="col" class="num">${t.queueOldest}</th>
        </tr>
      </thead>
      <tbody>
        ${f.queues.map((q) =>
          q.up
            ? html`<tr>
                <th scope="row">${q.queue}</th>
                <td>${stateBadge(t.up)}</td>
                <td class="num">${q.waiting}</td>
                <td class="num">${q.delayed}</td>
                <td class="num">${q.failed}</td>
                <td class="num">${formatSeconds(q.oldestWaitingSeconds, t)}</td>
              </tr>`
            : html`<tr>
                <th scope="row">${q.queue}</th>
                <td>${stateBadge(t.down)}</td>
                <td colspan="4">${t.queueUnavailable}</td>
              </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

function oldestSection(t: Dictionary, f: DashboardFacts): Html {
  const o = f.oldestNonFinal;
  return html`<section aria-labelledby="oldest-h">
    <h2 id="oldest-h">${t.dashOldest}</h2>
    ${
      o
        ? html`<p>
            ${formatTime(o.createdAt)} — ${o.direction === 'out' ? t.directionOut : t.directionIn}, ${stateBadge(o.state)}
            <a href="/console/attention">${t.navAttention}</a>
          </p>`
        : html`<p>${t.noneNonFinal}</p>`
    }
  </section>`;
}

/** The current alarms first, above everything else: what needs someone now. */
function alarmsSection(t: Dictionary, alarms: readonly Alarm[]): Html {
  return html`<section aria-labelledby="alarms-h">
    <h2 id="alarms-h">${t.alarmsCurrent}</h2>
    ${alarms.length === 0 ? html`<p>${t.noAlarms}</p>` : alarmTable(t, alarms, { caption: t.alarmsCurrent })}
    <p><a href="/console/alarms">${t.alarmsAll}</a></p>
  </section>`;
}

/** The last hour and the last day, per direction and state: the all-time table says nothing of now. */
function recentSection(t: Dictionary, f: DashboardFacts): Html {
  const key = (s: StateCount): string => `${s.direction} ${s.state}`;
  const hour = new Map(f.lastHour.map((s) => [key(s), s.count]));
  // Every group of the day holds the hour's too: the day's groups are the rows.
  return html`<section aria-labelledby="recent-h">
    <h2 id="recent-h">${t.dashRecent}</h2>
    <p class="hint">${t.dashRecentHint}</p>
    ${
      f.lastDay.length === 0
        ? html`<p>${t.noMessages}</p>`
        : html`<table>
            <caption class="sr-only">
              ${t.dashRecent}
            </caption>
            <thead>
              <tr>
                <th scope="col">${t.direction}</th>
                <th scope="col">${t.state}</th>
                <th scope="col" class="num">${t.lastHour}</th>
                <th scope="col" class="num">${t.lastDay}</th>
              </tr>
            </thead>
            <tbody>
              ${f.lastDay.map(
                (s) =>
                  html`<tr>
                    <td>${s.direction === 'out' ? t.directionOut : t.directionIn}</td>
                    <td>${stateBadge(s.state)}</td>
                    <td class="num">${hour.get(key(s)) ?? 0}</td>
                    <td class="num">${s.count}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
  </section>`;
}

/** GET /console: current alarms, messages per state (all time, last hour, last day), delivery latency, queue depths, the oldest message not yet final, alarms. */
export function registerDashboardPage(scope: FastifyInstance, ctx: ConsoleContext): void {
  scope.get('/console', HIDDEN, async (req, reply) => {
    const { t } = req.console;
    const [f, alarms] = await Promise.all([dashboardFacts(ctx.node, new Date()), ctx.node.alarms.current()]);
    const body = html`${alarmsSection(t, alarms)}
      <div class="grid">
        ${statesSection(t, f)}${recentSection(t, f)}${oldestSection(t, f)}${latencySection(t, f)}${queuesSection(t, f)}
      </div>`;
    return sendPage(ctx, req, reply, { title: t.navDashboard, place: 'dashboard', path: '/console', body });
  });
}
