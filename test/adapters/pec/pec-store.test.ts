/**
 * The PEC adapter's store on both engines: what egress and ingress record, the reader's fence, and two
 * stores on one place (two node processes) writing the same things at once. On SQLite also: a
 * pec.sqlite written by the adapter before the adapter store opens and is read as it was.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { PecStore, type ReadEntry, type ReaderFence } from '../../../adapters/pec/pec-store.js';
import { StoreLease } from '../../../adapters/sdk/store/store-lease.js';
import { newStorePlace, STORE_ENGINES, type StorePlace } from '../store-engines.js';

const always: ReaderFence = async () => true;
const BUS_ID = 'ComuneValverde_CSTProvaSPCoopIT_0000042_2026-11-23_10:15';
const MESSAGE_ID = '<tramite.0123456789abcdef0123456789abcdef01234567@pec.comune-valverde.example>';
const RECIPIENTS = ['protocollo@pec.ente-prova.example', 'ragioneria@pec.ente-prova.example'];

function clockAt(iso: string): { now: () => Date; advance: (ms: number) => void } {
  let t = Date.parse(iso);
  return { now: () => new Date(t), advance: (ms) => (t += ms) };
}

function eventEntry(uid: number, key: string, uidValidity = '1700000000'): ReadEntry {
  return {
    mailbox: 'INBOX',
    uidValidity,
    uid,
    messageId: `<m${uid}@gestore.example>`,
    outcome: { kind: 'event', disposition: 'inbound', event: { key, service: 'MessaggioPEC', payload: `<p n="${uid}"/>` } },
  };
}

async function opened(place: StorePlace, now: () => Date = () => new Date()): Promise<PecStore> {
  return PecStore.open(place.openStore, now);
}

describe.each(STORE_ENGINES)('the PEC store on %s', (engine) => {
  it('egress: claims a submission once, gives the claim back on a retriable failure, records recipients in order and case-insensitively', async () => {
    const clock = clockAt('2026-11-23T10:15:00Z');
    const store = await opened(newStorePlace(engine), clock.now);
    try {
      const m = {
        busMessageId: BUS_ID,
        messageId: MESSAGE_ID,
        subject: 'Delibera',
        recipients: [...RECIPIENTS, RECIPIENTS[0]!.toUpperCase()],
      };
      expect(await store.claimSending(m)).toEqual({ kind: 'send', messageId: MESSAGE_ID });
      expect(await store.claimSending(m)).toEqual({ kind: 'busy' });
      await store.releaseSending(MESSAGE_ID);
      expect(await store.claimSending(m)).toEqual({ kind: 'send', messageId: MESSAGE_ID });
      // A crashed submission's claim expires.
      clock.advance(5 * 60_000 + 1);
      expect(await store.claimSending(m)).toEqual({ kind: 'send', messageId: MESSAGE_ID });

      await store.recordSubmitted(MESSAGE_ID, { response: '250 2.0.0 Ok', rejected: [{ address: RECIPIENTS[1]!, reason: '550 no' }] });
      const record = await store.outboundByBusId(BUS_ID);
      expect(record).toEqual({
        messageId: MESSAGE_ID,
        busMessageId: BUS_ID,
        status: 'SUBMITTED',
        receipts: 0,
        recipients: [
          { address: RECIPIENTS[0], state: 'SUBMITTED', reason: undefined },
          { address: RECIPIENTS[1], state: 'FAILED', reason: '550 no' },
        ],
      });
      expect(await store.claimSending(m)).toEqual({ kind: 'sent', record });

      // A receipt naming the recipient in another case moves that recipient; a state never moves back.
      const receipt = (uid: number, key: string, state: 'DELIVERED' | 'ACCEPTED_BY_PROVIDER'): ReadEntry => ({
        ...eventEntry(uid, key),
        outcome: {
          kind: 'event',
          disposition: 'receipt',
          event: { key, service: 'RicevutaPEC', refId: BUS_ID, payload: '<r/>' },
          update: { messageId: MESSAGE_ID, recipient: RECIPIENTS[0]!.toUpperCase(), state },
        },
      });
      await store.cursor('INBOX', '1700000000', always);
      expect(await store.recordRead(receipt(1, 'consegna', 'DELIVERED'), always)).toEqual({ newEvent: true });
      expect(await store.recordRead(receipt(2, 'accettazione', 'ACCEPTED_BY_PROVIDER'), always)).toEqual({ newEvent: true });
      expect((await store.outboundByMessageId(MESSAGE_ID))!.recipients.map((r) => r.state)).toEqual(['DELIVERED', 'FAILED']);
      expect((await store.outboundByMessageId(MESSAGE_ID))!.receipts).toBe(2);

      expect(await store.claimSending({ ...m, busMessageId: 'rifiutato', messageId: '<r@x>' })).toEqual({
        kind: 'send',
        messageId: '<r@x>',
      });
      await store.recordRefused('<r@x>', '550 casella inesistente');
      expect(await store.outboundByBusId('rifiutato')).toMatchObject({
        status: 'REFUSED',
        recipients: [{ state: 'FAILED' }, { state: 'FAILED' }],
      });
    } finally {
      await store.close();
    }
  });

  it('ingress: the cursor moves only forward with each record, an event key is recorded once, and events are marked sent', async () => {
    const store = await opened(newStorePlace(engine));
    try {
      expect(await store.cursor('INBOX', '1700000000', always)).toEqual({ lastUid: 0, reset: false });
      expect(await store.recordRead(eventEntry(3, 'busta-a'), always)).toEqual({ newEvent: true });
      expect(await store.recordRead(eventEntry(2, 'busta-b'), always)).toEqual({ newEvent: true });
      expect(await store.recordRead(eventEntry(4, 'busta-a'), always)).toEqual({ newEvent: false });
      expect(
        await store.recordRead(
          { ...eventEntry(5, 'x'), outcome: { kind: 'quarantined', code: 'TRAMITE_ERR_PEC_UNSIGNED', reason: 'not signed' } },
          always,
        ),
      ).toEqual({ newEvent: false });
      expect(await store.cursor('INBOX', '1700000000', always)).toEqual({ lastUid: 5, reset: false });
      expect(await store.pendingMoves('INBOX', '1700000000')).toEqual([5]);
      await store.markMoved('INBOX', '1700000000', 5);
      expect(await store.pendingMoves('INBOX', '1700000000')).toEqual([]);

      const pending = await store.pendingEvents();
      expect(pending.map((e) => [e.key, e.attempts])).toEqual([
        ['busta-a', 0],
        ['busta-b', 0],
      ]);
      await store.markEventFailed(pending[0]!.seq, 'bus down');
      expect(await store.counts()).toEqual({ quarantined: 1, pendingEvents: 2, failingEvents: 1, outbound: 0 });
      expect(await store.eventToSend(pending[0]!.seq, always)).toBe('pending');
      await store.markEventSent(pending[0]!.seq, 'bus-1');
      expect(await store.eventToSend(pending[0]!.seq, always)).toBe('sent');
      expect(await store.eventToSend(pending[1]!.seq, async () => false)).toBe('fenced');
      expect((await store.pendingEvents()).map((e) => e.key)).toEqual(['busta-b']);

      // A new UIDVALIDITY restarts the cursor; event keys keep what was recorded from coming again.
      expect(await store.cursor('INBOX', '1800000000', always)).toEqual({ lastUid: 0, reset: true, previousUidValidity: '1700000000' });
      expect(await store.recordRead(eventEntry(1, 'busta-a', '1800000000'), always)).toEqual({ newEvent: false });
    } finally {
      await store.close();
    }
  });

  it('two processes: only the lease holder moves the cursor; a stale holder records nothing once another has taken the lease over', async () => {
    const place = newStorePlace(engine);
    const clock = clockAt('2026-11-23T10:15:00Z');
    const [a, b] = [await opened(place, clock.now), await opened(place, clock.now)];
    try {
      const leaseA = new StoreLease(a.adapterStore, 'pec-mailbox-reader', 30_000, clock);
      const leaseB = new StoreLease(b.adapterStore, 'pec-mailbox-reader', 30_000, clock);
      const fenceA: ReaderFence = (tx) => leaseA.heldIn(tx);
      const fenceB: ReaderFence = (tx) => leaseB.heldIn(tx);
      expect(await leaseA.acquire()).toBe(true);
      expect(await leaseB.acquire()).toBe(false);
      expect(await b.cursor('INBOX', '1700000000', fenceB)).toBeUndefined();
      expect(await a.cursor('INBOX', '1700000000', fenceA)).toEqual({ lastUid: 0, reset: false });
      expect(await a.recordRead(eventEntry(1, 'uno'), fenceA)).toEqual({ newEvent: true });
      expect(await b.recordRead(eventEntry(2, 'due'), fenceB)).toBeUndefined();

      // A stops renewing (paused, or dead): past the TTL B takes over, and A can no longer move the cursor.
      clock.advance(30_001);
      expect(await leaseB.acquire()).toBe(true);
      expect(await a.recordRead(eventEntry(2, 'due'), fenceA)).toBeUndefined();
      expect(await a.cursor('INBOX', '1900000000', fenceA)).toBeUndefined();
      expect(await b.cursor('INBOX', '1700000000', fenceB)).toEqual({ lastUid: 1, reset: false });
      expect(await b.recordRead(eventEntry(2, 'due'), fenceB)).toEqual({ newEvent: true });
      expect(await a.cursor('INBOX', '1700000000', always)).toEqual({ lastUid: 2, reset: false });
      expect((await a.pendingEvents()).map((e) => e.key)).toEqual(['uno', 'due']);
      expect(await a.eventToSend(1, fenceA)).toBe('fenced');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('two processes at once: the same event key is recorded once, the same bus message is claimed for submission once', async () => {
    const place = newStorePlace(engine);
    // On PostgreSQL two stores are two processes' pools; two SQLite connections in one process would wait
    // on each other's file lock with the event loop blocked, so there it is one store's concurrent calls.
    const a = await opened(place);
    const b = engine === 'postgres' ? await opened(place) : a;
    try {
      await a.cursor('INBOX', '1700000000', always);
      const keys = Array.from({ length: 20 }, (_, i) => `busta-${i}`);
      const results = await Promise.all(
        keys.flatMap((key, i) => [a.recordRead(eventEntry(2 * i + 1, key), always), b.recordRead(eventEntry(2 * i + 2, key), always)]),
      );
      expect(results.filter((r) => r?.newEvent).length).toBe(keys.length);
      expect((await b.pendingEvents(0, 100)).map((e) => e.key).sort()).toEqual([...keys].sort());
      expect(await b.cursor('INBOX', '1700000000', always)).toEqual({ lastUid: 40, reset: false });

      const claims = await Promise.all(
        Array.from({ length: 10 }, (_, i) => {
          const m = { busMessageId: `bus-${i}`, messageId: `<m${i}@x>`, subject: 's', recipients: RECIPIENTS };
          return [a.claimSending(m), b.claimSending(m)];
        }).flat(),
      );
      expect(claims.filter((c) => c.kind === 'send').length).toBe(10);
      expect(claims.filter((c) => c.kind === 'busy').length).toBe(10);
      expect((await a.counts()).outbound).toBe(10);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

/** The schema of pec.sqlite as the adapter created it before the adapter store (user_version 1). */
const OLD_SCHEMA = `
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
CREATE TABLE IF NOT EXISTS mailbox_cursor (mailbox TEXT PRIMARY KEY, uid_validity TEXT NOT NULL, last_uid INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS mailbox_message (
  mailbox TEXT NOT NULL, uid_validity TEXT NOT NULL, uid INTEGER NOT NULL, message_id TEXT, disposition TEXT NOT NULL,
  detail TEXT, event_key TEXT, read_at TEXT NOT NULL, PRIMARY KEY (mailbox, uid_validity, uid)
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
  mailbox TEXT NOT NULL, uid_validity TEXT NOT NULL, uid INTEGER NOT NULL, message_id TEXT, code TEXT NOT NULL,
  reason TEXT NOT NULL, recorded_at TEXT NOT NULL, moved_at TEXT, PRIMARY KEY (mailbox, uid_validity, uid)
);
`;

