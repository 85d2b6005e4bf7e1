import type { TLSSocket } from 'node:tls';
import { Agent, buildConnector, EnvHttpProxyAgent, request, type Dispatcher } from 'undici';
import type { PeerConfig, TlsMaterial } from '../../config/config-types.js';
import { TLS_POLICY } from '../../core/tls-policy.js';
import type { XmlLimits } from '../../../envelopes/xml/hardened-xml.js';
import { readBoundedBody, ResponseTooLargeError } from '../../core/bounded-body.js';
import { DeliveryError } from '../../core/errors.js';
import { readPeerAnswer, type PeerAnswer, type PeerReply } from './peer-answer.js';

export interface PeerClientOptions {
  /** A peer's headers, and then each pause in its body, must come within this (default 30 000 ms). */
  readonly timeoutMs?: number;
  /** Largest answer read from a peer: a reply is an envelope, no larger than those this node accepts. */
  readonly maxAnswerBytes: number;
  /** Connections open to one peer at most (default 16; the node gives its delivery concurrency, so no attempt waits). */
  readonly connectionsPerPeer?: number;
  /**
   * How long an idle connection to a peer stays open for the next exchange when the peer does not say
   * (default 4000 ms, undici's; a peer's Keep-Alive hint, shortened by undici's margin, takes precedence).
   */
  readonly keepAliveMs?: number;
  /** The configured peers: each one's TLS (pinned CA, this node's client certificate, servername) by its URL's origin. */
  readonly peers?: readonly PeerConfig[];
  /**
   * This node's own envelope URL and TLS certificate: delivery to its own parties goes to itself,
   * presenting that certificate, and accepts only that certificate back (pinned by fingerprint).
   */
  readonly self?: { readonly url: () => string; readonly tls?: TlsMaterial };
}

/** What one exchange with a peer expects back, to read its answer by. */
export interface PeerExchange {
  /** The SOAPAction header's value (the service name; quoted here). */
  readonly soapAction: string;
  /** Whether a signed reply must come back (riscontro, ricevuta, answer), or an empty 2xx will do. */
  readonly expectsReply: boolean;
  /** Limits the reply is parsed within (the node's envelope limits). */
  readonly limits: XmlLimits;
  /** Cuts the exchange short (a bounded attempt): it fails as unreachable, retriable. */
  readonly signal?: AbortSignal;
}

const DEFAULTS = { timeoutMs: 30_000, connectionsPerPeer: 16, keepAliveMs: 4_000, peers: [], self: undefined } as const;

/**
 * The one way the node talks to other nodes: an undici dispatcher per peer (keep-alive, a connection
 * limit, timeouts, the peer's TLS, HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment) and one
 * mapping of what can go wrong — no answer, a TLS refusal, an answer too large, a busy or failing
 * peer, a Fault — into the bus's DeliveryError, retriable or final.
 */
export class PeerClient {
  private readonly agents = new Map<string, Dispatcher>();
  private readonly opts: Omit<Required<PeerClientOptions>, 'self' | 'peers'> & Pick<PeerClientOptions, 'self'>;
  /** The configured peers; a registry reload replaces them (setPeers). */
  private peers: readonly PeerConfig[];
  private closed = false;

  constructor(opts: PeerClientOptions) {
    const { peers, ...rest } = { ...DEFAULTS, ...opts };
    this.opts = rest;
    this.peers = peers;
  }

  /**
   * The peers of a reloaded registry. A peer whose TLS (pinned CAs, client certificate, servername) changed
   * gets a new dispatcher at its next exchange; the old one closes once the exchanges it carries end.
   */
  setPeers(peers: readonly PeerConfig[]): void {
    const before = new Map([...this.agents.keys()].map((origin) => [origin, tlsKey(this.peerAt(origin))]));
    this.peers = peers;
    for (const [origin, key] of before) {
      if (tlsKey(this.peerAt(origin)) === key) continue;
      const agent = this.agents.get(origin);
      this.agents.delete(origin);
      void agent?.close().catch(() => undefined);
    }
  }

  /** POSTs an envelope and reads the answer as the bus does: the reply envelope, or undefined when none was due. */
  async exchange(url: string, envelope: string, expect: PeerExchange): Promise<PeerReply | undefined> {
    return readPeerAnswer(await this.post(url, envelope, expect.soapAction, expect.signal), expect.expectsReply, expect.limits);
  }

  /** POSTs an envelope; only failing to get a whole answer within the bounds throws (always retriable). */
  async post(url: string, envelope: string, soapAction: string, signal?: AbortSignal): Promise<PeerAnswer> {
    try {
      const res = await request(url, {
        dispatcher: this.agentFor(url),
        ...(signal ? { signal } : {}),
        method: 'POST',
        body: envelope,
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${soapAction}"` },
      });
      const bytes = await readBoundedBody(res.body, {
        maxBytes: this.opts.maxAnswerBytes,
        source: `peer at ${url}`,
        declaredLength: res.headers['content-length'],
      });
      return { url, status: res.statusCode, bytes, text: bytes.toString('utf8') };
    } catch (cause) {
      // Too large is retried: the peer may answer a fitting reply next time, and the Scadenza bounds the tries.
      if (cause instanceof ResponseTooLargeError) throw new DeliveryError(cause.code, cause.message, { retriable: true, cause });
      if (cause instanceof DeliveryError) throw cause;
      const tls = tlsFailure(cause);
      // Retried like an unreachable peer: a renewed certificate or a corrected config makes the next attempt good.
      if (tls)
        throw new DeliveryError('TRAMITE_ERR_PEER_TLS', `${this.describe(url)} refused over TLS: ${tls}`, { retriable: true, cause });
      throw new DeliveryError('TRAMITE_ERR_PEER_UNREACHABLE', `${this.describe(url)} could not be reached: ${(cause as Error).message}`, {
        retriable: true,
        cause,
      });
    }
  }

