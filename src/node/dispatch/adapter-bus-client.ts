import { outboundKey, type MessageRecord, type MessageStore } from '../../core/message-record.js';
import type { BusClient, MessageState } from '../../../adapters/sdk/adapter.js';
import type { Submission } from '../submission/submission.js';
import { findReceived } from '../submission/received-lookup.js';

/**
 * The bus as one party's adapter sees it: the same submission use cases the REST API uses (so the same
 * validation, logging and delivery), acting for that party only.
 */
export function busClientFor(party: string, outbound: () => Submission, store: () => MessageStore): BusClient {
  const caller: ReadonlySet<string> = new Set([party]);
  return {
    send: async (m) => stateOf(await outbound().submit({ ...m, from: party, payload: m.payload }, caller)),
    sendAndWait: async (m, { timeoutMs }) => {
      const sent = await outbound().submit({ ...m, from: party, payload: m.payload }, caller);
      const until = Date.now() + timeoutMs;
      for (;;) {
        const rec = (await store().get(outboundKey(sent.id))) ?? sent;
        if (rec.status === 'DELIVERED' || rec.status === 'FAILED' || Date.now() >= until) return stateOf(rec);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    answer: async (requestId, payload, from) => stateOf((await outbound().answer(requestId, { payload }, caller, from)).message),
    state: async (id, direction, from) => {
      if (direction === 'in') {
        const rec = await findReceived(store(), id, caller, from);
        return rec ? stateOf(rec) : undefined;
      }
      const rec = await store().get(outboundKey(id));
      return rec && rec.from === party ? stateOf(rec) : undefined;
    },
  };
}

function stateOf(r: MessageRecord): MessageState {
  return {
    id: r.id,
    direction: r.direction,
    status: r.status,
    attempts: r.attempts,
    ...(r.replyPayload !== undefined ? { reply: r.replyPayload } : {}),
    ...(r.error ? { error: { code: r.error.code, message: r.error.message } } : {}),
  };
}
