import type { TramiteCode } from '../../src/core/error-codes.js';
import { TramiteError } from '../../src/core/errors.js';

/** The PEC adapter's error codes (registered in src/core/error-codes.ts, documented in docs/errors.md). */
export type PecErrorCode = Extract<TramiteCode, `TRAMITE_ERR_PEC_${string}`>;

/** A provider message that is not PEC, or is malformed, unsigned or badly signed. */
export class PecError extends TramiteError {
  declare readonly code: PecErrorCode;
  constructor(code: PecErrorCode, message?: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
