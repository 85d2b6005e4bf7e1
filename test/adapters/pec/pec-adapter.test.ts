/**
 * The PEC adapter against real servers on loopback: Dovecot (IMAP, STARTTLS and implicit TLS) holding
 * the party's mailbox, and an smtp-server submission server (STARTTLS, AUTH) capturing what is sent.
 * Provider messages are signed with the test provider PKI (test/fixtures/pec/pec-fixture.ts) and
 * delivered into the Maildir as an MDA would. Only the bus is a recording stand-in.
 */
import { sqliteAdapterFolder } from '../../../adapters/sdk/store/sqlite-adapter-store.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pec, { type PecAdapter, type PecOptions } from '../../../adapters/pec/pec-adapter.js';
import { PEC_BUS_NS } from '../../../adapters/sdk/pec-formats/pec-bus-xml.js';
import { messageIdFor } from '../../../adapters/pec/pec-egress.js';
import {
  AdapterError,
  checkAdapterConformance,
  parseUntrustedXml,
  type AdapterContext,
  type BusClient,
  type BusMessage,
  type MessageState,
  type OutgoingMessage,
} from '../../../adapters/sdk/index.js';
import { freePort } from '../../../src/daemons/free-port.js';
import { startDovecot, type DovecotServer } from '../../../test-support/dovecot-server.js';
import {
  ORIGINAL_MESSAGE_ID,
  RECIPIENT,
  SENDER,
  buildPecMessage,
  providerPki,
  sampleDaticert,
  sampleOriginal,
} from '../../fixtures/pec/pec-fixture.js';
import { startSmtpCaptureServer, type SmtpCaptureServer } from '../../fixtures/pec/smtp-capture-server.js';

const PARTY = 'SPC/ComuneValverde';
const ADDRESS = SENDER;
const OTHER = 'ragioneria@pec.ente-prova.example';
const SMTP_ACCOUNT = { user: ADDRESS, password: 'smtp-Segreto!42 con spazi' };
const IMAP_PASSWORD = 'imap-Segreto#17:x';
const WRONG_SMTP_PASSWORD = 'sbagliata-smtp-5a1e';
const WRONG_IMAP_PASSWORD = 'sbagliata-imap-7c3d';
const MAILBOXES = ['valverde', 'valverde-crash', 'valverde-conf', 'valverde-secret', 'valverde-big'] as const;

let dovecot: DovecotServer;
let smtp: SmtpCaptureServer;
let files: string;
/** Every log line of every instance in this file: grepped for the passwords at the end. */
const logLines: string[] = [];
const cleanup: string[] = [];

beforeAll(async () => {
  [dovecot, smtp] = await Promise.all([
    startDovecot({ users: MAILBOXES.map((user) => ({ user, password: IMAP_PASSWORD })), tls: true }),
    startSmtpCaptureServer(SMTP_ACCOUNT),
  ]);
  files = tempDir('tramite-pec-files-');
  // An editor's trailing newline is not part of the password.
  writeFileSync(join(files, 'smtp.pwd'), `${SMTP_ACCOUNT.password}\n`);
  writeFileSync(join(files, 'imap.pwd'), `${IMAP_PASSWORD}\n`);
  writeFileSync(join(files, 'servers-ca.pem'), `${dovecot.tlsCertPem!}\n${smtp.certPem}`);
  writeFileSync(join(files, 'provider-ca.pem'), providerPki().ca.certPem);
  smtp.replies.set('rifiutato@pec.ente-prova.example', {
    code: 550,
    text: '5.1.1 <rifiutato@pec.ente-prova.example>: Recipient address rejected: casella inesistente',
  });
  smtp.replies.set('occupato@pec.ente-prova.example', { code: 451, text: '4.3.0 Temporary failure, try again later' });
});

