import { TramiteError } from '../core/errors.js';

/** RFC 6749 §5.2 error codes the token endpoint answers with. */
export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'unauthorized_client';

/**
 * A request the simulator refuses as PDND would: HTTP 400 (or 401 for an API call without a voucher)
 * with an OAuth2 `error` and, beside it, PDND's own problem shape (`errors[].code` 015-0008, the code
 * PDND gives every refused client assertion).
 */
export class OAuthRefusal extends TramiteError {
  readonly error: OAuthErrorCode;
  readonly status: number;
  constructor(error: OAuthErrorCode, description: string, status = 400) {
    super('TRAMITE_ERR_PDND_TOKEN_REQUEST', description);
    this.error = error;
    this.status = status;
  }

  body(correlationId: string): Record<string, unknown> {
    return {
      error: this.error,
      error_description: this.message,
      status: this.status,
      errors: [{ code: '015-0008', detail: 'Unable to generate a token for the given request' }],
      correlationId,
    };
  }
}
