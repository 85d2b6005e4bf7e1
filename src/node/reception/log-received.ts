import { bodyContent } from '../../../envelopes/envelope.js';
import { describeCertificate } from '../../core/certificate-description.js';
import type { MessageRecord } from '../../core/message-record.js';
import type { AcceptedRequest } from './authorise.js';
import type { ReceptionDeps } from './reception-deps.js';

/** A received message as the log keeps it: RECEIVED, its payload, and the receipt of its signer. */
export interface Received {
  readonly record: MessageRecord;
  readonly payload: string;
}

/**
 * Logs the accepted request, envelope and all, before anything is answered: the log is what every
 * later stage (reply, dispatch, a duplicate's answer) reads from.
 */
export async function logReceived(deps: ReceptionDeps, req: AcceptedRequest): Promise<Received> {
  const now = deps.clock.now();
  const payload = bodyContent(req.env);
  const record: MessageRecord = {
    id: req.id,
    direction: 'in',
    envelopeProfile: req.env.profile,
    collaboration: req.profile,
    from: req.from,
    to: req.to.code,
    service: req.service.name,
    ...(req.action !== undefined ? { action: req.action } : {}),
    ...(req.refId !== undefined ? { refId: req.refId } : {}),
    ...(req.conversationId !== undefined ? { conversationId: req.conversationId } : {}),
    ...(req.expiresAt !== undefined ? { expiresAt: req.expiresAt } : {}),
    confermaRicezione: req.confermaRicezione,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    status: 'RECEIVED',
    attempts: 1,
    payload,
    receipt: { at: now.toISOString(), signer: describeCertificate(req.env.signature.signer) },
  };
  // The decoded text, not the bytes as UTF-8: an envelope in a declared single-byte encoding is logged
  // as the same document (its declaration rewritten to UTF-8), so its signature verifies from the log.
  await deps.store.create(record, req.env.text);
  return { record, payload };
}
