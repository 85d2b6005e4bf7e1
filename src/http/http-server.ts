import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { ApiError, EnvelopeError, TramiteError } from '../core/errors.js';
import { readPackageJson } from '../config/package-root.js';
import { buildFaultEnvelope, faultElement } from '../node/bus-envelopes.js';
import type { MessageRecord } from '../core/message-record.js';
import type { SendRequest } from '../node/outbound-pipeline.js';
import type { TramiteNode } from '../node/tramite-node.js';
import { registerAuditorRoutes } from './auditor-routes.js';
import { messageView } from './message-view.js';

declare module 'fastify' {
  interface FastifyRequest {
    callerParties: ReadonlySet<string>;
  }
}

const FINAL: ReadonlySet<string> = new Set(['DELIVERED', 'FAILED', 'DISPATCHED']);

/**
 * The node's HTTP face: the envelope endpoint peers post to, the back-office REST API, and health.
 * A thin shell: every decision is the node's.
 */
export function buildHttpServer(node: TramiteNode): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: node.limits.maxBytes });
  const sendSchema = readPackageJson<object>('schemas', 'api-send-message.schema.json');
  const answerSchema = readPackageJson<object>('schemas', 'api-answer-message.schema.json');
  const waitQuery = { type: 'object', additionalProperties: false, properties: { wait: { type: 'number', minimum: 0, maximum: 120 } } };

  // Envelopes are read as raw bytes: the signature is checked over exactly what arrived.
  app.addContentTypeParser(['text/xml', 'application/soap+xml', 'application/xml'], { parseAs: 'buffer', bodyLimit: node.limits.maxBytes }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    if (req.url.startsWith('/tramite/envelope')) {
      const tooLarge = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
      const ecc = new EnvelopeError('EGOV_IT_001', 'Envelope', tooLarge ? `EGOV_IT_001 - envelope larger than ${node.limits.maxBytes} bytes` : `EGOV_IT_001 - ${err.message}`);
      node.log.warn({ code: ecc.code, err: err.message }, 'envelope refused at the HTTP edge');
      const fault = faultElement({ contestoCodifica: ecc.contestoCodifica, codiceEccezione: ecc.code, rilevanza: ecc.rilevanza, posizione: ecc.posizione, message: ecc.message }, { now: new Date(), porta: node.config.node.pdd });
      return reply.code(tooLarge ? 413 : 400).type('text/xml; charset=utf-8').send(buildFaultEnvelope(fault));
    }
    if (err instanceof ApiError) return reply.code(err.status).send({ error: { code: err.code, message: err.message } });
    if (err.validation) return reply.code(400).send({ error: { code: 'TRAMITE_ERR_BAD_REQUEST', message: err.message } });
    if (err instanceof TramiteError) return reply.code(500).send({ error: { code: err.code, message: err.message } });
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: { code: 'TRAMITE_ERR_BAD_REQUEST', message: err.message } });
    node.log.error({ err: err.message, url: req.url }, 'unexpected error in the HTTP API');
    return reply.code(500).send({ error: { code: 'EGOV_IT_300', message: 'internal error' } });
  });

  app.get('/health', async () => ({ status: 'ok', node: node.config.node.name, parties: node.config.parties.map((p) => p.code), adapters: await node.adapters.health() }));

  app.post('/tramite/envelope', async (req, reply) => {
    if (!Buffer.isBuffer(req.body)) {
      throw new EnvelopeError('EGOV_IT_001', 'Envelope', 'EGOV_IT_001 - the envelope must be sent as text/xml');
    }
    const result = await node.inbound.process(req.body);
    reply.code(result.status);
    if (result.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.retryAfterSeconds));
    return result.body ? reply.type('text/xml; charset=utf-8').send(result.body) : reply.send();
  });

  app.register(
    async (api) => {
      api.addHook('onRequest', async (req: FastifyRequest) => {
        const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
        const parties = m ? node.registry.partiesForToken(m[1]!) : new Set<string>();
        if (parties.size === 0) throw new ApiError('TRAMITE_ERR_UNAUTHENTICATED', 401, 'present a party token as "Authorization: Bearer <token>"');
        req.callerParties = parties;
      });

      api.post<{ Body: SendRequest; Querystring: { wait?: number } }>(
        '/messages',
        { schema: { body: sendSchema, querystring: waitQuery } },
        async (req, reply) => {
          const rec = await node.outbound.submit(req.body, req.callerParties);
          const waited = req.query.wait ? await waitForFinal(node, rec.id, 'out', req.query.wait * 1000) : rec;
          return reply.code(FINAL.has(waited.status) ? 200 : 202).send(req.query.wait ? messageView(waited) : { id: rec.id, status: waited.status });
        },
      );

      api.post<{ Params: { id: string }; Body: { payload: string; action?: string } }>(
        '/messages/:id/answer',
        { schema: { body: answerSchema } },
        async (req, reply) => {
          const { message, sent } = await node.outbound.answer(req.params.id, req.body, req.callerParties);
          return sent ? reply.code(202).send({ id: message.id, status: message.status }) : reply.code(200).send(messageView(message));
        },
      );

      api.post<{ Params: { id: string }; Querystring: { wait?: number } }>(
        '/messages/:id/poll',
        { schema: { querystring: waitQuery } },
        async (req, reply) => {
          const rec = await node.outbound.poll(req.params.id, req.callerParties);
          const waited = req.query.wait ? await waitForFinal(node, rec.id, 'out', req.query.wait * 1000) : rec;
          return reply.code(FINAL.has(waited.status) ? 200 : 202).send(req.query.wait ? messageView(waited) : { id: rec.id, status: waited.status });
        },
      );

      api.post<{ Params: { id: string } }>('/messages/:id/resend', async (req, reply) => {
        const rec = await node.outbound.resend(req.params.id, req.callerParties);
        return reply.code(202).send({ id: rec.id, status: rec.status });
      });

      api.get<{ Params: { id: string } }>('/messages/:id', async (req) => {
        const rec = await findOwned(node, req.params.id, req.callerParties);
        return messageView(rec);
      });

      api.get<{ Querystring: { direction?: 'in' | 'out'; status?: MessageRecord['status']; limit?: number } }>(
        '/messages',
        {
          schema: {
            querystring: {
              type: 'object',
              additionalProperties: false,
              properties: {
                direction: { enum: ['in', 'out'] },
                status: { enum: ['ACCEPTED', 'SENDING', 'DELIVERED', 'FAILED', 'RECEIVED', 'DISPATCHED'] },
                limit: { type: 'integer', minimum: 1, maximum: 1000 },
              },
            },
          },
        },
        async (req) => ({
          messages: (
            await node.store.list({ parties: req.callerParties, ...(req.query.direction ? { direction: req.query.direction } : {}), ...(req.query.status ? { status: req.query.status } : {}), ...(req.query.limit ? { limit: req.query.limit } : {}) })
            
          ).map(messageView),
        }),
      );
    },
    { prefix: '/api/v1' },
  );
  registerAuditorRoutes(app, node);
  return app;
}

/** A message the caller may see: it sent it (outbound from its party) or received it (inbound to its party). */
async function findOwned(node: TramiteNode, id: string, parties: ReadonlySet<string>): Promise<MessageRecord> {
  const out = await node.store.get(id, 'out');
  if (out && parties.has(out.from)) return out;
  const inbound = await node.store.get(id, 'in');
  if (inbound && parties.has(inbound.to)) return inbound;
  throw new ApiError('TRAMITE_ERR_NOT_FOUND', 404, `no message ${id} visible to this token`);
}

async function waitForFinal(node: TramiteNode, id: string, direction: 'in' | 'out', ms: number): Promise<MessageRecord> {
  const until = Date.now() + ms;
  for (;;) {
    const rec = (await node.store.get(id, direction))!;
    if (FINAL.has(rec.status) || Date.now() >= until) return rec;
    await new Promise((r) => setTimeout(r, 25));
  }
}

