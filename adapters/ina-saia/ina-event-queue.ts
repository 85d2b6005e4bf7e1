/**
 * The Comune's queue of registry events towards INA, in the adapter's store (SQLite in its folder, or
 * PostgreSQL shared by the node's processes), so that it survives restarts. Order is per person: the
 * events of one codice fiscale are taken strictly in the order they were accepted (`seq`), each only
 * once the one before has an outcome; different people proceed independently. `dueHeads` is that rule
 * in one query; `claim` makes it hold across processes: a dispatcher sends an event only after
 * claiming it, under the person's lock, as its person's head, unclaimed by any other dispatcher.
 *
 *   QUEUED ──▶ SENT ──▶ ACCEPTED | REJECTED   (INA's esito)
 *     ▲          │  └──▶ FAILED               (refused for good before reaching INA, or an unreadable esito)
 *     └──────────┘ transport failure: QUEUED again with a later next_attempt_at
 */
import { isDeepStrictEqual } from 'node:util';
import { TramiteError } from '../../src/core/errors.js';
import type { AdapterStore, AdapterStoreOpener, StoreMigration } from '../sdk/index.js';
import type { EsitoIna } from './ina-mapping.js';
import { kindOf, type RegistryEvent, type RegistryEventKind } from './registry-event.js';

export type EventState = 'QUEUED' | 'SENT' | 'ACCEPTED' | 'REJECTED' | 'FAILED';
const PENDING: readonly EventState[] = ['QUEUED', 'SENT'];

export interface EventRecord {
  readonly id: string;
  readonly seq: number;
  readonly kind: RegistryEventKind;
  readonly event: RegistryEvent;
  readonly state: EventState;
  /** Bus messages sent for it so far (a transport failure makes another). */
  readonly attempts: number;
  /** The sealed Comunicazione, built once: every attempt carries the same document. */
  readonly comunicazioneXml?: string;
  /** The bus message of the latest attempt, once the bus gave its id. */
  readonly messageId?: string;
  /** Not before this instant (ISO): the retry delay. */
  readonly nextAttemptAt?: string;
  readonly esito?: EsitoIna;
  /** Why the latest attempt failed, or why the event FAILED. */
  readonly lastError?: { readonly code: string; readonly message: string };
  readonly createdAt: string;
  readonly updatedAt: string;
  /** When the back office was told the outcome. */
  readonly notifiedAt?: string;
}

type Row = {
  seq: number;
  id: string;
  codice_fiscale: string;
  riferimento_comune: string | null;
  event_json: string;
  state: EventState;
  attempts: number;
  comunicazione_xml: string | null;
  message_id: string | null;
  next_attempt_at: string | null;
  esito_json: string | null;
  last_error_json: string | null;
  created_at: string;
  updated_at: string;
  notified_at: string | null;
  claim_holder: string | null;
  claim_until_ms: number | null;
};

/** The riferimentoComune of a new event was already used for a different event. */
export class DuplicateReferenceError extends TramiteError {
  readonly field = 'riferimentoComune';
  constructor(
    readonly riferimentoComune: string,
    readonly existingId: string,
  ) {
    super('TRAMITE_ERR_BAD_REQUEST', `riferimentoComune: "${riferimentoComune}" already names event ${existingId}, with different content`);
  }
}

/** The store's name: on SQLite the file `ina-saia-eventi.sqlite` the adapter has always used. */
export const EVENT_STORE = 'ina-saia-eventi';

