/**
 * What the PEC adapter remembers, in its adapter store `pec` (the SQLite file `pec.sqlite` in its data
 * folder, or a PostgreSQL schema of its own shared by every node process running the adapter):
 * - `outbound`, `outbound_recipient`: each message sent (Message-ID ↔ bus message id) and the state of
 *   each recipient as the provider's receipts tell it;
 * - `mailbox_cursor`: per mailbox, the UIDVALIDITY read and the last UID processed;
 * - `mailbox_message`: what became of every message read (event, quarantined, not PEC…);
 * - `pec_event`: the bus messages ingress owes, keyed by what the provider message *is* (see
 *   `eventKey` in pec-ingest.ts), PENDING until the bus has taken them;
 * - `quarantine`: provider messages that must not be acted on, and whether they were moved yet.
 *
 * The rule that makes ingress idempotent: a message's outcome (event, recipient states, quarantine
 * row) and the advance of the UID cursor past it are one transaction (`recordRead`), which commits only
 * while the caller still holds the mailbox reader's lease (its `fence`): of several processes, one reads
 * the mailbox at a time, and a stale one cannot move the cursor. Sending the events is a separate step
 * that only reads PENDING rows and marks them SENT. Unique keys (event key, Message-ID, bus id) make a
 * second write of the same thing a no-op on either engine.
 */
import type { AdapterStore, AdapterStoreOpener, StoreMigration, StoreQueries } from '../sdk/index.js';

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

