import { Agent, request, type Dispatcher } from 'undici';
import { discardBoundedBody, readBoundedBody, ResponseTooLargeError } from '../../core/bounded-body.js';
import { TramiteError } from '../../core/errors.js';

export interface BackOfficeHttpOptions {
  /**
   * Connections open to one back office or webhook server at most (default: no limit — sincrono
   * requests reach a back office inline, as many at once as peers send, and must not queue here).
   */
  readonly connectionsPerOrigin?: number;
  /** How long an idle connection stays open for the next call when the server does not say (default 4000 ms). */
  readonly keepAliveMs?: number;
}

/** One POST to a hosted party's own server: its back office, or its status webhook. */
export interface BackOfficePost {
  readonly url: string;
  /** Who answers, for error messages: "back office at …", "webhook at …". */
  readonly source: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Headers, and then each pause in the body, must come within this. */
  readonly timeoutMs: number;
  /** Largest answer read; with `discardAnswer`, a larger one is dropped rather than refused. */
  readonly maxAnswerBytes: number;
  /** The answer's content does not matter (a webhook's): drain it within the bound, keep nothing. */
  readonly discardAnswer?: boolean;
}

export interface BackOfficeAnswer {
  readonly status: number;
  readonly contentType: string;
  /** The body as text; empty when it was discarded. */
  readonly text: string;
}

/**
 * The node's HTTP client towards its own parties' servers (dispatch to back offices, status webhooks):
 * one keep-alive Agent for all of them, and one way their failures read — not reached or broke off
 * (TRAMITE_ERR_PEER_UNREACHABLE), answer too large (TRAMITE_ERR_RESPONSE_TOO_LARGE). What an HTTP
 * status means is the caller's to say. Peers (other nodes) have their own client: src/node/peer-client.
 */
export class BackOfficeHttp {
  private readonly agent: Agent;

  constructor(opts: BackOfficeHttpOptions = {}) {
    this.agent = new Agent({
      ...(opts.connectionsPerOrigin !== undefined ? { connections: opts.connectionsPerOrigin } : {}),
      keepAliveTimeout: opts.keepAliveMs ?? 4_000,
    });
  }

  post(p: BackOfficePost): Promise<BackOfficeAnswer> {
    return postToBackOffice(p, this.agent);
  }

  /** Closes the connections (the node is stopping). */
  close(): Promise<void> {
    return this.agent.close();
  }
}

/** The POST itself, through the given Agent. */
async function postToBackOffice(p: BackOfficePost, dispatcher: Dispatcher): Promise<BackOfficeAnswer> {
  let res: Dispatcher.ResponseData;
  try {
    res = await request(p.url, {
      dispatcher,
      method: 'POST',
      body: p.body,
      headers: { ...p.headers },
      headersTimeout: p.timeoutMs,
      bodyTimeout: p.timeoutMs,
    });
  } catch (cause) {
    throw new TramiteError('TRAMITE_ERR_PEER_UNREACHABLE', `${p.source} could not be reached: ${(cause as Error).message}`, { cause });
  }
  const bound = { maxBytes: p.maxAnswerBytes, source: p.source, declaredLength: res.headers['content-length'] };
  let text = '';
  try {
    if (p.discardAnswer) await discardBoundedBody(res.body, bound);
    else text = (await readBoundedBody(res.body, bound)).toString('utf8');
  } catch (cause) {
    if (cause instanceof ResponseTooLargeError) throw cause;
    throw new TramiteError('TRAMITE_ERR_PEER_UNREACHABLE', `${p.source} broke off its answer: ${(cause as Error).message}`, { cause });
  }
  return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), text };
}