afterAll(async () => {
  await Promise.all([dovecot?.stop(), smtp?.close()]);
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanup.push(dir);
  return dir;
}

function optionsFor(user: (typeof MAILBOXES)[number], over: Partial<PecOptions> = {}): PecOptions {
  return {
    address: ADDRESS,
    smtp: {
      host: '127.0.0.1',
      port: smtp.port,
      secure: false,
      requireTLS: true,
      user: SMTP_ACCOUNT.user,
      passwordFile: join(files, 'smtp.pwd'),
    },
    imap: { host: '127.0.0.1', port: dovecot.imapPort, secure: false, requireTLS: true, user, passwordFile: join(files, 'imap.pwd') },
    tls: { caFile: join(files, 'servers-ca.pem'), rejectUnauthorized: true },
    providerCaFiles: [join(files, 'provider-ca.pem')],
    pollMs: 100,
    acceptSha1: false,
    receiptService: 'RicevutaPEC',
    inboundService: 'MessaggioPEC',
    quarantineFolder: 'Quarantena',
    maxMessageBytes: 32 * 1024 * 1024,
    readerLease: { ttlMs: 30_000, renewMs: 10_000 },
    ...over,
  };
}

/** A bus that records what the adapter sends; `failures` makes the next sends throw. */
class RecordingBus implements BusClient {
  readonly sent: OutgoingMessage[] = [];
  attempts = 0;
  failures = 0;

  async send(message: OutgoingMessage): Promise<MessageState> {
    this.attempts += 1;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('the bus is not available (test)');
    }
    this.sent.push(message);
    return { id: `bus-${this.sent.length}`, direction: 'out', status: 'ACCEPTED', attempts: 0 };
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

function contextFor(options: PecOptions, dataDir: string, bus: BusClient): AdapterContext<PecOptions> {
  const line = (level: string) => (obj: object, msg?: string) => void logLines.push(JSON.stringify({ level, ...obj, msg }));
  return {
    party: PARTY,
    options,
    ...sqliteAdapterFolder(dataDir),
    log: { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') },
    bus,
    identity: undefined as never,
    trust: undefined as never,
    clock: { now: () => new Date() },
  };
}

async function started(options: PecOptions, dataDir: string, bus: BusClient): Promise<PecAdapter> {
  const instance = (await pec.setup(contextFor(options, dataDir, bus))) as PecAdapter;
  await instance.start();
  return instance;
}

function busMessage(id: string, payload: string, over: Partial<BusMessage> = {}): BusMessage {
  return { id, from: PARTY, to: PARTY, service: 'InvioPEC', profile: 'oneway', payload, ...over };
}

const PDF = Buffer.from('%PDF-1.4\n% delibera di prova\n%%EOF\n');
const XML_ATTACHMENT = Buffer.from('<?xml version="1.0"?><Segnatura>prova</Segnatura>');

function invioPayload(to: readonly string[], oggetto = 'Trasmissione delibera n. 12/2025 <urgente> & riservata'): string {
  return (
    `<pec:InvioPEC xmlns:pec="${PEC_BUS_NS}">` +
    to.map((a) => `<pec:Destinatario>${a}</pec:Destinatario>`).join('') +
    `<pec:Oggetto>${oggetto.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</pec:Oggetto>` +
    '<pec:Testo>Si trasmette in allegato la delibera.\nCordiali saluti.</pec:Testo>' +
    `<pec:Allegato nome="delibera-12-2025.pdf" mimeType="application/pdf">${PDF.toString('base64')}</pec:Allegato>` +
    `<pec:Allegato nome="segnatura.xml" mimeType="application/xml">${XML_ATTACHMENT.toString('base64')}</pec:Allegato>` +
    '</pec:InvioPEC>'
  );
}

/** Read-only look into the adapter's SQLite file (WAL: readable while the adapter writes). */
function query<T>(dataDir: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(join(dataDir, 'pec.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

function imapClient(user: string): ImapFlow {
  const client = new ImapFlow({
    host: dovecot.host,
    port: dovecot.imapPort,
    secure: false,
    doSTARTTLS: true,
    tls: { ca: [dovecot.tlsCertPem!] },
    auth: { user, pass: IMAP_PASSWORD },
    logger: false,
    disableAutoIdle: true,
  });
  client.on('error', () => undefined);
  return client;
}

async function withImap<T>(user: string, work: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = imapClient(user);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.logout();
  }
}

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Until the adapter has read everything in the user's INBOX (current UIDVALIDITY) and sent every event.
 *
 * "Everything" is taken from the Maildir, not from an IMAP STATUS: deliver() drops a file into new/
 * behind Dovecot's back, and a STATUS (or SELECT) answered while another session — the adapter's poll,
 * every 100 ms — is syncing the same Maildir can leave out a message delivered before it was sent
 * (uidNext and MESSAGES one short for some milliseconds). A uidNext taken from such an answer made this
 * helper return at once, before the adapter had read the last deliveries. So: first until Dovecot has
 * given every message file of the INBOX a UID (its dovecot-uidlist), then until the cursor is past the
 * highest of them and no event is pending. Messages no longer in the INBOX (quarantined) were read
 * before they were moved, so the files left are all that can still be unread.
 */
async function settled(dataDir: string, user: string): Promise<void> {
  const inbox = await until(`Dovecot to give every message file in the INBOX of ${user} a UID`, () => inboxUids(user));
  await until(`the adapter to read ${user} up to UID ${inbox.lastUid} (UIDVALIDITY ${inbox.uidValidity}) and send its events`, () => {
    try {
      const cursor = query<{ uid_validity: string; last_uid: number }>(dataDir, 'SELECT uid_validity, last_uid FROM mailbox_cursor')[0];
      const pending = query<{ n: number }>(dataDir, "SELECT count(*) AS n FROM pec_event WHERE status = 'PENDING'")[0]!.n;
      return !!cursor && cursor.uid_validity === inbox.uidValidity && cursor.last_uid >= inbox.lastUid && pending === 0;
    } catch {
      return false;
    }
  });
}

/**
 * The user's INBOX as Dovecot numbered it, from the Maildir itself: the UIDVALIDITY and the highest UID
 * among the message files now in new/ and cur/, as dovecot-uidlist records them (Dovecot's UID store
 * for Maildir, format 3: a header line `3 V<uidvalidity> N<next uid> …`, then `<uid> [<ext> …] :<file>`).
 * Undefined while a file has no UID yet, or no session has opened the INBOX since the uidlist was made.
 */
function inboxUids(user: string): { uidValidity: string; lastUid: number } | undefined {
  const maildir = dovecot.maildirOf(user);
  // new/ before cur/: a file Dovecot moves from new/ to cur/ meanwhile is seen at least once.
  const files = new Set([...readdirSync(join(maildir, 'new')), ...readdirSync(join(maildir, 'cur'))].map(maildirBaseName));
  let uidlist: string;
  try {
    uidlist = readFileSync(join(maildir, 'dovecot-uidlist'), 'latin1');
  } catch {
    return undefined;
  }
  const [header = '', ...records] = uidlist.split('\n');
  if (header === '') return undefined;
  const uidValidity = /^3 (?:.* )?V(\d+)(?: |$)/.exec(header)?.[1];
  if (!uidValidity) throw new Error(`unexpected dovecot-uidlist header in ${maildir}: ${JSON.stringify(header)}`);
  const uidOf = new Map<string, number>();
  for (const record of records) {
    // A record Dovecot is appending may be read cut short: it then names no file there is.
    const name = record.indexOf(' :');
    if (name > 0) uidOf.set(maildirBaseName(record.slice(name + 2)), Number(record.slice(0, record.indexOf(' '))));
  }
  let lastUid = 0;
  for (const file of files) {
    const uid = uidOf.get(file);
    if (uid === undefined) return undefined;
    lastUid = Math.max(lastUid, uid);
  }
  return { uidValidity, lastUid };
}

/** A Maildir file name without its `:2,<flags>` info part, which changes when the flags do. */
function maildirBaseName(file: string): string {
  return file.split(':')[0]!;
}

function attributesOf(payload: string): { root: string; attrs: Record<string, string>; text: string; doc: Document } {
  const { doc } = parseUntrustedXml(payload);
  const root = doc.documentElement!;
  const attrs: Record<string, string> = {};
  for (let i = 0; i < root.attributes.length; i++) {
    const a = root.attributes.item(i)!;
    if (!a.name.startsWith('xmlns')) attrs[a.name] = a.value;
  }
  return { root: `${root.namespaceURI} ${root.localName}`, attrs, text: root.textContent ?? '', doc };
}

async function thrown(promise: Promise<unknown>): Promise<AdapterError> {
  try {
    await promise;
  } catch (err) {
    return err as AdapterError;
  }
  throw new Error('it did not throw');
}

// The main mailbox's story, told in order by the tests of the first describe.
const MAIN = 'valverde';
const MAIN_BUS_ID = 'ComuneValverde_CSTProvaSPCoopIT_0000042_2026-11-23_10:15';
const mainBus = new RecordingBus();
let mainDir = '';
let main: PecAdapter | undefined;
let sentMessageId = '';
const IDENT = 'opec-prova.20261123101501.42.1@pec.gestore-prova.example';

describe('PEC adapter, egress: InvioPEC submitted by SMTP (STARTTLS, AUTH)', () => {
  it('submits recipients, subject, text and attachments from the party address, with the Message-ID derived from the bus id; a second egress of the same bus id sends nothing', async () => {
    mainDir = tempDir('tramite-pec-main-');
    // Relative paths resolve against the data folder.
    writeFileSync(join(mainDir, 'smtp.pwd'), SMTP_ACCOUNT.password);
    writeFileSync(join(mainDir, 'imap.pwd'), IMAP_PASSWORD);
    const options = optionsFor(MAIN);
    main = await started(
      { ...options, smtp: { ...options.smtp, passwordFile: 'smtp.pwd' }, imap: { ...options.imap, passwordFile: 'imap.pwd' } },
      mainDir,
      mainBus,
    );

    const before = smtp.submissions.length;
    const outcome = await main.egress(busMessage(MAIN_BUS_ID, invioPayload([RECIPIENT, OTHER])), AbortSignal.timeout(10_000));
    sentMessageId = messageIdFor(MAIN_BUS_ID, ADDRESS);
    expect(outcome).toEqual({ kind: 'accepted', reference: sentMessageId });
    expect(smtp.submissions).toHaveLength(before + 1);

    const submission = smtp.submissions.at(-1)!;
    expect(submission.secure).toBe(true);
    expect(submission.user).toBe(SMTP_ACCOUNT.user);
    expect(submission.mailFrom).toBe(ADDRESS);
    expect(submission.rcptTo).toEqual([RECIPIENT, OTHER]);
    const mail = await simpleParser(submission.raw);
    expect(mail.messageId).toBe(sentMessageId);
    expect(mail.from?.value.map((a) => a.address)).toEqual([ADDRESS]);
    expect([mail.to ?? []].flat().flatMap((t) => t.value.map((a) => a.address))).toEqual([RECIPIENT, OTHER]);
    expect(mail.subject).toBe('Trasmissione delibera n. 12/2025 <urgente> & riservata');
    expect(mail.text?.trim()).toBe('Si trasmette in allegato la delibera.\nCordiali saluti.');
    expect(mail.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ['delibera-12-2025.pdf', 'application/pdf'],
      ['segnatura.xml', 'application/xml'],
    ]);
    expect(mail.attachments[0]!.content.equals(PDF)).toBe(true);
    expect(mail.attachments[1]!.content.equals(XML_ATTACHMENT)).toBe(true);

    const again = await main.egress(busMessage(MAIN_BUS_ID, invioPayload([RECIPIENT, OTHER])), AbortSignal.timeout(10_000));
    expect(again).toEqual({ kind: 'accepted', reference: sentMessageId });
    expect(smtp.submissions).toHaveLength(before + 1);
    expect(query(mainDir, 'SELECT address, state FROM outbound_recipient WHERE message_id = ? ORDER BY rowid', sentMessageId)).toEqual([
      { address: RECIPIENT, state: 'SUBMITTED' },
      { address: OTHER, state: 'SUBMITTED' },
    ]);
  });

  it('SMTP unreachable or 4xx: retriable AdapterError; 5xx: final, with the server reply; one refused recipient among others: FAILED, the rest sent', async () => {
    const closed = await started(
      { ...optionsFor(MAIN), smtp: { ...optionsFor(MAIN).smtp, port: await freePort() }, pollMs: 60_000 },
      tempDir('tramite-pec-down-'),
      new RecordingBus(),
    );
    try {
      const down = await thrown(closed.egress(busMessage('down-1', invioPayload([RECIPIENT])), AbortSignal.timeout(10_000)));
      expect(down).toBeInstanceOf(AdapterError);
      expect(down.retriable).toBe(true);
      expect(down.code).toBe('TRAMITE_ERR_ADAPTER_UNAVAILABLE');
      expect((await closed.healthReport()).smtp?.reachable).toBe(false);
    } finally {
      await closed.stop();
    }

    const before = smtp.submissions.length;
    const permanent = await thrown(
      main!.egress(busMessage('rifiutato-1', invioPayload(['rifiutato@pec.ente-prova.example'])), AbortSignal.timeout(10_000)),
    );
    expect(permanent).toBeInstanceOf(AdapterError);
    expect(permanent.retriable).toBe(false);
    expect(permanent.code).toBe('TRAMITE_ERR_ADAPTER_REFUSED');
    expect(permanent.message).toContain('550');
    expect(permanent.message).toContain('casella inesistente');

    const temporary = await thrown(
      main!.egress(busMessage('occupato-1', invioPayload(['occupato@pec.ente-prova.example'])), AbortSignal.timeout(10_000)),
    );
    expect(temporary.retriable).toBe(true);
    expect(temporary.message).toContain('451');
    expect(smtp.submissions).toHaveLength(before);

    const partial = await main!.egress(
      busMessage('misto-1', invioPayload([RECIPIENT, 'rifiutato@pec.ente-prova.example'])),
      AbortSignal.timeout(10_000),
    );
    expect(partial.kind).toBe('accepted');
    expect(smtp.submissions.at(-1)!.rcptTo).toEqual([RECIPIENT]);
    const states = query<{ address: string; state: string; reason: string | null }>(
      mainDir,
      'SELECT address, state, reason FROM outbound_recipient WHERE message_id = ? ORDER BY rowid',
      partial.reference,
    );
    expect(states.map((s) => [s.address, s.state])).toEqual([
      [RECIPIENT, 'SUBMITTED'],
      ['rifiutato@pec.ente-prova.example', 'FAILED'],
    ]);
    expect(states[1]!.reason).toContain('casella inesistente');

    const malformed = await thrown(
      main!.egress(busMessage('malformato-1', '<pec:InvioPEC xmlns:pec="urn:tramite:pec:1"/>'), AbortSignal.timeout(10_000)),
    );
    expect([malformed.retriable, malformed.code]).toEqual([false, 'TRAMITE_ERR_ADAPTER_REFUSED']);
  });
});

describe('PEC adapter, ingress: the mailbox read over IMAP (Dovecot, STARTTLS)', () => {
  it('turns acceptance, delivery and no-dest failure receipts into one RicevutaPEC each, refId = the bus message, with the right stato', async () => {
    const at = mainBus.sent.length;
    await dovecot.deliver(
      MAIN,
      buildPecMessage({ kind: 'accettazione', daticert: sampleDaticert('accettazione', { msgid: sentMessageId, identificativo: IDENT }) }),
    );
    await dovecot.deliver(
      MAIN,
      buildPecMessage({
        kind: 'avvenuta-consegna',
        daticert: sampleDaticert('avvenuta-consegna', { msgid: sentMessageId, identificativo: IDENT, consegna: RECIPIENT }),
      }),
    );
    await dovecot.deliver(
      MAIN,
      buildPecMessage({
        kind: 'errore-consegna',
        daticert: sampleDaticert('errore-consegna', {
          msgid: sentMessageId,
          identificativo: IDENT,
          consegna: OTHER,
          errore: 'no-dest',
          erroreEsteso: '5.1.1 - Destinatario sconosciuto',
        }),
      }),
    );
    await settled(mainDir, MAIN);

    const receipts = mainBus.sent.slice(at);
    expect(receipts).toHaveLength(3);
    for (const r of receipts)
      expect({ to: r.to, service: r.service, refId: r.refId }).toEqual({ to: PARTY, service: 'RicevutaPEC', refId: MAIN_BUS_ID });
    const read = receipts.map((r) => attributesOf(r.payload));
    expect(read.map((r) => r.root)).toEqual(Array(3).fill(`${PEC_BUS_NS} Ricevuta`));
    expect(read[0]!.attrs).toMatchObject({
      tipo: 'accettazione',
      stato: 'ACCEPTED_BY_PROVIDER',
      messageId: sentMessageId,
      errore: 'nessuno',
      identificativo: IDENT,
    });
    expect(read[0]!.attrs['destinatario']).toBeUndefined();
    expect(read[1]!.attrs).toMatchObject({
      tipo: 'avvenuta-consegna',
      stato: 'DELIVERED',
      destinatario: RECIPIENT,
      messageId: sentMessageId,
    });
    expect(read[2]!.attrs).toMatchObject({
      tipo: 'errore-consegna',
      stato: 'FAILED',
      destinatario: OTHER,
      errore: 'no-dest',
      messageId: sentMessageId,
    });
    expect(read[2]!.text).toBe('5.1.1 - Destinatario sconosciuto');

    expect(
      query(mainDir, 'SELECT address, state, reason FROM outbound_recipient WHERE message_id = ? ORDER BY rowid', sentMessageId),
    ).toEqual([
      { address: RECIPIENT, state: 'DELIVERED', reason: null },
      { address: OTHER, state: 'FAILED', reason: '5.1.1 - Destinatario sconosciuto' },
    ]);
  });

  it('moves unsigned, badly signed and untrusted provider messages to Quarantena (created on first use), sends nothing for them, and counts them in health', async () => {
    const at = mainBus.sent.length;
    const consegna = () =>
      sampleDaticert('avvenuta-consegna', {
        msgid: sentMessageId,
        identificativo: 'opec-prova.falso@pec.gestore-prova.example',
        consegna: RECIPIENT,
      });
    const signed = buildPecMessage({ kind: 'avvenuta-consegna', daticert: consegna() }).toString('latin1');
    const tampered = signed.replace('stato trattato', 'stato TRATTATO');
    expect(tampered).not.toBe(signed);
    await dovecot.deliver(MAIN, buildPecMessage({ kind: 'avvenuta-consegna', daticert: consegna(), signer: null }));
    await dovecot.deliver(MAIN, Buffer.from(tampered, 'latin1'));
    await dovecot.deliver(MAIN, buildPecMessage({ kind: 'avvenuta-consegna', daticert: consegna(), signer: providerPki().rogue }));
    await settled(mainDir, MAIN);

    const quarantined = await until('three messages in Quarantena', () =>
      withImap(MAIN, async (c) => {
        const s = await c.status('Quarantena', { messages: true }).catch(() => false as const);
        return s && s.messages === 3 ? s : undefined;
      }),
    );
    expect(quarantined.messages).toBe(3);
    const inbox = await withImap(MAIN, async (c) => {
      await c.mailboxOpen('INBOX');
      return (await c.fetchAll('1:*', { uid: true, headers: ['x-ricevuta'] })).map((m) => m.headers?.toString().trim());
    });
    // Only the three genuine receipts remain in INBOX.
    expect(inbox).toEqual(['X-Ricevuta: accettazione', 'X-Ricevuta: avvenuta-consegna', 'X-Ricevuta: errore-consegna']);
    expect(mainBus.sent.length).toBe(at);

    const reasons = query<{ code: string; reason: string; moved_at: string | null }>(
      mainDir,
      'SELECT code, reason, moved_at FROM quarantine ORDER BY uid',
    );
    expect(reasons.map((r) => r.code)).toEqual(['TRAMITE_ERR_PEC_UNSIGNED', 'TRAMITE_ERR_PEC_BAD_SIGNATURE', 'TRAMITE_ERR_CERT_UNTRUSTED']);
    expect(reasons.every((r) => r.moved_at !== null)).toBe(true);
    expect(logLines.filter((l) => l.includes('PEC provider message quarantined')).length).toBeGreaterThanOrEqual(3);
    // A delivery receipt that was quarantined changed nothing.
    expect(query(mainDir, 'SELECT state FROM outbound_recipient WHERE message_id = ? ORDER BY rowid', sentMessageId)).toEqual([
      { state: 'DELIVERED' },
      { state: 'FAILED' },
    ]);

    const report = await main!.healthReport();
    expect(report).toMatchObject({ quarantined: 3, pendingEvents: 0, imap: { reachable: true }, smtp: { reachable: true } });
    expect(report.lastSuccessfulPoll).toBeInstanceOf(Date);
    const health = await main!.health();
    expect(health.status).toBe('up');
    expect(health.detail).toContain('quarantined 3');
  });

  it('quarantines a message larger than maxMessageBytes by its IMAP size, unfetched, with the size as the reason, and sends nothing for it', async () => {
    const user = 'valverde-big';
    const dir = tempDir('tramite-pec-big-');
    const bus = new RecordingBus();
    const message = buildPecMessage({
      kind: 'avvenuta-consegna',
      daticert: sampleDaticert('avvenuta-consegna', {
        msgid: '<grande@pec.comune-valverde.example>',
        identificativo: 'opec-prova.grande@pec.gestore-prova.example',
        consegna: RECIPIENT,
      }),
    });
    expect(message.length).toBeGreaterThan(2048);
    await dovecot.deliver(user, message);
    const instance = await started(optionsFor(user, { maxMessageBytes: 2048 }), dir, bus);
    try {
      await until('the message in Quarantena', () =>
        withImap(user, async (c) => {
          const s = await c.status('Quarantena', { messages: true }).catch(() => false as const);
          return s && s.messages === 1 ? s : undefined;
        }),
      );
    } finally {
      await instance.stop();
    }
    const reasons = query<{ code: string; reason: string }>(dir, 'SELECT code, reason FROM quarantine');
    expect(reasons).toHaveLength(1);
    expect(reasons[0]!.code).toBe('TRAMITE_ERR_PEC_MALFORMED');
    expect(reasons[0]!.reason).toContain('larger than maxMessageBytes (2048); not fetched');
    expect(bus.sent).toEqual([]);
  });

  it('turns a busta di trasporto into one MessaggioPEC; leaves ordinary mail alone; records an uncorrelated receipt without a bus message', async () => {
    const at = mainBus.sent.length;
    await dovecot.deliver(
      MAIN,
      buildPecMessage({
        kind: 'posta-certificata',
        original: await sampleOriginal(),
        daticert: sampleDaticert('posta-certificata', { identificativo: 'opec-prova.busta.1@pec.gestore-prova.example' }),
      }),
    );
    await dovecot.deliver(
      MAIN,
      [
        'From: Qualcuno <qualcuno@posta.example>',
        `To: ${ADDRESS}`,
        'Subject: una mail normale',
        'Message-ID: <normale-1@posta.example>',
        '',
        'Solo posta.',
        '',
      ].join('\r\n'),
    );
    await dovecot.deliver(
      MAIN,
      buildPecMessage({
        kind: 'accettazione',
        daticert: sampleDaticert('accettazione', {
          msgid: '<mai-inviato@pec.comune-valverde.example>',
          identificativo: 'opec-prova.altro@pec.gestore-prova.example',
        }),
      }),
    );
    await settled(mainDir, MAIN);

    const inbound = mainBus.sent.slice(at);
    expect(inbound).toHaveLength(1);
    expect(inbound[0]).toMatchObject({ to: PARTY, service: 'MessaggioPEC' });
    expect(inbound[0]!.refId).toBeUndefined();
    const m = attributesOf(inbound[0]!.payload);
    expect(m.root).toBe(`${PEC_BUS_NS} MessaggioPEC`);
    expect(m.attrs).toMatchObject({
      tipo: 'posta-certificata',
      messageId: ORIGINAL_MESSAGE_ID,
      identificativo: 'opec-prova.busta.1@pec.gestore-prova.example',
    });
    const el = (name: string) => Array.from(m.doc.getElementsByTagNameNS(PEC_BUS_NS, name));
    expect(el('Mittente').map((e) => e.textContent)).toEqual([SENDER]);
    expect(el('Destinatario').map((e) => e.textContent)).toEqual([RECIPIENT]);
    expect(el('Oggetto')[0]!.textContent).toBe('Trasmissione delibera n. 12/2025 <urgente> & riservata');
    expect(el('Testo')[0]!.textContent).toContain('Si trasmette in allegato la delibera n. 12/2025.');
    expect(el('Allegato').map((a) => [a.getAttribute('nome'), a.getAttribute('mimeType')])).toEqual([
      ['delibera-12-2025.pdf', 'application/pdf'],
      ['segnatura.xml', 'application/xml'],
    ]);
    expect(Buffer.from(el('Allegato')[0]!.textContent!, 'base64').equals(PDF)).toBe(true);

    const dispositions = query<{ disposition: string }>(mainDir, 'SELECT disposition FROM mailbox_message ORDER BY uid').map(
      (r) => r.disposition,
    );
    expect(dispositions).toEqual([
      'receipt',
      'receipt',
      'receipt',
      'quarantined',
      'quarantined',
      'quarantined',
      'inbound',
      'not-pec',
      'uncorrelated',
    ]);
    expect(logLines.some((l) => l.includes('PEC receipt about a message not sent from here'))).toBe(true);
    // Ordinary mail stays where it is, unflagged.
    const normal = await withImap(MAIN, async (c) => {
      await c.mailboxOpen('INBOX');
      const uids = await c.search({ header: { 'message-id': '<normale-1@posta.example>' } }, { uid: true });
      const uid = (uids || [])[0];
      return uid ? await c.fetchOne(String(uid), { flags: true }, { uid: true }) : false;
    });
    expect(normal && normal.flags?.has('\\Seen')).toBe(false);
  });
});

describe('PEC adapter, idempotency: each event once', () => {
  it('a restart, a receipt delivered twice, a cursor lost and a UIDVALIDITY change each send nothing twice', async () => {
    const total = mainBus.sent.length;
    expect(total).toBe(4);
    await main!.stop();

    // Restart: a new instance on the same data folder.
    main = await started(optionsFor(MAIN), mainDir, mainBus);
    await settled(mainDir, MAIN);
    await until('a poll after the restart', async () => (await main!.healthReport()).lastSuccessfulPoll);
    expect(mainBus.sent.length).toBe(total);

    // The provider delivers the same acceptance again (another UID, the same daticert).
    await dovecot.deliver(
      MAIN,
      buildPecMessage({ kind: 'accettazione', daticert: sampleDaticert('accettazione', { msgid: sentMessageId, identificativo: IDENT }) }),
    );
    await settled(mainDir, MAIN);
    expect(mainBus.sent.length).toBe(total);
    expect(query(mainDir, "SELECT count(*) AS n FROM mailbox_message WHERE disposition = 'duplicate'")).toEqual([{ n: 1 }]);

    // The mailbox read twice: the cursor goes back to 0.
    await main!.stop();
    const db = new Database(join(mainDir, 'pec.sqlite'));
    db.prepare('UPDATE mailbox_cursor SET last_uid = 0').run();
    db.prepare('DELETE FROM mailbox_message').run();
    db.close();
    main = await started(optionsFor(MAIN), mainDir, mainBus);
    await settled(mainDir, MAIN);
    expect(mainBus.sent.length).toBe(total);
    expect(
      query<{ disposition: string }>(mainDir, 'SELECT disposition FROM mailbox_message ORDER BY uid').map((r) => r.disposition),
    ).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'not-pec', 'uncorrelated', 'duplicate']);

    // The server renumbers the mailbox (new UIDVALIDITY): Dovecot does when its uidlist and index are gone.
    await main!.stop();
    const before = await withImap(MAIN, async (c) => (await c.mailboxOpen('INBOX')).uidValidity);
    const maildir = dovecot.maildirOf(MAIN);
    for (const name of readdirSync(maildir))
      if (name === 'dovecot-uidlist' || name.startsWith('dovecot.index')) rmSync(join(maildir, name));
    await new Promise((r) => setTimeout(r, 1100)); // Dovecot's new UIDVALIDITY is the current second
    const after = await withImap(MAIN, async (c) => (await c.mailboxOpen('INBOX')).uidValidity);
    expect(after).not.toBe(before);
    main = await started(optionsFor(MAIN), mainDir, mainBus);
    await settled(mainDir, MAIN);
    expect(mainBus.sent.length).toBe(total);
    expect(logLines.some((l) => l.includes('UIDVALIDITY changed'))).toBe(true);
    expect(query(mainDir, 'SELECT uid_validity FROM mailbox_cursor')).toEqual([{ uid_validity: String(after) }]);
    await main!.stop();
    main = undefined;
  });

  it('an event recorded but not sent (the bus failed, then the node stopped) is sent after the restart, exactly once (IMAPS)', async () => {
    const user = 'valverde-crash';
    const dataDir = tempDir('tramite-pec-crash-');
    const options = optionsFor(user, { imap: { ...optionsFor(user).imap, port: dovecot.imapsPort!, secure: true } });
    await dovecot.deliver(
      user,
      buildPecMessage({
        kind: 'posta-certificata',
        original: await sampleOriginal(),
        daticert: sampleDaticert('posta-certificata', { identificativo: 'opec-prova.busta.crash@pec.gestore-prova.example' }),
      }),
    );

    const failing = new RecordingBus();
    failing.failures = 1;
    const first = await started({ ...options, pollMs: 60_000 }, dataDir, failing);
    await until('the first send attempt', () => failing.attempts >= 1);
    const report = await until('the failed send recorded', async () => {
      const r = await first.healthReport();
      return r.failingEvents === 1 ? r : undefined;
    });
    expect(report.pendingEvents).toBe(1);
    expect((await first.health()).status).toBe('degraded');
    await first.stop();
    expect(failing.sent).toHaveLength(0);

    const bus = new RecordingBus();
    const second = await started(options, dataDir, bus);
    try {
      await until('the event sent after the restart', () => bus.sent.length === 1);
      await settled(dataDir, user);
      await new Promise((r) => setTimeout(r, 400)); // a few more polls
      expect(bus.sent).toHaveLength(1);
      expect(bus.sent[0]!.service).toBe('MessaggioPEC');
      expect(query(dataDir, 'SELECT status, attempts, bus_message_id FROM pec_event')).toEqual([
        { status: 'SENT', attempts: 2, bus_message_id: 'bus-1' },
      ]);
    } finally {
      await second.stop();
    }
  });
});

describe('PEC adapter, secrets and conformance', () => {
  it('never logs the passwords, nor puts them in errors or health, even when the servers refuse the login', async () => {
    const user = 'valverde-secret';
    const dir = tempDir('tramite-pec-secret-');
    writeFileSync(join(dir, 'smtp.pwd'), WRONG_SMTP_PASSWORD);
    writeFileSync(join(dir, 'imap.pwd'), WRONG_IMAP_PASSWORD);
    const base = optionsFor(user);
    const instance = await started(
      { ...base, smtp: { ...base.smtp, passwordFile: 'smtp.pwd' }, imap: { ...base.imap, passwordFile: 'imap.pwd' } },
      dir,
      new RecordingBus(),
    );
    try {
      const refused = await thrown(instance.egress(busMessage('segreto-1', invioPayload([RECIPIENT])), AbortSignal.timeout(10_000)));
      expect(refused.retriable).toBe(true);
      expect(refused.message).toContain('refused the login');
      await until('a failed IMAP login', async () => (await instance.healthReport()).imap?.reachable === false);
      const health = await instance.health();
      expect(health.status).toBe('down');
      for (const text of [refused.message, JSON.stringify(health)]) {
        expect(text).not.toContain(WRONG_SMTP_PASSWORD);
        expect(text).not.toContain(WRONG_IMAP_PASSWORD);
      }
    } finally {
      await instance.stop();
    }
    const everything = logLines.join('\n');
    expect(logLines.length).toBeGreaterThan(20);
    for (const secret of [SMTP_ACCOUNT.password, IMAP_PASSWORD, WRONG_SMTP_PASSWORD, WRONG_IMAP_PASSWORD])
      expect(everything).not.toContain(secret);
  });

  it('passes the conformance kit: options, lifecycle, typed egress outcomes, ingress from the real mailbox', async () => {
    const options = optionsFor('valverde-conf');
    const report = await checkAdapterConformance<PecOptions>(pec, {
      party: PARTY,
      options,
      invalidOptions: [
        { options: { ...options, address: undefined }, field: 'address' },
        { options: { ...options, address: 'Ufficio <u@pec.example.it>' }, field: 'address' },
        { options: { ...options, pollMs: 10 }, field: 'pollMs' },
        { options: { ...options, smtp: { ...options.smtp, port: 70_000 } }, field: 'smtp.port' },
        { options: { ...options, imap: { ...options.imap, passwordFile: undefined } }, field: 'imap.passwordFile' },
        { options: { ...options, providerCaFiles: [] }, field: 'providerCaFiles' },
        { options: { ...options, colore: 'blu' }, field: 'colore' },
      ],
      accepted: [busMessage('conformance-1', invioPayload([RECIPIENT]))],
      refused: [
        { message: busMessage('conformance-not-invio', '<x xmlns="urn:t"/>'), retriable: false, code: 'TRAMITE_ERR_ADAPTER_REFUSED' },
        {
          message: busMessage('conformance-sincrono', invioPayload([RECIPIENT]), { profile: 'sincrono' }),
          retriable: false,
          code: 'TRAMITE_ERR_ADAPTER_REFUSED',
        },
        {
          message: busMessage('conformance-550', invioPayload(['rifiutato@pec.ente-prova.example'])),
          retriable: false,
          code: 'TRAMITE_ERR_ADAPTER_REFUSED',
        },
        {
          message: busMessage('conformance-451', invioPayload(['occupato@pec.ente-prova.example'])),
          retriable: true,
          code: 'TRAMITE_ERR_ADAPTER_UNAVAILABLE',
        },
      ],
      ingress: {
        trigger: async () =>
          dovecot.deliver(
            'valverde-conf',
            buildPecMessage({
              kind: 'posta-certificata',
              original: await sampleOriginal(),
              daticert: sampleDaticert('posta-certificata', { identificativo: 'opec-prova.busta.conf@pec.gestore-prova.example' }),
            }),
          ),
        expect: 1,
      },
    });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.sent.map((m) => m.service)).toEqual(['MessaggioPEC']);
  });
});
