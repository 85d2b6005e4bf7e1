import type { MessageRecord } from '../core/message-record.js';

/** The JSON a back office sees of a message: facts and progress, not the raw envelopes. */
export function messageView(r: MessageRecord): Record<string, unknown> {
  return {
    id: r.id,
    status: r.status,
    direction: r.direction,
    from: r.from,
    to: r.to,
    service: r.service,
    action: r.action ?? null,
    profile: r.collaboration,
    envelope: r.envelopeProfile,
    refId: r.refId ?? null,
    conversationId: r.conversationId ?? null,
    expiresAt: r.expiresAt ?? null,
    attempts: r.attempts,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    payload: r.payload,
    receipt: r.receipt ?? null,
    reply: r.replyPayload ?? null,
    answer: r.answer ?? null,
    error: r.error ?? null,
    // Sent by role: the rule, the Comune and the table's version that chose `to`.
    ...(r.routing ? { routing: r.routing } : {}),
    // A ModI REST exchange: what was called and what it answered (the bytes stay in the log).
    ...(r.rest
      ? { rest: { version: r.rest.version, method: r.rest.method, target: r.rest.target ?? null, httpStatus: r.rest.httpStatus ?? null } }
      : {}),
  };
}
