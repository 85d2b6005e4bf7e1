import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, ConfigError } from '../core/errors.js';
import type { StaffMember } from '../core/staff-member.js';
import type { TramiteCode } from '../core/error-codes.js';
import type { TramiteNode } from '../node/tramite-node.js';
import { apiSchema, refusals, response, routeSchema } from './openapi/api-schemas.js';
import { securedBy, TAGS } from './openapi/openapi-definition.js';
import { bearerToken } from './bearer-token.js';
import { registryView } from './registry-view.js';

const registrySchema = apiSchema('api-registry');
const versionSchema = apiSchema('api-registry-version');
const reloadSchema = apiSchema('api-registry-reload');

/**
 * The registry over HTTP, for operators (docs/operators.md, "Reloading the registry"): the current
 * registry and its version, the versions recorded in the message log, and a reload of the
 * configuration file — what `tramite registry reload` asks of each node process.
 */
export function registerRegistryRoutes(app: FastifyInstance, node: TramiteNode): void {
  // In a plugin of its own, like every route: the OpenAPI document is collected from the plugins registered after it.
  app.register(async (scope) => registryRoutes(scope, node), { prefix: '/api/v1/registry' });
}

function registryRoutes(app: FastifyInstance, node: TramiteNode): void {
  const operator = (req: FastifyRequest): StaffMember => {
    const token = bearerToken(req.headers.authorization);
    const member = token ? node.registry.staffMember(token) : undefined;
    if (member?.role !== 'operator')
      throw new ApiError('TRAMITE_ERR_OPERATOR_ONLY', 401, 'present an operator token as "Authorization: Bearer <token>"');
    return member;
  };

  app.get(
    '',
    {
      schema: routeSchema({
        tags: [TAGS.operators],
        summary: 'The registry this process runs now: parties, peers, services, staff token names, and its version',
        security: securedBy('operatorToken'),
        response: { 200: response('The current registry.', registrySchema), ...refusals(401) },
      }),
    },
    async (req) => {
      operator(req);
      // A reload swaps registry and version in one step: the version shown is the one whose content is shown.
      return registryView(node.registry.config, node.registryVersion);
    },
  );

  app.get(
    '/versions',
    {
      schema: routeSchema({
        tags: [TAGS.operators],
        summary: 'Every registry version recorded in the message log, oldest first, and the one this process runs',
        security: securedBy('operatorToken'),
        response: {
          200: response('The versions.', {
            type: 'object',
            additionalProperties: false,
            required: ['current', 'versions'],
            properties: { current: versionSchema, versions: { type: 'array', items: versionSchema } },
          }),
          ...refusals(401),
        },
      }),
    },
    async (req) => {
      operator(req);
      return { current: node.registryVersion, versions: await node.live.history() };
    },
  );

  app.post(
    '/reload',
    {
      schema: routeSchema({
        tags: [TAGS.operators],
        summary: 'Read the configuration file again and apply its registry without a restart (this process only)',
        description:
          'Validated whole first; refused (422) with every field and its fix when it is invalid or changes a field that needs a restart, the running registry kept. An applied version is recorded in the message log under the operator token’s name.',
        security: securedBy('operatorToken'),
        response: {
          200: response('Applied (a new version), or unchanged.', reloadSchema),
          ...refusals(401),
          422: response(
            'Refused: TRAMITE_ERR_CONFIG_INVALID, TRAMITE_ERR_CONFIG_UNREADABLE, TRAMITE_ERR_KEY_INVALID or TRAMITE_ERR_RELOAD_NEEDS_RESTART, the message naming each field and its fix; nothing applied.',
            apiSchema('api-error'),
          ),
        },
      }),
    },
    async (req) => {
      const by = operator(req);
      try {
        return await node.reloadRegistry(by);
      } catch (err) {
        if (err instanceof ConfigError) throw new ApiError(err.code as TramiteCode, 422, err.message, { cause: err });
        throw err;
      }
    },
  );
}
