import type { Logger } from 'pino';
import { ApiError } from '../../core/errors.js';
import { outboundKey, type MessageRecord, type MessageStore } from '../../core/message-record.js';
import { refuseRestExchange } from './rest-exchange-refusal.js';

export interface ResendDeps {
  readonly store: Pick<MessageStore, 'get' | 'transition'>;
  readonly log?: Logger;
  /** Puts the message back on the deliver queue. */
  schedule(rec: MessageRecord): Promise<void>;
}

/**
 * An operator's resend of a FAILED message: a new attempt, same id — from the API (limited to the
 * caller's parties) or from `tramite messages resend`. The log first: ACCEPTED again even if the
 * queue cannot take it now, so the next reconciliation sends it.
 */
export async function resendFailed(deps: ResendDeps, id: string, callerParties?: ReadonlySet<string>): Promise<MessageRecord> {
  const rec = await deps.store.get(outboundKey(id));
  if (!rec || (callerParties && !callerParties.has(rec.from))) {
    throw new ApiError(
      'TRAMITE_ERR_NOT_FOUND',
      404,
      `no outbound message ${id} ${callerParties ? 'visible to this caller' : 'in the log'}`,
    );
  }
  refuseRestExchange(rec, 'resent');
  if (rec.status !== 'FAILED')
    throw new ApiError('TRAMITE_ERR_NOT_RESENDABLE', 409, `message ${id} is ${rec.status}; only a FAILED message can be resent`);
  const next = await deps.store.transition(outboundKey(id), { status: 'ACCEPTED', error: undefined });
  deps.log?.info({ id }, 'message resent by an operator');
  await deps.schedule(next);
  return next;
}
