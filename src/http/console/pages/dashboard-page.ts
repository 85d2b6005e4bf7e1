import type { FastifyInstance } from 'fastify';
import { html, type Html } from '../html.js';
import { stateBadge } from '../console-layout.js';
import { HIDDEN, sendPage, type ConsoleContext } from '../console-context.js';
import { dashboardFacts, type DashboardFacts } from '../dashboard-facts.js';
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

/**
 * The alarms' place on the dashboard (the coordinator fills it from node.alarms.current() when the
 * alarms step is merged); nothing until then.
 */
function alarmsSection(_t: Dictionary): Html {
  return html``;
}

/** GET /console: messages per state, delivery latency, queue depths, the oldest message not yet final, alarms. */
export function registerDashboardPage(scope: FastifyInstance, ctx: ConsoleContext): void {
  scope.get('/console', HIDDEN, async (req, reply) => {
    const { t } = req.console;
    const f = await dashboardFacts(ctx.node);
    const body = html`${alarmsSection(t)}
      <div class="grid">${statesSection(t, f)}${oldestSection(t, f)}${latencySection(t, f)}${queuesSection(t, f)}</div>`;
    return sendPage(ctx, req, reply, { title: t.navDashboard, place: 'dashboard', path: '/console', body });
  });
}
