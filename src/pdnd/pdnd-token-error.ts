import { TramiteError } from '../core/errors.js';

/**
 * The PDND token endpoint gave no voucher. `tokenEndpoint` names it; `status` and `oauthError` are its
 * answer when it gave one (400 invalid_client: the key or kid is not the client's; invalid_grant: the
 * purpose is not active, the assertion expired).
 */
export class PdndTokenError extends TramiteError {
  readonly tokenEndpoint: string;
  readonly status: number | undefined;
  readonly oauthError: string | undefined;
  constructor(tokenEndpoint: string, message: string, options: { status?: number; oauthError?: string; cause?: unknown } = {}) {
    super('TRAMITE_ERR_PDND_TOKEN_REQUEST', `PDND token endpoint ${tokenEndpoint}: ${message}`, { cause: options.cause });
    this.tokenEndpoint = tokenEndpoint;
    this.status = options.status;
    this.oauthError = options.oauthError;
  }
}
