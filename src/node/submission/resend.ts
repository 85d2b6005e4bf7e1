import type { Logger } from 'pino';
import { ApiError } from '../../core/errors.js';
import { outboundKey, type MessageRecord, type MessageStore } from '../../core/message-record.js';
import type { StaffMember } from '../../core/staff-member.js';
import { refuseRestExchange } from './rest-exchange-refusal.js';

export interface ResendDeps {
  readonly store: Pick<MessageStore, 'get' | 'transitionIf'>;
  readonly log?: Logger;
  /** Puts the message back on the deliver queue. */
  schedule(rec: MessageRecord): Promise<void>;
}

/**
 * An operator's resend of a FAILED message: a new attempt, same id — from the API (limited to the
 * caller's parties), the console or `tramite messages resend` (`by`: who, logged with the change).
 * The log first: ACCEPTED again even if the queue cannot take it now, so the next reconciliation sends it.
 */
export async function resendFailed(
  deps: ResendDeps,
  id: string,
  caller: { readonly parties?: ReadonlySet<string>; readonly by?: StaffMember } = {},
): Promise<MessageRecord> {
  const callerParties = caller.parties;
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
  // Conditional: two resends at once (two operators, two processes) make one.
  const next = await deps.store.transitionIf(outboundKey(id), ['FAILED'], {
    status: 'ACCEPTED',
    error: undefined,
    ...(caller.by ? { by: caller.by } : {}),
  });
  if (!next) throw new ApiError('TRAMITE_ERR_NOT_RESENDABLE', 409, `message ${id} is no longer FAILED: resent or settled meanwhile`);
  deps.log?.info({ id, by: caller.by?.name }, 'message resent');
  await deps.schedule(next);
  return next;
}
