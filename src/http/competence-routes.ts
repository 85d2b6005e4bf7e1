import type { FastifyInstance } from 'fastify';
import { ApiError } from '../core/errors.js';
import type { TramiteNode } from '../node/tramite-node.js';
import { bearerToken } from './bearer-token.js';
import { failedTokenLimit } from './failed-token-limit.js';
import { apiSchema, refusals, response, routeSchema } from './openapi/api-schemas.js';
import { securedBy, TAGS } from './openapi/openapi-definition.js';

const resolutionSchema = apiSchema('api-competence-resolution');

/**
 * The competence table's dry run (docs/operators.md, "Competence tables"): which party a message sent to
 * `{ role, comune }` would go to, and why — asked with an operator token, nothing sent or logged.
 */
export function registerCompetenceRoutes(app: FastifyInstance, node: TramiteNode): void {
  // In a plugin of its own, like every route: the OpenAPI document is collected from the plugins registered after it.
  app.register(async (scope) => competenceRoutes(scope, node));
}

function competenceRoutes(app: FastifyInstance, node: TramiteNode): void {
  app.addHook(
    'onRequest',
    failedTokenLimit(app, (token) => node.registry.isOperatorToken(token)),
  );
  app.get<{ Querystring: { role: string; comune: string } }>(
    '/api/v1/registry/resolve',
    {
      schema: routeSchema({
        tags: [TAGS.operators],
        summary: 'Dry-run a resolution by competence: the party a message to { role, comune } would go to',
        description:
          'Resolves as POST /api/v1/messages does for `to: { role, comune }`, against the registry in force; nothing is sent or logged. ' +
          '422 with TRAMITE_ERR_UNKNOWN_ROLE, TRAMITE_ERR_UNKNOWN_TERRITORY, TRAMITE_ERR_AMBIGUOUS_TERRITORY, TRAMITE_ERR_NO_COMPETENT_PARTY ' +
          'or TRAMITE_ERR_NO_COMPETENCE_TABLE when a message would be refused.',
        security: securedBy('operatorToken'),
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['role', 'comune'],
          properties: {
            role: { type: 'string', minLength: 1, maxLength: 64, description: 'A role of the competence table, e.g. SUAP.' },
            comune: { type: 'string', minLength: 1, maxLength: 16, description: 'A Belfiore code, a six-digit ISTAT code or a CAP.' },
          },
        },
        response: {
          200: response('The competent party, the rule that chose it and the table version.', resolutionSchema),
          ...refusals(400, 401, 422, 429),
        },
      }),
    },
    async (req) => {
      const token = bearerToken(req.headers.authorization);
      if (!token || !node.registry.isOperatorToken(token))
        throw new ApiError('TRAMITE_ERR_OPERATOR_ONLY', 401, 'present an operator token as "Authorization: Bearer <token>"');
      const competence = node.registry.competence;
      if (!competence)
        throw new ApiError('TRAMITE_ERR_NO_COMPETENCE_TABLE', 422, 'this node has no competence table (config "competence")');
      const found = competence.table.resolve(req.query.role, req.query.comune);
      if ('refusal' in found) throw new ApiError(found.refusal.code, 422, found.refusal.message);
      const { party, rule, via, tableVersion, role, comune } = found.resolution;
      return { party, rule, ...(via ? { via } : {}), tableVersion, role, comune };
    },
  );
}
