import type { MessageKey } from '../core/message-record.js';
import type { AlarmStore } from './alarm-rows.js';
import type { LogEntryInput, LogRecord } from './log-entry.js';

/** A signed statement of the chain head: makes truncation and rewriting of the log detectable. */
export interface Checkpoint {
  readonly seq: number;
  readonly headHash: string;
  readonly time: string;
  /** Identifies the node that signed (its PdD code). */
  readonly node: string;
  /** The signer's certificate, PEM. */
  readonly signerCert: string;
  /** RSA-SHA256 signature (base64) over the canonical checkpoint statement. */
  readonly signature: string;
  /** RFC 3161 TimeStampToken (DER) over the same statement, when a TSA is configured. */
  readonly tsaToken?: Uint8Array;
}

/** The current state of one message, as the projection keeps it (one row per id, direction and sender). */
export interface MessageRow {
  readonly id: string;
  readonly direction: 'in' | 'out';
  readonly from: string;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly envelopeSeq: number | null;
  readonly replySeq: number | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly state: string;
}

/** One group of the projection's messages (LogStore.messageCounts). */
export interface MessageCount {
  readonly direction: 'in' | 'out';
  readonly from: string;
  readonly to: string;
  readonly service: string;
  readonly state: string;
  readonly count: number;
  /** ISO, the oldest message's created_at in the group. */
  readonly oldestCreatedAt: string;
}

export interface RecordQuery {
  readonly from?: string;
  readonly to?: string;
  readonly party?: string;
  readonly service?: string;
  readonly state?: string;
  readonly messageId?: string;
  readonly direction?: 'in' | 'out';
  readonly limit?: number;
}

export interface MessageQuery {
  readonly direction?: 'in' | 'out';
  /** Records owned by one of these parties: outbound ones it sent (`from`), inbound ones sent to it (`to`). */
  readonly parties?: readonly string[];
  readonly state?: string;
  readonly service?: string;
  readonly messageId?: string;
  readonly from?: string;
  readonly to?: string;
  /** Messages whose other side is one of these parties: the recipient of an outbound one, the sender of an inbound one. */
  readonly counterparts?: readonly string[];
  /** Created at or after this instant (ISO). */
  readonly createdFrom?: string;
  /** Created before this instant (ISO). */
  readonly createdTo?: string;
  /** Keyset paging: only messages after this one in the listing order (newest first). */
  readonly olderThan?: { readonly createdAt: string; readonly id: string; readonly from: string };
  readonly limit?: number;
}

export interface MessageCountsQuery {
  /** Only the messages created at or after this instant (ISO): the dashboard's last hour or day. */
  readonly since?: string;
  /** With `since`: only those created before this instant (ISO). */
  readonly until?: string;
}

/** What MessageLog.related asks the store for: the rows that may be related to one message. */
export interface RelatedQuery {
  /** The message's id: messages whose refId is this one refer to it. */
  readonly id: string;
  /** The message it refers to, when it refers to one. */
  readonly refId?: string;
  /** Its conversation: its conversationId, or its own id (a conversation is named after its first request). */
  readonly conversationId: string;
  readonly limit?: number;
}

/**
 * Where the message log lives. Two implementations behind this one interface: SQLite (embedded
 * default) and PostgreSQL (shared by several node processes). `append` is atomic: the records take
 * the next sequence numbers and continue the hash chain from the stored head, and the projection is
 * updated in the same transaction — so a record is either wholly in the log or not at all. It keeps
 * the node's alarms too (AlarmStore: alarm-rows.ts).
 */
