import type { FastifyInstance } from 'fastify';
import { ApiError } from '../core/errors.js';
import { failedTokenLimit } from './failed-token-limit.js';
import type { TramiteNode } from '../node/tramite-node.js';
import { mediaResponse, refusals } from './openapi/api-schemas.js';
import { securedBy, TAGS } from './openapi/openapi-definition.js';
import { bearerToken } from './bearer-token.js';

/**
 * GET /metrics: the node's metrics in Prometheus's text format (docs/operators.md, "Metrics"). They
 * name the node's peers, parties, services, adapters and certificates, so by default only an operator
 * (node.operatorTokens, as for /health's details) reads them; `node.metrics.public: true` lets a
 * scraper without a token in, for a listening address only the monitoring network reaches.
 */
export function registerMetricsRoute(app: FastifyInstance, node: TramiteNode): void {
  // In a plugin of its own, like every route: the OpenAPI document is collected from the plugins registered after it.
  app.register(async (scope) => {
    // A wrong operator token is a guess: limited per address, as sign-in is.
    scope.addHook(
      'onRequest',
      failedTokenLimit(scope, (token) => node.registry.isOperatorToken(token)),
    );
    scope.get(
      '/metrics',
      {
        schema: {
          tags: [TAGS.operators],
          summary: 'Metrics in Prometheus text format',
          description:
            'Every metric, the alert rules and the Grafana dashboard: docs/operators.md#metrics. ' +
            'With an operator token; without one only when node.metrics.public is true.',
          security: securedBy('operatorToken'),
          response: {
            200: mediaResponse('The exposition, Prometheus text format 0.0.4.', 'text/plain', { type: 'string' }),
            ...refusals(401, 429),
          },
        },
      },
      async (req, reply) => {
        const presented = req.headers.authorization;
        const token = bearerToken(presented);
        const operator = token !== undefined && node.registry.isOperatorToken(token);
        // A token that is presented is checked even when the metrics are public: a wrong one is a mistake worth telling.
        if (presented !== undefined ? !operator : !node.config.node.metrics.public) {
          throw new ApiError(
            'TRAMITE_ERR_OPERATOR_ONLY',
            401,
            node.config.node.metrics.public
              ? 'the token presented is not an operator token; present one, or none (node.metrics.public is true)'
              : 'present an operator token as "Authorization: Bearer <token>" (node.metrics.public is false)',
          );
        }
        const { contentType, text } = await node.metrics.exposition();
        return reply.header('cache-control', 'no-store').type(contentType).send(text);
      },
    );
  });
}
