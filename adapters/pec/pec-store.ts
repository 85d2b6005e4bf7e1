/**
 * What the PEC adapter remembers, in one SQLite file in its data folder:
 * - `outbound`, `outbound_recipient`: each message sent (Message-ID ↔ bus message id) and the state of
 *   each recipient as the provider's receipts tell it;
 * - `mailbox_cursor`: per mailbox, the UIDVALIDITY read and the last UID processed;
 * - `mailbox_message`: what became of every message read (event, quarantined, not PEC…);
 * - `pec_event`: the bus messages ingress owes, keyed by what the provider message *is* (see
 *   `eventKey` in pec-ingest.ts), PENDING until the bus has taken them;
 * - `quarantine`: provider messages that must not be acted on, and whether they were moved yet.
 *
 * The rule that makes ingress idempotent: a message's outcome (event, recipient states, quarantine
 * row) and the advance of the UID cursor past it are one transaction (`recordRead`). Sending the
 * events is a separate step that only reads PENDING rows and marks them SENT.
 */
import { openAdapterStore, type AdapterDatabase } from '../sdk/index.js';

/** A recipient's state: PENDING before SMTP took the message, SUBMITTED after, then what receipts say. */
export type RecipientState = 'PENDING' | 'SUBMITTED' | 'ACCEPTED_BY_PROVIDER' | 'WARNING' | 'DELIVERED' | 'FAILED';

/**
 * Receipts may be read out of order (a delivery before the acceptance): a state only ever moves
 * forward, and DELIVERED or FAILED, once reached, stays.
 */
const RANK: Record<RecipientState, number> = { PENDING: 0, SUBMITTED: 1, ACCEPTED_BY_PROVIDER: 2, WARNING: 3, DELIVERED: 4, FAILED: 4 };

export type OutboundStatus = 'SENDING' | 'SUBMITTED' | 'REFUSED';

export interface OutboundRecipient {
  readonly address: string;
  readonly state: RecipientState;
  readonly reason: string | undefined;
}

export interface OutboundRecord {
  readonly messageId: string;
  readonly busMessageId: string;
  readonly status: OutboundStatus;
  /** How many provider receipts were correlated to it. */
  readonly receipts: number;
  readonly recipients: readonly OutboundRecipient[];
}

/** A bus message ingress owes. */
export interface PecEvent {
  /** What the provider message is, uniquely (the same receipt read twice has the same key). */
  readonly key: string;
  readonly service: string;
  readonly refId?: string;
  readonly payload: string;
}

export interface PendingEvent extends PecEvent {
  readonly seq: number;
  readonly attempts: number;
}

/** What a receipt does to the recipients of the message it refers to (all of them when `recipient` is absent). */
export interface RecipientUpdate {
  readonly messageId: string;
  readonly recipient?: string;
  readonly state: RecipientState;
  readonly reason?: string;
}

/** What became of one message read from the mailbox. */
export type ReadOutcome =
  | { readonly kind: 'event'; readonly disposition: 'receipt' | 'inbound'; readonly event: PecEvent; readonly update?: RecipientUpdate }
  | { readonly kind: 'quarantined'; readonly code: string; readonly reason: string }
  /** Recorded, nothing to do: not PEC (ordinary mail), a receipt about a message not sent from here, gone… */
  | { readonly kind: 'recorded'; readonly disposition: 'not-pec' | 'uncorrelated' | 'no-content' | 'vanished'; readonly detail: string };

