import { isTemporaryOutage } from '../node/temporary-outage.js';
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { ApiError, EnvelopeError, TramiteError } from '../core/errors.js';
import { readPackageJson } from '../config/package-root.js';
import { buildFaultEnvelope, faultElement } from '../../envelopes/busta/fault.js';
import { toEccezione } from '../../envelopes/busta/eccezione.js';
import { TLS_POLICY } from '../core/tls-policy.js';
import type { NodeSettings } from '../config/config-types.js';
import type { TransportIdentity } from '../node/reception/transport-identity.js';
import { TlsClientIdentifier, tlsClientRevocation, type ClientCertificateCheck } from './tls-client-identity.js';
import { isFinalStatus, MESSAGE_STATUSES, outboundKey, type MessageRecord } from '../core/message-record.js';
import { findReceived } from '../node/submission/received-lookup.js';
import type { SendByRoleRequest, SendRequest } from '../node/submission/submission.js';
import type { TramiteNode } from '../node/tramite-node.js';
import { registerAlarmRoutes } from './alarm-routes.js';
import { registerCompetenceRoutes } from './competence-routes.js';
import { registerRegistryRoutes } from './registry-routes.js';
import { registerAuditorRoutes } from './auditor-routes.js';
import { registerConsole } from './console/console-routes.js';
import { registerHealthRoute } from './health-route.js';
import { registerMetricsRoute } from './metrics-route.js';
import { HttpRefusal } from './http-refusal.js';
import { holdRequestBodiesWithin, RequestBodyBudget } from './request-body-budget.js';
import { messageView } from './message-view.js';
import { registerRestGatewayRoutes } from './rest-gateway-routes.js';
import { problemAnswer } from '../node/rest-gateway/gateway-answer.js';
import { registerOpenApi } from './openapi/register-openapi.js';
import { acceptedSchema, documentedBody, mediaResponse, messageSchema, refusals, response, routeSchema } from './openapi/api-schemas.js';
import { securedBy, TAGS } from './openapi/openapi-definition.js';
import { authenticatePartyCaller } from './party-caller.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** On the envelope endpoint over TLS with requestCert: the peer the client certificate proved. */
    transport: TransportIdentity | undefined;
  }
}

export interface HttpServerOptions {
  /** Further judgements of a TLS client certificate on the envelope endpoint (e.g. revocation), in order. */
  readonly clientCertificateChecks?: readonly ClientCertificateCheck[];
}

/** The envelope endpoint's answers: a SOAP 1.1 envelope — a riscontro, an answer, or a Fault. */
const SOAP_ENVELOPE = { type: 'string', contentMediaType: 'text/xml', description: 'A SOAP 1.1 envelope.' };

/**
 * The node's HTTP face: the envelope endpoint peers post to, the back-office REST API, and health.
 * A thin shell: every decision is the node's.
 */
