import type { FastifyInstance } from 'fastify';
import { ApiError } from '../core/errors.js';
import type { TramiteNode } from '../node/tramite-node.js';
import { apiSchema, errorSchema, refusals, response, routeSchema } from './openapi/api-schemas.js';
import { optionallySecuredBy, TAGS } from './openapi/openapi-definition.js';
import { failedTokenLimit } from './failed-token-limit.js';
import { bearerToken } from './bearer-token.js';

const healthSchema = apiSchema('api-health');
const readySchema = apiSchema('api-health-ready');
const OPERATOR_ONLY = refusals(401, 429);

/**
 * GET /health. Anyone (a load balancer, a monitor) gets the status alone: 200 `ok`, or 503 `degraded`
 * while the node cannot accept or deliver messages (its queue's Redis or its message log is down, or
 * it is stopping). An operator (node.operatorTokens) also gets what the node is and why it is degraded:
 * its name, hosted parties, adapters, the state of its queue and log, and its certificates' expiry —
 * nothing a stranger should map.
 */
export function registerHealthRoute(app: FastifyInstance, node: TramiteNode): void {
  // In a plugin of its own, like every route: the OpenAPI document is collected from the plugins registered after it.
  app.register(async (scope) => healthRoutes(scope, node));
}

function healthRoutes(app: FastifyInstance, node: TramiteNode): void {
  // A wrong operator token is a guess at what the details show: limited per address, as sign-in is.
  app.addHook(
    'onRequest',
    failedTokenLimit(app, (token) => node.registry.isOperatorToken(token)),
  );
  // The process answers: that is all liveness says (a supervisor restarts a process that does not).
  app.get(
    '/health/live',
    {
      schema: {
        tags: [TAGS.operators],
        summary: 'Liveness: the process serves',
        security: [],
        response: {
          200: {
            description: 'The process serves.',
            type: 'object',
            additionalProperties: false,
            required: ['status'],
            properties: { status: { type: 'string', enum: ['live'] } },
          },
        },
      },
    },
    async () => ({ status: 'live' }),
  );

  // Ready to serve, or 503 naming what is missing; why, only to an operator.
  app.get(
    '/health/ready',
    {
      schema: routeSchema({
        tags: [TAGS.operators],
        summary: 'Readiness: every dependency up',
        description:
          'For a load balancer: 503 naming each dependency that is down, and while the node is stopping. An operator token adds why.',
        security: optionallySecuredBy('operatorToken'),
        response: {
          200: response('Ready.', readySchema),
          503: {
            description: 'Not ready: `failing` names what is missing (or the request was turned away: too many request bytes in flight).',
            anyOf: [readySchema, errorSchema],
          },
          ...OPERATOR_ONLY,
        },
      }),
    },
    async (req, reply) => {
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
    },
  );

  app.get(
    '/health',
    {
      schema: routeSchema({
        tags: [TAGS.operators],
        summary: 'Health: ok or degraded, and with an operator token why',
        description:
          'Without a token the status alone; with an operator token also the node, its parties, adapters, queue, log, certificates. ' +
          'Any other token: 401 TRAMITE_ERR_OPERATOR_ONLY.',
        security: optionallySecuredBy('operatorToken'),
        response: {
          200: response('The node can accept and deliver messages.', healthSchema),
          503: {
            description:
              'Degraded: the node cannot accept or deliver messages now (Redis or the log down, or stopping) — or the request was turned away: too many request bytes in flight.',
            anyOf: [healthSchema, errorSchema],
          },
          ...OPERATOR_ONLY,
        },
      }),
    },
    async (req, reply) => {
      const operator = isOperator(req.headers.authorization, node);
      const health = await node.health();
      reply.code(health.status === 'ok' ? 200 : 503);
      if (!operator) return { status: health.status };
      // Read from the ledger's store: left out when that cannot answer (the log's state says why).
      const pdndTracing = await node.restGateway?.pdnd?.tracingHealth().catch(() => undefined);
      return {
        status: health.status,
        problems: health.problems,
        node: node.config.node.name,
        parties: node.registry.config.parties.map((p) => p.code),
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
                ...(pdndTracing ? { pdndTracing } : {}),
              },
            }
          : {}),
      };
    },
  );
}

/** Whether the request presents an operator token; any other presented token is refused (401). */
function isOperator(presented: string | undefined, node: TramiteNode): boolean {
  if (presented === undefined) return false;
  const token = bearerToken(presented);
  if (token !== undefined && node.registry.isOperatorToken(token)) return true;
  throw new ApiError(
    'TRAMITE_ERR_OPERATOR_ONLY',
    401,
    'present an operator token as "Authorization: Bearer <token>", or no token for the status alone',
  );
}