export const EVENT_MIGRATIONS: readonly StoreMigration[] = [
  {
    sqlite: `CREATE TABLE IF NOT EXISTS events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     codice_fiscale TEXT NOT NULL,
     riferimento_comune TEXT UNIQUE,
     event_json TEXT NOT NULL,
     state TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     comunicazione_xml TEXT, message_id TEXT, next_attempt_at TEXT,
     esito_json TEXT, last_error_json TEXT,
     created_at TEXT NOT NULL, updated_at TEXT NOT NULL, notified_at TEXT);
   CREATE INDEX IF NOT EXISTS events_person ON events (codice_fiscale, seq);
   CREATE INDEX IF NOT EXISTS events_pending ON events (state) WHERE state IN ('QUEUED', 'SENT')`,
    postgres: `CREATE TABLE events (
     seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     codice_fiscale TEXT NOT NULL,
     riferimento_comune TEXT UNIQUE,
     event_json TEXT NOT NULL,
     state TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     comunicazione_xml TEXT, message_id TEXT, next_attempt_at TEXT,
     esito_json TEXT, last_error_json TEXT,
     created_at TEXT NOT NULL, updated_at TEXT NOT NULL, notified_at TEXT);
   CREATE INDEX events_person ON events (codice_fiscale, seq);
   CREATE INDEX events_pending ON events (state) WHERE state IN ('QUEUED', 'SENT')`,
  },
  // Which dispatcher handles the event now, until when (ms): what keeps a person's order across processes.
  'ALTER TABLE events ADD COLUMN claim_holder TEXT; ALTER TABLE events ADD COLUMN claim_until_ms BIGINT',
];

/** A person's oldest pending event (its head): no pending event of the same person before it. */
const IS_HEAD = `NOT EXISTS (SELECT 1 FROM events p WHERE p.codice_fiscale = e.codice_fiscale AND p.seq < e.seq AND p.state IN ('QUEUED', 'SENT'))`;

/** Settled or put back: no dispatcher handles it any more. */
const UNCLAIMED = 'claim_holder = NULL, claim_until_ms = NULL';

export class InaEventQueue {
  private constructor(
    private readonly store: AdapterStore,
    private readonly clock: { now(): Date },
  ) {}

  static async open(openStore: AdapterStoreOpener, clock: { now(): Date } = { now: () => new Date() }): Promise<InaEventQueue> {
    return new InaEventQueue(await openStore(EVENT_STORE, EVENT_MIGRATIONS), clock);
  }

  /**
   * Appends an event at the end of its person's line. A riferimentoComune already used for the same
   * event gives back the existing record (`created: false`: the registry software retried its POST);
   * used for a different one, DuplicateReferenceError.
   */
  enqueue(id: string, event: RegistryEvent): Promise<{ record: EventRecord; created: boolean }> {
    return this.store.transaction(async (tx) => {
      if (event.riferimentoComune !== undefined) {
        // Two processes given the same reference at once: one inserts, the other finds it.
        await tx.lock(`riferimento:${event.riferimentoComune}`);
        const existing = await tx.get<Row>('SELECT * FROM events WHERE riferimento_comune = ?', [event.riferimentoComune]);
        if (existing) {
          const record = toRecord(existing);
          if (!isDeepStrictEqual(record.event, event)) throw new DuplicateReferenceError(event.riferimentoComune, existing.id);
          return { record, created: false };
        }
      }
      const now = this.now();
      const row = await tx.get<Row>(
        "INSERT INTO events (id, codice_fiscale, riferimento_comune, event_json, state, created_at, updated_at) VALUES (?, ?, ?, ?, 'QUEUED', ?, ?) RETURNING *",
        [id, event.soggetto.codiceFiscale, event.riferimentoComune ?? null, JSON.stringify(event), now, now],
      );
      return { record: toRecord(row!), created: true };
    });
  }

  async get(id: string): Promise<EventRecord | undefined> {
    const row = await this.store.get<Row>('SELECT * FROM events WHERE id = ?', [id]);
    return row ? toRecord(row) : undefined;
  }

  /** One person's events, oldest first. */
  async byPerson(codiceFiscale: string): Promise<EventRecord[]> {
    return (await this.store.all<Row>('SELECT * FROM events WHERE codice_fiscale = ? ORDER BY seq', [codiceFiscale])).map(toRecord);
  }

