/**
 * The ina-saia adapter's stores on both engines: the event queue's claims (what keeps a person's order
 * across node processes), the simulator's index, and files written by the previous version opened as
 * they are.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { InaEventQueue } from '../../../adapters/ina-saia/ina-event-queue.js';
import { InaIndex } from '../../../adapters/ina-saia/ina-index.js';
import { parseRegistryEvent, type RegistryEvent } from '../../../adapters/ina-saia/registry-event.js';
import { newStorePlace, STORE_ENGINES } from '../store-engines.js';
import { COMUNE, MARIO_CF, sampleEvents } from './ina-saia-fixtures.js';

const samples = sampleEvents();
const event = (kind: keyof typeof samples): RegistryEvent => parseRegistryEvent(samples[kind], { comune: COMUNE });
const esito = { stato: 'ACCETTATA', idComunicazione: 'x', dataOraEsito: '2026-01-01T00:00:00Z', idOperazioneIna: 'INA-1' } as const;

describe.each(STORE_ENGINES)('the ina-saia event queue on %s', (engine) => {
  it('lets one dispatcher at a time claim a person’s head, and the next event only once it is settled', async () => {
    const place = newStorePlace(engine);
    const clock = { t: Date.parse('2026-06-01T10:00:00Z'), now: () => new Date(clock.t) };
    // Two processes' queues on one place.
    const a = await InaEventQueue.open(place.openStore, clock);
    const b = await InaEventQueue.open(place.openStore, clock);
    try {
      const first = (await a.enqueue('ev-1', event('iscrizione.immigrazione'))).record;
      const second = (await b.enqueue('ev-2', event('mutazione.indirizzo'))).record;
      expect(second.seq).toBeGreaterThan(first.seq);
      const until = clock.t + 60_000;

      expect(await b.claim(second, 'B', until)).toBeUndefined(); // not the head
      expect(await a.claim(first, 'A', until)).toMatchObject({ id: 'ev-1' });
      expect(await b.claim(first, 'B', until)).toBeUndefined(); // A's claim is live
      expect((await b.dueHeads(new Set(), 10, 'B')).map((r) => r.id)).toEqual([]);
      expect(await b.nextDueAt('B')).toBe(new Date(until + 1).toISOString());

      await a.recordEsito('ev-1', { ...esito, idComunicazione: 'ev-1' });
      expect((await b.dueHeads(new Set(), 10, 'B')).map((r) => r.id)).toEqual(['ev-2']);
      expect(await b.claim(second, 'B', until)).toMatchObject({ id: 'ev-2' });

      // A process that died leaves its claim to run out; a clean stop gives it back at once.
      clock.t = until + 1;
      expect(await a.claim(second, 'A', clock.t + 60_000)).toMatchObject({ id: 'ev-2' });
      await a.releaseClaims('A');
      expect(await b.claim(second, 'B', clock.t + 60_000)).toMatchObject({ id: 'ev-2' });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('keeps a riferimentoComune to one event, whichever process is given it', async () => {
    const place = newStorePlace(engine);
    const a = await InaEventQueue.open(place.openStore);
    // Two processes on PostgreSQL; on SQLite one store (two in one process would wait for each other's file lock on one event loop).
    const b = engine === 'postgres' ? await InaEventQueue.open(place.openStore) : a;
    try {
      const withRef = { ...event('iscrizione.immigrazione'), riferimentoComune: 'PRAT-1' } as RegistryEvent;
      const results = await Promise.all([a.enqueue('ev-a', withRef), b.enqueue('ev-b', withRef)]);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.record.id)).size).toBe(1);
      expect(await a.byPerson(MARIO_CF)).toHaveLength(1);
    } finally {
      await a.close();
      if (b !== a) await b.close();
    }
  });
});

describe.each(STORE_ENGINES)("the INA simulator's index on %s", (engine) => {
  it('applies a communication once, numbering operations in one sequence', async () => {
    const index = await InaIndex.open(newStorePlace(engine).openStore);
    try {
      const person = {
        codiceFiscale: MARIO_CF,
        stato: 'RESIDENTE',
        codiceComune: COMUNE,
        cognome: 'ROSSI',
        nome: 'MARIO',
        ultimaDataEvento: '2024-01-01',
      } as const;
      const now = new Date('2026-06-01T10:00:00Z');
      const numbers: number[] = [];
      const apply = (id: string) =>
        index.apply(
          { mittente: 'SPC/ComuneA', idComunicazione: id, codiceFiscale: MARIO_CF },
          () => ({ accepted: true, person }),
          (_d, n) => {
            numbers.push(n);
            return `<esito n="${n}"/>`;
          },
          now,
        );
      expect(await Promise.all([apply('c1'), apply('c2'), apply('c1')])).toEqual(['<esito n="1"/>', '<esito n="2"/>', '<esito n="1"/>']);
      expect(numbers).toEqual([1, 2]);
      expect(await index.answered('SPC/ComuneA', 'c2')).toBe('<esito n="2"/>');
      expect(await index.person(MARIO_CF)).toEqual(person);
    } finally {
      await index.close();
    }
  });
});

describe('the ina-saia stores on a node upgraded in place', () => {
  it('opens ina-saia-eventi.sqlite and ina-index.sqlite written by the previous version', async () => {
    const place = newStorePlace('sqlite');
    const events = new Database(join(place.dataDir, 'ina-saia-eventi.sqlite'));
    events.exec(`CREATE TABLE IF NOT EXISTS events (
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
   CREATE INDEX IF NOT EXISTS events_pending ON events (state) WHERE state IN ('QUEUED', 'SENT')`);
    events.pragma('user_version = 1');
    events
      .prepare(
        "INSERT INTO events (id, codice_fiscale, event_json, state, attempts, message_id, created_at, updated_at) VALUES (?, ?, ?, 'SENT', 1, 'msg-7', ?, ?)",
      )
      .run('ev-old', MARIO_CF, JSON.stringify(event('iscrizione.immigrazione')), '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
    events.close();
    const index = new Database(join(place.dataDir, 'ina-index.sqlite'));
    index.exec(`CREATE TABLE IF NOT EXISTS persone (codice_fiscale TEXT PRIMARY KEY, person_json TEXT NOT NULL, updated_at TEXT NOT NULL);
   CREATE TABLE IF NOT EXISTS esiti (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, mittente TEXT NOT NULL, id_comunicazione TEXT NOT NULL,
     accettata INTEGER NOT NULL, esito_xml TEXT NOT NULL, created_at TEXT NOT NULL,
     UNIQUE (mittente, id_comunicazione))`);
    index.pragma('user_version = 1');
    index
      .prepare('INSERT INTO persone VALUES (?, ?, ?)')
      .run(MARIO_CF, JSON.stringify({ codiceFiscale: MARIO_CF, stato: 'RESIDENTE' }), 'x');
    index.prepare('INSERT INTO esiti VALUES (1, ?, ?, 1, ?, ?)').run('SPC/ComuneA', 'ev-old', '<esito/>', 'x');
    index.close();

    const queue = await InaEventQueue.open(place.openStore);
    const inaIndex = await InaIndex.open(place.openStore);
    try {
      expect(await queue.get('ev-old')).toMatchObject({ state: 'SENT', attempts: 1, messageId: 'msg-7' });
      const [head] = await queue.dueHeads(new Set(), 10, 'A');
      expect(await queue.claim(head!, 'A', Date.now() + 60_000)).toMatchObject({ id: 'ev-old' });
      expect(await inaIndex.person(MARIO_CF)).toMatchObject({ stato: 'RESIDENTE' });
      expect(await inaIndex.answered('SPC/ComuneA', 'ev-old')).toBe('<esito/>');
    } finally {
      await queue.close();
      await inaIndex.close();
    }
  });
});
