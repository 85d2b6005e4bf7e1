import type { LogEntryInput, LogRecord } from './log-entry.js';
import type { ProjectionChange } from './log-store.js';

/*
 * What a projection change writes into the messages table, decided once for both stores (SQLite and
 * PostgreSQL differ only in placeholders and in how they read the current row).
 */

type Insert = Extract<ProjectionChange, { op: 'insert' }>;
type Update = Extract<ProjectionChange, { op: 'update' }>;

/**
 * Whether an append's state is the row's own, read under the append's lock: an update that sets no state
 * (a riscontro kept, an error noted, an answer recorded). Its caller read the state before the lock, and
 * another process sharing the log may have changed it since (a hand-over recorded DISPATCHED): logging
 * the state read then would put the message back, and the next attempt would hand it over again.
 */
export function keepsRowState(p: ProjectionChange): p is Update {
  return p.op === 'update' && p.fields['status'] === undefined;
}

/**
 * Whether a conditional update (`onlyFrom`) finds its row, read under the append's lock, in a state it
 * does not apply from: then nothing is appended — no record, no change of the row — and the append
 * answers no records. Its caller read the state before the lock; another process may have settled the
 * message since.
 */
export function skipsUpdate(p: ProjectionChange, row: CurrentRow | undefined): boolean {
  return p.op === 'update' && p.onlyFrom !== undefined && row !== undefined && !p.onlyFrom.includes(row.state);
}

/** The entries with the row's state under the lock (see keepsRowState); as given when the row has none. */
export function withRowState(entries: readonly LogEntryInput[], state: string | undefined): readonly LogEntryInput[] {
  return state === undefined ? entries : entries.map((e) => ({ ...e, state }));
}

/** The seq of the appended record a change points at (its envelope or reply), when it points at one. */
const seqOf = (records: readonly LogRecord[], entry: number | undefined): number | undefined =>
  entry !== undefined ? records[entry]!.seq : undefined;

/** The projection's INSERT, one text for both stores (`ph(i)` writes the i-th placeholder). */
export function insertRowSql(ph: (i: number) => string): string {
  return `INSERT INTO messages (id, direction, state, from_party, to_party, service, created_at, updated_at, envelope_seq, reply_seq, fields, ref_id, conversation_id)
   VALUES (${Array.from({ length: 13 }, (_, i) => ph(i + 1)).join(', ')})`;
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