/** The schema as pec.sqlite had it before the adapter store: run unchanged, so files written then open as they are. */
const SQLITE_SCHEMA = `
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

/** The same final tables in PostgreSQL: addresses compared case-insensitively by index, not by collation. */
const POSTGRES_SCHEMA = `
CREATE TABLE outbound (
  message_id       TEXT PRIMARY KEY,
  bus_message_id   TEXT NOT NULL UNIQUE,
  subject          TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('SENDING', 'SUBMITTED', 'REFUSED')),
  smtp_response    TEXT,
  receipts         INTEGER NOT NULL DEFAULT 0,
  recorded_at      TEXT NOT NULL,
  submitted_at     TEXT,
  sending_until_ms BIGINT
);
CREATE TABLE outbound_recipient (
  message_id TEXT NOT NULL REFERENCES outbound (message_id),
  address    TEXT NOT NULL,
  state      TEXT NOT NULL,
  reason     TEXT,
  updated_at TEXT NOT NULL,
  position   INTEGER,
  PRIMARY KEY (message_id, address)
);
CREATE UNIQUE INDEX outbound_recipient_nocase ON outbound_recipient (message_id, lower(address));
CREATE TABLE mailbox_cursor (
  mailbox      TEXT PRIMARY KEY,
  uid_validity TEXT NOT NULL,
  last_uid     BIGINT NOT NULL
);
CREATE TABLE mailbox_message (
  mailbox      TEXT NOT NULL,
  uid_validity TEXT NOT NULL,
  uid          BIGINT NOT NULL,
  message_id   TEXT,
  disposition  TEXT NOT NULL,
  detail       TEXT,
  event_key    TEXT,
  read_at      TEXT NOT NULL,
  PRIMARY KEY (mailbox, uid_validity, uid)
);
CREATE TABLE pec_event (
  seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
CREATE INDEX pec_event_pending ON pec_event (status, seq);
CREATE TABLE quarantine (
  mailbox      TEXT NOT NULL,
  uid_validity TEXT NOT NULL,
  uid          BIGINT NOT NULL,
  message_id   TEXT,
  code         TEXT NOT NULL,
  reason       TEXT NOT NULL,
  recorded_at  TEXT NOT NULL,
  moved_at     TEXT,
  PRIMARY KEY (mailbox, uid_validity, uid)
);
`;

/**
 * Step 1 is the schema pec.sqlite always had; step 2 adds, on SQLite, what PostgreSQL's step 1 already
 * has: the recipients' order as a column (PostgreSQL has no rowid) and the egress claim.
 */
export const PEC_STORE_MIGRATIONS: readonly StoreMigration[] = [
  { sqlite: SQLITE_SCHEMA, postgres: POSTGRES_SCHEMA },
  {
    sqlite: `ALTER TABLE outbound_recipient ADD COLUMN position INTEGER;
UPDATE outbound_recipient SET position = rowid;
ALTER TABLE outbound ADD COLUMN sending_until_ms BIGINT;`,
  },
];

/** The store's name: `pec.sqlite` in the data folder, as before the adapter store. */
export const PEC_STORE_NAME = 'pec';

/**
 * How long one process's SMTP submission of a message keeps another from submitting it too: longer than
 * a submission can take (connection, greeting and socket timeouts of pec-smtp-sender.ts), short enough
 * that a crash mid-submission delays the resend by minutes, not hours.
 */
export const EGRESS_CLAIM_MS = 5 * 60_000;

/** Whether the caller still holds the right to read the mailbox, asked inside the transaction that would commit. */
export type ReaderFence = (tx: StoreQueries) => Promise<boolean>;

/** What `claimSending` found. */
export type SendingClaim =
  /** Recorded SENDING and claimed by the caller: submit it now, with this Message-ID (the one recorded first). */
  | { readonly kind: 'send'; readonly messageId: string }
  /** The provider has it already (SUBMITTED, or a receipt came): nothing to send. */
  | { readonly kind: 'sent'; readonly record: OutboundRecord }
  /** Another submission (of this process or another) is under way and has not expired. */
  | { readonly kind: 'busy' };

type RecipientRow = { address: string; state: RecipientState; reason: string | null };

export class PecStore {
  private constructor(
    private readonly store: AdapterStore,
    private readonly now: () => Date,
  ) {}

  /** Opens (creating or migrating) the adapter's `pec` store. FULL commits: the cursor and the SENT marks are what prevent duplicates. */
  static async open(openStore: AdapterStoreOpener, now: () => Date = () => new Date()): Promise<PecStore> {
    return new PecStore(await openStore(PEC_STORE_NAME, PEC_STORE_MIGRATIONS), now);
  }

  /** The store underneath: for the reader's lease, which lives in the same place. */
  get adapterStore(): AdapterStore {
    return this.store;
  }

  close(): Promise<void> {
    return this.store.close();
  }

  // -------------------------------------------------------------------------------------------------
  // Egress

  async outboundByBusId(busMessageId: string): Promise<OutboundRecord | undefined> {
    return outboundByBusId(this.store, busMessageId);
  }

  async outboundByMessageId(messageId: string): Promise<OutboundRecord | undefined> {
    return outboundByMessageId(this.store, messageId);
  }

  /**
   * Before SMTP: records the message SENDING (so that a receipt read while, or after a crash while,
   * sending still correlates) and claims its submission for `EGRESS_CLAIM_MS` — unless it was sent
   * already, or another submission holds the claim. One transaction under the bus id's lock: of two
   * processes given the same bus message at once, one sends.
   */
  async claimSending(m: {
    busMessageId: string;
    messageId: string;
    subject: string;
    recipients: readonly string[];
  }): Promise<SendingClaim> {
    const at = this.now();
    return this.store.transaction(async (tx) => {
      await tx.lock(`outbound ${m.busMessageId}`);
      const known = await outboundByBusId(tx, m.busMessageId);
      if (known && (known.status === 'SUBMITTED' || known.receipts > 0)) return { kind: 'sent', record: known };
      if (known) {
        const claim = await tx.get<{ sending_until_ms: number | null }>('SELECT sending_until_ms FROM outbound WHERE message_id = ?', [
          known.messageId,
        ]);
        if ((claim?.sending_until_ms ?? 0) > at.getTime()) return { kind: 'busy' };
        await tx.run('UPDATE outbound SET sending_until_ms = ? WHERE message_id = ?', [at.getTime() + EGRESS_CLAIM_MS, known.messageId]);
        return { kind: 'send', messageId: known.messageId };
      }
      await tx.run(
        "INSERT INTO outbound (message_id, bus_message_id, subject, status, recorded_at, sending_until_ms) VALUES (?, ?, ?, 'SENDING', ?, ?)",
        [m.messageId, m.busMessageId, m.subject, at.toISOString(), at.getTime() + EGRESS_CLAIM_MS],
      );
      for (const [position, address] of m.recipients.entries()) {
        // A recipient named twice (in any case) is one recipient.
        await tx.run(
          "INSERT INTO outbound_recipient (message_id, address, state, updated_at, position) VALUES (?, ?, 'PENDING', ?, ?) ON CONFLICT DO NOTHING",
          [m.messageId, address, at.toISOString(), position],
        );
      }
      return { kind: 'send', messageId: m.messageId };
    });
  }

  /** A submission that failed and may be tried again: the claim is given up, the message stays SENDING. */
  async releaseSending(messageId: string): Promise<void> {
    await this.store.run("UPDATE outbound SET sending_until_ms = NULL WHERE message_id = ? AND status = 'SENDING'", [messageId]);
  }

  /** SMTP took the message: accepted recipients SUBMITTED, those it refused FAILED with its reply. */
  async recordSubmitted(
    messageId: string,
    result: { response: string; rejected: ReadonlyArray<{ address: string; reason: string }> },
  ): Promise<void> {
    const at = this.now().toISOString();
    await this.store.transaction(async (tx) => {
      await tx.run(
        "UPDATE outbound SET status = 'SUBMITTED', smtp_response = ?, submitted_at = ?, sending_until_ms = NULL WHERE message_id = ?",
        [result.response, at, messageId],
      );
      for (const r of result.rejected) await moveRecipient(tx, messageId, r.address, 'FAILED', r.reason, at);
      await moveAllRecipients(tx, messageId, 'SUBMITTED', undefined, at);
    });
  }

  /** SMTP refused the message for good: every recipient not further along FAILED with the server's reply. */
  async recordRefused(messageId: string, reason: string): Promise<void> {
    const at = this.now().toISOString();
    await this.store.transaction(async (tx) => {
      await tx.run(
        "UPDATE outbound SET status = 'REFUSED', smtp_response = ?, sending_until_ms = NULL WHERE message_id = ? AND status = 'SENDING'",
        [reason, messageId],
      );
      await moveAllRecipients(tx, messageId, 'FAILED', reason, at);
    });
  }

  // -------------------------------------------------------------------------------------------------
  // Ingress

  /**
   * The last UID processed in `mailbox` under `uidValidity`. When the server's UIDVALIDITY differs from
   * the one recorded, UIDs are meaningless: the cursor restarts at 0 (`reset`), and the event keys
   * keep what was already processed from being emitted again. Undefined when `fence` says the caller
   * no longer reads the mailbox (nothing changed).
   */
  async cursor(
    mailbox: string,
    uidValidity: string,
    fence: ReaderFence,
  ): Promise<{ lastUid: number; reset: boolean; previousUidValidity?: string } | undefined> {
    return this.store.transaction(async (tx) => {
      if (!(await fence(tx))) return undefined;
      const row = await tx.get<{ uid_validity: string; last_uid: number }>(
        'SELECT uid_validity, last_uid FROM mailbox_cursor WHERE mailbox = ?',
        [mailbox],
      );
      if (row && row.uid_validity === uidValidity) return { lastUid: row.last_uid, reset: false };
      await tx.run(
        'INSERT INTO mailbox_cursor (mailbox, uid_validity, last_uid) VALUES (?, ?, 0) ON CONFLICT (mailbox) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = 0',
        [mailbox, uidValidity],
      );
      return { lastUid: 0, reset: !!row, ...(row ? { previousUidValidity: row.uid_validity } : {}) };
    });
  }

  /**
   * One message read: its outcome and the cursor past it, in one transaction — so a crash leaves the
   * message either wholly unprocessed (read again, same outcome) or wholly processed (never read again)
   * — committed only while `fence` says the caller still reads the mailbox: a reader whose lease passed
   * to another process records nothing (undefined) and must stop. `newEvent`: false when the same
   * provider message was processed before.
   */
  async recordRead(entry: ReadEntry, fence: ReaderFence): Promise<{ newEvent: boolean } | undefined> {
    const at = this.now().toISOString();
    return this.store.transaction(async (tx) => {
      if (!(await fence(tx))) return undefined;
      const { mailbox, uidValidity, uid, outcome } = entry;
      let newEvent = false;
      let disposition: string;
      let detail: string | undefined;
      let eventKey: string | undefined;
      switch (outcome.kind) {
        case 'event': {
          eventKey = outcome.event.key;
          const inserted = await tx.run(
            "INSERT INTO pec_event (event_key, service, ref_id, payload, status, recorded_at) VALUES (?, ?, ?, ?, 'PENDING', ?) ON CONFLICT (event_key) DO NOTHING",
            [outcome.event.key, outcome.event.service, outcome.event.refId ?? null, outcome.event.payload, at],
          );
          newEvent = inserted.changes === 1;
          disposition = newEvent ? outcome.disposition : 'duplicate';
          if (newEvent && outcome.update) await applyReceipt(tx, outcome.update, at);
          break;
        }
        case 'quarantined':
          disposition = 'quarantined';
          detail = `${outcome.code}: ${outcome.reason}`;
          await tx.run(
            'INSERT INTO quarantine (mailbox, uid_validity, uid, message_id, code, reason, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (mailbox, uid_validity, uid) DO NOTHING',
            [mailbox, uidValidity, uid, entry.messageId ?? null, outcome.code, outcome.reason, at],
          );
          break;
        case 'recorded':
          disposition = outcome.disposition;
          detail = outcome.detail;
          break;
      }
      await tx.run(
        'INSERT INTO mailbox_message (mailbox, uid_validity, uid, message_id, disposition, detail, event_key, read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (mailbox, uid_validity, uid) DO NOTHING',
        [mailbox, uidValidity, uid, entry.messageId ?? null, disposition, detail ?? null, eventKey ?? null, at],
      );
      await tx.run('UPDATE mailbox_cursor SET last_uid = ? WHERE mailbox = ? AND uid_validity = ? AND last_uid < ?', [
        uid,
        mailbox,
        uidValidity,
        uid,
      ]);
      return { newEvent };
    });
  }

  /** Quarantined messages still in `mailbox` under this UIDVALIDITY (a crash came between recording and moving). */
  async pendingMoves(mailbox: string, uidValidity: string): Promise<number[]> {
    const rows = await this.store.all<{ uid: number }>(
      'SELECT uid FROM quarantine WHERE mailbox = ? AND uid_validity = ? AND moved_at IS NULL ORDER BY uid',
      [mailbox, uidValidity],
    );
    return rows.map((r) => r.uid);
  }

  async markMoved(mailbox: string, uidValidity: string, uid: number): Promise<void> {
    await this.store.run('UPDATE quarantine SET moved_at = ? WHERE mailbox = ? AND uid_validity = ? AND uid = ?', [
      this.now().toISOString(),
      mailbox,
      uidValidity,
      uid,
    ]);
  }

  /** PENDING events after `afterSeq`, oldest first. */
  async pendingEvents(afterSeq = 0, limit = 50): Promise<PendingEvent[]> {
    const rows = await this.store.all<{
      seq: number;
      event_key: string;
      service: string;
      ref_id: string | null;
      payload: string;
      attempts: number;
    }>(
      "SELECT seq, event_key, service, ref_id, payload, attempts FROM pec_event WHERE status = 'PENDING' AND seq > ? ORDER BY seq LIMIT ?",
      [afterSeq, limit],
    );
    return rows.map((r) => ({
      seq: r.seq,
      key: r.event_key,
      service: r.service,
      ...(r.ref_id ? { refId: r.ref_id } : {}),
      payload: r.payload,
      attempts: r.attempts,
    }));
  }

  /** Asked just before event `seq` is sent on the bus: still PENDING, already SENT, or `fence` no longer holds. */
  async eventToSend(seq: number, fence: ReaderFence): Promise<'pending' | 'sent' | 'fenced'> {
    return this.store.transaction(async (tx) => {
      if (!(await fence(tx))) return 'fenced';
      const row = await tx.get("SELECT 1 AS pending FROM pec_event WHERE seq = ? AND status = 'PENDING'", [seq]);
      return row ? 'pending' : 'sent';
    });
  }

  async markEventSent(seq: number, busMessageId: string): Promise<void> {
    await this.store.run(
      "UPDATE pec_event SET status = 'SENT', bus_message_id = ?, sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE seq = ?",
      [busMessageId, this.now().toISOString(), seq],
    );
  }

  async markEventFailed(seq: number, error: string): Promise<void> {
    await this.store.run('UPDATE pec_event SET attempts = attempts + 1, last_error = ? WHERE seq = ?', [error, seq]);
  }

  async counts(): Promise<{ quarantined: number; pendingEvents: number; failingEvents: number; outbound: number }> {
    const row = await this.store.get<{ quarantined: number; pending_events: number; failing_events: number; outbound: number }>(
      `SELECT (SELECT count(*) FROM quarantine) AS quarantined,
        (SELECT count(*) FROM pec_event WHERE status = 'PENDING') AS pending_events,
        (SELECT count(*) FROM pec_event WHERE status = 'PENDING' AND attempts > 0) AS failing_events,
        (SELECT count(*) FROM outbound) AS outbound`,
    );
    return {
      quarantined: row!.quarantined,
      pendingEvents: row!.pending_events,
      failingEvents: row!.failing_events,
      outbound: row!.outbound,
    };
  }
}

// ---------------------------------------------------------------------------------------------------
// Statements shared by the store's own reads and its transactions.

async function outboundByBusId(q: StoreQueries, busMessageId: string): Promise<OutboundRecord | undefined> {
  const row = await q.get<{ message_id: string }>('SELECT message_id FROM outbound WHERE bus_message_id = ?', [busMessageId]);
  return row ? outboundByMessageId(q, row.message_id) : undefined;
}

async function outboundByMessageId(q: StoreQueries, messageId: string): Promise<OutboundRecord | undefined> {
  const row = await q.get<{ message_id: string; bus_message_id: string; status: OutboundStatus; receipts: number }>(
    'SELECT message_id, bus_message_id, status, receipts FROM outbound WHERE message_id = ?',
    [messageId],
  );
  if (!row) return undefined;
  const recipients = (
    await q.all<RecipientRow>('SELECT address, state, reason FROM outbound_recipient WHERE message_id = ? ORDER BY position, address', [
      messageId,
    ])
  ).map((r) => ({ address: r.address, state: r.state, reason: r.reason ?? undefined }));
  return { messageId: row.message_id, busMessageId: row.bus_message_id, status: row.status, receipts: row.receipts, recipients };
}

async function applyReceipt(tx: StoreQueries, update: RecipientUpdate, at: string): Promise<void> {
  await tx.run('UPDATE outbound SET receipts = receipts + 1 WHERE message_id = ?', [update.messageId]);
  if (update.recipient) await moveRecipient(tx, update.messageId, update.recipient, update.state, update.reason, at);
  else await moveAllRecipients(tx, update.messageId, update.state, update.reason, at);
}

/** Recipients are one whatever the case of their address (SQLite's NOCASE column, PostgreSQL's index on lower()). */
async function moveRecipient(
  tx: StoreQueries,
  messageId: string,
  address: string,
  state: RecipientState,
  reason: string | undefined,
  at: string,
): Promise<void> {
  const row = await tx.get<{ address: string; state: RecipientState }>(
    'SELECT address, state FROM outbound_recipient WHERE message_id = ? AND lower(address) = lower(?)',
    [messageId, address],
  );
  if (!row || RANK[state] <= RANK[row.state]) return;
  await tx.run('UPDATE outbound_recipient SET state = ?, reason = ?, updated_at = ? WHERE message_id = ? AND address = ?', [
    state,
    reason ?? null,
    at,
    messageId,
    row.address,
  ]);
}

async function moveAllRecipients(
  tx: StoreQueries,
  messageId: string,
  state: RecipientState,
  reason: string | undefined,
  at: string,
): Promise<void> {
  const rows = await tx.all<{ address: string }>('SELECT address FROM outbound_recipient WHERE message_id = ?', [messageId]);
  for (const r of rows) await moveRecipient(tx, messageId, r.address, state, reason, at);
}
