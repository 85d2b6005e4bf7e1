import type { FastifyInstance } from 'fastify';
import { html } from '../html.js';
import { stateBadge } from '../console-layout.js';
import { HIDDEN, sendPage, type ConsoleContext } from '../console-context.js';
import { inventoryFacts } from '../inventory-facts.js';

/** Certificates this close to expiry are marked (the same 30 and 7 days GET /health counts). */
const SOON_DAYS = 30;
const VERY_SOON_DAYS = 7;

/** GET /console/inventory: peers, services, parties and adapters with their health; certificates with days to expiry. */
export function registerInventoryPage(scope: FastifyInstance, ctx: ConsoleContext): void {
  scope.get('/console/inventory', HIDDEN, async (req, reply) => {
    const { t } = req.console;
    const f = await inventoryFacts(ctx.node, new Date());
    const expiry = (days: number) =>
      days < 0
        ? stateBadge(t.expired)
        : days <= VERY_SOON_DAYS
          ? stateBadge(t.expiresVerySoon)
          : days <= SOON_DAYS
            ? stateBadge(t.expiresSoon)
            : stateBadge(t.valid);
    const body = html`<section aria-labelledby="peers-h">
        <h2 id="peers-h">${t.peers}</h2>
        ${
          f.peers.length === 0
            ? html`<p>${t.nonePeers}</p>`
            : html`<table>
                <thead>
                  <tr>
                    <th scope="col">${t.name}</th>
                    <th scope="col">${t.url}</th>
                    <th scope="col">${t.parties}</th>
                    <th scope="col">${t.health}</th>
                    <th scope="col" class="num">${t.pending}</th>
                    <th scope="col" class="num">${t.failed}</th>
                    <th scope="col" class="num">${t.delivered}</th>
                  </tr>
                </thead>
                <tbody>
                  ${f.peers.map(
                    (p) =>
                      html`<tr>
                        <th scope="row">${p.name}</th>
                        <td>${p.url}</td>
                        <td>${p.parties.join(', ')}</td>
                        <td>${p.failed > 0 ? stateBadge(t.failing) : stateBadge(t.up)}</td>
                        <td class="num">${p.pending}</td>
                        <td class="num"><a href="/console/messages?peer=${encodeURIComponent(p.name)}&amp;state=FAILED">${p.failed}</a></td>
                        <td class="num">${p.delivered}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
        }
      </section>
      <section aria-labelledby="parties-h">
        <h2 id="parties-h">${t.parties}</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">${t.party}</th>
              <th scope="col">${t.backOffice}</th>
            </tr>
          </thead>
          <tbody>
            ${f.parties.map(
              (p) =>
                html`<tr>
                  <th scope="row">${p.code}</th>
                  <td>${p.backOffice ?? t.none}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="services-h">
        <h2 id="services-h">${t.services}</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">${t.provider}</th>
              <th scope="col">${t.service}</th>
              <th scope="col">${t.profile}</th>
              <th scope="col">${t.providedHere}</th>
            </tr>
          </thead>
          <tbody>
            ${f.services.map(
              (s) =>
                html`<tr>
                  <td>${s.provider}</td>
                  <th scope="row">${s.name}</th>
                  <td>${s.kind}</td>
                  <td>${s.hosted ? t.yes : t.no}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="adapters-h">
        <h2 id="adapters-h">${t.adapters}</h2>
        ${
          f.adapters.length === 0
            ? html`<p>${t.noneAdapters}</p>`
            : html`<table>
                <thead>
                  <tr>
                    <th scope="col">${t.party}</th>
                    <th scope="col">${t.adapter}</th>
                    <th scope="col">${t.version}</th>
                    <th scope="col">${t.health}</th>
                    <th scope="col">${t.details}</th>
                  </tr>
                </thead>
                <tbody>
                  ${f.adapters.map(
                    (a) =>
                      html`<tr>
                        <td>${a.party}</td>
                        <th scope="row">${a.adapter}</th>
                        <td>${a.version}</td>
                        <td>${stateBadge(a.status)}</td>
                        <td>${a.detail ?? ''}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
        }
      </section>
      <section aria-labelledby="certs-h">
        <h2 id="certs-h">${t.certificates}</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">${t.role}</th>
              <th scope="col">${t.subject}</th>
              <th scope="col">${t.notAfter}</th>
              <th scope="col" class="num">${t.daysToExpiry}</th>
              <th scope="col">${t.health}</th>
            </tr>
          </thead>
          <tbody>
            ${f.certificates.map(
              (c) =>
                html`<tr>
                  <td>${c.role}</td>
                  <td>${c.subject}</td>
                  <td>${c.notAfter}</td>
                  <td class="num">${c.daysToExpiry}</td>
                  <td>${expiry(c.daysToExpiry)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </section>`;
    return sendPage(ctx, req, reply, { title: t.navInventory, place: 'inventory', path: '/console/inventory', body });
  });
}
