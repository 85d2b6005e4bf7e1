import { html, type Html } from './html.js';
import type { Dictionary, Language } from './i18n/dictionary.js';
import type { StaffMember } from '../../core/staff-member.js';

/** The console's sections, in the navigation's order. */
export type ConsolePlace = 'dashboard' | 'messages' | 'attention' | 'alarms' | 'integrity' | 'inventory' | 'sign-in';

/** Where each section lives (under /console). */
export const NAVIGATION: ReadonlyArray<{ readonly place: ConsolePlace; readonly path: string; readonly label: (t: Dictionary) => string }> =
  [
    { place: 'dashboard', path: '/console', label: (t) => t.navDashboard },
    { place: 'messages', path: '/console/messages', label: (t) => t.navMessages },
    { place: 'attention', path: '/console/attention', label: (t) => t.navAttention },
    { place: 'alarms', path: '/console/alarms', label: (t) => t.navAlarms },
    { place: 'integrity', path: '/console/integrity', label: (t) => t.navIntegrity },
    { place: 'inventory', path: '/console/inventory', label: (t) => t.navInventory },
  ];

export interface PageFrame {
  readonly t: Dictionary;
  readonly lang: Language;
  readonly title: string;
  readonly place: ConsolePlace;
  /** The address of this page, for the language switch (it keeps the page, not a search's filters). */
  readonly path: string;
  readonly node: string;
  /** Absent on the sign-in page. */
  readonly member?: StaffMember;
  readonly csrf?: string;
  readonly body: Html;
  /** Same-origin scripts this page needs (the verification progress bar). */
  readonly scripts?: readonly string[];
}

/** The page around every section: skip link, header with who is signed in, navigation, language switch, main. */
export function page(f: PageFrame): Html {
  const { t } = f;
  const other: Language = f.lang === 'it' ? 'en' : 'it';
  return html`<!doctype html>
    <html lang="${f.lang}">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${f.title} · ${t.appName} ${f.node}</title>
        <link rel="stylesheet" href="/console/assets/console.css" />
        ${(f.scripts ?? []).map((s) => html`<script src="${s}" defer></script>`)}
      </head>
      <body>
        <a class="skip" href="#main">${t.skipToContent}</a>
        <header class="top">
          <p class="brand">${t.appName} <span class="node">${f.node}</span></p>
          ${
            f.member
              ? html`<p class="who">
                    ${t.signedInAs} <strong>${f.member.name}</strong> (${f.member.role === 'operator' ? t.roleOperator : t.roleAuditor})
                  </p>
                  <form method="post" action="/console/sign-out" class="inline">
                    <input type="hidden" name="_csrf" value="${f.csrf ?? ''}" /><button type="submit">${t.signOut}</button>
                  </form>`
              : ''
          }
          <p class="lang">
            <a href="${f.path}${f.path.includes('?') ? '&' : '?'}lang=${other}" lang="${other}" hreflang="${other}"
              >${other === 'en' ? 'English' : 'Italiano'}</a
            >
          </p>
        </header>
        ${
          f.member
            ? html`<nav aria-label="${t.navLabel}">
                <ul>
                  ${NAVIGATION.map(
                    (n) => html`<li><a href="${n.path}" ${f.place === n.place ? html` aria-current="page"` : ''}>${n.label(t)}</a></li>`,
                  )}
                </ul>
              </nav>`
            : ''
        }
        <main id="main" tabindex="-1">
          <h1>${f.title}</h1>
          ${f.body}
        </main>
      </body>
    </html> `;
}

/** A state, never by colour alone: its name is the text, the class only tints it. */
export function stateBadge(state: string): Html {
  return html`<span class="state state-${state.toLowerCase().replace(/[^a-z0-9]+/g, '-')}">${state}</span>`;
}

/** A notice at the top of a page: what just happened, or what went wrong. */
export function notice(kind: 'ok' | 'error', text: string): Html {
  return html`<p class="notice notice-${kind}" role="${kind === 'error' ? 'alert' : 'status'}">
    ${kind === 'error' ? '✖ ' : '✔ '}${text}
  </p>`;
}
