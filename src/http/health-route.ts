import type { FastifyInstance } from 'fastify';
import { ApiError } from '../core/errors.js';
import type { TramiteNode } from '../node/tramite-node.js';

/**
 * GET /health. Anyone (a load balancer, a monitor) gets the status alone: 200 `ok`, or 503 `degraded`
 * while the node cannot accept or deliver messages (its queue's Redis or its message log is down, or
 * it is stopping). An operator (node.operatorTokens) also gets what the node is and why it is degraded:
 * its name, hosted parties, adapters, the state of its queue and log, and its certificates' expiry —
 * nothing a stranger should map.
 */
export function registerHealthRoute(app: FastifyInstance, node: TramiteNode): void {
  // The process answers: that is all liveness says (a supervisor restarts a process that does not).
  app.get('/health/live', async () => ({ status: 'live' }));

  // Ready to serve, or 503 naming what is missing; why, only to an operator.
  app.get('/health/ready', async (req, reply) => {
    const operator = isOperator(req.headers.authorization, node);
    const r = await node.readiness();
    reply.code(r.ready ? 200 : 503);
    const failing = r.dependencies.filter((d) => d.state === 'down');
    return {
      status: r.ready ? 'ready' : 'not-ready',
      ...(r.stopping ? { stopping: true } : {}),
      failing: operator ? failing : failing.map((d) => d.name),
      ...(operator ? { dependencies: r.dependencies } : {}),
    };
  });

  app.get('/health', async (req, reply) => {
    const presented = req.headers.authorization;
    const token = /^Bearer\s+(\S+)$/i.exec(presented ?? '')?.[1];
    if (presented !== undefined && !(token !== undefined && node.registry.isOperatorToken(token))) {
      throw new ApiError(
        'TRAMITE_ERR_OPERATOR_ONLY',
        401,
        'present an operator token as "Authorization: Bearer <token>", or no token for the status alone',
      );
    }
    const health = await node.health();
    reply.code(health.status === 'ok' ? 200 : 503);
    if (token === undefined) return { status: health.status };
    return {
      status: health.status,
      problems: health.problems,
      node: node.config.node.name,
      parties: node.config.parties.map((p) => p.code),
      adapters: await node.adapters.health(),
      queue: health.queue,
      log: health.log,
      certificates: health.certificates,
      ...(health.revocation ? { revocation: health.revocation } : {}),
      ...(node.restGateway
        ? {
            rest: {
              provided: node.restGateway.directory.providedHere().map((a) => `${a.name} ${a.api.version}`),
              consumed: node.restGateway.directory.consumedHere().map((a) => `${a.provider} ${a.name} ${a.api.version}`),
              ...(node.restGateway.pdnd ? { pdndTracing: node.restGateway.pdnd.tracingHealth() } : {}),
            },
          }
        : {}),
    };
  });
}

/** Whether the request presents an operator token; any other presented token is refused (401). */
function isOperator(presented: string | undefined, node: TramiteNode): boolean {
  if (presented === undefined) return false;
  const token = /^Bearer\s+(\S+)$/i.exec(presented)?.[1];
  if (token !== undefined && node.registry.isOperatorToken(token)) return true;
  throw new ApiError(
    'TRAMITE_ERR_OPERATOR_ONLY',
    401,
    'present an operator token as "Authorization: Bearer <token>", or no token for the status alone',
  );
}
