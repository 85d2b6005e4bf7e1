import { TramiteError } from '../../src/core/errors.js';
import type { TramiteCode } from '../../src/core/error-codes.js';

/** Which token or header a refusal is about. */
export type ModiRestPosition = 'Authorization' | 'Agid-JWT-Signature' | 'Agid-JWT-TrackingEvidence' | 'Digest' | 'headers' | 'token';

/**
 * A ModI REST token or header refused. `code` is the precise, stable reason (docs/errors.md);
 * `position` the header it was found in; `signer` the certificate subject once it was read.
 * modi-rest-problem.ts turns it into the HTTP status and problem+json body the peer gets.
 */
export class ModiRestError extends TramiteError {
  declare readonly code: TramiteCode;
  readonly position: ModiRestPosition;
  readonly signer: string | undefined;
  constructor(code: TramiteCode, position: ModiRestPosition, message: string, options?: { cause?: unknown; signer?: string }) {
    super(code, message, options);
    this.position = position;
    this.signer = options?.signer;
  }
}
