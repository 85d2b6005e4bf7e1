import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { html, type Html } from '../html.js';
import { notice } from '../console-layout.js';
import { HIDDEN, requireOperator, sendPage, type ConsoleContext } from '../console-context.js';
import { formatSeconds } from '../console-format.js';
import { attentionMessages, resendMessages, type ResendOutcome } from '../attention-messages.js';
import { messageTable } from './search-page.js';

/** At most this many resends in one POST. */
const MAX_RESEND = 200;

async function render(
  ctx: ConsoleContext,
  req: FastifyRequest,
  reply: FastifyReply,
  outcomes?: readonly ResendOutcome[],
): Promise<FastifyReply> {
  const { t } = req.console;
  const session = req.console.session!;
  const operator = session.member.role === 'operator';
  const a = await attentionMessages(ctx.node, new Date());
  const failedOut = a.failed.filter((r) => r.direction === 'out');
  const results: Html = outcomes
    ? html`${outcomes.filter((o) => o.ok).length ? notice('ok', t.resent(outcomes.filter((o) => o.ok).map((o) => o.id))) : ''}${outcomes
        .filter((o) => !o.ok)
        .map((o) => notice('error', `${o.id} — ${o.error ?? ''}`))}`
    : html``;
  const failedSection =
    a.failed.length === 0
      ? html`<p>${t.noFailed}</p>`
      : operator && failedOut.length > 0
        ? html`<form method="post" action="/console/attention/resend">
            <input type="hidden" name="_csrf" value="${session.csrf}" />
            ${messageTable(t, a.failed, { select: true })}
            <p class="hint">${t.resendHint}</p>
            <button type="submit">${t.resendSelected}</button>
          </form>`
        : messageTable(t, a.failed);
  const body = html`${results}
    <section aria-labelledby="failed-h">
      <h2 id="failed-h">${t.failedMessages}</h2>
      ${failedSection}
    </section>
    <section aria-labelledby="stuck-h">
      <h2 id="stuck-h">${t.stuckMessages}</h2>
      <p class="hint">${t.stuckHint(formatSeconds(a.stuckAfterMs / 1000, t))}</p>
      ${
        a.ownThresholds.size
          ? html`<p class="hint">
              ${t.stuckOwn(
                [...a.ownThresholds]
                  .sort(([x], [y]) => x.localeCompare(y))
                  .map(([service, ms]) => `${service} ${formatSeconds(ms / 1000, t)}`)
                  .join(', '),
              )}
            </p>`
          : ''
      }
      ${a.stuck.length === 0 ? html`<p>${t.noStuck}</p>` : messageTable(t, a.stuck)}
    </section>`;
  return sendPage(ctx, req, reply, { title: t.navAttention, place: 'attention', path: '/console/attention', body });
}

/** GET /console/attention: FAILED and stuck messages; POST …/resend: resend one or many (operators only). */
export function registerAttentionPage(scope: FastifyInstance, ctx: ConsoleContext): void {
  scope.get('/console/attention', HIDDEN, (req, reply) => render(ctx, req, reply));

  scope.post<{ Body: { ids?: string | string[] } }>('/console/attention/resend', HIDDEN, async (req, reply) => {
    const session = requireOperator(req);
    const raw = req.body?.ids;
    const ids = [
      ...new Set((Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((v) => typeof v === 'string' && v !== '')),
    ].slice(0, MAX_RESEND);
    const outcomes = await resendMessages(ctx.node, ids, { by: session.member });
    ctx.node.log.info({ by: session.member.name, resent: outcomes.filter((o) => o.ok).map((o) => o.id) }, 'console: resend');
    return render(ctx, req, reply, outcomes.length ? outcomes : [{ id: '—', ok: false, error: req.console.t.nothingSelected }]);
  });
}
