import type { FastifyInstance } from 'fastify';
import { Deadline, settlesWithin } from '../core/deadline.js';
import type { NodeConfig } from '../config/config-types.js';
import { TramiteNode, type NodeOptions } from '../node/tramite-node.js';
import { buildHttpServer, type HttpServerOptions } from './http-server.js';

export interface RunningNode {
  readonly node: TramiteNode;
  readonly app: FastifyInstance;
  /** Base URL the server listens on, e.g. http://127.0.0.1:8080 */
  readonly baseUrl: string;
  /**
   * Stops within `deadline` (default: node.shutdown.timeoutSeconds): readiness 503 at once, then — after
   * `drainMs` (default 0), while the node still serves — the listener closes, requests in flight finish,
   * and the node stops.
   */
  close(deadline?: Deadline, opts?: { readonly drainMs?: number }): Promise<void>;
}

/** Starts a node and its HTTP(S) server on the configured address (port 0 = any free port). */
export async function serveNode(config: NodeConfig, opts: NodeOptions = {}, httpOpts: HttpServerOptions = {}): Promise<RunningNode> {
  const node = await TramiteNode.open(config, opts);
  const app = buildHttpServer(node, httpOpts);
  try {
    await app.listen({ host: config.node.listen.host, port: config.node.listen.port });
  } catch (err) {
    await node.stop();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.node.listen.port;
  const host = config.node.listen.host.includes(':') ? `[${config.node.listen.host}]` : config.node.listen.host;
  const tls = config.node.listen.tls;
  const baseUrl = `${tls ? 'https' : 'http'}://${host}:${port}`;
  node.bindAddress(baseUrl);
  if (!tls)
    node.log.warn(
      { baseUrl },
      'listening over plain HTTP (node.listen.plainHttp): envelopes and back-office tokens travel unencrypted and peers are not authenticated by TLS — use node.listen.tls outside loopback and tests',
    );
  node.log.info(
    {
      baseUrl,
      envelopeUrl: node.envelopeUrl,
      parties: config.parties.map((p) => p.code),
      ...(tls ? { tls: { requestCert: tls.requestCert, requireClientCert: tls.requireClientCert } } : {}),
    },
    'node listening',
  );
  return {
    node,
    app,
    baseUrl,
    async close(deadline = Deadline.in(config.node.shutdown.timeoutSeconds * 1000), opts = {}) {
      // A balancer learns from readiness that this process is going, and has until the drain ends to
      // stop sending: meanwhile everything is served as before.
      node.beginStopping();
      const drainMs = Math.min(opts.drainMs ?? 0, deadline.remainingMs());
      if (drainMs > 0) {
        node.log.info({ drainMs }, 'draining: still serving until the load balancer stops sending');
        await new Promise((r) => setTimeout(r, drainMs));
      }
      // Requests in flight get half the time left to finish (a ?wait= may hold one for minutes); then
      // their connections are closed, and the node's own stop gets the rest.
      node.log.info('closing the listener: new connections are refused, requests in flight finish');
      const closing = app.close();
      if (!(await settlesWithin(closing, deadline.remainingMs() / 2))) {
        app.server.closeAllConnections();
        await settlesWithin(closing, deadline.capped(500));
      }
      await node.stop(deadline);
    },
  };
}
