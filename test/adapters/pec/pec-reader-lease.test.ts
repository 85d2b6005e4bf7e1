/**
 * Several node processes running the PEC adapter on one mailbox (issue 18): two adapter instances on two
 * stores of one PostgreSQL place — two processes' pools — read a real Dovecot mailbox. One reads at a
 * time (the holder of the reader lease), every message is ingested and sent on the bus once, and when
 * the holder dies without releasing the lease (its store connections gone, as after kill -9) the other
 * takes over once the lease has expired and goes on from the cursor.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pec, { READER_LEASE, type PecAdapter, type PecOptions } from '../../../adapters/pec/pec-adapter.js';
import { PEC_STORE_MIGRATIONS, PEC_STORE_NAME } from '../../../adapters/pec/pec-store.js';
import type { AdapterContext, AdapterStore, BusClient, MessageState, OutgoingMessage } from '../../../adapters/sdk/index.js';
import { startDovecot, type DovecotServer } from '../../../test-support/dovecot-server.js';
import { SENDER, buildPecMessage, providerPki, sampleDaticert, sampleOriginal } from '../../fixtures/pec/pec-fixture.js';
import { startSmtpCaptureServer, type SmtpCaptureServer } from '../../fixtures/pec/smtp-capture-server.js';
import { newStorePlace, type StorePlace } from '../store-engines.js';

const PARTY = 'SPC/ComuneValverde';
const USER = 'valverde-ha';
const IMAP_PASSWORD = 'imap-Segreto#17:x';
const SMTP_ACCOUNT = { user: SENDER, password: 'smtp-Segreto!42' };
const LEASE = { ttlMs: 2000, renewMs: 200 };

let dovecot: DovecotServer;
let smtp: SmtpCaptureServer;
let files: string;

beforeAll(async () => {
  [dovecot, smtp] = await Promise.all([
    startDovecot({ users: [{ user: USER, password: IMAP_PASSWORD }], tls: true }),
    startSmtpCaptureServer(SMTP_ACCOUNT),
  ]);
  files = mkdtempSync(join(tmpdir(), 'tramite-pec-lease-'));
  writeFileSync(join(files, 'smtp.pwd'), SMTP_ACCOUNT.password);
  writeFileSync(join(files, 'imap.pwd'), IMAP_PASSWORD);
  writeFileSync(join(files, 'servers-ca.pem'), `${dovecot.tlsCertPem!}\n${smtp.certPem}`);
  writeFileSync(join(files, 'provider-ca.pem'), providerPki().ca.certPem);
});

afterAll(async () => {
  await Promise.all([dovecot?.stop(), smtp?.close()]);
  if (files) rmSync(files, { recursive: true, force: true });
});

function options(): PecOptions {
  return {
    address: SENDER,
    smtp: {
      host: '127.0.0.1',
      port: smtp.port,
      secure: false,
      requireTLS: true,
      user: SMTP_ACCOUNT.user,
      passwordFile: join(files, 'smtp.pwd'),
    },
    imap: { host: '127.0.0.1', port: dovecot.imapPort, secure: false, requireTLS: true, user: USER, passwordFile: join(files, 'imap.pwd') },
    tls: { caFile: join(files, 'servers-ca.pem'), rejectUnauthorized: true },
    providerCaFiles: [join(files, 'provider-ca.pem')],
    pollMs: 100,
    acceptSha1: false,
    receiptService: 'RicevutaPEC',
    inboundService: 'MessaggioPEC',
    quarantineFolder: 'Quarantena',
    maxMessageBytes: 32 * 1024 * 1024,
    readerLease: LEASE,
  };
}

/** What the bus took from one node process. */
class RecordingBus implements BusClient {
  readonly sent: OutgoingMessage[] = [];
  async send(message: OutgoingMessage): Promise<MessageState> {
    this.sent.push(message);
    return { id: `bus-${Math.random().toString(36).slice(2)}`, direction: 'out', status: 'ACCEPTED', attempts: 0 };
  }
  async sendAndWait(): Promise<MessageState> {
    throw new Error('the PEC adapter never waits for an answer on the bus');
  }
  async answer(requestId: string): Promise<MessageState> {
    return { id: requestId, direction: 'in', status: 'RECEIVED', attempts: 1 };
  }
  async state(): Promise<MessageState | undefined> {
    return undefined;
  }
}

/** One node process: its adapter instance, its bus, and the store it opened (to cut, as a crash does). */
interface NodeProcess {
  readonly name: string;
  readonly adapter: PecAdapter;
  readonly bus: RecordingBus;
  readonly stores: AdapterStore[];
}

