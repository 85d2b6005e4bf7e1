import { ApiError } from '../core/errors.js';
import type { TramiteCode } from '../core/error-codes.js';

/**
 * A request the HTTP edge turns away before the node works on it — too many from one caller (429), or
 * too many request bytes held at once (503) — with the seconds after which trying again makes sense.
 * `statusCode` is what Fastify's body reader and the rate limiter look for.
 */
export class HttpRefusal extends ApiError {
  readonly retryAfterSeconds: number;
  constructor(code: TramiteCode, status: 429 | 503, message: string, retryAfterSeconds: number) {
    super(code, status, message);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }

  get statusCode(): number {
    return this.status;
  }
}
