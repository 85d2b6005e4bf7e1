import { COUNTERPART_PARTY, OWNER_PARTY } from './log-schema.js';
import type { MessageCountsQuery, MessageQuery, RelatedQuery } from './log-store.js';
import { WhereBuilder } from './where-builder.js';

/*
 * The projection's queries, one text for both stores: `ph(i)` writes the i-th placeholder (`?` for
 * SQLite, `$i` for PostgreSQL). Every filter is written as the index it should use expects it
 * (log-schema.ts, messageIndexes): a party set through the OWNER_PARTY / COUNTERPART_PARTY expressions,
 * the keyset bound with a plain `created_at <=` term both planners can turn into an index range.
 */

/** Newest first, then by id and sender: a total order, so keyset pages neither skip nor repeat a row. */
export const MESSAGE_ORDER = 'ORDER BY created_at DESC, id DESC, from_party DESC';

/** `expr IN (…)` over a set of parties; an empty set selects nothing. */
function inSet(w: WhereBuilder, expr: string, values: readonly string[]): void {
  if (values.length === 0) w.parts.push('1 = 0');
  else w.addEach(values, (...p) => `${expr} IN (${p.join(', ')})`);
}

/** WHERE clause over the messages projection; `bound`: how many parameters the statement has before it. */
export function messageWhere(q: MessageQuery, ph: (i: number) => string, bound = 0): { sql: string; params: unknown[] } {
  const w = new WhereBuilder(ph, bound);
  // The most selective filter's index leads — an id's (the primary key), else a party's
  // (messages_owner_created, or messages_owner_state with a state): a party is one of tens, a direction
  // half the table, a service one of a dozen. SQLite plans without statistics and saw ties: it took a
  // busy service's index for party + service + state (a deep page read the whole service), a party's for
  // id + party (the lookup read the party's every message). Written as `expr || ''`, the other terms
  // filter the rows the leading index finds but cannot choose an index themselves.
  const lead = q.messageId ? 'id' : q.parties?.length ? 'party' : undefined;
  const filterOnly = (expr: string, leads: boolean) => (leads ? `${expr} || ''` : expr);
  if (q.direction) w.add(q.direction, 1, (a) => `${filterOnly('direction', lead !== undefined)} = ${a}`);
  if (q.state) w.add(q.state, 1, (a) => `${filterOnly('state', lead === 'id')} = ${a}`);
  if (q.service) w.add(q.service, 1, (a) => `${filterOnly('service', lead !== undefined)} = ${a}`);
  if (q.messageId) w.add(q.messageId, 1, (a) => `id = ${a}`);
  if (q.from) w.add(q.from, 1, (a) => `from_party = ${a}`);
  if (q.to) w.add(q.to, 1, (a) => `to_party = ${a}`);
  // A party's own records, as GET /api/v1/messages/{id} sees them: what it sent, what it received.
  if (q.parties) inSet(w, filterOnly(OWNER_PARTY, lead === 'id'), q.parties);
  // The other side: the recipient of an outbound message, the sender of an inbound one.
  if (q.counterparts) inSet(w, filterOnly(COUNTERPART_PARTY, lead !== undefined), q.counterparts);
  if (q.createdFrom) w.add(q.createdFrom, 1, (a) => `created_at >= ${a}`);
  if (q.createdTo) w.add(q.createdTo, 1, (a) => `created_at < ${a}`);
  if (q.olderThan) {
    // Keyset paging in MESSAGE_ORDER: the rows after the last one of the previous page. The leading
    // `created_at <=` is implied by the rest; it is there so the index range starts at the page.
    const { createdAt, id, from } = q.olderThan;
    w.addEach(
      [createdAt, createdAt, createdAt, id, id, from],
      (a, b, c, d, e, f) =>
        `created_at <= ${a} AND (created_at < ${b} OR (created_at = ${c} AND (id < ${d} OR (id = ${e} AND from_party < ${f}))))`,
    );
  }
  return w.result();
}

/**
 * A page of messages: the statement and its parameters. A filter on several parties (the caller's, or
 * a peer's) is one index range per party: `party IN (a, b)` would make both databases read every match
 * and sort them for the first 50. So it is split — the page of each party, read newest first off its
 * index, then the newest of those: a UNION of one small page per party.
 */
export function messagePageSql(q: MessageQuery, ph: (i: number) => string): { sql: string; params: unknown[] } {
  const limit = q.limit ?? 100;
  const split: Array<'parties' | 'counterparts'> = (['parties', 'counterparts'] as const).filter((k) => (q[k]?.length ?? 0) > 1);
  // An id is one message (one per sender): nothing to split.
  const on = q.messageId ? undefined : split[0];
  if (!on) {
    const { sql, params } = messageWhere(q, ph);
    return { sql: `SELECT * FROM messages ${sql} ${MESSAGE_ORDER} LIMIT ${ph(params.length + 1)}`, params: [...params, limit] };
  }
  const params: unknown[] = [];
  const parts = q[on]!.map((value, i) => {
    const where = messageWhere({ ...q, [on]: [value] }, ph, params.length);
    params.push(...where.params, limit);
    return `SELECT * FROM (SELECT * FROM messages ${where.sql} ${MESSAGE_ORDER} LIMIT ${ph(params.length)}) AS page${i}`;
  });
  params.push(limit);
  return { sql: `SELECT * FROM (${parts.join(' UNION ALL ')}) AS pages ${MESSAGE_ORDER} LIMIT ${ph(params.length)}`, params };
}

/** The upper bound of a count without `until`: later than any ISO instant the node writes. */
const END_OF_TIME = '9999-12-31T23:59:59.999Z';

/**
 * The projection grouped as the metrics show it; with `since`, only the messages created at or after it
 * (the dashboard's last hour or day) and before `until`. The range is closed on both sides even without
 * `until`: SQLite then reads it off messages_created, where a one-sided range made it scan the whole
 * messages_counts index (which is in the GROUP BY's order) instead.
 */
export function messageCountsSql(q: MessageCountsQuery, ph: (i: number) => string): { sql: string; params: unknown[] } {
  const where = q.since !== undefined ? `WHERE created_at >= ${ph(1)} AND created_at < ${ph(2)} ` : '';
  return {
    sql: `SELECT direction, from_party, to_party, service, state, count(*) AS n, min(created_at) AS oldest FROM messages ${where}GROUP BY direction, from_party, to_party, service, state`,
    params: q.since !== undefined ? [q.since, q.until ?? END_OF_TIME] : [],
  };
}

/**
 * The candidates of MessageLog.related: the messages that refer to `id`, those of its conversation and
 * the ones it names (its refId, the conversation's first message) — each term served by an index
 * (messages_ref, messages_conversation, the primary key), oldest first.
 */
export function relatedSql(q: RelatedQuery, ph: (i: number) => string): { sql: string; params: unknown[] } {
  const named = [q.refId ?? q.id, q.conversationId];
  return {
    sql: `SELECT * FROM messages WHERE ref_id = ${ph(1)} OR conversation_id = ${ph(2)} OR id IN (${ph(3)}, ${ph(4)}) ORDER BY created_at, id, from_party LIMIT ${ph(5)}`,
    params: [q.id, q.conversationId, ...named, q.limit ?? 1000],
  };
}
