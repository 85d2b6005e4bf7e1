import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import { ApiError, TramiteError } from '../../core/errors.js';
import type { TramiteNode } from '../../node/tramite-node.js';
import { ConsoleSessions } from './console-sessions.js';
import { PostgresLogStore } from '../../log/postgres-log-store.js';
import { csrfTokenMatches, fromSameOrigin } from './console-csrf.js';
import { HIDDEN, sendPage, type ConsoleContext } from './console-context.js';
import { dictionaryFor, languageOf, type Language } from './i18n/dictionary.js';
import { VerificationRuns } from './verification-runs.js';
import { html } from './html.js';
import { notice } from './console-layout.js';
import { consoleAsset } from './console-assets.js';
import { registerSignInPage, SESSION_COOKIE } from './pages/sign-in-page.js';
import { registerDashboardPage } from './pages/dashboard-page.js';
import { registerSearchPage } from './pages/search-page.js';
import { registerMessagePage } from './pages/message-page.js';
import { registerAttentionPage } from './pages/attention-page.js';
import { registerAlarmsPage } from './pages/alarms-page.js';
import { registerIntegrityPage } from './pages/integrity-page.js';
import { registerInventoryPage } from './pages/inventory-page.js';

const LANG_COOKIE = 'tramite_console_lang';

/** Paths a visitor reaches without a session. */
const OPEN_PATHS: ReadonlySet<string> = new Set(['/console/sign-in']);

/**
 * The operations console at /console (docs/operators.md, "Console"): server-rendered pages, no client
 * framework, scripts only as same-origin files. Sign-in with a staff token, a server-side session,
 * a CSRF token in every form plus a same-origin check on every POST, and operator-only actions.
 */
export function registerConsole(app: FastifyInstance, node: TramiteNode): void {
  const secure = node.config.node.listen.tls !== undefined;
  const ctx: ConsoleContext = {
    node,
    sessions: consoleSessionsOf(node),
    runs: new VerificationRuns(() => new Date()),
  };
  app.register(async (scope) => {
    await scope.register(cookie);
    await scope.register(formbody);
    scope.decorateRequest('console', undefined as never);
    const cookieOptions = { httpOnly: true, sameSite: 'strict' as const, path: '/console', secure };

    scope.addHook('onRequest', async (req, reply) => {
      const asked = (req.query as Record<string, unknown>).lang;
      const lang: Language = languageOf(asked) ?? languageOf(req.cookies[LANG_COOKIE]) ?? 'it';
      if (languageOf(asked)) reply.setCookie(LANG_COOKIE, lang, { ...cookieOptions, maxAge: 365 * 86_400 });
      req.console = { t: dictionaryFor(lang), lang, session: await ctx.sessions.find(req.cookies[SESSION_COOKIE]) };
      const path = req.url.split('?')[0]!;
      if (req.console.session || OPEN_PATHS.has(path) || path.startsWith('/console/assets/')) return;
      if (req.method === 'GET' && !path.startsWith('/console/integrity/runs/')) return reply.redirect('/console/sign-in', 303);
      throw new ApiError('TRAMITE_ERR_UNAUTHENTICATED', 401, req.console.t.signInFirst);
    });

    // Every POST: from a page of this origin, and (once signed in) carrying the session's CSRF token.
    scope.addHook('preHandler', async (req) => {
      if (req.method !== 'POST') return;
      const origin = `${secure ? 'https' : 'http'}://${req.headers.host ?? ''}`;
      const sameOrigin = fromSameOrigin(origin, { origin: req.headers.origin, referer: req.headers.referer });
      const session = req.console.session;
      const token = (req.body as Record<string, unknown> | undefined)?._csrf;
      if (!sameOrigin || (session && !csrfTokenMatches(session.csrf, token)))
        throw new ApiError('TRAMITE_ERR_CONSOLE_CSRF', 403, req.console.t.csrfRefused);
    });

    scope.addHook('onSend', async (_req, reply, payload) => {
      reply.header(
        'content-security-policy',
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
      );
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'same-origin');
      reply.header('x-frame-options', 'DENY');
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      return payload;
    });

    scope.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req: FastifyRequest, reply: FastifyReply) => {
      const status =
        err instanceof ApiError
          ? err.status
          : err instanceof TramiteError && err.code === 'TRAMITE_ERR_NOT_FOUND'
            ? 404
            : err.statusCode && err.statusCode < 500
              ? err.statusCode
              : 500;
      if (status >= 500) node.log.error({ err: err.message, code: err.code, url: req.url }, 'error in the console');
      const t = req.console?.t ?? dictionaryFor('it');
      // The node's typed errors say what went wrong, to staff; anything else stays in the node's log.
      const text =
        err instanceof TramiteError
          ? status >= 500
            ? `${err.code}: ${err.message}`
            : err.message
          : status >= 500
            ? t.internalError
            : err.message;
      if (req.url.startsWith('/console/integrity/runs/'))
        return reply.code(status).send({ error: { code: err.code ?? 'TRAMITE_ERR_BAD_REQUEST', message: text } });
      if (!req.console) return reply.code(status).type('text/plain; charset=utf-8').send(text);
      return sendPage(
        ctx,
        req,
        reply,
        {
          title: t.errorTitle,
          place: req.console.session ? 'dashboard' : 'sign-in',
          path: '/console',
          body: html`${notice('error', text)}`,
        },
        status,
      );
    });

    scope.get<{ Params: { name: string } }>('/console/assets/:name', HIDDEN, async (req, reply) => {
      const asset = consoleAsset(req.params.name);
      if (!asset) throw new ApiError('TRAMITE_ERR_NOT_FOUND', 404, 'no such asset');
      return reply.type(asset.contentType).header('cache-control', 'no-cache').send(asset.body);
    });

    registerSignInPage(scope, ctx, cookieOptions);
    registerDashboardPage(scope, ctx);
    registerSearchPage(scope, ctx);
    registerMessagePage(scope, ctx);
    registerAttentionPage(scope, ctx);
    registerAlarmsPage(scope, ctx);
    registerIntegrityPage(scope, ctx);
    registerInventoryPage(scope, ctx);
  });
}

/**
 * Sessions in the shared database when the log is PostgreSQL (several processes behind a balancer), in
 * memory otherwise. The shared store's idle clock is written at most every tenth of the idle time.
 */
function consoleSessionsOf(node: TramiteNode): ConsoleSessions {
  const settings = node.config.node.console;
  const limits = { idleMs: settings.sessionIdleMinutes * 60_000, maxMs: settings.sessionMaxHours * 3_600_000, now: () => Date.now() };
  const shared = node.store.store;
  return shared instanceof PostgresLogStore
    ? new ConsoleSessions({ ...limits, touchEveryMs: limits.idleMs / 10 }, shared.consoleSessions)
    : new ConsoleSessions(limits);
}
