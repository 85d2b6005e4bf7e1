import { ApiError } from '../../core/errors.js';
import { isRestExchange, type MessageRecord } from '../../core/message-record.js';

/**
 * A ModI REST exchange is listed beside the SOAP messages but was answered in its own HTTP call and is
 * final when logged: resending, answering or polling it would send a SOAP envelope for it. Refused
 * first, before the SOAP rules' own (less telling) refusals.
 */
export function refuseRestExchange(rec: MessageRecord, as: 'resent' | 'answered' | 'polled'): void {
  if (!isRestExchange(rec)) return;
  throw new ApiError(
    'TRAMITE_ERR_REST_EXCHANGE',
    409,
    `message ${rec.id} is a ModI REST exchange (${rec.rest?.method ?? 'HTTP'} ${rec.service} ${rec.rest?.version ?? ''}`.trimEnd() +
      `), answered in its own HTTP call: it cannot be ${as}; call the API again instead`,
  );
}