  /** The dispatcher of the peer at `url` (one per origin), made on first use and kept for the next exchanges. */
  agentFor(url: string): Dispatcher {
    if (this.closed)
      throw new DeliveryError('TRAMITE_ERR_PEER_UNREACHABLE', `${this.describe(url)} not contacted: the node is stopping`, {
        retriable: true,
      });
    const origin = new URL(url).origin;
    let agent = this.agents.get(origin);
    if (!agent) {
      agent = this.newAgent(url, origin);
      this.agents.set(origin, agent);
    }
    return agent;
  }

  private newAgent(url: string, origin: string): Dispatcher {
    const base = {
      connections: this.opts.connectionsPerPeer,
      keepAliveTimeout: this.opts.keepAliveMs,
      headersTimeout: this.opts.timeoutMs,
      bodyTimeout: this.opts.timeoutMs,
    };
    const self = this.opts.self;
    if (self && originOf(self.url()) === origin) {
      // To itself: never through a proxy; over TLS, pinned to its own certificate.
      return self.tls ? new Agent({ ...base, connect: pinnedToSelf(self.tls) }) : new Agent(base);
    }
    const peer = this.peerAt(origin);
    if (origin.startsWith('https:') && !peer?.tls)
      throw new DeliveryError('TRAMITE_ERR_PEER_TLS', `${url} is no configured TLS peer: no pinned CA to verify it with`, {
        retriable: true,
      });
    const tls = peer?.tls
      ? {
          ...TLS_POLICY,
          ca: [...peer.tls.caPem],
          ...(peer.tls.client ? { cert: peer.tls.client.certPem, key: peer.tls.client.keyPem } : {}),
          ...(peer.tls.servername !== undefined ? { servername: peer.tls.servername } : {}),
        }
      : undefined;
    // Direct or through HTTPS_PROXY / HTTP_PROXY (CONNECT), as NO_PROXY says; the peer's TLS either way.
    return new EnvHttpProxyAgent({ ...base, ...(tls ? { connect: tls, requestTls: tls } : {}) });
  }

  private peerAt(origin: string): PeerConfig | undefined {
    return this.peers.find((p) => originOf(p.url) === origin);
  }

  /** "peer "regione" at https://…", or "peer at …" for a URL no peer is configured with. */
  private describe(url: string): string {
    const peer = this.peerAt(originOf(url));
    return peer ? `peer "${peer.name}" at ${url}` : `peer at ${url}`;
  }

  /** Closes every peer's connections (the node is stopping); exchanges still in flight are let finish. */
  async close(): Promise<void> {
    this.closed = true;
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => a.close()));
  }
}

/** What a peer's dispatcher is made from: equal keys, the same dispatcher serves. */
function tlsKey(peer: PeerConfig | undefined): string {
  const tls = peer?.tls;
  return JSON.stringify(tls ? [tls.caPem, tls.client?.certPem, tls.client?.keyPem, tls.servername] : null);
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

/**
 * A connector to the node itself: it presents the node's certificate, and accepts back exactly that
 * certificate (by SHA-256 fingerprint) rather than judging a chain: no CA is needed to know oneself.
 */
function pinnedToSelf(tls: TlsMaterial): buildConnector.connector {
  // No TLS session cache: a resumed session shows no certificate (getPeerX509Certificate is undefined),
  // so every connection after the first idle one closed would be refused as "another certificate".
  const connect = buildConnector({ ...TLS_POLICY, cert: tls.certPem, key: tls.keyPem, rejectUnauthorized: false, maxCachedSessions: 0 });
  return (options, callback) =>
    connect(options, (err, socket) => {
      if (err || !socket)
        return callback(
          err ?? new DeliveryError('TRAMITE_ERR_PEER_UNREACHABLE', 'the node could not connect to itself', { retriable: true }),
          null,
        );
      const presented = (socket as TLSSocket).getPeerX509Certificate?.();
      if (presented?.fingerprint256 === tls.certificate.fingerprint256) return callback(null, socket);
      socket.destroy();
      callback(
        new DeliveryError('TRAMITE_ERR_PEER_TLS', `the node's own URL answered with another certificate than node.listen.tls.certFile`, {
          retriable: true,
        }),
        null,
      );
    });
}

/** OpenSSL's and Node's TLS error codes, on the error or its causes: the reason, or undefined for another failure. */
function tlsFailure(err: unknown): string | undefined {
  for (
    let e = err as (Error & { code?: string; cause?: unknown }) | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (/^ERR_(SSL|TLS)_|CERT|UNABLE_TO_|SELF_SIGNED|^EPROTO$/.test(code)) return `${code}: ${e.message}`;
  }
  return undefined;
}