export function buildHttpServer(node: TramiteNode, opts: HttpServerOptions = {}): FastifyInstance {
  const http = node.config.node.http;
  const tls = node.config.node.listen.tls;
  const app = Fastify({
    ...(tls ? { https: httpsOptions(tls) } : {}),
    logger: false,
    bodyLimit: node.limits.maxBytes,
    // Slow or idle clients must not hold connections (and their bodies) for ever: docs/security.md.
    requestTimeout: http.requestTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    connectionTimeout: http.idleTimeoutMs,
    http: {
      headersTimeout: http.headersTimeoutMs,
      requestTimeout: http.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
  } as FastifyServerOptions) as unknown as FastifyInstance; // over TLS an https.Server, used through the same net.Server surface
  registerOpenApi(app);
  // Connections beyond the cap are closed by the server as soon as they are accepted.
  app.server.maxConnections = http.maxConnections;
  let lastDropLogged = 0;
  app.server.on('drop', () => {
    if (Date.now() - lastDropLogged < 10_000) return; // one line per burst, not one per connection
    lastDropLogged = Date.now();
    node.log.warn({ maxConnections: http.maxConnections }, 'connection refused: the node has as many open connections as it allows');
  });
  holdRequestBodiesWithin(app, new RequestBodyBudget(http.maxBodyBytesInFlight));
  void app.register(rateLimit, { global: false });
  const sendSchema = readPackageJson<object>('schemas', 'api-send-message.schema.json');
  const answerSchema = readPackageJson<object>('schemas', 'api-answer-message.schema.json');
  const waitQuery = { type: 'object', additionalProperties: false, properties: { wait: { type: 'number', minimum: 0, maximum: 120 } } };
  // Inbound ids are unique per sender only: `from` names whose message is meant when several share one.
  const fromQuery = { type: 'object', additionalProperties: false, properties: { from: { type: 'string', minLength: 1, maxLength: 200 } } };
  const backOffice = { tags: [TAGS.backOffice], security: securedBy('partyToken') };
  const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', description: 'The message id.' } } };
  // 200 when the message reached its final state within ?wait=; 202 with where it stands otherwise.
  const sentResponses = {
    200: response('With ?wait=: the message, in its final state (DELIVERED, FAILED).', messageSchema),
    202: {
      description: 'Logged and on its way: its id and status — with ?wait=, the whole message as it stood when the wait ran out.',
      anyOf: [acceptedSchema, messageSchema],
    },
  };

  // Envelopes are read as raw bytes: the signature is checked over exactly what arrived.
  app.addContentTypeParser(
    ['text/xml', 'application/soap+xml', 'application/xml'],
    { parseAs: 'buffer', bodyLimit: node.limits.maxBytes },
    (_req, body, done) => done(null, body),
  );

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    if (err instanceof HttpRefusal) reply.header('retry-after', String(err.retryAfterSeconds));
    if (req.url.startsWith('/tramite/envelope') && err instanceof HttpRefusal) {
      // Turned away before it was read: a processing error (300) the sender may retry, as a SOAP Fault like every refusal there.
      const fault = faultElement(
        {
          contestoCodifica: 'ErroreProcessamentoMessaggioSPCoop',
          codiceEccezione: 'EGOV_IT_300',
          rilevanza: 'GRAVE',
          posizione: 'Envelope',
          message: `EGOV_IT_300 - ${err.code}: ${err.message}`,
        },
        { now: new Date(), porta: node.config.node.pdd },
      );
      return reply.code(err.status).type('text/xml; charset=utf-8').send(buildFaultEnvelope(fault));
    }
    if (req.url.startsWith('/tramite/envelope')) {
      const tooLarge = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
      const ecc = new EnvelopeError(
        'EGOV_IT_001',
        'Envelope',
        tooLarge ? `EGOV_IT_001 - envelope larger than ${node.limits.maxBytes} bytes` : `EGOV_IT_001 - ${err.message}`,
      );
      node.log.warn({ code: ecc.code, err: err.message }, 'envelope refused at the HTTP edge');
      const fault = faultElement(
        {
          contestoCodifica: ecc.contestoCodifica,
          codiceEccezione: ecc.code,
          rilevanza: ecc.rilevanza,
          posizione: ecc.posizione,
          message: ecc.message,
        },
        { now: new Date(), porta: node.config.node.pdd },
      );
      return reply
        .code(tooLarge ? 413 : 400)
        .type('text/xml; charset=utf-8')
        .send(buildFaultEnvelope(fault));
    }
    if (req.url.startsWith('/rest/')) {
      // The REST gateway answers in problem+json, whatever stopped the request before its handler.
      const refusal =
        err instanceof TramiteError
          ? err
          : new ApiError(
              err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'TRAMITE_ERR_REST_BODY_TOO_LARGE' : 'TRAMITE_ERR_BAD_REQUEST',
              err.statusCode && err.statusCode < 500 ? err.statusCode : 400,
              err.message,
            );
      const answer = problemAnswer(refusal, { direction: 'request', disclose: true });
      return reply.code(answer.status).type('application/problem+json').send(answer.body);
    }
    if (err instanceof ApiError) return reply.code(err.status).send({ error: { code: err.code, message: err.message } });
    if (err.validation) return reply.code(400).send({ error: { code: 'TRAMITE_ERR_BAD_REQUEST', message: err.message } });
    if (isTemporaryOutage(err)) {
      // The log's database restarting, Redis away: nothing was taken, and the same request will do once it is back.
      node.log.warn({ err: err.message, url: req.url }, 'API request refused for now: the node is in a temporary outage');
      const refusal =
        err instanceof TramiteError
          ? { code: err.code, message: err.message }
          : { code: 'TRAMITE_ERR_LOG_UNAVAILABLE', message: 'the message log is unavailable for now; retry after Retry-After' };
      return reply.code(503).header('retry-after', '5').send({ error: refusal });
    }
    if (err instanceof TramiteError) return reply.code(500).send({ error: { code: err.code, message: err.message } });
    if (err.statusCode && err.statusCode < 500)
      return reply.code(err.statusCode).send({ error: { code: 'TRAMITE_ERR_BAD_REQUEST', message: err.message } });
    node.log.error({ err: err.message, url: req.url }, 'unexpected error in the HTTP API');
    return reply.code(500).send({ error: { code: 'EGOV_IT_300', message: 'internal error' } });
  });

  registerHealthRoute(app, node);
  registerMetricsRoute(app, node);

  // Over TLS with requestCert: the connected peer, judged before the body is read (tls-client-identity.ts).
  const identifier = tls?.requestCert
    ? new TlsClientIdentifier(node.live, tls.material.certificate, [
        // The same revocation policy as for the peer's envelope signers: a revoked client is refused before its body is read.
        ...(node.revocation ? [tlsClientRevocation(node.revocation)] : []),
        ...(opts.clientCertificateChecks ?? []),
      ])
    : undefined;

  app.register(async (peers) => {
    // Per remote address, counted before the body is read.
    peers.addHook('onRequest', peers.rateLimit(rateLimitOptions(http.rateLimits.envelope, (req) => req.ip, 'envelopes from this address')));
    peers.decorateRequest('transport', undefined);
    if (identifier)
      peers.addHook('onRequest', async (req, reply) => {
        try {
          req.transport = await identifier.identify(req.raw.socket as TLSSocket);
        } catch (err) {
          const ecc = toEccezione(err);
          node.log.warn(
            { code: ecc.codiceEccezione, reason: ecc.reason, remote: req.ip, err: (err as Error).message },
            'envelope refused: TLS client not accepted',
          );
          return reply
            .code(403)
            .type('text/xml; charset=utf-8')
            .send(buildFaultEnvelope(faultElement(ecc, { now: new Date(), porta: node.config.node.pdd })));
        }
      });
    const soap = (description: string) => mediaResponse(description, 'text/xml', SOAP_ENVELOPE);
    peers.post(
      '/tramite/envelope',
      {
        config: documentedBody('A signed SOAP 1.1 envelope (e-Gov busta 1.1 or ModI), byte for byte as signed.', {
          'text/xml': SOAP_ENVELOPE,
          'application/soap+xml': SOAP_ENVELOPE,
        }),
        schema: routeSchema({
          tags: [TAGS.peers],
          summary: 'Receive a signed envelope from a peer node',
          description:
            'Parsed within node.limits, verified (signature, certificate, Timestamp), authorised, filtered for duplicates, then handed ' +
            'to the recipient’s back office. Over TLS with requestCert, the client certificate must be a configured peer’s. ' +
            'No bearer token: the envelope’s signature and the TLS client certificate authenticate the sender.',
          security: [],
          response: {
            200: soap('The signed riscontro, or the sincrono answer.'),
            202: {
              description: 'Taken, with nothing to answer (a oneway without confermaRicezione, a duplicate already answered).',
              type: 'null',
            },
            400: soap('SOAP Fault EGOV_IT_001: not a well-formed envelope, or beyond node.limits.'),
            403: soap('SOAP Fault: the TLS client certificate is not a configured peer’s (EGOV_IT_201).'),
            413: soap('SOAP Fault EGOV_IT_001: the envelope is larger than node.limits.maxEnvelopeBytes.'),
            429: soap('SOAP Fault EGOV_IT_300: too many envelopes from this address; retry after Retry-After.'),
            500: soap('SOAP Fault: the envelope is refused, with its EGOV_IT_nnn code and position (docs/errors.md).'),
            503: soap('SOAP Fault EGOV_IT_300: the node is too busy to verify now; retry after Retry-After.'),
          },
        }),
      },
      async (req, reply) => {
        if (!Buffer.isBuffer(req.body)) {
          throw new EnvelopeError('EGOV_IT_001', 'Envelope', 'EGOV_IT_001 - the envelope must be sent as text/xml');
        }
        const result = await node.inbound.process(req.body, req.transport);
        reply.code(result.status);
        if (result.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.retryAfterSeconds));
        return result.body ? reply.type('text/xml; charset=utf-8').send(result.body) : reply.send();
      },
    );
  });

  app.register(
    async (api) => {
      api.addHook('onRequest', authenticatePartyCaller(node.live));
      // Per caller, after authentication: a caller is the set of parties its token acts for.
      api.addHook(
        'onRequest',
        api.rateLimit(rateLimitOptions(http.rateLimits.api, (req) => [...req.callerParties].sort().join(' '), 'requests from this caller')),
      );

      api.post<{ Body: SendRequest | SendByRoleRequest; Querystring: { wait?: number } }>(
        '/messages',
        {
          schema: routeSchema({
            ...backOffice,
            summary: 'Sign and send a message',
            description:
              'The node validates the message, signs it as the sending party and logs it (202 only once it is logged), then delivers it. ' +
              '`?wait=SECONDS` answers with the final state when it comes in time.',
            body: sendSchema,
            querystring: waitQuery,
            response: { ...sentResponses, ...refusals(400, 401, 403, 404, 422, '4xx', 429, 503, '5xx') },
          }),
        },
        async (req, reply) => {
          const rec = await node.outbound.submit(req.body, req.callerParties);
          const waited = req.query.wait ? await waitForFinal(node, rec.id, req.query.wait * 1000) : rec;
          return reply
            .code(isFinalStatus(waited.status) ? 200 : 202)
            .send(req.query.wait ? messageView(waited) : { id: rec.id, status: waited.status });
        },
      );

      api.post<{ Params: { id: string }; Body: { payload: string; action?: string }; Querystring: { from?: string } }>(
        '/messages/:id/answer',
        {
          schema: routeSchema({
            ...backOffice,
            summary: 'Answer an asynchronous request received',
            description:
              'Simmetrico: the answer is sent to the consumer’s correlated service (202, the answer’s id and status). ' +
              'Asimmetrico: kept for the consumer’s richiesta stato (200, the request).',
            params: idParams,
            body: answerSchema,
            querystring: fromQuery,
            response: {
              200: response('Asimmetrico: the request, with its answer kept.', messageSchema),
              202: response('Simmetrico: the answer message, logged and on its way.', acceptedSchema),
              ...refusals(400, 401, 403, 404, 409, 422, '4xx', 429, 503, '5xx'),
            },
          }),
        },
        async (req, reply) => {
          const { message, sent } = await node.outbound.answer(req.params.id, req.body, req.callerParties, req.query.from);
          return sent ? reply.code(202).send({ id: message.id, status: message.status }) : reply.code(200).send(messageView(message));
        },
      );

      api.post<{ Params: { id: string }; Querystring: { wait?: number } }>(
        '/messages/:id/poll',
        {
          schema: routeSchema({
            ...backOffice,
            summary: 'Ask for the result of an asincrono asimmetrico request (richiesta stato)',
            description: 'Sends a richiesta stato about a request this party sent; `reply` holds the result, or the in-progress marker.',
            params: idParams,
            querystring: waitQuery,
            response: { ...sentResponses, ...refusals(400, 401, 403, 404, 409, 422, '4xx', 429, 503, '5xx') },
          }),
        },
        async (req, reply) => {
          const rec = await node.outbound.poll(req.params.id, req.callerParties);
          const waited = req.query.wait ? await waitForFinal(node, rec.id, req.query.wait * 1000) : rec;
          return reply
            .code(isFinalStatus(waited.status) ? 200 : 202)
            .send(req.query.wait ? messageView(waited) : { id: rec.id, status: waited.status });
        },
      );

      api.post<{ Params: { id: string } }>(
        '/messages/:id/resend',
        {
          schema: routeSchema({
            ...backOffice,
            summary: 'Send a FAILED message again',
            description: 'The same id, a new attempt. 409 TRAMITE_ERR_NOT_RESENDABLE for a message that is not FAILED.',
            params: idParams,
            response: {
              202: response('Logged for a new attempt.', acceptedSchema),
              ...refusals(401, 404, 409, '4xx', 429, 503, '5xx'),
            },
          }),
        },
        async (req, reply) => {
          const rec = await node.outbound.resend(req.params.id, { parties: req.callerParties });
          return reply.code(202).send({ id: rec.id, status: rec.status });
        },
      );

      api.get<{ Params: { id: string }; Querystring: { from?: string } }>(
        '/messages/:id',
        {
          schema: routeSchema({
            ...backOffice,
            summary: 'A message: its status, receipt, reply and answer',
            description:
              'A message the caller sent or received. Inbound ids are unique per sender only: `?from=SENDER` says which ' +
              '(409 TRAMITE_ERR_AMBIGUOUS_ID without it when two senders used the id).',
            params: idParams,
            querystring: fromQuery,
            response: { 200: response('The message.', messageSchema), ...refusals(400, 401, 404, 409, '4xx', 429, 503, '5xx') },
          }),
        },
        async (req) => {
          const rec = await findOwned(node, req.params.id, req.callerParties, req.query.from);
          return messageView(rec);
        },
      );

      api.get<{
        Querystring: {
          direction?: 'in' | 'out';
          status?: MessageRecord['status'];
          service?: string;
          createdFrom?: string;
          createdTo?: string;
          limit?: number;
        };
      }>(
        '/messages',
        {
          schema: routeSchema({
            ...backOffice,
            summary: 'The caller’s messages, newest first',
            querystring: {
              type: 'object',
              additionalProperties: false,
              properties: {
                direction: { enum: ['in', 'out'] },
                status: { enum: [...MESSAGE_STATUSES] },
                service: { type: 'string', minLength: 1, maxLength: 200 },
                createdFrom: { type: 'string', format: 'date-time' },
                createdTo: { type: 'string', format: 'date-time' },
                limit: { type: 'integer', minimum: 1, maximum: 1000 },
              },
            },
            response: {
              200: {
                description: 'The messages of the caller’s parties.',
                type: 'object',
                additionalProperties: false,
                required: ['messages'],
                properties: { messages: { type: 'array', items: messageSchema } },
              },
              ...refusals(400, 401, '4xx', 429, 503, '5xx'),
            },
          }),
        },
        async (req) => ({
          messages: (
            await node.store.list({
              parties: req.callerParties,
              ...(req.query.direction ? { direction: req.query.direction } : {}),
              ...(req.query.status ? { status: req.query.status } : {}),
              ...(req.query.service ? { service: req.query.service } : {}),
              // Compared as text with the stored ISO instants: normalised to the same form first.
              ...(req.query.createdFrom ? { createdFrom: new Date(req.query.createdFrom).toISOString() } : {}),
              ...(req.query.createdTo ? { createdTo: new Date(req.query.createdTo).toISOString() } : {}),
              ...(req.query.limit ? { limit: req.query.limit } : {}),
            })
          ).map(messageView),
        }),
      );
    },
    { prefix: '/api/v1' },
  );
  if (node.restGateway)
    registerRestGatewayRoutes(app, node, node.restGateway, {
      identifier,
      rateLimitOut: (scope) =>
        scope.rateLimit(
          rateLimitOptions(http.rateLimits.api, (req) => [...req.callerParties].sort().join(' '), 'requests from this caller'),
        ),
      rateLimitIn: (scope) => scope.rateLimit(rateLimitOptions(http.rateLimits.envelope, (req) => req.ip, 'requests from this address')),
    });
  registerAuditorRoutes(app, node);
  registerAlarmRoutes(app, node);
  registerCompetenceRoutes(app, node);
  registerRegistryRoutes(app, node);
  registerConsole(app, node);
  return app;
}

