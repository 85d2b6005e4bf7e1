import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { HttpRefusal } from './http-refusal.js';
import { bearerToken } from './bearer-token.js';

/** Wrong staff tokens per remote address per minute: as many as sign-in allows — enough for a typo, too few to guess. */
export const FAILED_TOKEN_CHECKS_PER_MINUTE = 10;

/**
 * An onRequest hook of `scope` that limits, per remote address, the requests presenting a bearer token
 * `accepted` refuses (/health's details, /metrics, the auditor API): only those count, so a caller with
 * the right token, or with none, is never slowed by someone guessing from another address — or from its own.
 * Past the limit: 429 + Retry-After (TRAMITE_ERR_RATE_LIMITED), before the token is looked at again.
 */
export function failedTokenLimit(scope: FastifyInstance, accepted: (token: string) => boolean): onRequestHookHandler {
  return scope.rateLimit({
    max: FAILED_TOKEN_CHECKS_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (req) => req.ip,
    allowList: (req) => {
      const token = bearerToken(req.headers.authorization);
      return token === undefined || accepted(token);
    },
    errorResponseBuilder: (_req, ctx) =>
      new HttpRefusal(
        'TRAMITE_ERR_RATE_LIMITED',
        429,
        `more than ${FAILED_TOKEN_CHECKS_PER_MINUTE} wrong tokens from this address in 60 s; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
        ctx.ttl / 1000,
      ),
  });
}
