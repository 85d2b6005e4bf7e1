/**
 * The test IMAP server the PEC adapter will read from: a real Dovecot (Debian's dovecot-imapd)
 * started by test-support/dovecot-server.ts on 127.0.0.1, mail dropped into its Maildirs the way an
 * MDA does, read back with imapflow — the client the adapter uses.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../../test-support/dovecot-server.js';

const SENDER = { user: 'mittente@pec.example.it', password: 'pa:ss wörd' };
const RECIPIENT = { user: 'destinatario', password: 'correct horse' };

/** A raw RFC 5322 message, CRLF line ends, 8-bit UTF-8 body: the bytes must come back unchanged. */
function rawMessage(n: number): Buffer {
  return Buffer.from(
    [
      'Return-Path: <mittente@pec.example.it>',
      'From: Mittente <mittente@pec.example.it>',
      'To: Destinatario <destinatario@pec.example.it>',
      `Subject: POSTA CERTIFICATA: prova ${n}`,
      'Date: Mon, 24 Nov 2025 10:00:00 +0100',
      `Message-ID: <prova-${n}@pec.example.it>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=UTF-8',
      'Content-Transfer-Encoding: 8bit',
      'X-Trasporto: posta-certificata',
      '',
      `Messaggio di prova numero ${n}: àèìòù €.`,
      '',
    ].join('\r\n'),
    'utf8',
  );
}

function clientFor(server: DovecotServer, auth: { user: string; pass: string }, extra: Partial<ImapFlowOptions> = {}): ImapFlow {
  return new ImapFlow({
    host: server.host,
    port: server.imapPort,
    secure: false,
    doSTARTTLS: false,
    auth,
    logger: false,
    disableAutoIdle: true,
    ...extra,
  });
}

async function withClient<T>(client: ImapFlow, work: (client: ImapFlow) => Promise<T>): Promise<T> {
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.logout();
  }
}

describe('Dovecot test server, plain IMAP on loopback', () => {
  let server: DovecotServer;
  let firstUid = 0;

  beforeAll(async () => {
    server = await startDovecot({ users: [SENDER, RECIPIENT] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('serves a delivered message: INBOX listed, fetched by UID byte for byte', async () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.imapsPort).toBeUndefined();
    const raw = rawMessage(1);
    await server.deliver(RECIPIENT.user, raw);
    expect(readdirSync(join(server.maildirOf(RECIPIENT.user), 'new'))).toHaveLength(1);
    expect(readdirSync(join(server.maildirOf(RECIPIENT.user), 'tmp'))).toHaveLength(0);

    await withClient(clientFor(server, { user: RECIPIENT.user, pass: RECIPIENT.password }), async (client) => {
      const list = await client.list();
      expect(list.map((m) => m.path)).toContain('INBOX');
      const box = await client.mailboxOpen('INBOX');
      expect(box.exists).toBe(1);
      const last = await client.fetchOne('*', { uid: true });
      expect(last).not.toBe(false);
      firstUid = (last as { uid: number }).uid;
      expect(firstUid).toBeGreaterThan(0);

      const msg = await client.fetchOne(
        String(firstUid),
        { uid: true, source: true, envelope: true, flags: true, headers: ['subject', 'x-trasporto'] },
        { uid: true },
      );
      if (!msg) throw new Error(`UID ${firstUid} not found`);
      expect(msg.uid).toBe(firstUid);
      expect(msg.source?.equals(raw)).toBe(true);
      expect(msg.envelope?.subject).toBe('POSTA CERTIFICATA: prova 1');
      expect(msg.envelope?.messageId).toBe('<prova-1@pec.example.it>');
      expect(msg.headers?.toString('utf8')).toContain('X-Trasporto: posta-certificata');
      expect(msg.flags?.has('\\Seen')).toBe(false);
    });

    // The other user's mailbox is separate (and that user can log in with the right password).
    await withClient(clientFor(server, { user: SENDER.user, pass: SENDER.password }), async (client) => {
      const status = await client.status('INBOX', { messages: true });
      expect(status && status.messages).toBe(0);
    });
  });

  it('reports an authentication failure for a wrong password', async () => {
    const client = clientFor(server, { user: SENDER.user, pass: 'not the password' });
    client.on('error', () => undefined);
    await expect(client.connect()).rejects.toMatchObject({ authenticationFailed: true });
    client.close();
  });

  it('gives a second delivery a higher UID, and a \\Seen flag set over IMAP survives a reconnect', async () => {
    expect(firstUid).toBeGreaterThan(0);
    await server.deliver(RECIPIENT.user, rawMessage(2).toString('utf8'));
    const auth = { user: RECIPIENT.user, pass: RECIPIENT.password };

    const secondUid = await withClient(clientFor(server, auth), async (client) => {
      await client.mailboxOpen('INBOX');
      const uids = await client.search({ all: true }, { uid: true });
      expect(uids).not.toBe(false);
      const sorted = [...(uids as number[])].sort((a, b) => a - b);
      expect(sorted).toHaveLength(2);
      expect(sorted[0]).toBe(firstUid);
      const second = sorted[1]!;
      expect(second).toBeGreaterThan(firstUid);
      const msg = await client.fetchOne(String(second), { uid: true, source: true }, { uid: true });
      expect(msg && msg.source?.equals(rawMessage(2))).toBe(true);
      expect(await client.messageFlagsAdd(String(second), ['\\Seen'], { uid: true })).toBe(true);
      return second;
    });

    await withClient(clientFor(server, auth), async (client) => {
      await client.mailboxOpen('INBOX');
      const seen = await client.fetchOne(String(secondUid), { uid: true, flags: true }, { uid: true });
      const unseen = await client.fetchOne(String(firstUid), { uid: true, flags: true }, { uid: true });
      expect(seen && seen.flags?.has('\\Seen')).toBe(true);
      expect(unseen && unseen.flags?.has('\\Seen')).toBe(false);
      expect(await client.search({ seen: false }, { uid: true })).toEqual([firstUid]);
    });

    // Maildir keeps flags in the file name: the seen message now sits in cur/ as <name>:2,S.
    const cur = readdirSync(join(server.maildirOf(RECIPIENT.user), 'cur'));
    expect(cur.filter((f) => f.endsWith(':2,S'))).toHaveLength(1);
  });

  it('refuses to deliver to a user it does not serve', async () => {
    await expect(server.deliver('nessuno', rawMessage(3))).rejects.toThrow(/no such Dovecot test user/);
  });
});

describe('Dovecot test server, IMAPS with a self-signed certificate', () => {
  let server: DovecotServer;

  beforeAll(async () => {
    server = await startDovecot({ users: [RECIPIENT], tls: true });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('serves mail over implicit TLS to a client trusting the test certificate', async () => {
    expect(server.imapsPort).toBeGreaterThan(0);
    expect(server.imapsPort).not.toBe(server.imapPort);
    expect(server.tlsCertPem).toContain('BEGIN CERTIFICATE');
    await server.deliver(RECIPIENT.user, rawMessage(1));
    const client = new ImapFlow({
      host: server.host,
      port: server.imapsPort!,
      secure: true,
      tls: { ca: server.tlsCertPem! },
      auth: { user: RECIPIENT.user, pass: RECIPIENT.password },
      logger: false,
      disableAutoIdle: true,
    });
    await withClient(client, async (c) => {
      expect(c.secureConnection).toBe(true);
      await c.mailboxOpen('INBOX');
      const msg = await c.fetchOne('*', { uid: true, source: true });
      expect(msg && msg.source?.equals(rawMessage(1))).toBe(true);
    });
  });

  it('rejects a client that does not trust the certificate', async () => {
    const client = new ImapFlow({
      host: server.host,
      port: server.imapsPort!,
      secure: true,
      auth: { user: RECIPIENT.user, pass: RECIPIENT.password },
      logger: false,
    });
    client.on('error', () => undefined);
    await expect(client.connect()).rejects.toThrow(/self[- ]signed/i);
    client.close();
  });
});
