import { Transform, pipeline, type Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { HttpRefusal } from './http-refusal.js';

/**
 * Bounds the request-body bytes the node holds at once, across every request: without it, many slow
 * clients each sending a maximum-size body pin (connections × maxEnvelopeBytes) of memory. A body that
 * declares its Content-Length takes its whole size up front (refused before a byte is read); a chunked
 * one takes what arrives, chunk by chunk. The bytes are given back when the response is finished or the
 * connection is gone — not when the body is parsed, since the parsed body is held while it is worked on.
 */
export class RequestBodyBudget {
  private held = 0;
  constructor(readonly maxBytes: number) {}

  /** Bytes taken now, by all requests together. */
  get inUse(): number {
    return this.held;
  }

  tryTake(bytes: number): boolean {
    if (this.held + bytes > this.maxBytes) return false;
    this.held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
  }
}

/** Seconds a turned-away client is told to wait: bodies in flight drain within seconds. */
const BUSY_RETRY_AFTER_SECONDS = 1;

export function holdRequestBodiesWithin(app: FastifyInstance, budget: RequestBodyBudget): void {
  app.addHook('preParsing', async (req, reply, payload) => {
    const lengthHeader = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (lengthHeader === undefined && !chunked) return payload; // no body
    let taken = 0;
    let given = false;
    const giveBack = (): void => {
      if (given) return;
      given = true;
      budget.give(taken);
    };
    reply.raw.once('close', giveBack);
    const busy = (): HttpRefusal =>
      new HttpRefusal(
        'TRAMITE_ERR_BUSY',
        503,
        `the node holds ${budget.maxBytes} bytes of request bodies at most and has no room for this one now`,
        BUSY_RETRY_AFTER_SECONDS,
      );

    if (!chunked) {
      const declared = Number(lengthHeader);
      // Larger than the route accepts: Fastify refuses it (413) without reading it, so it takes nothing.
      if (!Number.isSafeInteger(declared) || declared > req.routeOptions.bodyLimit) return payload;
      if (!budget.tryTake(declared)) throw busy();
      taken = declared;
      return payload;
    }
    const counting = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        if (given || !budget.tryTake(chunk.length)) return done(busy());
        taken += chunk.length;
        done(null, chunk);
      },
    });
    return pipeline(payload as Readable, counting, () => undefined);
  });
}
