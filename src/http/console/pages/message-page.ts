import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../core/errors.js';
import { isRestExchange, type MessageKey, type MessageRecord } from '../../../core/message-record.js';
import type { EnvelopeStatus, RecordSummary } from '../../../node/audit/log-auditor.js';
import { html, type Html } from '../html.js';
import { stateBadge } from '../console-layout.js';
import { HIDDEN, sendPage, type ConsoleContext } from '../console-context.js';
import type { Dictionary } from '../i18n/dictionary.js';
import { formatTime } from '../console-format.js';
import { keyFromQuery, relatedMessages, reverifyMessage, timelineOf } from '../message-details.js';
import { prettyXml } from '../pretty-xml.js';
import { messageHref, messageTable } from './search-page.js';

function summary(t: Dictionary, r: MessageRecord): Html {
  const row = (label: string, value: Html | string | number | undefined) =>
    value === undefined
      ? ''
      : html`<dt>${label}</dt>
          <dd>${value}</dd>`;
  return html`<dl class="facts">
    ${row(t.messageId, r.id)}${row(t.state, stateBadge(r.status))}${row(t.direction, r.direction === 'out' ? t.directionOut : t.directionIn)}
    ${row(t.from, r.from)}${row(t.to, r.to)}${row(t.service, r.service)}${row(t.action, r.action)}${row(t.profile, `${r.collaboration} · ${r.envelopeProfile}`)}
    ${row(t.routing, r.routing ? routingText(t, r.routing) : undefined)}
    ${row(t.refId, r.refId)}${row(t.conversationId, r.conversationId)}${row(t.created, formatTime(r.createdAt))}${row(t.updated, formatTime(r.updatedAt))}
    ${row(t.attempts, r.attempts)}${row(t.expires, r.expiresAt ? formatTime(r.expiresAt) : undefined)}
    ${row(t.receipt, r.receipt ? `${formatTime(r.receipt.at)} — ${r.receipt.signer}` : undefined)}
    ${row(t.error, r.error ? `${r.error.code}: ${r.error.message}` : undefined)}
  </dl>`;
}

/** Sent by role: the role and Comune asked, the rule that chose `to`, and the table's version (as logged). */
function routingText(t: Dictionary, g: NonNullable<MessageRecord['routing']>): string {
  return `${g.role} · ${g.asked} (${g.comune}) → ${g.party} · ${t.routingRule(g.rule, (g.via ?? []).join(' → '))} · ${g.tableVersion}`;
}

function detailText(t: Dictionary, r: RecordSummary): Html {
  const d = (r.detail ?? {}) as {
    attempts?: number;
    error?: { code?: string; message?: string };
    by?: { name?: string; role?: string };
    resealed?: boolean;
  };
  const parts: Html[] = [];
  if (d.attempts !== undefined) parts.push(html`${t.attempts}: ${d.attempts}`);
  if (d.error?.code) parts.push(html`<span class="error-text">${d.error.code}: ${d.error.message ?? ''}</span>`);
  if (d.by?.name) parts.push(html`${t.actedBy(d.by.name)}`);
  if (d.resealed) parts.push(html`${t.resealed}`);
  return html`${parts.map((p, i) => html`${i ? '; ' : ''}${p}`)}`;
}

