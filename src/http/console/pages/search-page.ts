import type { FastifyInstance } from 'fastify';
import { MESSAGE_STATUSES, type MessageRecord } from '../../../core/message-record.js';
import { html, type Html } from '../html.js';
import { stateBadge } from '../console-layout.js';
import { HIDDEN, sendPage, type ConsoleContext } from '../console-context.js';
import type { Dictionary } from '../i18n/dictionary.js';
import { formatTime } from '../console-format.js';
import { decodeCursor, encodeCursor, listQueryOf, PAGE_SIZE, readSearchForm, type SearchForm } from '../message-search.js';

/** Where a message's page is: by direction, id and (inbound) sender, which together name it. */
export function messageHref(rec: Pick<MessageRecord, 'direction' | 'id' | 'from'>): string {
  const q = new URLSearchParams({ direction: rec.direction, id: rec.id, ...(rec.direction === 'in' ? { from: rec.from } : {}) });
  return `/console/message?${q.toString()}`;
}

function select(id: string, label: string, options: readonly (readonly [string, string])[], value: string | undefined, any: string): Html {
  return html`<div class="field">
    <label for="${id}">${label}</label
    ><select id="${id}" name="${id}">
      <option value="">${any}</option>
      ${options.map(([v, text]) => html`<option value="${v}" ${v === value ? html` selected` : ''}>${text}</option>`)}
    </select>
  </div>`;
}

function input(id: string, label: string, type: string, value: string | undefined): Html {
  return html`<div class="field">
    <label for="${id}">${label}</label
    ><input id="${id}" name="${id}" type="${type}" value="${value ?? ''}" ${type === 'datetime-local' ? html` step="1"` : ''} />
  </div>`;
}

/** An ISO instant as a datetime-local control shows it (UTC, to the second). */
const local = (iso: string | undefined): string | undefined => iso?.slice(0, 19);

function searchForm(t: Dictionary, ctx: ConsoleContext, f: SearchForm): Html {
  const config = ctx.node.registry.config;
  const services = [...new Set([...config.services.map((s) => s.name), ...config.restServices.map((s) => s.name)])].sort();
  return html`<form method="get" action="/console/messages" class="search" role="search" aria-label="${t.searchLabel}">
    ${select(
      'party',
      t.party,
      config.parties.map((p) => [p.code, p.code] as const),
      f.party,
      t.any,
    )}
    ${select(
      'peer',
      t.peer,
      config.peers.map((p) => [p.name, p.name] as const),
      f.peer,
      t.any,
    )}
    ${select(
      'service',
      t.service,
      services.map((s) => [s, s] as const),
      f.service,
      t.any,
    )}
    ${select(
      'state',
      t.state,
      MESSAGE_STATUSES.map((s) => [s, s] as const),
      f.state,
      t.any,
    )}
    ${select('direction', t.direction, [['out', t.directionOut] as const, ['in', t.directionIn] as const], f.direction, t.any)}
    ${input('createdFrom', t.createdFrom, 'datetime-local', local(f.createdFrom))}
    ${input('createdTo', t.createdTo, 'datetime-local', local(f.createdTo))} ${input('id', t.messageId, 'search', f.id)}
    <div class="actions"><button type="submit">${t.search}</button> <a href="/console/messages">${t.clearFilters}</a></div>
  </form>`;
}

/** Options of a message table: checkboxes to pick FAILED outbound ones, or a first column saying something of each row. */
export interface MessageTableOptions {
  readonly select?: boolean;
  /** A column before the others: its header and one cell per row, in the rows' order (a related message's relation). */
  readonly lead?: { readonly header: string; readonly cells: readonly string[] };
}

export function messageTable(t: Dictionary, rows: readonly MessageRecord[], opts: MessageTableOptions = {}): Html {
  return html`<table class="messages">
    <thead>
      <tr>
        ${opts.select ? html`<th scope="col"><span class="sr-only">${t.select}</span></th>` : ''}
        ${opts.lead ? html`<th scope="col">${opts.lead.header}</th>` : ''}
        <th scope="col">${t.created}</th>
        <th scope="col">${t.messageId}</th>
        <th scope="col">${t.direction}</th>
        <th scope="col">${t.from}</th>
        <th scope="col">${t.to}</th>
        <th scope="col">${t.service}</th>
        <th scope="col">${t.state}</th>
        <th scope="col" class="num">${t.attempts}</th>
      </tr>
    </thead>
    <tbody>
      ${rows.map((r, i) => {
        const box = `pick-${i}`;
        return html`<tr>
          ${
            opts.select
              ? html`<td>
                  <input
                    type="checkbox"
                    id="${box}"
                    name="ids"
                    value="${r.id}"
                    aria-label="${t.selectMessage(r.id)}"
                    ${r.status === 'FAILED' && r.direction === 'out' ? '' : html` disabled`}
                  />
                </td>`
              : ''
          }
          ${opts.lead ? html`<td>${opts.lead.cells[i] ?? ''}</td>` : ''}
          <td>${formatTime(r.createdAt)}</td>
          <td><a href="${messageHref(r)}">${r.id}</a></td>
          <td>${r.direction === 'out' ? t.directionOut : t.directionIn}</td>
          <td>${r.from}</td>
          <td>${r.to}</td>
          <td>${r.service}</td>
          <td>${stateBadge(r.status)}</td>
          <td class="num">${r.attempts}</td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

/** GET /console/messages: every filter of the search, newest first, a page at a time ("next" carries the cursor). */
export function registerSearchPage(scope: FastifyInstance, ctx: ConsoleContext): void {
  scope.get<{ Querystring: Record<string, string> }>('/console/messages', HIDDEN, async (req, reply) => {
    const { t } = req.console;
    const form = readSearchForm(req.query);
    const cursor = decodeCursor(req.query.after);
    const registry = ctx.node.registry;
    const page = await ctx.node.store.list(listQueryOf(form, registry, cursor));
    const last = page.at(-1);
    const next =
      page.length === PAGE_SIZE && last
        ? `/console/messages?${new URLSearchParams({ ...(form as Record<string, string>), after: encodeCursor(last) }).toString()}`
        : undefined;
    const body = html`${searchForm(t, ctx, form)}
      <section aria-labelledby="results-h">
        <h2 id="results-h">${t.results}</h2>
        ${page.length === 0 ? html`<p>${t.noMessages}</p>` : messageTable(t, page)}
        <p class="paging">
          ${cursor ? html`<a href="/console/messages?${new URLSearchParams(form as Record<string, string>).toString()}">${t.firstPage}</a> ` : ''}${
            next ? html`<a href="${next}" rel="next">${t.nextPage}</a>` : ''
          }
        </p>
      </section>`;
    return sendPage(ctx, req, reply, { title: t.navMessages, place: 'messages', path: '/console/messages', body });
  });
}
