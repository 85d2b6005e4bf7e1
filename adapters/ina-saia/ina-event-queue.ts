/**
 * The Comune's queue of registry events towards INA, in SQLite in the adapter's data folder, so that
 * it survives restarts. Order is per person: the events of one codice fiscale are taken strictly in
 * the order they were accepted (`seq`), each only once the one before has an outcome; different
 * people proceed independently. `dueHeads` is that rule in one query.
 *
 *   QUEUED ──▶ SENT ──▶ ACCEPTED | REJECTED   (INA's esito)
 *     ▲          │  └──▶ FAILED               (refused for good before reaching INA, or an unreadable esito)
 *     └──────────┘ transport failure: QUEUED again with a later next_attempt_at
 */
import { isDeepStrictEqual } from 'node:util';
import { TramiteError } from '../../src/core/errors.js';
import { openAdapterStore, type AdapterDatabase, type LegacyStoreMigration } from '../sdk/index.js';
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

interface Row {
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
}

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

const MIGRATIONS: readonly LegacyStoreMigration[] = [
  `CREATE TABLE IF NOT EXISTS events (
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
];

export class InaEventQueue {
  private readonly db: AdapterDatabase;

  private constructor(
    file: string,
    private readonly clock: { now(): Date },
  ) {
    this.db = openAdapterStore(file, MIGRATIONS);
  }

  static open(file: string, clock: { now(): Date } = { now: () => new Date() }): InaEventQueue {
    return new InaEventQueue(file, clock);
  }

  /**
   * Appends an event at the end of its person's line. A riferimentoComune already used for the same
   * event gives back the existing record (`created: false`: the registry software retried its POST);
   * used for a different one, DuplicateReferenceError.
   */
  enqueue(id: string, event: RegistryEvent): { record: EventRecord; created: boolean } {
    return this.db
      .transaction(() => {
        if (event.riferimentoComune !== undefined) {
          const existing = this.db.prepare('SELECT * FROM events WHERE riferimento_comune = ?').get(event.riferimentoComune) as
            Row | undefined;
          if (existing) {
            const record = toRecord(existing);
            if (!isDeepStrictEqual(record.event, event)) throw new DuplicateReferenceError(event.riferimentoComune, existing.id);
            return { record, created: false };
          }
        }
        const now = this.now();
        this.db
          .prepare(
            "INSERT INTO events (id, codice_fiscale, riferimento_comune, event_json, state, created_at, updated_at) VALUES (?, ?, ?, ?, 'QUEUED', ?, ?)",
          )
          .run(id, event.soggetto.codiceFiscale, event.riferimentoComune ?? null, JSON.stringify(event), now, now);
        return { record: this.get(id)!, created: true };
      })
      .immediate();
  }

  get(id: string): EventRecord | undefined {
    const row = this.db.prepare('SELECT * FROM events WHERE id = ?').get(id) as Row | undefined;
    return row ? toRecord(row) : undefined;
  }

  /** One person's events, oldest first. */
  byPerson(codiceFiscale: string): EventRecord[] {
    return (this.db.prepare('SELECT * FROM events WHERE codice_fiscale = ? ORDER BY seq').all(codiceFiscale) as Row[]).map(toRecord);
  }

  /**
   * The events that may go now: for each person, the oldest pending event — and only if it is due
   * (its retry delay is over) and its person is not `busy` (already being handled). An event behind a
   * pending one is never returned, however long the one before it takes.
   */
  dueHeads(busy: ReadonlySet<string>, limit: number): EventRecord[] {
    if (limit <= 0) return [];
    const rows = this.db
      .prepare(
        `SELECT e.* FROM events e
         WHERE e.state IN ('QUEUED', 'SENT')
           AND (e.next_attempt_at IS NULL OR e.next_attempt_at <= ?)
           AND NOT EXISTS (SELECT 1 FROM events p WHERE p.codice_fiscale = e.codice_fiscale AND p.seq < e.seq AND p.state IN ('QUEUED', 'SENT'))
         ORDER BY e.seq`,
      )
      .all(this.now()) as Row[];
    return rows
      .filter((r) => !busy.has(r.codice_fiscale))
      .slice(0, limit)
      .map(toRecord);
  }

  /** The earliest instant a waiting head becomes due (for the wake-up timer), if any is waiting. */
  nextDueAt(): string | undefined {
    const row = this.db
      .prepare(
        `SELECT MIN(e.next_attempt_at) AS at FROM events e
         WHERE e.state IN ('QUEUED', 'SENT') AND e.next_attempt_at > ?
           AND NOT EXISTS (SELECT 1 FROM events p WHERE p.codice_fiscale = e.codice_fiscale AND p.seq < e.seq AND p.state IN ('QUEUED', 'SENT'))`,
      )
      .get(this.now()) as { at: string | null };
    return row.at ?? undefined;
  }

  /**
   * At start: every pending event is due now. A restart is usually someone fixing what made the
   * attempts fail (the network, the configuration); sitting out the old back-off would only delay.
   */
  resumePending(): number {
    this.db.prepare("UPDATE events SET next_attempt_at = NULL WHERE state IN ('QUEUED', 'SENT')").run();
    return this.countPending();
  }

  /** A new attempt starts: the sealed document is kept for every later attempt, and the previous message is forgotten. */
  startAttempt(id: string, comunicazioneXml: string): EventRecord {
    this.db
      .prepare(
        "UPDATE events SET state = 'SENT', attempts = attempts + 1, comunicazione_xml = ?, message_id = NULL, next_attempt_at = NULL, updated_at = ? WHERE id = ?",
      )
      .run(comunicazioneXml, this.now(), id);
    return this.get(id)!;
  }

  recordMessage(id: string, messageId: string): void {
    this.db.prepare('UPDATE events SET message_id = ?, updated_at = ? WHERE id = ?').run(messageId, this.now(), id);
  }

  /**
   * Try again at `at`. With `keepMessage` the attempt's bus message may still deliver (the wait timed
   * out): the next round asks the bus about it before sending anything. Without, it is dropped and the
   * event is QUEUED for a new message.
   */
  retryLater(id: string, at: Date, error: { code: string; message: string } | undefined, keepMessage: boolean): void {
    this.db
      .prepare(
        `UPDATE events SET state = CASE WHEN ? THEN 'SENT' ELSE 'QUEUED' END, message_id = CASE WHEN ? THEN message_id ELSE NULL END,
           next_attempt_at = ?, last_error_json = COALESCE(?, last_error_json), updated_at = ? WHERE id = ?`,
      )
      .run(keepMessage ? 1 : 0, keepMessage ? 1 : 0, at.toISOString(), error ? JSON.stringify(error) : null, this.now(), id);
  }

  /** INA answered: ACCEPTED or REJECTED, with the esito. */
  recordEsito(id: string, esito: EsitoIna): EventRecord {
    const state: EventState = esito.stato === 'ACCETTATA' ? 'ACCEPTED' : 'REJECTED';
    this.db
      .prepare('UPDATE events SET state = ?, esito_json = ?, next_attempt_at = NULL, updated_at = ? WHERE id = ?')
      .run(state, JSON.stringify(esito), this.now(), id);
    return this.get(id)!;
  }

  /** The event cannot reach INA, or INA's answer cannot be read: FAILED, for good. */
  recordFailure(id: string, error: { code: string; message: string }): EventRecord {
    this.db
      .prepare("UPDATE events SET state = 'FAILED', last_error_json = ?, next_attempt_at = NULL, updated_at = ? WHERE id = ?")
      .run(JSON.stringify(error), this.now(), id);
    return this.get(id)!;
  }

  /** Outcomes the back office has not been told yet, oldest first. */
  unnotified(limit = 100): EventRecord[] {
    return (
      this.db
        .prepare("SELECT * FROM events WHERE state IN ('ACCEPTED', 'REJECTED', 'FAILED') AND notified_at IS NULL ORDER BY seq LIMIT ?")
        .all(limit) as Row[]
    ).map(toRecord);
  }

  markNotified(id: string): void {
    this.db.prepare('UPDATE events SET notified_at = ? WHERE id = ?').run(this.now(), id);
  }

  countPending(): number {
    return (
      this.db.prepare(`SELECT COUNT(*) AS n FROM events WHERE state IN (${PENDING.map(() => '?').join(', ')})`).get(...PENDING) as {
        n: number;
      }
    ).n;
  }

  close(): void {
    if (this.db.open) this.db.close();
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
