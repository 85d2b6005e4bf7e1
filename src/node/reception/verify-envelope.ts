import { openedWith, readEnvelope, type OpenedEnvelope } from '../../../envelopes/envelope.js';
import type { ReceptionDeps } from './reception-deps.js';
import { reviveError, reviveSignature } from './verification-protocol.js';

/**
 * Guard, parse and verify (signature, certificate, Timestamp) in a verification worker — the
 * CPU-heavy part, off the event loop — then read the same bytes again here for the stages that
 * follow. The parse is deterministic, so the elements read here are the ones whose signature the
 * worker checked; and what is parsed on the event loop is by now authenticated and within the limits.
 * A refused envelope's claimed message id is kept in `claimed`, for the log line of the refusal.
 */
export async function verifyEnvelope(deps: ReceptionDeps, bytes: Uint8Array, claimed: { id?: string }): Promise<OpenedEnvelope> {
  const outcome = await deps.verifier.verify({ envelope: bytes, at: deps.clock.now().getTime() });
  if (!outcome.ok) {
    if (outcome.messageId !== undefined) claimed.id = outcome.messageId;
    throw reviveError(outcome.error);
  }
  return openedWith(readEnvelope(bytes, deps.limits), reviveSignature(outcome.signature));
}
