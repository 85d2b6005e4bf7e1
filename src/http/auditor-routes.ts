import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../core/errors.js';
import { bundleToJson } from '../log/log-bundle.js';
import type { TramiteNode } from '../node/tramite-node.js';

const dateTime = { type: 'string', format: 'date-time' } as const;

/**
 * The auditors' read-only API over the message log, behind its own token (log.auditorTokens):
 * search records, show a message, verify the log, export a bundle. Nothing here can change the log.
 */
export function registerAuditorRoutes(app: FastifyInstance, node: TramiteNode): void {
  app.register(
    async (audit) => {
      audit.addHook('onRequest', async (req: FastifyRequest) => {
        const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
        if (!m || !node.registry.isAuditorToken(m[1]!))
          throw new ApiError('TRAMITE_ERR_AUDITOR_ONLY', 401, 'present the auditor token as "Authorization: Bearer <token>"');
      });

      audit.get<{
        Querystring: { from?: string; to?: string; party?: string; service?: string; state?: string; id?: string; limit?: number };
      }>(
        '/records',
        {
          schema: {
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

      audit.get<{ Params: { id: string } }>('/messages/:id', async (req) => {
        const shown = await node.auditor().show(req.params.id);
        if (!shown) throw new ApiError('TRAMITE_ERR_NOT_FOUND', 404, `the log holds no record of message ${req.params.id}`);
        return shown;
      });

      audit.post<{ Querystring: { signatures?: boolean } }>(
        '/verify',
        { schema: { querystring: { type: 'object', additionalProperties: false, properties: { signatures: { type: 'boolean' } } } } },
        async (req) => node.auditor().verify({ signatures: req.query.signatures ?? true }),
      );

      audit.get<{ Querystring: { from: string; to: string } }>(
        '/export',
        {
          schema: {
            querystring: {
              type: 'object',
              additionalProperties: false,
              required: ['from', 'to'],
              properties: { from: dateTime, to: dateTime },
            },
          },
        },
        async (req, reply) => {
          const bundle = await node
            .auditor()
            .exportBundle(new Date(req.query.from).toISOString(), new Date(req.query.to).toISOString(), new Date());
          return reply
            .type('application/json')
            .header('content-disposition', `attachment; filename="tramite-log-${bundle.manifest.firstSeq}-${bundle.manifest.lastSeq}.json"`)
            .send(bundleToJson(bundle));
        },
      );
    },
    { prefix: '/api/v1/audit' },
  );
}
