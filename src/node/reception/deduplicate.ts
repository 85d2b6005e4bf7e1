import { sealReply } from '../../../envelopes/busta/reply.js';
import { inboundKey, keyOf, type MessageRecord } from '../../core/message-record.js';
import { inboundKeyText } from '../dispatch/dispatch-item.js';
import type { AcceptedRequest } from './authorise.js';
import type { InboundReply, ReceptionDeps } from './reception-deps.js';
import { replyId, replyPatterns } from './reply-signing.js';

/**
 * At most once: a message taken already is answered as the first time (its original riscontro or
 * answer), and nothing new reaches the back office. While the first copy is still being processed
 * (`receiving` holds it) there is no reply yet: 202, and the sender's next retry gets the original.
 * A duplicate is the same sender's id only: another party's message with that id is a message of its
 * own, so it can neither read the first sender's reply nor stop the first sender's message.
 */
export async function answerDuplicate(
  deps: ReceptionDeps,
  req: AcceptedRequest,
  receiving: ReadonlyMap<string, unknown>,
): Promise<InboundReply | undefined> {
  const key = inboundKey(req.id, req.from);
  const first = await deps.store.get(key);
  if (!first) return undefined;
  const original = await deps.store.replyEnvelopeOf(key);
  if (original) {
    deps.log.info({ id: req.id, from: req.from }, 'duplicate envelope answered with its original reply');
    return { status: first.status === 'FAILED' ? 500 : 200, body: original };
  }
  // Taken, and maybe handed to the back office since by reconciliation (DISPATCHED), yet its sender was
  // never answered: it is owed the riscontro. (A FAILED one without a reply was refused: no riscontro.)
  const taken = first.status === 'RECEIVED' || first.status === 'DISPATCHED';
  if (taken && !receiving.has(inboundKeyText(key)) && !maybeInAnotherProcess(deps, first))
    return completeInterruptedReceipt(deps, req, first);
  return { status: 202, body: '' };
}

/** Whether another process sharing the log may still be answering the first copy (ReceptionDeps.othersMayBeReceivingForMs). */
function maybeInAnotherProcess(deps: ReceptionDeps, first: MessageRecord): boolean {
  const within = deps.othersMayBeReceivingForMs;
  return within !== undefined && deps.clock.now().getTime() - Date.parse(first.createdAt) < within;
}

/**
 * The first copy was logged but its process died before signing the riscontro: nobody else will
 * sign it, so the node does now, for the retry (else every retry would get "in progress" forever).
 * Sincrono answers and richieste stato are not re-created here: the sender's retry stays pending.
 */
async function completeInterruptedReceipt(deps: ReceptionDeps, req: AcceptedRequest, first: MessageRecord): Promise<InboundReply> {
  const isPoll = first.collaboration === 'asincronoAsimmetrico' && first.refId !== undefined;
  if (first.collaboration === 'sincrono' || isPoll) return { status: 202, body: '' };
  const wantsAck = first.confermaRicezione || first.collaboration !== 'oneway';
  if (!wantsAck) return { status: 202, body: '' };
  const body = await sealReply(
    req.env,
    { id: await replyId(deps, req.env.profile, req.to.code), now: deps.clock.now(), riscontro: true, ...replyPatterns(req) },
    req.to.identity,
  );
  await deps.store.transition(keyOf(first), {}, body);
  deps.log.warn({ id: req.id, from: req.from }, 'riscontro of an interrupted reception signed for the retry');
  if (first.status === 'RECEIVED' && deps.dispatch.hasReceiver(req.to.code, req.service.name, deps.registry.current()))
    await deps.dispatch.schedule(first);
  return { status: 200, body };
}
