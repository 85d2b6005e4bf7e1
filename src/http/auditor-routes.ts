import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../core/errors.js';
import { exportForStaff } from './bundle-export.js';
import { failedTokenLimit } from './failed-token-limit.js';
import type { TramiteNode } from '../node/tramite-node.js';
import { apiSchema, refusals, response } from './openapi/api-schemas.js';
import { securedBy, TAGS } from './openapi/openapi-definition.js';
import { bearerToken } from './bearer-token.js';

const dateTime = { type: 'string', format: 'date-time' } as const;
const auditor = { tags: [TAGS.auditors], security: securedBy('auditorToken') };
const recordSchema = apiSchema('api-audit-record');

/**
 * The auditors' read-only API over the message log, behind its own token (log.auditorTokens):
 * search records, show a message, verify the log, export a bundle. Nothing here can change the log.
 */
export function registerAuditorRoutes(app: FastifyInstance, node: TramiteNode): void {
  app.register(
    async (audit) => {
      audit.addHook(
        'onRequest',
        failedTokenLimit(audit, (token) => node.registry.isAuditorToken(token)),
      );
      audit.addHook('onRequest', async (req: FastifyRequest) => {
        const token = bearerToken(req.headers.authorization);
        if (!token || !node.registry.isAuditorToken(token))
          throw new ApiError('TRAMITE_ERR_AUDITOR_ONLY', 401, 'present the auditor token as "Authorization: Bearer <token>"');
      });

      audit.get<{
        Querystring: { from?: string; to?: string; party?: string; service?: string; state?: string; id?: string; limit?: number };
      }>(
        '/records',
        {
          schema: {
            ...auditor,
            summary: 'Search the log’s records',
            description: 'Records by time range, party, service, state or message id, oldest first, at most `limit` (default 1000).',
            response: {
              200: {
                description: 'The records found.',
                type: 'object',
                additionalProperties: false,
                required: ['records'],
                properties: { records: { type: 'array', items: recordSchema } },
              },
              ...refusals(400, 401, 429, '4xx', 503, '5xx'),
            },
            querystring: {
              type: 'object',
              additionalProperties: false,
              properties: {
                from: dateTime,
                to: dateTime,
                party: { type: 'string' },
                service: { type: 'string' },
                state: { type: 'string' },
                id: { type: 'string' },
                limit: { type: 'integer', minimum: 1, maximum: 10000 },
              },
            },
          },
        },
        async (req) => {
          const q = req.query;
          const records = await node.auditor().search({
            ...(q.from ? { fromTime: new Date(q.from).toISOString() } : {}),
            ...(q.to ? { toTime: new Date(q.to).toISOString() } : {}),
            ...(q.party ? { party: q.party } : {}),
            ...(q.service ? { service: q.service } : {}),
            ...(q.state ? { state: q.state } : {}),
            ...(q.id ? { messageId: q.id } : {}),
            limit: q.limit ?? 1000,
          });
          return { records };
        },
      );

      audit.get<{ Params: { id: string } }>(
        '/messages/:id',
        {
          schema: {
            ...auditor,
            summary: 'Everything the log holds of one message id',
            description:
              'The messages with that id, their history, and each logged envelope with its signature re-verified as of its logging time.',
            params: { type: 'object', required: ['id'], properties: { id: { type: 'string', description: 'The message id.' } } },
            response: {
              200: response('The message, its history and its envelopes.', apiSchema('api-audit-message')),
              ...refusals(401, 404, 429, '4xx', 503, '5xx'),
            },
          },
        },
        async (req) => {
          const shown = await node.auditor().show(req.params.id);
          if (!shown) throw new ApiError('TRAMITE_ERR_NOT_FOUND', 404, `the log holds no record of message ${req.params.id}`);
          return shown;
        },
      );

      audit.post<{ Querystring: { signatures?: boolean } }>(
        '/verify',
        {
          schema: {
            ...auditor,
            summary: 'Verify the log',
            description:
              'The chain, the checkpoints and their time-stamps, and (unless `signatures=false`) every kept envelope’s signature.',
            querystring: {
              type: 'object',
              additionalProperties: false,
              properties: { signatures: { type: 'boolean', description: 'Re-verify every kept envelope’s signature (default true).' } },
            },
            response: {
              200: response('The verification’s report.', apiSchema('api-audit-report')),
              ...refusals(400, 401, 429, '4xx', 503, '5xx'),
            },
          },
        },
        async (req) => node.auditor().verify({ signatures: req.query.signatures ?? true }),
      );

      audit.get<{ Querystring: { from: string; to: string } }>(
        '/export',
        {
          schema: {
            ...auditor,
            summary: 'Export a bundle of the log for a time range',
            description:
              'A self-contained bundle (records, checkpoints, trust anchors, manifest) that `tramite log verify-bundle` checks offline; ' +
              'sent as an attachment (docs/auditors.md). At most `log.maxExportRecords` records (413 otherwise: ask for a narrower range), ' +
              'one export at a time per node (429 with Retry-After otherwise); each export is recorded in the log.',
            response: {
              200: {
                description: 'The bundle, as a JSON attachment.',
                content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } },
              },
              ...refusals(400, 401, 404, 429, '4xx', 503, '5xx'),
            },
            querystring: {
              type: 'object',
              additionalProperties: false,
              required: ['from', 'to'],
              properties: { from: dateTime, to: dateTime },
            },
          },
        },
        async (req, reply) => {
          // The onRequest hook let only an auditor's token through: the export is recorded under that auditor's name.
          const by = node.registry.staffMember(bearerToken(req.headers.authorization)!)!;
          const exported = await exportForStaff(node, by, new Date(req.query.from).toISOString(), new Date(req.query.to).toISOString());
          return reply
            .type('application/json')
            .header('content-disposition', `attachment; filename="${exported.filename}"`)
            .send(exported.json);
        },
      );
    },
    { prefix: '/api/v1/audit' },
  );
}
