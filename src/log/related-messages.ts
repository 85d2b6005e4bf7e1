import type { MessageRecord } from '../core/message-record.js';
import type { RelatedQuery } from './log-store.js';

/**
 * How a message is related to the one shown:
 * - `request`: the request it answers, or asks about (its refId);
 * - `answer`: an answer to it (its refId is this message's id);
 * - `poll`: a richiesta stato about it (asincrono asimmetrico, its refId is this message's id);
 * - `conversation`: another message of its conversation (Collaborazione);
 * - `other-side`: the same message as the other direction logged it — sender and recipient both
 *   hosted by this node, it is one outbound and one inbound row.
 */
export type MessageRelation = 'request' | 'answer' | 'poll' | 'conversation' | 'other-side';

export interface RelatedMessage {
  readonly relation: MessageRelation;
  readonly message: MessageRecord;
}

/** A conversation is named after its first request: a message without conversationId starts its own. */
const conversationOf = (m: Pick<MessageRecord, 'id' | 'conversationId'>): string => m.conversationId ?? m.id;

/** A richiesta stato refers to the request it asks about, like an answer, but on the asimmetrico profile. */
const isPoll = (m: MessageRecord): boolean => m.collaboration === 'asincronoAsimmetrico' && m.refId !== undefined;

const sameMessage = (a: MessageRecord, b: MessageRecord): boolean => a.id === b.id && a.direction === b.direction && a.from === b.from;

/** Both between the same two parties, whichever way: ids are unique per sender only, so a stranger's id may collide. */
const sameParties = (a: MessageRecord, b: MessageRecord): boolean =>
  (a.from === b.from && a.to === b.to) || (a.from === b.to && a.to === b.from);

/** What the store is asked for about `m`. */
export function relatedQuery(m: MessageRecord): RelatedQuery {
  return { id: m.id, conversationId: conversationOf(m), ...(m.refId !== undefined ? { refId: m.refId } : {}) };
}

/** The store's candidates (relatedQuery) named by their relation to `m`, in the store's order (oldest first); `m` itself left out. */
export function relatedMessages(m: MessageRecord, candidates: readonly MessageRecord[]): RelatedMessage[] {
  const out: RelatedMessage[] = [];
  for (const c of candidates) {
    if (sameMessage(c, m) || !sameParties(c, m)) continue;
    const relation: MessageRelation | undefined =
      c.id === m.id && c.from === m.from
        ? 'other-side'
        : m.refId !== undefined && c.id === m.refId
          ? 'request'
          : c.refId === m.id
            ? isPoll(c)
              ? 'poll'
              : 'answer'
            : conversationOf(c) === conversationOf(m)
              ? 'conversation'
              : undefined;
    if (relation) out.push({ relation, message: c });
  }
  return out;
}
