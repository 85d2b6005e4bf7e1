import type { LogEntryInput, LogRecord } from './log-entry.js';
import type { ProjectionChange } from './log-store.js';

/*
 * What a projection change writes into the messages table, decided once for both stores (SQLite and
 * PostgreSQL differ only in placeholders and in how they read the current row).
 */

type Insert = Extract<ProjectionChange, { op: 'insert' }>;
type Update = Extract<ProjectionChange, { op: 'update' }>;

/**
 * What an append writes, given its message's row as read under the append's lock (an update's; none for
 * an insert): undefined when a conditional update (`onlyFrom`) finds the row in a state it does not apply
 * from — nothing is appended, no record, no change of the row; its caller read the state before the lock,
 * and another process may have settled the message since. An update that sets no state (a riscontro kept,
 * an error noted, an answer recorded) logs the row's state, not the one its caller read: logging that
 * would put back a state another process recorded meanwhile (a hand-over's DISPATCHED), and the next
 * attempt would hand the message over again.
 */
export function entriesUnderLock(
  p: ProjectionChange,
  entries: readonly LogEntryInput[],
  row: CurrentRow | undefined,
): readonly LogEntryInput[] | undefined {
  if (p.op !== 'update' || row === undefined) return entries;
  if (p.onlyFrom !== undefined && !p.onlyFrom.includes(row.state)) return undefined;
  return p.fields['status'] === undefined ? entries.map((e) => ({ ...e, state: row.state })) : entries;
}

/** The seq of the appended record a change points at (its envelope or reply), when it points at one. */
const seqOf = (records: readonly LogRecord[], entry: number | undefined): number | undefined =>
  entry !== undefined ? records[entry]!.seq : undefined;

/** The projection's INSERT, one text for both stores (`ph(i)` writes the i-th placeholder). */
export function insertRowSql(ph: (i: number) => string): string {
  return `INSERT INTO messages (id, direction, state, from_party, to_party, service, created_at, updated_at, envelope_seq, reply_seq, fields, ref_id, conversation_id)
   VALUES (${Array.from({ length: 13 }, (_, i) => ph(i + 1)).join(', ')})`;
}

/** The SELECT of the message's row an update reads under the append's lock (PostgreSQL adds FOR UPDATE). */
export function selectRowSql(ph: (i: number) => string): string {
  return `SELECT state, fields, reply_seq, envelope_seq FROM messages WHERE id = ${ph(1)} AND direction = ${ph(2)} AND from_party = ${ph(3)}`;
}

/** The projection's UPDATE, one text for both stores; its parameters are updateRowParams'. */
export function updateRowSql(ph: (i: number) => string): string {
  return `UPDATE messages SET state = ${ph(1)}, updated_at = ${ph(2)}, reply_seq = ${ph(3)}, envelope_seq = ${ph(4)}, fields = ${ph(5)}
   WHERE id = ${ph(6)} AND direction = ${ph(7)} AND from_party = ${ph(8)}`;
}

const textField = (fields: Readonly<Record<string, unknown>>, name: string): string | null =>
  typeof fields[name] === 'string' ? (fields[name] as string) : null;

/**
 * INSERT parameters, in column order: id, direction, state, from_party, to_party, service, created_at
 * (the first record's time), updated_at (the last's), envelope_seq, reply_seq, fields, ref_id,
 * conversation_id (the message's refId and conversationId: never changed by an update).
 */
export function insertRowParams(p: Insert, records: readonly LogRecord[]): unknown[] {
  const last = records[records.length - 1]!;
  return [
    p.id,
    p.direction,
    last.state,
    last.from,
    last.to,
    last.service,
    records[0]!.time,
    last.time,
    seqOf(records, p.envelopeFromEntry) ?? null,
    seqOf(records, p.replyFromEntry) ?? null,
    JSON.stringify(p.fields),
    textField(p.fields, 'refId'),
    textField(p.fields, 'conversationId'),
  ];
}

/** A message's row as an update reads it, once, under the append's lock: its state and the columns the update merges into. */
export interface CurrentRow {
  readonly state: string;
  readonly fields: string;
  readonly reply_seq: number | string | null;
  readonly envelope_seq: number | string | null;
}

/**
 * UPDATE parameters, in order: state, updated_at, reply_seq, envelope_seq, fields (merged over the
 * stored ones), then the key: id, direction, from_party.
 */
export function updateRowParams(p: Update, records: readonly LogRecord[], current: CurrentRow): unknown[] {
  const last = records[records.length - 1]!;
  const fields = { ...(JSON.parse(current.fields) as Record<string, unknown>), ...p.fields };
  return [
    last.state,
    last.time,
    seqOf(records, p.replyFromEntry) ?? current.reply_seq,
    seqOf(records, p.envelopeFromEntry) ?? current.envelope_seq,
    JSON.stringify(fields),
    p.id,
    p.direction,
    p.from,
  ];
}
