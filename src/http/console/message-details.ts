import { inboundKey, outboundKey, type MessageKey, type MessageRecord } from '../../core/message-record.js';
import type { RelatedMessage } from '../../log/related-messages.js';
import { summarise, type EnvelopeStatus, type RecordSummary } from '../../node/audit/log-auditor.js';
import type { TramiteNode } from '../../node/tramite-node.js';

/** A message as the console names it in a link: direction, id, and for an inbound one its sender. */
export function keyFromQuery(q: Readonly<Record<string, unknown>>): MessageKey | undefined {
  const id = typeof q.id === 'string' && q.id !== '' ? q.id : undefined;
  if (!id) return undefined;
  if (q.direction === 'out') return outboundKey(id);
  if (q.direction === 'in' && typeof q.from === 'string' && q.from !== '') return inboundKey(id, q.from);
  return undefined;
}

/** The log's records of this one message (an id may be another sender's too, inbound): its timeline. */
export async function timelineOf(node: TramiteNode, rec: MessageRecord): Promise<RecordSummary[]> {
  const records = await node.store.store.recordsOf(rec.id);
  return records.filter((r) => r.direction === rec.direction && (rec.direction === 'out' || r.from === rec.from)).map(summarise);
}

/**
 * Messages related to this one, each with its relation (request, answer, poll, conversation, other
 * side): the log's own answer, so the console and the log agree on what "related" means.
 */
export function relatedMessages(node: TramiteNode, key: MessageKey): Promise<RelatedMessage[]> {
  return node.store.related(key);
}

/** The signatures of this message's logged envelopes and replies, re-verified now by the auditor's check. */
export async function reverifyMessage(node: TramiteNode, timeline: readonly RecordSummary[], id: string): Promise<EnvelopeStatus[]> {
  const shown = await node.auditor().show(id);
  const seqs = new Set(timeline.map((r) => r.seq));
  return (shown?.envelopes ?? []).filter((e) => seqs.has(e.seq)).map(({ xml: _xml, ...status }) => status);
}
