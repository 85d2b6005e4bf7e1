import type { FastifyInstance } from 'fastify';
import { html } from '../html.js';
import { notice } from '../console-layout.js';
import { HIDDEN, sendPage, type ConsoleContext } from '../console-context.js';
import type { Dictionary } from '../i18n/dictionary.js';

export const SESSION_COOKIE = 'tramite_console';

/** Sign-in attempts per remote address per minute: enough for a person, too few to guess a token. */
const SIGN_IN_ATTEMPTS_PER_MINUTE = 10;

function signInForm(t: Dictionary) {
  return html`<p>${t.signInIntro}</p>
    <form method="post" action="/console/sign-in" class="stack">
      <label for="token">${t.tokenLabel}</label>
      <input id="token" name="token" type="password" autocomplete="off" required spellcheck="false" />
      <button type="submit">${t.signIn}</button>
    </form>`;
}

/** Sign-in with a staff token (operator or auditor; never a party's), and sign-out. */
export function registerSignInPage(
  scope: FastifyInstance,
  ctx: ConsoleContext,
  cookieOptions: { httpOnly: boolean; sameSite: 'strict'; path: string; secure: boolean },
): void {
  scope.get('/console/sign-in', HIDDEN, async (req, reply) => {
    if (req.console.session) return reply.redirect('/console', 303);
    return sendPage(ctx, req, reply, {
      title: req.console.t.signInTitle,
      place: 'sign-in',
      path: '/console/sign-in',
      body: signInForm(req.console.t),
    });
  });

  scope.post<{ Body: { token?: unknown } }>(
    '/console/sign-in',
    {
      ...HIDDEN,
      config: { rateLimit: { max: SIGN_IN_ATTEMPTS_PER_MINUTE, timeWindow: 60_000, keyGenerator: (req: { ip: string }) => req.ip } },
    },
    async (req, reply) => {
      const { t } = req.console;
      const token = typeof req.body?.token === 'string' ? req.body.token.trim() : '';
      const member = token ? ctx.node.registry.staffMember(token) : undefined;
      if (!member) {
        const party = token !== '' && ctx.node.registry.partiesForToken(token).size > 0;
        ctx.node.log.warn({ remote: req.ip, party }, 'console sign-in refused');
        const body = html`${notice('error', party ? t.partyTokenRefused : t.unknownToken)}${signInForm(t)}`;
        return sendPage(ctx, req, reply, { title: t.signInTitle, place: 'sign-in', path: '/console/sign-in', body }, 401);
      }
      await ctx.sessions.close(req.console.session?.id);
      const session = await ctx.sessions.open(member);
      ctx.node.log.info({ name: member.name, role: member.role, remote: req.ip }, 'console sign-in');
      return reply.setCookie(SESSION_COOKIE, session.id, cookieOptions).redirect('/console', 303);
    },
  );

  scope.post('/console/sign-out', HIDDEN, async (req, reply) => {
    const s = req.console.session;
    if (s) ctx.node.log.info({ name: s.member.name, role: s.member.role }, 'console sign-out');
    await ctx.sessions.close(s?.id);
    return reply.clearCookie(SESSION_COOKIE, { path: '/console' }).redirect('/console/sign-in', 303);
  });
}