async function startProcess(name: string, place: StorePlace): Promise<NodeProcess> {
  const bus = new RecordingBus();
  const stores: AdapterStore[] = [];
  const quiet = () => undefined;
  const ctx: AdapterContext<PecOptions> = {
    party: PARTY,
    options: options(),
    dataDir: place.dataDir,
    openStore: async (storeName, migrations, opts) => {
      const store = await place.openStore(storeName, migrations, opts);
      stores.push(store);
      return store;
    },
    log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    bus,
    identity: undefined as never,
    trust: undefined as never,
    clock: { now: () => new Date() },
  };
  const adapter = (await pec.setup(ctx)) as PecAdapter;
  await adapter.start();
  return { name, adapter, bus, stores };
}

async function deliverBuste(from: number, count: number): Promise<void> {
  const original = await sampleOriginal();
  for (let i = from; i < from + count; i++) {
    await dovecot.deliver(
      USER,
      buildPecMessage({
        kind: 'posta-certificata',
        original,
        daticert: sampleDaticert('posta-certificata', { identificativo: `opec-prova.ha.${i}@pec.gestore-prova.example` }),
      }),
    );
  }
}

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const identificativi = (p: NodeProcess) => p.bus.sent.map((m) => /identificativo="([^"]+)"/.exec(m.payload)?.[1]);

describe('PEC adapter in two node processes on one PostgreSQL store, one mailbox', () => {
  it('one reads at a time, each message is sent on the bus once; a holder that dies is replaced after its lease expires, from the cursor', async () => {
    const place = newStorePlace('postgres');
    await deliverBuste(0, 6);
    const [a, b] = await Promise.all([startProcess('a', place), startProcess('b', place)]);
    // The test's own look at the shared store, as an operator's psql would.
    const look = await place.openStore(PEC_STORE_NAME, PEC_STORE_MIGRATIONS);
    try {
      const all = () => [...a.bus.sent, ...b.bus.sent];
      await until('six events on the bus', () => all().length >= 6);
      await new Promise((r) => setTimeout(r, 1000)); // more polls of both: nothing more may come
      expect(all()).toHaveLength(6);
      const [holder, standby] = a.bus.sent.length > 0 ? [a, b] : [b, a];
      expect(standby.bus.sent).toEqual([]);
      expect(new Set(identificativi(holder)).size).toBe(6);
      expect((await holder.adapter.healthReport()).readsMailbox).toBe(true);
      const standbyHealth = await standby.adapter.healthReport();
      expect(standbyHealth.readsMailbox).toBe(false);
      expect(standbyHealth.imap).toBeUndefined(); // it never opened the mailbox
      expect((await standby.adapter.health()).detail).toContain('mailbox read by another node process (this one stands by)');
      expect(await look.all('SELECT uid, disposition FROM mailbox_message ORDER BY uid')).toEqual(
        [1, 2, 3, 4, 5, 6].map((uid) => ({ uid, disposition: 'inbound' })),
      );

      // The holder dies: its connections are gone, its lease is left in the store until it expires.
      for (const store of holder.stores) await store.close();
      const lease = await look.get<{ expires_at_ms: number }>('SELECT expires_at_ms FROM store_leases WHERE name = ?', [READER_LEASE]);
      await deliverBuste(6, 4);
      await until('four more events, from the process that stood by', () => standby.bus.sent.length >= 4);
      await new Promise((r) => setTimeout(r, 1000));
      expect(all()).toHaveLength(10);
      expect(new Set([...identificativi(holder), ...identificativi(standby)]).size).toBe(10);
      expect((await standby.adapter.healthReport()).readsMailbox).toBe(true);

      const rows = await look.all<{ uid: number; disposition: string; read_at: string }>(
        'SELECT uid, disposition, read_at FROM mailbox_message ORDER BY uid',
      );
      expect(rows.map((r) => [r.uid, r.disposition])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((uid) => [uid, 'inbound']));
      // Not taken over before the dead holder's lease ran out.
      for (const r of rows.slice(6)) expect(Date.parse(r.read_at)).toBeGreaterThanOrEqual(lease!.expires_at_ms);
      expect(await look.get('SELECT last_uid FROM mailbox_cursor')).toEqual({ last_uid: 10 });
      expect(await look.get("SELECT count(*) AS n FROM pec_event WHERE status = 'SENT'")).toEqual({ n: 10 });

      // A clean stop gives the lease up at once, for the next process not to wait for it to expire.
      await standby.adapter.stop();
      expect(await look.get('SELECT holder FROM store_leases WHERE name = ?', [READER_LEASE])).toBeUndefined();
    } finally {
      await Promise.all([a.adapter.stop(), b.adapter.stop()]);
      await look.close();
    }
  });
});
