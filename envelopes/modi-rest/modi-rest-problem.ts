import type { TramiteCode } from '../../src/core/error-codes.js';
import { ModiRestError } from './modi-rest-error.js';

/** An RFC 7807 problem detail, sent as `application/problem+json`. */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** The stable refusal code, only when the API discloses it (see refusalProblem). */
  readonly code?: TramiteCode;
}

export interface RefusalAnswer {
  readonly status: number;
  readonly contentType: 'application/problem+json';
  readonly body: ProblemDetails;
}

const PROBLEM_BASE = 'https://tramite.invalid/problems/';

/**
 * The HTTP answer to a refused ModI REST message. A request that breaks the interoperability profile
 * gets 400 `InteroperabilityInvalidRequest` with one generic detail whatever the cause (as GovWay, which
 * most providers run, answers; the guidelines ask not to reveal whether an identity exists); a replayed
 * jti gets 409 Conflict. A *response* that fails the consumer's checks is the provider's fault: the
 * consumer's node answers its back office 502 `InteroperabilityInvalidResponse`.
 * `disclose` adds the precise code to the body (for integrators testing against a collaudo node); the
 * reason is always in the node's log.
 */
export function refusalProblem(err: ModiRestError, opts: { direction: 'request' | 'response'; disclose?: boolean }): RefusalAnswer {
  const code = err.code;
  const withCode = opts.disclose ? { code } : {};
  if (opts.direction === 'response') {
    return problem(
      502,
      'InteroperabilityInvalidResponse',
      'Received response is not conform to the required interoperability profile',
      withCode,
    );
  }
  if (code === 'TRAMITE_ERR_MODI_REST_REPLAY') return problem(409, 'Conflict', 'The request token was already used', withCode);
  return problem(
    400,
    'InteroperabilityInvalidRequest',
    'Received request is not conform to the required interoperability profile',
    withCode,
  );
}

function problem(status: number, title: string, detail: string, extra: { code?: TramiteCode }): RefusalAnswer {
  return {
    status,
    contentType: 'application/problem+json',
    body: { type: `${PROBLEM_BASE}${status}/${title}`, title, status, detail, ...extra },
  };
}
