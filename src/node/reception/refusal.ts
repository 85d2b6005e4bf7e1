import type { OpenedEnvelope } from '../../../envelopes/envelope.js';
import { toEccezione } from '../../../envelopes/busta/eccezione.js';
import { buildFaultEnvelope, faultElement } from '../../../envelopes/busta/fault.js';
import { sealReply } from '../../../envelopes/busta/reply.js';
import { EnvelopeError, SecurityError, type TramiteError } from '../../core/errors.js';
import { inboundKey } from '../../core/message-record.js';
import { partyCode } from '../../core/party.js';
import type { AcceptedRequest } from './authorise.js';
import type { InboundReply, ReceptionDeps } from './reception-deps.js';
import { replyId } from './reply-signing.js';
import { isTemporaryOutage } from '../temporary-outage.js';

/** What a busy node asks a sender to wait: verification queues drain in about that time. */
const BUSY_RETRY_AFTER_SECONDS = 2;

/** No worker is free and the queue is full: say so at once (503, Retry-After) rather than queue without end. */
export function busy(deps: ReceptionDeps, err: TramiteError): InboundReply {
  deps.log.warn({ code: err.code, err: err.message }, 'envelope turned away: the node is busy');
  const fault = faultElement(
    {
      contestoCodifica: 'ErroreProcessamentoMessaggioSPCoop',
      codiceEccezione: 'EGOV_IT_300',
      rilevanza: 'GRAVE',
      posizione: 'Processamento',
      message: err.message,
      reason: err.code,
    },
    { now: deps.clock.now(), porta: deps.porta },
  );
  return { status: 503, body: buildFaultEnvelope(fault), retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS };
}

/** A part of the node is down for now: 503 with Retry-After, nothing signed, nothing marked FAILED. */
function unavailable(deps: ReceptionDeps, err: unknown, id: string | undefined): InboundReply {
  deps.log.error({ id, err: (err as Error).message }, 'envelope turned away: the node cannot take it now (log or queue unavailable)');
  const fault = faultElement(
    {
      contestoCodifica: 'ErroreProcessamentoMessaggioSPCoop',
      codiceEccezione: 'EGOV_IT_300',
      rilevanza: 'GRAVE',
      posizione: 'Processamento',
      message: 'the node cannot take the envelope now; retry after Retry-After',
      reason: 'TRAMITE_ERR_LOG_UNAVAILABLE',
    },
    { now: deps.clock.now(), porta: deps.porta },
  );
  return { status: 503, body: buildFaultEnvelope(fault), retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS };
}

/** How far an envelope got before it was refused: what the refusal can say, and sign. */
export interface RefusedAt {
  /** The message id the envelope claimed, when verification refused it. */
  readonly claimedId?: string | undefined;
  readonly opened?: OpenedEnvelope | undefined;
  readonly accepted?: AcceptedRequest | undefined;
}

/**
 * Turns a refusal into the protocol's answer. Before the request is trusted: a plain SOAP Fault.
 * After (the sender is verified and the recipient is hosted here): the Fault travels in a reply
 * busta signed by the recipient, with the same code in ListaEccezioni.
 */
export async function refuse(deps: ReceptionDeps, err: unknown, { claimedId, opened, accepted }: RefusedAt): Promise<InboundReply> {
  // The node's own outage (its log's database restarting): the envelope was not taken, and the sender
  // tries again, rather than the message ending FAILED at both ends for a fault of neither.
  if (isTemporaryOutage(err)) return unavailable(deps, err, accepted?.id ?? claimedId);
  const ecc = toEccezione(err);
  const now = deps.clock.now();
  const level = err instanceof EnvelopeError || err instanceof SecurityError ? 'warn' : 'error';
  deps.log[level](
    {
      code: ecc.codiceEccezione,
      reason: ecc.reason,
      posizione: ecc.posizione,
      id: accepted?.id ?? opened?.egov?.messaggio.identificatore ?? opened?.addressing?.messageId ?? claimedId,
      err: (err as Error).message,
    },
    'envelope refused',
  );
  const fault = faultElement(ecc, { now, porta: deps.porta });
  const recipient =
    opened &&
    deps.registry.current().hostedParty(opened.profile === 'egov' ? partyCode(opened.egov!.destinatario) : (opened.addressing!.to ?? ''));
  if (opened && recipient) {
    try {
      const id = await replyId(deps, opened.profile, recipient.code);
      const body = await sealReply(opened, { id, now, eccezioni: [ecc] }, recipient.identity, fault);
      const key = accepted && inboundKey(accepted.id, accepted.from);
      if (key && (await deps.store.get(key))) {
        await deps.store.transition(
          key,
          { status: 'FAILED', error: { code: ecc.codiceEccezione, message: ecc.message, posizione: ecc.posizione } },
          body,
        );
      }
      return { status: 500, body };
    } catch (signErr) {
      deps.log.error({ err: (signErr as Error).message }, 'could not sign the error reply; answering with a plain fault');
    }
  }
  return { status: 500, body: buildFaultEnvelope(fault) };
}