export interface ReadEntry {
  readonly mailbox: string;
  readonly uidValidity: string;
  readonly uid: number;
  /** The provider message's Message-ID header, when it has one. */
  readonly messageId: string | undefined;
  readonly outcome: ReadOutcome;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbound (
  message_id     TEXT PRIMARY KEY,
  bus_message_id TEXT NOT NULL UNIQUE,
  subject        TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('SENDING', 'SUBMITTED', 'REFUSED')),
  smtp_response  TEXT,
  receipts       INTEGER NOT NULL DEFAULT 0,
  recorded_at    TEXT NOT NULL,
  submitted_at   TEXT
);
CREATE TABLE IF NOT EXISTS outbound_recipient (
  message_id TEXT NOT NULL REFERENCES outbound (message_id),
  address    TEXT NOT NULL COLLATE NOCASE,
  state      TEXT NOT NULL,
  reason     TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (message_id, address)
);
CREATE TABLE IF NOT EXISTS mailbox_cursor (
  mailbox      TEXT PRIMARY KEY,
  uid_validity TEXT NOT NULL,
  last_uid     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS mailbox_message (
  mailbox      TEXT NOT NULL,
  uid_validity TEXT NOT NULL,
  uid          INTEGER NOT NULL,
  message_id   TEXT,
  disposition  TEXT NOT NULL,
  detail       TEXT,
  event_key    TEXT,
  read_at      TEXT NOT NULL,
  PRIMARY KEY (mailbox, uid_validity, uid)
);
CREATE TABLE IF NOT EXISTS pec_event (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  event_key      TEXT NOT NULL UNIQUE,
  service        TEXT NOT NULL,
  ref_id         TEXT,
  payload        TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('PENDING', 'SENT')),
  attempts       INTEGER NOT NULL DEFAULT 0,
  last_error     TEXT,
  bus_message_id TEXT,
  recorded_at    TEXT NOT NULL,
  sent_at        TEXT
);
CREATE INDEX IF NOT EXISTS pec_event_pending ON pec_event (status, seq);
CREATE TABLE IF NOT EXISTS quarantine (
  mailbox      TEXT NOT NULL,
  uid_validity TEXT NOT NULL,
  uid          INTEGER NOT NULL,
  message_id   TEXT,
  code         TEXT NOT NULL,
  reason       TEXT NOT NULL,
  recorded_at  TEXT NOT NULL,
  moved_at     TEXT,
  PRIMARY KEY (mailbox, uid_validity, uid)
);
`;

export class PecStore {
  private readonly db: AdapterDatabase;

  private constructor(
    file: string,
    private readonly now: () => Date,
  ) {
    // FULL synchronous commits (the opener's): the cursor and the SENT marks are what prevent duplicates.
    this.db = openAdapterStore(file, [SCHEMA]);
  }

  static open(file: string, now: () => Date = () => new Date()): PecStore {
    return new PecStore(file, now);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // -------------------------------------------------------------------------------------------------
  // Egress

  outboundByBusId(busMessageId: string): OutboundRecord | undefined {
    const row = this.db.prepare('SELECT message_id FROM outbound WHERE bus_message_id = ?').get(busMessageId) as
      { message_id: string } | undefined;
    return row ? this.outboundByMessageId(row.message_id) : undefined;
  }

  outboundByMessageId(messageId: string): OutboundRecord | undefined {
    const row = this.db.prepare('SELECT message_id, bus_message_id, status, receipts FROM outbound WHERE message_id = ?').get(messageId) as
      { message_id: string; bus_message_id: string; status: OutboundStatus; receipts: number } | undefined;
    if (!row) return undefined;
    const recipients = (
      this.db.prepare('SELECT address, state, reason FROM outbound_recipient WHERE message_id = ? ORDER BY rowid').all(messageId) as Array<{
        address: string;
        state: RecipientState;
        reason: string | null;
      }>
    ).map((r) => ({ address: r.address, state: r.state, reason: r.reason ?? undefined }));
    return { messageId: row.message_id, busMessageId: row.bus_message_id, status: row.status, receipts: row.receipts, recipients };
  }

  /** Before SMTP: so that a receipt read while (or after a crash while) sending still correlates. Harmless when already recorded. */
  recordSending(m: { busMessageId: string; messageId: string; subject: string; recipients: readonly string[] }): void {
    const at = this.now().toISOString();
    this.db.transaction(() => {
      const inserted = this.db
        .prepare("INSERT OR IGNORE INTO outbound (message_id, bus_message_id, subject, status, recorded_at) VALUES (?, ?, ?, 'SENDING', ?)")
        .run(m.messageId, m.busMessageId, m.subject, at);
      if (inserted.changes === 0) return;
      const add = this.db.prepare(
        "INSERT OR IGNORE INTO outbound_recipient (message_id, address, state, updated_at) VALUES (?, ?, 'PENDING', ?)",
      );
      for (const r of m.recipients) add.run(m.messageId, r, at);
    })();
  }

  /** SMTP took the message: accepted recipients SUBMITTED, those it refused FAILED with its reply. */
  recordSubmitted(messageId: string, result: { response: string; rejected: ReadonlyArray<{ address: string; reason: string }> }): void {
    const at = this.now().toISOString();
    this.db.transaction(() => {
      this.db
        .prepare("UPDATE outbound SET status = 'SUBMITTED', smtp_response = ?, submitted_at = ? WHERE message_id = ?")
        .run(result.response, at, messageId);
      for (const r of result.rejected) this.moveRecipient(messageId, r.address, 'FAILED', r.reason, at);
      this.moveAllRecipients(messageId, 'SUBMITTED', undefined, at);
    })();
  }

  /** SMTP refused the message for good: every recipient not further along FAILED with the server's reply. */
  recordRefused(messageId: string, reason: string): void {
    const at = this.now().toISOString();
    this.db.transaction(() => {
      this.db
        .prepare("UPDATE outbound SET status = 'REFUSED', smtp_response = ? WHERE message_id = ? AND status = 'SENDING'")
        .run(reason, messageId);
      this.moveAllRecipients(messageId, 'FAILED', reason, at);
    })();
  }

  // -------------------------------------------------------------------------------------------------
  // Ingress

  /**
   * The last UID processed in `mailbox` under `uidValidity`. When the server's UIDVALIDITY differs from
   * the one recorded, UIDs are meaningless: the cursor restarts at 0 (`reset`), and the event keys
   * keep what was already processed from being emitted again.
   */
  cursor(mailbox: string, uidValidity: string): { lastUid: number; reset: boolean; previousUidValidity?: string } {
    const row = this.db.prepare('SELECT uid_validity, last_uid FROM mailbox_cursor WHERE mailbox = ?').get(mailbox) as
      { uid_validity: string; last_uid: number } | undefined;
    if (row && row.uid_validity === uidValidity) return { lastUid: row.last_uid, reset: false };
    this.db
      .prepare(
        'INSERT INTO mailbox_cursor (mailbox, uid_validity, last_uid) VALUES (?, ?, 0) ON CONFLICT (mailbox) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = 0',
      )
      .run(mailbox, uidValidity);
    return { lastUid: 0, reset: !!row, ...(row ? { previousUidValidity: row.uid_validity } : {}) };
  }

  /**
   * One message read: its outcome and the cursor past it, in one transaction — so a crash leaves the
   * message either wholly unprocessed (read again, same outcome) or wholly processed (never read again).
   * Returns whether the event is new (false: the same provider message was processed before).
   */
  recordRead(entry: ReadEntry): { newEvent: boolean } {
    const at = this.now().toISOString();
    return this.db.transaction(() => {
      const { mailbox, uidValidity, uid, outcome } = entry;
      let newEvent = false;
      let disposition: string;
      let detail: string | undefined;
      let eventKey: string | undefined;
      switch (outcome.kind) {
        case 'event': {
          eventKey = outcome.event.key;
          const inserted = this.db
            .prepare(
              "INSERT OR IGNORE INTO pec_event (event_key, service, ref_id, payload, status, recorded_at) VALUES (?, ?, ?, ?, 'PENDING', ?)",
            )
            .run(outcome.event.key, outcome.event.service, outcome.event.refId ?? null, outcome.event.payload, at);
          newEvent = inserted.changes === 1;
          disposition = newEvent ? outcome.disposition : 'duplicate';
          if (newEvent && outcome.update) this.applyReceipt(outcome.update, at);
          break;
        }
        case 'quarantined':
          disposition = 'quarantined';
          detail = `${outcome.code}: ${outcome.reason}`;
          this.db
            .prepare(
              'INSERT OR IGNORE INTO quarantine (mailbox, uid_validity, uid, message_id, code, reason, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
            )
            .run(mailbox, uidValidity, uid, entry.messageId ?? null, outcome.code, outcome.reason, at);
          break;
        case 'recorded':
          disposition = outcome.disposition;
          detail = outcome.detail;
          break;
      }
      this.db
        .prepare(
          'INSERT OR IGNORE INTO mailbox_message (mailbox, uid_validity, uid, message_id, disposition, detail, event_key, read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(mailbox, uidValidity, uid, entry.messageId ?? null, disposition, detail ?? null, eventKey ?? null, at);
      this.db
        .prepare('UPDATE mailbox_cursor SET last_uid = max(last_uid, ?) WHERE mailbox = ? AND uid_validity = ?')
        .run(uid, mailbox, uidValidity);
      return { newEvent };
    })();
  }

  /** Quarantined messages still in `mailbox` under this UIDVALIDITY (a crash came between recording and moving). */
  pendingMoves(mailbox: string, uidValidity: string): number[] {
    return (
      this.db
        .prepare('SELECT uid FROM quarantine WHERE mailbox = ? AND uid_validity = ? AND moved_at IS NULL ORDER BY uid')
        .all(mailbox, uidValidity) as Array<{ uid: number }>
    ).map((r) => r.uid);
  }

  markMoved(mailbox: string, uidValidity: string, uid: number): void {
    this.db
      .prepare('UPDATE quarantine SET moved_at = ? WHERE mailbox = ? AND uid_validity = ? AND uid = ?')
      .run(this.now().toISOString(), mailbox, uidValidity, uid);
  }

  /** PENDING events after `afterSeq`, oldest first. */
  pendingEvents(afterSeq = 0, limit = 50): PendingEvent[] {
    const rows = this.db
      .prepare(
        "SELECT seq, event_key, service, ref_id, payload, attempts FROM pec_event WHERE status = 'PENDING' AND seq > ? ORDER BY seq LIMIT ?",
      )
      .all(afterSeq, limit) as Array<{
      seq: number;
      event_key: string;
      service: string;
      ref_id: string | null;
      payload: string;
      attempts: number;
    }>;
    return rows.map((r) => ({
      seq: r.seq,
      key: r.event_key,
      service: r.service,
      ...(r.ref_id ? { refId: r.ref_id } : {}),
      payload: r.payload,
      attempts: r.attempts,
    }));
  }

  markEventSent(seq: number, busMessageId: string): void {
    this.db
      .prepare(
        "UPDATE pec_event SET status = 'SENT', bus_message_id = ?, sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE seq = ?",
      )
      .run(busMessageId, this.now().toISOString(), seq);
  }

  markEventFailed(seq: number, error: string): void {
    this.db.prepare('UPDATE pec_event SET attempts = attempts + 1, last_error = ? WHERE seq = ?').run(error, seq);
  }

  counts(): { quarantined: number; pendingEvents: number; failingEvents: number; outbound: number } {
    const one = (sql: string) => (this.db.prepare(sql).get() as { n: number }).n;
    return {
      quarantined: one('SELECT count(*) AS n FROM quarantine'),
      pendingEvents: one("SELECT count(*) AS n FROM pec_event WHERE status = 'PENDING'"),
      failingEvents: one("SELECT count(*) AS n FROM pec_event WHERE status = 'PENDING' AND attempts > 0"),
      outbound: one('SELECT count(*) AS n FROM outbound'),
    };
  }

  // -------------------------------------------------------------------------------------------------

  private applyReceipt(update: RecipientUpdate, at: string): void {
    this.db.prepare('UPDATE outbound SET receipts = receipts + 1 WHERE message_id = ?').run(update.messageId);
    if (update.recipient) this.moveRecipient(update.messageId, update.recipient, update.state, update.reason, at);
    else this.moveAllRecipients(update.messageId, update.state, update.reason, at);
  }

  private moveRecipient(messageId: string, address: string, state: RecipientState, reason: string | undefined, at: string): void {
    const row = this.db.prepare('SELECT state FROM outbound_recipient WHERE message_id = ? AND address = ?').get(messageId, address) as
      { state: RecipientState } | undefined;
    if (!row || RANK[state] <= RANK[row.state]) return;
    this.db
      .prepare('UPDATE outbound_recipient SET state = ?, reason = ?, updated_at = ? WHERE message_id = ? AND address = ?')
      .run(state, reason ?? null, at, messageId, address);
  }

  private moveAllRecipients(messageId: string, state: RecipientState, reason: string | undefined, at: string): void {
    const rows = this.db.prepare('SELECT address FROM outbound_recipient WHERE message_id = ?').all(messageId) as Array<{
      address: string;
    }>;
    for (const r of rows) this.moveRecipient(messageId, r.address, state, reason, at);
  }
}
