import type { FastifyRequest } from 'fastify';
import { ApiError } from '../core/errors.js';
import type { RegistrySource } from '../node/registry/registry.js';
import { bearerToken } from './bearer-token.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The parties the request's party token acts for (set by authenticatePartyCaller). */
    callerParties: ReadonlySet<string>;
  }
}

/**
 * The onRequest hook of the back office's routes (the messages API, the REST gateway's fruizione): the
 * caller is the set of parties its party token acts for, kept on the request; no such token is a 401.
 */
export function authenticatePartyCaller(registry: RegistrySource): (req: FastifyRequest) => Promise<void> {
  return async (req) => {
    const token = bearerToken(req.headers.authorization);
    const parties = token ? registry.current().partiesForToken(token) : new Set<string>();
    if (parties.size === 0)
      throw new ApiError('TRAMITE_ERR_UNAUTHENTICATED', 401, 'present a party token as "Authorization: Bearer <token>"');
    req.callerParties = parties;
  };
}
