import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, TramiteError } from '../core/errors.js';
import type { StaffMember } from '../core/staff-member.js';
import { ALARM_RULES } from '../node/alarms/alarm.js';
import type { TramiteNode } from '../node/tramite-node.js';
import { refusals, response, routeSchema } from './openapi/api-schemas.js';
import { securedBy, TAGS } from './openapi/openapi-definition.js';
import { bearerToken } from './bearer-token.js';

const dateTime = { type: 'string', format: 'date-time' } as const;
const staffMemberSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['role', 'name'],
  properties: { role: { type: 'string', enum: ['operator', 'auditor'] }, name: { type: 'string' } },
} as const;

/** An alarm as the API shows it (src/node/alarms/alarm.ts). */
export const ALARM_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'rule', 'subject', 'severity', 'state', 'raisedAt', 'summary'],
  properties: {
    id: { type: 'string', description: 'Stable and URL-safe' },
    rule: { type: 'string', enum: [...ALARM_RULES] },
    subject: { type: 'string', description: 'What it is about: a service, a peer, a certificate, the message log' },
    severity: { type: 'string', enum: ['warning', 'critical'] },
    state: { type: 'string', enum: ['raised', 'acknowledged', 'cleared'] },
    raisedAt: dateTime,
    summary: { type: 'string' },
    acknowledged: {
      type: 'object',
      additionalProperties: false,
      required: ['at', 'by'],
      properties: { at: dateTime, by: staffMemberSchema, note: { type: 'string' } },
    },
    clearedAt: dateTime,
    facts: { type: 'object', additionalProperties: true },
  },
} as const;

/**
 * The alarm board over HTTP (docs/operators.md, "Alarms"): operators and auditors list the alarms,
 * operators acknowledge them — recorded in the hash-chained log under the token's name.
 */
export function registerAlarmRoutes(app: FastifyInstance, node: TramiteNode): void {
  // In a plugin of its own, like every route: the OpenAPI document is collected from the plugins registered after it.
  app.register(async (scope) => alarmRoutes(scope, node));
}

function alarmRoutes(app: FastifyInstance, node: TramiteNode): void {
  const staff = (req: FastifyRequest): StaffMember => {
    const token = bearerToken(req.headers.authorization);
    const member = token ? node.registry.staffMember(token) : undefined;
    if (!member)
      throw new ApiError('TRAMITE_ERR_STAFF_ONLY', 401, 'present an operator or auditor token as "Authorization: Bearer <token>"');
    return member;
  };

  app.get<{ Querystring: { include?: 'current' | 'recent'; limit?: number } }>(
    '/tramite/operator/alarms',
    {
      schema: routeSchema({
        tags: [TAGS.operators],
        summary: 'The alarms: current ones, or the latest whatever their state',
        security: securedBy('operatorToken', 'auditorToken'),
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            include: {
              type: 'string',
              enum: ['current', 'recent'],
              default: 'current',
              description: 'current: raised and acknowledged; recent: cleared ones too',
            },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100, description: 'With include=recent: how many' },
          },
        },
        response: {
          200: response('The alarms, newest first.', {
            type: 'object',
            additionalProperties: false,
            required: ['alarms'],
            properties: { alarms: { type: 'array', items: ALARM_SCHEMA } },
          }),
          ...refusals(401),
        },
      }),
    },
    async (req) => {
      staff(req);
      const alarms = req.query.include === 'recent' ? await node.alarms.recent(req.query.limit ?? 100) : await node.alarms.current();
      return { alarms };
    },
  );

  app.post<{ Params: { id: string }; Body: { note?: string } | undefined }>(
    '/tramite/operator/alarms/:id/acknowledge',
    {
      // The note is optional, and so is the body that carries it.
      preValidation: async (req) => {
        req.body ??= {};
      },
      schema: routeSchema({
        tags: [TAGS.operators],
        summary: 'Acknowledge an alarm: recorded in the message log under the operator token’s name',
        security: securedBy('operatorToken'),
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } },
        body: { type: 'object', additionalProperties: false, properties: { note: { type: 'string', maxLength: 1000 } } },
        response: {
          200: response('The alarm, acknowledged.', {
            type: 'object',
            additionalProperties: false,
            required: ['alarm'],
            properties: { alarm: ALARM_SCHEMA },
          }),
          ...refusals(401, 403, 404, 409),
        },
      }),
    },
    async (req) => {
      const member = staff(req);
      if (member.role !== 'operator')
        throw new ApiError(
          'TRAMITE_ERR_AUDITOR_READ_ONLY',
          403,
          'an auditor token may read the alarms; acknowledging needs an operator token',
        );
      try {
        return { alarm: await node.alarms.acknowledge(req.params.id, member, req.body?.note) };
      } catch (err) {
        if (err instanceof TramiteError && err.code === 'TRAMITE_ERR_ALARM_NOT_FOUND') throw new ApiError(err.code, 404, err.message);
        if (err instanceof TramiteError && err.code === 'TRAMITE_ERR_ALARM_CLEARED') throw new ApiError(err.code, 409, err.message);
        throw err;
      }
    },
  );
}