  /**
   * The events that may go now: for each person, the oldest pending event — and only if it is due
   * (its retry delay is over), its person is not `busy` (already being handled here) and no other
   * dispatcher holds a live claim on it. An event behind a pending one is never returned, however long
   * the one before it takes. A candidate still has to be claimed (`claim`) before it is sent.
   */
  async dueHeads(busy: ReadonlySet<string>, limit: number, holder: string): Promise<EventRecord[]> {
    if (limit <= 0) return [];
    const rows = await this.store.all<Row>(
      `SELECT e.* FROM events e
       WHERE e.state IN ('QUEUED', 'SENT')
         AND (e.next_attempt_at IS NULL OR e.next_attempt_at <= ?)
         AND (e.claim_holder IS NULL OR e.claim_holder = ? OR e.claim_until_ms < ?)
         AND ${IS_HEAD}
       ORDER BY e.seq`,
      [this.now(), holder, this.clock.now().getTime()],
    );
    return rows
      .filter((r) => !busy.has(r.codice_fiscale))
      .slice(0, limit)
      .map(toRecord);
  }

  /**
   * Claims the event for `holder` until `untilMs`, under its person's lock: only when it is still its
   * person's head, pending and due, and no other dispatcher's claim on it is live. Gives the event as it
   * is now (another process may have moved it on), or undefined when it is not this holder's to send.
   */
  claim(record: EventRecord, holder: string, untilMs: number): Promise<EventRecord | undefined> {
    const person = record.event.soggetto.codiceFiscale;
    return this.store.transaction(async (tx) => {
      await tx.lock(`person:${person}`);
      const head = await tx.get<Row>("SELECT * FROM events WHERE codice_fiscale = ? AND state IN ('QUEUED', 'SENT') ORDER BY seq LIMIT 1", [
        person,
      ]);
      const now = this.clock.now();
      if (!head || head.id !== record.id) return undefined;
      if (head.next_attempt_at !== null && head.next_attempt_at > now.toISOString()) return undefined;
      if (head.claim_holder !== null && head.claim_holder !== holder && head.claim_until_ms! >= now.getTime()) return undefined;
      const claimed = await tx.get<Row>('UPDATE events SET claim_holder = ?, claim_until_ms = ? WHERE id = ? RETURNING *', [
        holder,
        untilMs,
        record.id,
      ]);
      return toRecord(claimed!);
    });
  }

  /** Drops the claims of `holder` (a dispatcher that stops): their events may be taken at once by another. */
  async releaseClaims(holder: string): Promise<void> {
    await this.store.run(`UPDATE events SET ${UNCLAIMED} WHERE claim_holder = ?`, [holder]);
  }

  /**
   * The earliest instant a waiting head becomes due (for the wake-up timer), if any is waiting: its
   * retry delay, or the end of another dispatcher's claim on it (a process that died leaves it there).
   */
  async nextDueAt(holder: string): Promise<string | undefined> {
    const now = this.clock.now();
    const retry = await this.store.get<{ at: string | null }>(
      `SELECT MIN(e.next_attempt_at) AS at FROM events e
       WHERE e.state IN ('QUEUED', 'SENT') AND e.next_attempt_at > ? AND ${IS_HEAD}`,
      [now.toISOString()],
    );
    const claim = await this.store.get<{ at: number | null }>(
      `SELECT MIN(e.claim_until_ms) AS at FROM events e
       WHERE e.state IN ('QUEUED', 'SENT') AND e.claim_holder <> ? AND e.claim_until_ms >= ? AND ${IS_HEAD}`,
      [holder, now.getTime()],
    );
    const claimEnds = claim?.at ?? undefined;
    const times = [retry?.at ?? undefined, claimEnds !== undefined ? new Date(claimEnds + 1).toISOString() : undefined].filter(
      (t): t is string => t !== undefined,
    );
    return times.length === 0 ? undefined : times.sort()[0];
  }

  /**
   * At start: every pending event is due now. A restart is usually someone fixing what made the
   * attempts fail (the network, the configuration); sitting out the old back-off would only delay.
   */
  async resumePending(): Promise<number> {
    await this.store.run("UPDATE events SET next_attempt_at = NULL WHERE state IN ('QUEUED', 'SENT')");
    return this.countPending();
  }

  /** A new attempt starts: the sealed document is kept for every later attempt, and the previous message is forgotten. */
  async startAttempt(id: string, comunicazioneXml: string): Promise<EventRecord> {
    const row = await this.store.get<Row>(
      "UPDATE events SET state = 'SENT', attempts = attempts + 1, comunicazione_xml = ?, message_id = NULL, next_attempt_at = NULL, updated_at = ? WHERE id = ? RETURNING *",
      [comunicazioneXml, this.now(), id],
    );
    return toRecord(row!);
  }

