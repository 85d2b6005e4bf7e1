import type { FastifyReply, FastifyRequest } from 'fastify';
// Its FastifySchema augmentation: `hide`, which keeps a route out of the OpenAPI document.
import type {} from '@fastify/swagger';
import { ApiError } from '../../core/errors.js';
import type { TramiteNode } from '../../node/tramite-node.js';
import type { ConsoleSession, ConsoleSessions } from './console-sessions.js';
import type { Dictionary, Language } from './i18n/dictionary.js';
import type { VerificationRuns } from './verification-runs.js';
import type { Html } from './html.js';
import { page, type ConsolePlace } from './console-layout.js';

/** What every console page reaches: the node, the sessions, the verifications running. */
export interface ConsoleContext {
  readonly node: TramiteNode;
  readonly sessions: ConsoleSessions;
  readonly runs: VerificationRuns;
}

/** Per request: who (once signed in) and in which language. */
export interface ConsoleRequestState {
  readonly t: Dictionary;
  readonly lang: Language;
  session: ConsoleSession | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    console: ConsoleRequestState;
  }
}

/** The route option every console route carries: the OpenAPI document leaves the console out. */
export const HIDDEN = { schema: { hide: true } } as const;

/** The signed-in session (the console's hook lets no other request reach a page). */
export function sessionOf(req: FastifyRequest): ConsoleSession {
  const s = req.console.session;
  if (!s) throw new ApiError('TRAMITE_ERR_UNAUTHENTICATED', 401, 'sign in to the console first');
  return s;
}

/** Acting is for operators: an auditor's POST is refused (403), whatever the page showed. */
export function requireOperator(req: FastifyRequest): ConsoleSession {
  const s = sessionOf(req);
  if (s.member.role !== 'operator') throw new ApiError('TRAMITE_ERR_CONSOLE_FORBIDDEN', 403, req.console.t.operatorOnly);
  return s;
}

/** Sends a page of the console, framed, with the headers every console answer carries. */
export function sendPage(
  ctx: ConsoleContext,
  req: FastifyRequest,
  reply: FastifyReply,
  p: {
    readonly title: string;
    readonly place: ConsolePlace;
    readonly path: string;
    readonly body: Html;
    readonly scripts?: readonly string[];
  },
  status = 200,
): FastifyReply {
  const s = req.console.session;
  const text = page({
    t: req.console.t,
    lang: req.console.lang,
    node: ctx.node.config.node.name,
    ...p,
    ...(s ? { member: s.member, csrf: s.csrf } : {}),
  }).text;
  return reply.code(status).type('text/html; charset=utf-8').send(text);
}
