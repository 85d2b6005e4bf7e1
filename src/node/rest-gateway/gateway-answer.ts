import { ApiError, DeliveryError, TramiteError } from '../../core/errors.js';
import type { TramiteCode } from '../../core/error-codes.js';
import { ModiRestError } from '../../../envelopes/modi-rest/modi-rest-error.js';
import { refusalProblem, type ProblemDetails } from '../../../envelopes/modi-rest/modi-rest-problem.js';
import type { HeaderList } from './forwarded-headers.js';

/** What the gateway answers its caller: a status, headers and the exact body bytes. */
export interface GatewayAnswer {
  readonly status: number;
  readonly headers: HeaderList;
  readonly body: Buffer;
}

const PROBLEM_BASE = 'https://tramite.invalid/problems/';

/**
 * The answer to a failure, as RFC 7807 problem+json. A ModI refusal takes the guidelines' answer
 * (refusalProblem: 400 / 409 for a request, 502 for a response), with its code only when the API
 * discloses it; the gateway's own refusals (unknown API, not a consumer, body too large) and the
 * failures of what lies behind (PDND, the provider, the back office) always say their code: they
 * reveal nothing of anyone's identity, and the caller needs them to act.
 */
export function problemAnswer(
  err: unknown,
  opts: { direction: 'request' | 'response'; disclose: boolean },
): GatewayAnswer & { code: string } {
  if (err instanceof ModiRestError) {
    const refusal = refusalProblem(err, opts);
    return { ...json(refusal.status, refusal.body), code: err.code };
  }
  const [status, title] = statusOf(err);
  const code = err instanceof TramiteError ? err.code : 'TRAMITE_ERR_INTERNAL';
  // To a consumer on another node, nothing of this node's insides (back-office URLs, socket errors, PDND's
  // answers): the code says what failed, the log says the rest. Our own back offices (disclose) see it all.
  const detail = !(err instanceof TramiteError)
    ? 'internal error'
    : opts.disclose
      ? err.message
      : (GENERIC_DETAIL[status] ?? 'The request could not be served');
  return { ...json(status, { type: `${PROBLEM_BASE}${status}/${title}`, title, status, detail, code: code as TramiteCode }), code };
}

const GENERIC_DETAIL: Readonly<Record<number, string>> = {
  400: 'The request is not one this API accepts',
  403: 'The client is not accepted',
  404: 'No such API here',
  413: "The body is larger than this API's limit",
  429: 'Too many requests: retry later',
  502: "The provider's back office did not answer",
  503: 'The provider cannot serve requests now: retry later',
  504: "The provider's back office did not answer in time",
};

function statusOf(err: unknown): [number, string] {
  if (err instanceof ApiError) return [err.status, titleOf(err.status)];
  if (!(err instanceof TramiteError)) return [500, 'InternalError'];
  switch (err.code) {
    case 'TRAMITE_ERR_PDND_JWKS':
    case 'TRAMITE_ERR_LOG_UNAVAILABLE':
      return [503, 'ServiceUnavailable'];
    case 'TRAMITE_ERR_TOKEN_KEY':
      return [400, 'BadRequest'];
    case 'TRAMITE_ERR_PDND_TOKEN_REQUEST':
    case 'TRAMITE_ERR_PEER_UNREACHABLE':
    case 'TRAMITE_ERR_PEER_TLS':
    case 'TRAMITE_ERR_RESPONSE_TOO_LARGE':
    case 'TRAMITE_ERR_REST_UPSTREAM':
      return err instanceof DeliveryError && /timeout/i.test(err.message) ? [504, 'GatewayTimeout'] : [502, 'BadGateway'];
    default:
      return [500, 'InternalError'];
  }
}

function titleOf(status: number): string {
  return (
    {
      400: 'BadRequest',
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'NotFound',
      413: 'ContentTooLarge',
      429: 'TooManyRequests',
      502: 'BadGateway',
      503: 'ServiceUnavailable',
      504: 'GatewayTimeout',
    }[status] ?? 'Error'
  );
}

function json(status: number, body: ProblemDetails): GatewayAnswer {
  return { status, headers: [['content-type', 'application/problem+json']], body: Buffer.from(JSON.stringify(body)) };
}