  async recordMessage(id: string, messageId: string): Promise<void> {
    await this.store.run('UPDATE events SET message_id = ?, updated_at = ? WHERE id = ?', [messageId, this.now(), id]);
  }

  /**
   * Try again at `at`. With `keepMessage` the attempt's bus message may still deliver (the wait timed
   * out): the next round asks the bus about it before sending anything. Without, it is dropped and the
   * event is QUEUED for a new message.
   */
  async retryLater(id: string, at: Date, error: { code: string; message: string } | undefined, keepMessage: boolean): Promise<void> {
    await this.store.run(
      `UPDATE events SET state = CASE WHEN ? = 1 THEN 'SENT' ELSE 'QUEUED' END, message_id = CASE WHEN ? = 1 THEN message_id ELSE NULL END,
         next_attempt_at = ?, last_error_json = COALESCE(?, last_error_json), updated_at = ?, ${UNCLAIMED} WHERE id = ?`,
      [keepMessage ? 1 : 0, keepMessage ? 1 : 0, at.toISOString(), error ? JSON.stringify(error) : null, this.now(), id],
    );
  }

  /** INA answered: ACCEPTED or REJECTED, with the esito. */
  async recordEsito(id: string, esito: EsitoIna): Promise<EventRecord> {
    const state: EventState = esito.stato === 'ACCETTATA' ? 'ACCEPTED' : 'REJECTED';
    const row = await this.store.get<Row>(
      `UPDATE events SET state = ?, esito_json = ?, next_attempt_at = NULL, updated_at = ?, ${UNCLAIMED} WHERE id = ? RETURNING *`,
      [state, JSON.stringify(esito), this.now(), id],
    );
    return toRecord(row!);
  }

  /** The event cannot reach INA, or INA's answer cannot be read: FAILED, for good. */
  async recordFailure(id: string, error: { code: string; message: string }): Promise<EventRecord> {
    const row = await this.store.get<Row>(
      `UPDATE events SET state = 'FAILED', last_error_json = ?, next_attempt_at = NULL, updated_at = ?, ${UNCLAIMED} WHERE id = ? RETURNING *`,
      [JSON.stringify(error), this.now(), id],
    );
    return toRecord(row!);
  }

  /** Outcomes the back office has not been told yet, oldest first. */
  async unnotified(limit = 100): Promise<EventRecord[]> {
    return (
      await this.store.all<Row>(
        "SELECT * FROM events WHERE state IN ('ACCEPTED', 'REJECTED', 'FAILED') AND notified_at IS NULL ORDER BY seq LIMIT ?",
        [limit],
      )
    ).map(toRecord);
  }

  async markNotified(id: string): Promise<void> {
    await this.store.run('UPDATE events SET notified_at = ? WHERE id = ?', [this.now(), id]);
  }

  async countPending(): Promise<number> {
    const row = await this.store.get<{ n: number }>(
      `SELECT COUNT(*) AS n FROM events WHERE state IN (${PENDING.map(() => '?').join(', ')})`,
      PENDING,
    );
    return row!.n;
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  private now(): string {
    return this.clock.now().toISOString();
  }
}

function toRecord(r: Row): EventRecord {
  const event = JSON.parse(r.event_json) as RegistryEvent;
  return {
    id: r.id,
    seq: r.seq,
    kind: kindOf(event),
    event,
    state: r.state,
    attempts: r.attempts,
    ...(r.comunicazione_xml !== null ? { comunicazioneXml: r.comunicazione_xml } : {}),
    ...(r.message_id !== null ? { messageId: r.message_id } : {}),
    ...(r.next_attempt_at !== null ? { nextAttemptAt: r.next_attempt_at } : {}),
    ...(r.esito_json !== null ? { esito: JSON.parse(r.esito_json) as EsitoIna } : {}),
    ...(r.last_error_json !== null ? { lastError: JSON.parse(r.last_error_json) as { code: string; message: string } } : {}),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    ...(r.notified_at !== null ? { notifiedAt: r.notified_at } : {}),
  };
}
