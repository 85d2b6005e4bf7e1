import type { Eccezione } from '../egov/egov-header.js';
import { describeCode } from '../../src/core/error-codes.js';
import { EnvelopeError, SecurityError } from '../../src/core/errors.js';

/** The protocol's view of any failure: an EGOV_IT code, a position, and a message for humans. */
/** An Eccezione with the human message and, for security refusals, the precise reason. */
export type ReportedEccezione = Eccezione & { message: string; reason?: string };

export function toEccezione(err: unknown): ReportedEccezione {
  if (err instanceof EnvelopeError) {
    return {
      contestoCodifica: err.contestoCodifica,
      codiceEccezione: err.code,
      rilevanza: err.rilevanza,
      posizione: err.posizione,
      message: err.message,
    };
  }
  if (err instanceof SecurityError) {
    return {
      contestoCodifica: 'ErroreIntestazioneMessaggioSPCoop',
      codiceEccezione: err.code,
      rilevanza: 'GRAVE',
      posizione: err.posizione,
      message: err.message,
      reason: err.reason,
    };
  }
  return {
    contestoCodifica: 'ErroreProcessamentoMessaggioSPCoop',
    codiceEccezione: 'EGOV_IT_300',
    rilevanza: 'GRAVE',
    posizione: 'Processamento',
    message: describeCode('EGOV_IT_300'),
  };
}
