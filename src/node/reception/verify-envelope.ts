import { openedWith, readEnvelope, type OpenedEnvelope } from '../../../envelopes/envelope.js';
import type { ReceptionDeps } from './reception-deps.js';
import { reviveError, reviveSignature } from './verification-protocol.js';

/**
 * Guard, parse and verify (signature, certificate, Timestamp) in a verification worker — the
 * CPU-heavy part, off the event loop — then read the same bytes again here for the stages that
 * follow. The parse is deterministic, so the elements read here are the ones whose signature the
 * worker checked; and what is parsed on the event loop is by now authenticated and within the limits.
 * A refused envelope's claimed message id is kept in `claimed`, for the log line of the refusal.
 * Then the signer chain's revocation status, here: it waits on the network (cached), not on the CPU,
 * and only for chains the worker found trusted, so no untrusted input chooses what is fetched.
 */
export async function verifyEnvelope(deps: ReceptionDeps, bytes: Uint8Array, claimed: { id?: string }): Promise<OpenedEnvelope> {
  const outcome = await deps.verifier.verify({
    envelope: bytes,
    at: deps.clock.now().getTime(),
    registryVersion: deps.registry.current().version,
  });
  if (!outcome.ok) {
    if (outcome.messageId !== undefined) claimed.id = outcome.messageId;
    throw reviveError(outcome.error);
  }
  const opened = openedWith(readEnvelope(bytes, deps.limits), reviveSignature(outcome.signature));
  if (deps.revocation) {
    try {
      await deps.revocation.checkChain(opened.signature.chain, { role: 'envelope signer' });
    } catch (err) {
      // Refused like an untrusted signer: a plain fault, the claimed id for the log line.
      const id = opened.egov?.messaggio.identificatore ?? opened.addressing?.messageId;
      if (id !== undefined) claimed.id = id;
      throw err;
    }
  }
  return opened;
}