function timeline(t: Dictionary, records: readonly RecordSummary[]): Html {
  return html`<table>
    <thead>
      <tr>
        <th scope="col" class="num">${t.seq}</th>
        <th scope="col">${t.time}</th>
        <th scope="col">${t.recordKind}</th>
        <th scope="col">${t.state}</th>
        <th scope="col">${t.details}</th>
        <th scope="col">${t.envelope}</th>
      </tr>
    </thead>
    <tbody>
      ${records.map(
        (r) =>
          html`<tr>
            <td class="num">${r.seq}</td>
            <td>${formatTime(r.time)}</td>
            <td>${r.kind}</td>
            <td>${stateBadge(r.state)}</td>
            <td>${detailText(t, r)}</td>
            <td>${r.envelope === 'kept' ? t.envelopeKept : r.envelope === 'purged' ? t.envelopePurged : t.none}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function signatures(t: Dictionary, statuses: readonly EnvelopeStatus[]): Html {
  if (statuses.length === 0) return html`<p>${t.noEnvelopes}</p>`;
  return html`<table>
    <thead>
      <tr>
        <th scope="col" class="num">${t.seq}</th>
        <th scope="col">${t.recordKind}</th>
        <th scope="col">${t.verdict}</th>
        <th scope="col">${t.signer}</th>
        <th scope="col">${t.reason}</th>
      </tr>
    </thead>
    <tbody>
      ${statuses.map(
        (s) =>
          html`<tr>
            <td class="num">${s.seq}</td>
            <td>${s.kind}</td>
            <td>${s.valid ? stateBadge(t.valid) : stateBadge(t.invalid)}</td>
            <td>${s.signer ?? ''}</td>
            <td>${s.code ? `${s.code}: ` : ''}${s.reason ?? ''}${s.note ?? ''}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function query(key: MessageKey, extra: Record<string, string> = {}): string {
  return new URLSearchParams({
    direction: key.direction,
    id: key.id,
    ...(key.direction === 'in' ? { from: key.from } : {}),
    ...extra,
  }).toString();
}

function envelopeBlock(t: Dictionary, key: MessageKey, which: 'request' | 'reply', text: string | undefined, heading: string): Html {
  if (text === undefined) return html``;
  return html`<section aria-labelledby="${which}-h">
    <h2 id="${which}-h">${heading}</h2>
    <p><a href="/console/message/envelope?${query(key, { which })}" download>${t.download}</a></p>
    <pre class="xml" tabindex="0" aria-label="${heading}">${prettyXml(text)}</pre>
  </section>`;
}

async function findMessage(
  ctx: ConsoleContext,
  q: Record<string, unknown>,
  t: Dictionary,
): Promise<{ key: MessageKey; rec: MessageRecord }> {
  const key = keyFromQuery(q);
  const rec = key ? await ctx.node.store.get(key) : undefined;
  if (!key || !rec) throw new ApiError('TRAMITE_ERR_NOT_FOUND', 404, t.messageNotFound);
  return { key, rec };
}

/**
 * GET /console/message: one message — its facts, the timeline of its log records (states, attempts,
 * errors, who acted), its signatures re-verified on demand (?verify=1), its envelope and its
 * receipt or reply pretty-printed, related messages; and the envelope's download.
 */
export function registerMessagePage(scope: FastifyInstance, ctx: ConsoleContext): void {
  scope.get<{ Querystring: Record<string, string> }>('/console/message', HIDDEN, async (req, reply) => {
    const { t } = req.console;
    const { key, rec } = await findMessage(ctx, req.query, t);
    const [records, envelope, replyEnvelope, related] = await Promise.all([
      timelineOf(ctx.node, rec),
      ctx.node.store.envelopeOf(key),
      ctx.node.store.replyEnvelopeOf(key),
      relatedMessages(ctx.node, key),
    ]);
    const verified = req.query.verify === '1' ? await reverifyMessage(ctx.node, records, rec.id) : undefined;
    const session = req.console.session!;
    const canResend = session.member.role === 'operator' && rec.direction === 'out' && rec.status === 'FAILED' && !isRestExchange(rec);
    const body = html`${summary(t, rec)}
      ${
        canResend
          ? html`<form method="post" action="/console/attention/resend" class="inline">
              <input type="hidden" name="_csrf" value="${session.csrf}" /><input type="hidden" name="ids" value="${rec.id}" /><button
                type="submit"
              >
                ${t.resend}
              </button>
            </form>`
          : ''
      }
      <section aria-labelledby="timeline-h">
        <h2 id="timeline-h">${t.timeline}</h2>
        ${timeline(t, records)}
      </section>
      <section aria-labelledby="sig-h">
        <h2 id="sig-h">${t.signatures}</h2>
        ${verified ? signatures(t, verified) : html`<p>${t.signaturesHint}</p>`}
        <p><a href="/console/message?${query(key, { verify: '1' })}#sig-h">${verified ? t.reverifyAgain : t.reverify}</a></p>
      </section>
      ${
        rec.replyPayload
          ? html`<section aria-labelledby="replypayload-h">
              <h2 id="replypayload-h">${t.replyPayload}</h2>
              <pre class="xml" tabindex="0" aria-label="${t.replyPayload}">${prettyXml(rec.replyPayload)}</pre>
            </section>`
          : ''
      }
      ${envelopeBlock(t, key, 'request', envelope, isRestExchange(rec) ? t.restRequest : t.envelope)}
      ${envelopeBlock(t, key, 'reply', replyEnvelope, isRestExchange(rec) ? t.restResponse : t.receiptOrReply)}
      <section aria-labelledby="related-h">
        <h2 id="related-h">${t.related}</h2>
        ${
          related.length
            ? messageTable(
                t,
                related.map((r) => r.message),
                { lead: { header: t.relation, cells: related.map((r) => t.relations[r.relation]) } },
              )
            : html`<p>${t.noRelated}</p>`
        }
      </section>`;
    return sendPage(ctx, req, reply, { title: t.messageTitle(rec.id), place: 'messages', path: messageHref(rec), body });
  });

  scope.get<{ Querystring: Record<string, string> }>('/console/message/envelope', HIDDEN, async (req, reply) => {
    const { t } = req.console;
    const { key, rec } = await findMessage(ctx, req.query, t);
    const which = req.query.which === 'reply' ? 'reply' : 'request';
    const text = which === 'reply' ? await ctx.node.store.replyEnvelopeOf(key) : await ctx.node.store.envelopeOf(key);
    if (text === undefined) throw new ApiError('TRAMITE_ERR_NOT_FOUND', 404, t.envelopeNotKept);
    const rest = isRestExchange(rec);
    const name = `${rec.id}-${rec.direction}-${which}`.replace(/[^A-Za-z0-9._-]/g, '_');
    return reply
      .type(rest ? 'message/http' : 'text/xml; charset=utf-8')
      .header('content-disposition', `attachment; filename="${name}.${rest ? 'http' : 'xml'}"`)
      .send(text);
  });
}
