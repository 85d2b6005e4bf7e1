import { sealReply } from '../../../envelopes/busta/reply.js';
import { inboundKey, keyOf } from '../../core/message-record.js';
import { pendingAnswer, type Correlation } from '../correlation/async-correlation.js';
import type { AcceptedRequest } from './authorise.js';
import type { InboundReply, ReceptionDeps } from './reception-deps.js';
import { replyId, replyPatterns } from './reply-signing.js';
import { answerSincrono } from './sincrono.js';

/**
 * The signed reply to a request just logged, and what follows it: a richiesta stato is answered from
 * the log; a sincrono request with its back office's answer (called inline); anything else with a
 * riscontro / ricevuta (or a bare 202), its hand-over to the back office queued after it.
 */
export async function replyTo(deps: ReceptionDeps, req: AcceptedRequest, correlation: Correlation, payload: string): Promise<InboundReply> {
  deps.log.info(
    { id: req.id, from: req.from, to: req.to.code, service: req.service.name, profile: req.profile },
    'envelope received and verified',
  );

  const key = inboundKey(req.id, req.from);
  let reply: InboundReply;
  /** The signed answer, kept in the log with the message before it is returned. */
  const answered = async (answer: string): Promise<InboundReply> => {
    const id = await replyId(deps, req.env.profile, req.to.code);
    const body = await sealReply(req.env, { id, now: deps.clock.now(), payload: answer, ...replyPatterns(req) }, req.to.identity);
    await deps.store.transition(key, { status: 'DISPATCHED', replyPayload: answer }, body);
    return { status: 200, body };
  };
  if (correlation.kind === 'poll') {
    // Richiesta stato: the node answers from its log, with the result the back office recorded or "not yet".
    const original = (await deps.store.get(keyOf(correlation.original))) ?? correlation.original;
    const answer =
      original.answer !== undefined && original.replyPayload !== undefined ? original.replyPayload : pendingAnswer(original.id);
    reply = await answered(answer);
  } else if (req.profile === 'sincrono') {
    const answer = await answerSincrono(deps, req, payload);
    reply = await answered(answer);
  } else {
    // A riscontro / ricevuta acknowledges receipt by the node: it is signed once the message is kept,
    // and the back office gets the message right after.
    const wantsAck = req.confermaRicezione || req.profile !== 'oneway';
    reply = wantsAck
      ? {
          status: 200,
          body: await sealReply(
            req.env,
            { id: await replyId(deps, req.env.profile, req.to.code), now: deps.clock.now(), riscontro: true, ...replyPatterns(req) },
            req.to.identity,
          ),
        }
      : { status: 202, body: '' };
    if (reply.body) await deps.store.transition(key, {}, reply.body);
    if (correlation.kind === 'answer') {
      // The consumer's own request now shows its answer (GET /api/v1/messages/{request id}).
      await deps.store.transition(keyOf(correlation.original), {
        answer: { at: deps.clock.now().toISOString(), id: req.id },
        replyPayload: payload,
      });
    }
    if (deps.dispatch.hasReceiver(req.to.code, req.service.name, deps.registry.current())) await deps.dispatch.dispatchNow(req); // otherwise the back office polls the API
  }
  return reply;
}