/** Node checks its timeouts every this often (its default, 30 s, would let a slow client live that much past them). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

function rateLimitOptions(
  limit: { readonly max: number; readonly windowSeconds: number },
  key: (req: FastifyRequest) => string,
  what: string,
) {
  return {
    max: limit.max,
    timeWindow: limit.windowSeconds * 1000,
    keyGenerator: key,
    errorResponseBuilder: (_req: FastifyRequest, ctx: { ttl: number }) =>
      new HttpRefusal(
        'TRAMITE_ERR_RATE_LIMITED',
        429,
        `more than ${limit.max} ${what} in ${limit.windowSeconds} s; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
        ctx.ttl / 1000,
      ),
  };
}

/**
 * A message the caller may see: it sent it (outbound from its party) or received it (inbound to its
 * party; from the sender `from` when given, the one sender with that id otherwise).
 */
async function findOwned(node: TramiteNode, id: string, parties: ReadonlySet<string>, from?: string): Promise<MessageRecord> {
  const out = await node.store.get(outboundKey(id));
  if (out && parties.has(out.from) && (from === undefined || out.from === from)) return out;
  const inbound = await findReceived(node.store, id, parties, from);
  if (inbound) return inbound;
  throw new ApiError('TRAMITE_ERR_NOT_FOUND', 404, `no message ${id} visible to this token`);
}

async function waitForFinal(node: TramiteNode, id: string, ms: number): Promise<MessageRecord> {
  const until = Date.now() + ms;
  for (;;) {
    const rec = (await node.store.get(outboundKey(id)))!;
    if (isFinalStatus(rec.status) || Date.now() >= until) return rec;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The listener's TLS: its chain and key, the client CAs (never the system store), the node's TLS policy. */
function httpsOptions(tls: NonNullable<NodeSettings['listen']['tls']>): Record<string, unknown> {
  return {
    ...TLS_POLICY,
    cert: tls.material.certPem,
    key: tls.material.keyPem,
    ...(tls.clientCaPem.length > 0 ? { ca: [...tls.clientCaPem] } : {}),
    requestCert: tls.requestCert,
    // Without requireClientCert the handshake lets any client in; the envelope endpoint then judges it.
    rejectUnauthorized: tls.requireClientCert,
  };
}
