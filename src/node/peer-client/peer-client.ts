import { Agent, request } from 'undici';
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

const DEFAULTS = { timeoutMs: 30_000, connectionsPerPeer: 16, keepAliveMs: 4_000 } as const;

/**
 * The one way the node talks to other nodes: an undici Agent per peer (keep-alive, a connection
 * limit, timeouts) and one mapping of what can go wrong — no answer, an answer too large, a busy or
 * failing peer, a Fault — into the bus's DeliveryError, retriable or final. Per-peer TLS goes here.
 */
export class PeerClient {
  private readonly agents = new Map<string, Agent>();
  private readonly opts: Required<PeerClientOptions>;
  private closed = false;

  constructor(opts: PeerClientOptions) {
    this.opts = { ...DEFAULTS, ...opts };
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
      throw new DeliveryError('TRAMITE_ERR_PEER_UNREACHABLE', `peer at ${url} could not be reached: ${(cause as Error).message}`, {
        retriable: true,
        cause,
      });
    }
  }

  /** The Agent of the peer at `url` (one per origin), made on first use and kept for the next exchanges. */
  agentFor(url: string): Agent {
    if (this.closed)
      throw new DeliveryError('TRAMITE_ERR_PEER_UNREACHABLE', `peer at ${url} not contacted: the node is stopping`, { retriable: true });
    const origin = new URL(url).origin;
    let agent = this.agents.get(origin);
    if (!agent) {
      agent = new Agent({
        connections: this.opts.connectionsPerPeer,
        keepAliveTimeout: this.opts.keepAliveMs,
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
      });
      this.agents.set(origin, agent);
    }
    return agent;
  }

  /** Closes every peer's connections (the node is stopping); exchanges still in flight are let finish. */
  async close(): Promise<void> {
    this.closed = true;
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => a.close()));
  }
}