export interface LogStore extends AlarmStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Human-readable location (file path, or the database URL without password). */
  readonly location: string;
  append(entries: readonly LogEntryInput[], projection: ProjectionChange): Promise<LogRecord[]>;
  head(): Promise<{ seq: number; hash: string }>;
  /** Records with from ≤ seq ≤ to, in order, in pages. */
  range(from: number, to: number, pageSize?: number): AsyncIterable<LogRecord>;
  record(seq: number): Promise<LogRecord | undefined>;
  recordsOf(messageId: string): Promise<LogRecord[]>;
  searchRecords(q: RecordQuery & { fromTime?: string; toTime?: string }): Promise<LogRecord[]>;
  seqRangeForTime(fromTime: string, toTime: string): Promise<{ first: number; last: number } | undefined>;
  /** One message: an outbound one by id, an inbound one by id and sender. */
  message(key: MessageKey): Promise<MessageRow | undefined>;
  messages(q: MessageQuery): Promise<MessageRow[]>;
  /** Messages in a given state (for start-up reconciliation). */
  messagesInState(direction: 'in' | 'out', states: readonly string[]): Promise<MessageRow[]>;
  /**
   * How many messages the projection holds per direction, sender, recipient, service and state, with the
   * oldest one's creation time: ONE grouped query, what the metrics gauges are computed from.
   */
  messageCounts(q?: MessageCountsQuery): Promise<MessageCount[]>;
  /** Messages that refer to `id` (refId), of its conversation, or named by it (its refId, the conversation's id); oldest first. */
  relatedMessages(q: RelatedQuery): Promise<MessageRow[]>;
  /**
   * Whether this process is the one that writes checkpoints now. SQLite: always (one process has the
   * file). PostgreSQL: the holder of an advisory lock, so one process at a time signs the shared chain's
   * head; when it goes, the next process that asks takes over.
   */
  checkpointWriter(): Promise<boolean>;
  addCheckpoint(cp: Checkpoint): Promise<void>;
  /** The last checkpoint (highest seq), if any: the metrics' checkpoint lag. */
  latestCheckpoint(): Promise<Checkpoint | undefined>;
  checkpoints(from?: number, to?: number): Promise<Checkpoint[]>;
  /** Drops envelope bytes (and projected payloads, a REST exchange's target) of records older than `before`; digests stay. */
  purgePayloads(before: string): Promise<number>;
  /**
   * The replay filter's one atomic step: true when (namespace, id) was not held, or was held only until
   * a time ≤ `now` (expired, taken again), and is now held until `until`; false when it is held and not
   * expired. Of concurrent calls for one key — in one process or from several sharing the log — exactly
   * one gets true. Namespace and id are at most MAX_TOKEN_KEY_CHARS (200) each: longer, or holding
   * U+0000, is refused with TRAMITE_ERR_TOKEN_KEY.
   */
  acceptToken(namespace: string, id: string, until: Date, now: Date): Promise<boolean>;
  /** Deletes the tokens held only until a time ≤ `now`, a window at a time; how many went. */
  purgeExpiredTokens(now: Date): Promise<number>;
  close(): Promise<void>;
}

/**
 * How an append changes the projection: insert a message row, or update one (fields merged), with
 * the seq of the appended record that holds its envelope or its reply, when it does. An inserted row
 * is created at its first record's time and updated at its last's.
 */
export type ProjectionChange =
  | {
      readonly op: 'insert';
      readonly id: string;
      readonly direction: 'in' | 'out';
      readonly fields: Readonly<Record<string, unknown>>;
      readonly envelopeFromEntry?: number;
      /** A REST exchange logs its response with its request. */
      readonly replyFromEntry?: number;
    }
  | {
      readonly op: 'update';
      readonly id: string;
      readonly direction: 'in' | 'out';
      /** The message's sender: with id and direction, what names its row. */
      readonly from: string;
      readonly fields: Readonly<Record<string, unknown>>;
      readonly replyFromEntry?: number;
      /** A re-sealed request envelope (fresh Timestamp for a retry) becomes the message's envelope. */
      readonly envelopeFromEntry?: number;
      /** A conditional change: made only if the row's state, read under the append's lock, is one of these; else nothing is appended (entriesUnderLock). */
      readonly onlyFrom?: readonly string[];
    }
  | { readonly op: 'none' };
