import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, SecurityError } from '../core/errors.js';
import type { TramiteNode } from '../node/tramite-node.js';
import type { RestGateway } from '../node/rest-gateway/rest-gateway.js';
import type { GatewayAnswer } from '../node/rest-gateway/gateway-answer.js';
import { problemAnswer } from '../node/rest-gateway/gateway-answer.js';
import type { TransportIdentity } from '../node/reception/transport-identity.js';
import type { TlsClientIdentifier } from './tls-client-identity.js';
import { mediaResponse, problemSchema } from './openapi/api-schemas.js';
import { securedBy, TAGS } from './openapi/openapi-definition.js';
import { authenticatePartyCaller } from './party-caller.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
/** What follows `/rest/out/{provider}/{name}/{version}` (or `/rest/in/{name}/{version}`) in the raw URL: the API's own path and query. */
const OUT_PATH = /^\/rest\/out\/[^/?#]+\/[^/?#]+\/[^/?#]+(.*)$/;
const IN_PATH = /^\/rest\/in\/[^/?#]+\/[^/?#]+(.*)$/;

/** What comes back: the provider's own answer, byte for byte, or the gateway's refusal in problem+json. */
function passThroughResponses(refusals: Readonly<Record<number, string>>): Record<string, unknown> {
  return {
    default: mediaResponse(
      'The provider’s answer, passed through: its status, body and content headers, with Tramite-Exchange-Id.',
      '*/*',
      {},
    ),
    ...Object.fromEntries(
      Object.entries(refusals).map(([status, what]) => [status, mediaResponse(what, 'application/problem+json', problemSchema)]),
    ),
  };
}

const OUT_SCHEMA = {
  tags: [TAGS.backOffice],
  summary: 'Call a REST API provided on a peer (fruizione)',
  description:
    'The node signs the exact body bytes with the API’s ModI REST patterns, adds a PDND voucher when the API needs one, forwards ' +
    'the call to the provider’s node and verifies the signed response. `Tramite-Party` picks the party when the token has several; ' +
    '`Tramite-Audit: {json}` gives the AUDIT_REST claims. Any body and media type, forwarded as they are (docs/rest-apis.md).',
  security: securedBy('partyToken'),
  response: passThroughResponses({
    400: 'The request cannot be sent as it is (TRAMITE_ERR_…; the detail says why).',
    401: 'No party token (TRAMITE_ERR_UNAUTHENTICATED).',
    403: 'The token’s parties are not consumers of this API.',
    404: 'No such API consumed here.',
    413: 'The body is larger than the API’s maxBodyBytes.',
    429: 'Too many requests from this caller; retry after Retry-After.',
    502: 'The provider’s response failed the checks (InteroperabilityInvalidResponse), or PDND or the provider’s node did not answer.',
    503: 'The node cannot call now; retry later.',
    504: 'The provider did not answer in time.',
  }),
};

const IN_SCHEMA = {
  tags: [TAGS.peers],
  summary: 'A REST API provided here, called by a consumer on another node (erogazione)',
  description:
    'The node checks the PDND voucher, the ModI tokens, their certificates and the jti once, forwards the call to the API’s ' +
    'upstream with Tramite-Consumer and Tramite-Audit, and signs its answer. Authenticated by the ModI tokens (and the TLS client ' +
    'certificate when there is one), not a bearer token of this node.',
  security: [],
  response: passThroughResponses({
    400: 'InteroperabilityInvalidRequest: the ModI or PDND checks refused the request (the code only when the API discloses it).',
    403: 'The TLS client certificate is not a configured peer’s.',
    404: 'No such API provided here.',
    409: 'A replayed request (its jti was seen before).',
    413: 'The body is larger than the API’s maxBodyBytes.',
    429: 'Too many requests from this address; retry after Retry-After.',
    502: 'The back office did not answer.',
    503: 'The node cannot serve now; retry later.',
    504: 'The back office did not answer in time.',
  }),
};

/**
 * The REST gateway's two faces (a thin shell over src/node/rest-gateway): `/rest/out/…` for the hosted
 * parties' back offices (authenticated by their party token), `/rest/in/…` for consumers on other
 * nodes (authenticated by their ModI tokens and PDND vouchers; over mutual TLS, by their client
 * certificate too). Bodies are read whole, as raw bytes, within the largest API's maxBodyBytes: the
 * Digest is over exactly those bytes.
 */
export function registerRestGatewayRoutes(
  app: FastifyInstance,
  node: TramiteNode,
  gateway: RestGateway,
  opts: {
    identifier: TlsClientIdentifier | undefined;
    rateLimitOut: (api: FastifyInstance) => unknown;
    rateLimitIn: (api: FastifyInstance) => unknown;
  },
): void {
  const bodyLimit = Math.max(1, gateway.maxBodyBytes());
  const rawBodies = (scope: FastifyInstance): void => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
  };

  app.register(async (out) => {
    rawBodies(out);
    out.addHook('onRequest', authenticatePartyCaller(node.live));
    out.addHook('onRequest', opts.rateLimitOut(out) as never);
    for (const url of ['/rest/out/:provider/:name/:version', '/rest/out/:provider/:name/:version/*'])
      out.route<{ Params: { provider: string; name: string; version: string } }>({
        method: [...METHODS],
        url,
        exposeHeadRoute: false,
        schema: OUT_SCHEMA,
        handler: async (req, reply) => {
          const answer = await gateway.consumer.call({
            callerParties: req.callerParties,
            party: single(req.headers['tramite-party']),
            provider: req.params.provider,
            name: req.params.name,
            version: req.params.version,
            method: req.method,
            path: OUT_PATH.exec(req.raw.url ?? '')?.[1] ?? '',
            headers: req.headers,
            body: bodyOf(req),
          });
          return send(reply, answer);
        },
      });
  });

  app.register(async (inbound) => {
    rawBodies(inbound);
    inbound.decorateRequest('transport', undefined);
    inbound.addHook('onRequest', opts.rateLimitIn(inbound) as never);
    const identifier = opts.identifier;
    if (identifier)
      inbound.addHook('onRequest', async (req, reply) => {
        const socket = req.raw.socket as TLSSocket;
        // A consumer without a client certificate (ID_AUTH_CHANNEL_01, as on PDND) is judged by its tokens alone;
        // one that presents a certificate must be a configured peer, and then carries only that peer's parties.
        if (!socket.getPeerX509Certificate?.()) return;
        try {
          req.transport = await identifier.identify(socket);
        } catch (err) {
          const refusal = err instanceof SecurityError ? new ApiError(err.reason, 403, err.message) : err;
          const answer = problemAnswer(refusal, { direction: 'request', disclose: false });
          node.log.warn(
            { code: answer.code, remote: req.ip, err: (err as Error).message },
            'REST request refused: TLS client not accepted',
          );
          return send(reply, answer);
        }
      });
    for (const url of ['/rest/in/:name/:version', '/rest/in/:name/:version/*'])
      inbound.route<{ Params: { name: string; version: string } }>({
        method: [...METHODS],
        url,
        exposeHeadRoute: false,
        schema: IN_SCHEMA,
        handler: async (req, reply) => {
          const answer = await gateway.provider.handle({
            name: req.params.name,
            version: req.params.version,
            method: req.method,
            path: IN_PATH.exec(req.raw.url ?? '')?.[1] ?? '',
            target: req.raw.url ?? '',
            headers: req.raw.headersDistinct,
            body: bodyOf(req),
            transport: req.transport as TransportIdentity | undefined,
          });
          return send(reply, answer);
        },
      });
  });
}

function bodyOf(req: FastifyRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? undefined : v;
}

function send(reply: FastifyReply, answer: GatewayAnswer): FastifyReply {
  reply.code(answer.status);
  const grouped = new Map<string, string[]>();
  for (const [n, v] of answer.headers) grouped.set(n, [...(grouped.get(n) ?? []), v]);
  for (const [n, v] of grouped) reply.header(n, v.length === 1 ? v[0] : v);
  return reply.send(answer.body);
}
