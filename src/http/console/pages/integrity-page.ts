import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../core/errors.js';
import { exportForStaff } from '../../bundle-export.js';
import { HttpRefusal } from '../../http-refusal.js';
import { html, type Html } from '../html.js';
import { notice, stateBadge } from '../console-layout.js';
import { HIDDEN, requireOperator, sendPage, sessionOf, type ConsoleContext } from '../console-context.js';
import type { Dictionary } from '../i18n/dictionary.js';
import { formatTime } from '../console-format.js';
import type { VerificationRun } from '../verification-runs.js';

/** How many of the latest checkpoints the page lists. */
const CHECKPOINTS_SHOWN = 10;

function runSection(t: Dictionary, run: VerificationRun | undefined): Html {
  if (!run) return html`<p>${t.noVerification}</p>`;
  const status =
    run.state === 'running'
      ? t.verifyRunning(run.checked, run.total)
      : run.state === 'failed'
        ? `${t.verifyFailed}: ${run.error ?? ''}`
        : run.report?.ok
          ? t.verifyOk(run.report.records)
          : t.verifyBad(run.report?.issues.length ?? 0);
  const r = run.report;
  return html`<div class="run">
    <label for="verify-progress">${t.verifyProgress}</label>
    <progress
      id="verify-progress"
      max="${Math.max(run.total, 1)}"
      value="${run.state === 'running' ? run.checked : Math.max(run.total, 1)}"
      data-poll="/console/integrity/runs/${run.id}"
      data-state="${run.state}"
    >
      ${run.checked}/${run.total}
    </progress>
    <p id="verify-status" role="status" aria-live="polite">
      ${run.state === 'done' ? stateBadge(r?.ok ? t.valid : t.invalid) : ''} ${status}
    </p>
    <p class="hint">${t.verifyStartedBy(run.by.name, formatTime(run.startedAt))}</p>
    ${
      r
        ? html`<dl class="facts">
              <dt>${t.records}</dt>
              <dd>${r.records}</dd>
              <dt>${t.checkpoints}</dt>
              <dd>${r.checkpoints}</dd>
              <dt>${t.envelopesChecked}</dt>
              <dd>${r.envelopesChecked}</dd>
              <dt>${t.envelopesPurged}</dt>
              <dd>${r.envelopesPurged}</dd>
              <dt>${t.uncheckpointed}</dt>
              <dd>${r.uncheckpointed}</dd>
              <dt>${t.timestampsVerified}</dt>
              <dd>${r.timestampsVerified}</dd>
            </dl>
            ${
              r.issues.length
                ? html`<table>
                    <caption>
                      ${t.issues}
                    </caption>
                    <thead>
                      <tr>
                        <th scope="col" class="num">${t.seq}</th>
                        <th scope="col">${t.recordKind}</th>
                        <th scope="col">${t.reason}</th>
                      </tr>
                    </thead>
                    <tbody>
                      ${r.issues.slice(0, 100).map(
                        (i) =>
                          html`<tr>
                            <td class="num">${i.seq}</td>
                            <td>${i.kind}</td>
                            <td>${i.reason}</td>
                          </tr>`,
                      )}
                    </tbody>
                  </table>`
                : ''
            }`
        : ''
    }
  </div>`;
}

/**
 * GET /console/integrity: run a verification of the whole log (in the background, its progress polled
 * as JSON by verify-progress.js), its result; the latest checkpoints and the TSA's status; a bundle
 * export for a time range; and an operator's purge request (retention applied now, and logged).
 */