describe('the PEC store on sqlite, upgraded in place', () => {
  it('opens a pec.sqlite written before the adapter store and reads what it holds: sent messages, recipients in order, cursor, events', async () => {
    const place = newStorePlace('sqlite');
    const db = new Database(join(place.dataDir, 'pec.sqlite'));
    db.exec(OLD_SCHEMA);
    db.pragma('user_version = 1');
    const at = '2026-11-20T09:00:00.000Z';
    db.prepare(
      "INSERT INTO outbound (message_id, bus_message_id, subject, status, receipts, recorded_at) VALUES (?, ?, 'Delibera', 'SUBMITTED', 1, ?)",
    ).run(MESSAGE_ID, BUS_ID, at);
    // Recipients in the order sent, not in the order of their addresses.
    for (const [address, state] of [
      ['zeta@pec.ente-prova.example', 'DELIVERED'],
      ['alfa@pec.ente-prova.example', 'SUBMITTED'],
    ])
      db.prepare('INSERT INTO outbound_recipient (message_id, address, state, updated_at) VALUES (?, ?, ?, ?)').run(
        MESSAGE_ID,
        address,
        state,
        at,
      );
    db.prepare("INSERT INTO mailbox_cursor (mailbox, uid_validity, last_uid) VALUES ('INBOX', '1700000000', 7)").run();
    db.prepare(
      "INSERT INTO pec_event (event_key, service, ref_id, payload, status, recorded_at) VALUES ('vecchio', 'RicevutaPEC', ?, '<r/>', 'PENDING', ?)",
    ).run(BUS_ID, at);
    db.close();

    const store = await opened(place);
    try {
      expect(await store.outboundByBusId(BUS_ID)).toEqual({
        messageId: MESSAGE_ID,
        busMessageId: BUS_ID,
        status: 'SUBMITTED',
        receipts: 1,
        recipients: [
          { address: 'zeta@pec.ente-prova.example', state: 'DELIVERED', reason: undefined },
          { address: 'alfa@pec.ente-prova.example', state: 'SUBMITTED', reason: undefined },
        ],
      });
      expect(await store.cursor('INBOX', '1700000000', always)).toEqual({ lastUid: 7, reset: false });
      expect((await store.pendingEvents()).map((e) => [e.seq, e.key])).toEqual([[1, 'vecchio']]);
      expect(await store.recordRead(eventEntry(8, 'nuovo'), always)).toEqual({ newEvent: true });
      expect((await store.pendingEvents()).map((e) => [e.seq, e.key])).toEqual([
        [1, 'vecchio'],
        [2, 'nuovo'],
      ]);
      expect(await store.claimSending({ busMessageId: BUS_ID, messageId: MESSAGE_ID, subject: 'Delibera', recipients: [] })).toMatchObject({
        kind: 'sent',
      });
    } finally {
      await store.close();
    }
    const reopened = new Database(join(place.dataDir, 'pec.sqlite'), { readonly: true });
    try {
      expect(reopened.pragma('user_version', { simple: true })).toBe(2);
    } finally {
      reopened.close();
    }
  });
});
