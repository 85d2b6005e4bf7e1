import { openedWith, type OpenedEnvelope, type ReadEnvelope } from '../../../envelopes/envelope.js';
import type { Clock } from '../../core/clock.js';
import { DeliveryError, SecurityError } from '../../core/errors.js';
import type { RevocationChecker } from '../../crypto/revocation/revocation-checker.js';
import type { MessageRecord } from '../../core/message-record.js';
import { partyCode } from '../../core/party.js';
import { DEFAULT_MODI_PATTERNS } from '../../core/service-profile.js';
import type { EnvelopeVerifier } from '../reception/verification-pool.js';
import { reviveError, reviveSignature, type VerifyOutcome } from '../reception/verification-protocol.js';
import type { ServiceDef } from '../registry/registry.js';
import { refusalFrom } from './peer-refusal.js';

/**
 * Checks a peer's reply to `rec`: it must be signed by the party the message went to, must answer this
 * very message (and carry the riscontro asked for), and (modi) must satisfy the service's patterns, as
 * the request did. Its signature is checked in a verification worker, over the text the reply was read
 * from. A reply whose ListaEccezioni holds a GRAVE one is the peer's refusal.
 */
export async function checkReply(
  reply: ReadEnvelope,
  rec: MessageRecord,
  service: ServiceDef,
  deps: {
    readonly verifier: EnvelopeVerifier;
    readonly clock: Clock;
    readonly revocation?: RevocationChecker | undefined;
    /** The registry version the attempt runs under: the worker verifies with that one. */
    readonly registryVersion?: number;
  },
  status: number,
): Promise<OpenedEnvelope> {
  let outcome: VerifyOutcome;
  try {
    // A reply answers this node's own request: their number is bounded by the delivery queue, so it may wait.
    outcome = await deps.verifier.verify(
      {
        envelope: reply.text,
        at: deps.clock.now().getTime(),
        party: rec.to,
        modiPatterns: service.modiPatterns ?? DEFAULT_MODI_PATTERNS,
        ...(deps.registryVersion !== undefined ? { registryVersion: deps.registryVersion } : {}),
      },
      { mayWait: true },
    );
  } catch (cause) {
    throw new DeliveryError('TRAMITE_ERR_VERIFIER_UNAVAILABLE', `the peer's reply could not be verified now: ${(cause as Error).message}`, {
      retriable: true,
      cause,
    });
  }
  if (!outcome.ok) {
    const cause = reviveError(outcome.error);
    throw new DeliveryError('TRAMITE_ERR_RECEIPT_INVALID', `the peer's reply failed verification: ${cause.message}`, {
      retriable: false,
      cause,
    });
  }
  const opened = openedWith(reply, reviveSignature(outcome.signature));
  await checkRevocation(opened, deps.revocation);
  bindReply(opened, rec);
  if ((opened.egov?.eccezioni ?? []).some((e) => e.rilevanza === 'GRAVE')) throw refusalFrom(opened, status);
  return opened;
}

/**
 * The reply's signer chain must not be revoked. No fresh status (a responder down, under a hard
 * policy) may pass later: retried. Revoked, or an answer that cannot be believed, is final.
 */
async function checkRevocation(opened: OpenedEnvelope, revocation: RevocationChecker | undefined): Promise<void> {
  if (!revocation) return;
  try {
    await revocation.checkChain(opened.signature.chain, { role: "reply's signer" });
  } catch (cause) {
    const retriable = cause instanceof SecurityError && cause.reason === 'TRAMITE_ERR_CERT_STATUS_UNKNOWN';
    throw new DeliveryError('TRAMITE_ERR_RECEIPT_INVALID', `the peer's reply failed verification: ${(cause as Error).message}`, {
      retriable,
      cause,
    });
  }
}

/** The reply's headers mirror the request's: same parties reversed, a reference to its id, the riscontro when one was asked. */
function bindReply(opened: OpenedEnvelope, rec: MessageRecord): void {
  const bad = (why: string): never => {
    throw new DeliveryError('TRAMITE_ERR_RECEIPT_INVALID', `the peer's reply ${why}`, { retriable: false });
  };
  if (opened.profile === 'egov') {
    const h = opened.egov!;
    if (partyCode(h.mittente[0]!) !== rec.to || partyCode(h.destinatario) !== rec.from)
      bad('has Mittente/Destinatario that do not mirror the request');
    if (h.messaggio.riferimentoMessaggio !== rec.id) bad(`refers to ${h.messaggio.riferimentoMessaggio ?? 'no message'}, not to ${rec.id}`);
    if (rec.confermaRicezione && rec.collaboration === 'oneway' && !h.riscontri.some((r) => r.identificatore === rec.id))
      bad(`carries no riscontro for ${rec.id}`);
  } else if (opened.addressing!.relatesTo !== rec.id) {
    bad(`relates to ${opened.addressing!.relatesTo ?? 'no message'}, not to ${rec.id}`);
  }
}