export function registerIntegrityPage(scope: FastifyInstance, ctx: ConsoleContext): void {
  scope.get<{ Querystring: { run?: string; purged?: string } }>('/console/integrity', HIDDEN, async (req, reply) => {
    const { t } = req.console;
    const session = sessionOf(req);
    const store = ctx.node.store;
    const run = req.query.run ? ctx.runs.get(req.query.run) : ctx.runs.latest();
    const [head, checkpoints] = await Promise.all([store.store.head(), store.store.checkpoints()]);
    const tsa = ctx.node.config.log.tsa;
    const tsaStatus = store.tsaStatus();
    const csrf = html`<input type="hidden" name="_csrf" value="${session.csrf}" />`;
    const retentionDays = ctx.node.config.log.retentionDays;
    const body = html`${req.query.purged !== undefined ? notice('ok', t.purgeDone(Number(req.query.purged) || 0)) : ''}
      <section aria-labelledby="verify-h">
        <h2 id="verify-h">${t.verification}</h2>
        <p>${t.logHead(head.seq)}</p>
        <form method="post" action="/console/integrity/verify">${csrf}<button type="submit">${t.verifyNow}</button></form>
        ${runSection(t, run)}
      </section>
      <section aria-labelledby="cp-h">
        <h2 id="cp-h">${t.checkpointsAndTsa}</h2>
        <p>
          ${
            tsa
              ? tsaStatus
                ? html`${t.tsaAt(tsa.url)} ${stateBadge(tsaStatus.state === 'up' ? t.up : t.down)}
                  ${formatTime(tsaStatus.at)}${tsaStatus.reason ? ` — ${tsaStatus.reason}` : ''}`
                : t.tsaNotYet(tsa.url)
              : t.tsaNone
          }
        </p>
        ${
          checkpoints.length === 0
            ? html`<p>${t.noCheckpoints}</p>`
            : html`<table>
                  <thead>
                    <tr>
                      <th scope="col" class="num">${t.seq}</th>
                      <th scope="col">${t.time}</th>
                      <th scope="col">${t.signedBy}</th>
                      <th scope="col">${t.timestamp}</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${checkpoints
                      .slice(-CHECKPOINTS_SHOWN)
                      .reverse()
                      .map(
                        (c) =>
                          html`<tr>
                            <td class="num">${c.seq}</td>
                            <td>${formatTime(c.time)}</td>
                            <td>${c.node}</td>
                            <td>${c.tsaToken ? t.yes : t.no}</td>
                          </tr>`,
                      )}
                  </tbody>
                </table>
                <p class="hint">${t.checkpointsCount(checkpoints.length, head.seq - checkpoints.at(-1)!.seq)}</p>`
        }
      </section>
      <section aria-labelledby="export-h">
        <h2 id="export-h">${t.exportBundle}</h2>
        <form method="get" action="/console/integrity/export" class="search">
          <div class="field">
            <label for="exportFrom">${t.createdFrom}</label><input id="exportFrom" name="from" type="datetime-local" step="1" required />
          </div>
          <div class="field">
            <label for="exportTo">${t.createdTo}</label><input id="exportTo" name="to" type="datetime-local" step="1" required />
          </div>
          <div class="actions"><button type="submit">${t.download}</button></div>
        </form>
      </section>
      ${
        session.member.role === 'operator'
          ? html`<section aria-labelledby="purge-h">
              <h2 id="purge-h">${t.purgeRequest}</h2>
              <p>${retentionDays === undefined ? t.noRetention : t.purgeHint(retentionDays)}</p>
              <form method="post" action="/console/integrity/purge">
                ${csrf}<button type="submit" ${retentionDays === undefined ? html` disabled` : ''}>${t.purgeNow}</button>
              </form>
            </section>`
          : ''
      }`;
    return sendPage(ctx, req, reply, {
      title: t.navIntegrity,
      place: 'integrity',
      path: '/console/integrity',
      body,
      scripts: run ? ['/console/assets/verify-progress.js'] : [],
    });
  });

  scope.post('/console/integrity/verify', HIDDEN, async (req, reply) => {
    const session = sessionOf(req);
    // Answers at once: the run goes on in the background, sharing the event loop (chain-verifier.ts).
    const run = ctx.runs.start(ctx.node.auditor(), session.member);
    ctx.node.log.info({ by: session.member.name, run: run.id }, 'console: log verification started');
    return reply.redirect(`/console/integrity?run=${encodeURIComponent(run.id)}`, 303);
  });

  scope.get<{ Params: { id: string } }>('/console/integrity/runs/:id', HIDDEN, async (req) => {
    const run = ctx.runs.get(req.params.id);
    if (!run) throw new ApiError('TRAMITE_ERR_NOT_FOUND', 404, 'no such verification');
    return {
      state: run.state,
      checked: run.checked,
      total: run.total,
      ...(run.report ? { ok: run.report.ok, issues: run.report.issues.length } : {}),
      text:
        run.state === 'running'
          ? req.console.t.verifyRunning(run.checked, run.total)
          : run.state === 'failed'
            ? req.console.t.verifyFailed
            : run.report?.ok
              ? req.console.t.verifyOk(run.report.records)
              : req.console.t.verifyBad(run.report?.issues.length ?? 0),
    };
  });

  scope.get<{ Querystring: { from?: string; to?: string } }>('/console/integrity/export', HIDDEN, async (req, reply) => {
    const { t } = req.console;
    const at = (v: string | undefined): string | undefined => {
      if (!v) return undefined;
      const d = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(v) ? v : `${v}Z`);
      return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
    };
    const from = at(req.query.from);
    const to = at(req.query.to);
    if (!from || !to || from > to) throw new ApiError('TRAMITE_ERR_BAD_REQUEST', 400, t.exportRangeInvalid);
    const by = sessionOf(req).member;
    const exported = await exportForStaff(ctx.node, by, from, to).catch((err: unknown) => {
      // The console's error page sets no Retry-After of its own.
      if (err instanceof HttpRefusal) void reply.header('retry-after', String(err.retryAfterSeconds));
      throw err;
    });
    ctx.node.log.info({ by: by.name, from, to }, 'console: log bundle exported');
    return reply.type('application/json').header('content-disposition', `attachment; filename="${exported.filename}"`).send(exported.json);
  });

  scope.post('/console/integrity/purge', HIDDEN, async (req, reply) => {
    const session = requireOperator(req);
    const purged = await ctx.node.store.applyRetention();
    await ctx.node.store.recordOperatorAction({
      by: session.member,
      action: 'purge-requested',
      target: 'retention',
      detail: { purged, retentionDays: ctx.node.config.log.retentionDays ?? null },
    });
    return reply.redirect(`/console/integrity?purged=${purged}`, 303);
  });
}
