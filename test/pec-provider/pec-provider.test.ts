/**
 * The PEC provider simulator end to end: a real Dovecot holds the mailboxes, nodemailer submits to
 * the simulator's SMTP port as an authenticated mailbox, imapflow reads what the provider wrote, and
 * every provider message is read back with the PEC adapter's parsePecMessage — signature valid
 * against the provider CA, classified by its header, daticert agreeing, nothing malformed.
 */
import { createHash } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PecMessage, parsePecMessage, quarantineReason } from '../../adapters/pec/pec-message.js';
import { issueCertificate } from '../../src/crypto/dev-pki.js';
import { TrustStore } from '../../src/crypto/trust-store.js';
import { type IssuedMessage, PecProviderSimulator } from '../../src/pec-provider/pec-provider.js';
import { type DovecotServer, startDovecot } from '../../test-support/dovecot-server.js';

const DOMAIN = 'pec.comune-valverde.example';
const OTHER_DOMAIN = 'pec.regione-prova.example';
const SENDER = { user: `protocollo@${DOMAIN}`, password: 'segreta: àè 1' };
const RECIPIENT = { user: `tributi@${DOMAIN}`, password: 'tributi-pw' };
const REGIONE = { user: `ufficio@${OTHER_DOMAIN}`, password: 'regione-pw' };
const GESTORE = 'Gestore PEC di prova S.p.A.';
/** Short stand-ins for the rules' 12 h and 24 h: only the durations differ. */
const TIMEOUTS = { warnAfterMs: 1000, failAfterMs: 2000 };
const POLL = { timeout: 15_000, interval: 150 };

const PDF = Buffer.from('%PDF-1.4\n% delibera di prova\n%%EOF\n');

interface Fetched {
  readonly uid: number;
  readonly raw: Buffer;
  readonly pec: PecMessage;
}

describe('PEC provider simulator (Dovecot mailboxes, SMTP submission, signed receipts)', () => {
  const now = Date.now();
  const validity = { notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 7 * 86_400_000) };
  const ca = issueCertificate({ subject: { CN: 'Gestore PEC di prova CA', O: GESTORE, C: 'IT' }, ...validity, issuer: 'self', ca: true });
  const signer = issueCertificate({
    subject: { CN: 'Gestore PEC di prova - firma ricevute', O: GESTORE, C: 'IT' },
    ...validity,
    issuer: ca,
  });
  const trust = TrustStore.fromPem(ca.certPem);

  let dovecot: DovecotServer;
  let provider: PecProviderSimulator;
  const issued: IssuedMessage[] = [];
  const errors: Error[] = [];

  beforeAll(async () => {
    dovecot = await startDovecot({ users: [SENDER, RECIPIENT, REGIONE] });
    provider = new PecProviderSimulator({
      domains: [DOMAIN, OTHER_DOMAIN],
      mailboxes: [SENDER, RECIPIENT, REGIONE].map(({ user, password }) => ({ address: user, password })),
      signer,
      store: dovecot,
      gestore: GESTORE,
      timeouts: TIMEOUTS,
      onIssued: (m) => issued.push(m),
      onError: (err) => errors.push(err),
    });
    await provider.start();
  });
  afterAll(async () => {
    await provider?.stop();
    await dovecot?.stop();
    expect(errors).toEqual([]);
  });

  function transport(
    auth: { user: string; pass: string } = { user: SENDER.user, pass: SENDER.password },
    tls: 'starttls' | 'plain' = 'starttls',
  ) {
    return nodemailer.createTransport({
      host: provider.smtp.host,
      port: provider.smtp.port,
      secure: false,
      ...(tls === 'starttls' ? { requireTLS: true, tls: { ca: [provider.smtpTlsCertPem] } } : { ignoreTLS: true }),
      auth,
    });
  }

  async function send(mail: SendMailOptions, auth?: { user: string; pass: string }): Promise<string> {
    const info = await transport(auth).sendMail({ from: SENDER.user, text: 'Si trasmette la delibera.\nCordiali saluti.', ...mail });
    expect(info.response).toMatch(/^250 Ok: queued as opec-sim\./);
    return info.messageId;
  }

  /** Every message in the user's INBOX that refers to `messageId`, parsed, in UID order. */
  async function mailbox(user: { user: string; password: string }, messageId: string): Promise<Fetched[]> {
    const client = new ImapFlow({
      host: dovecot.host,
      port: dovecot.imapPort,
      secure: false,
      doSTARTTLS: false,
      auth: { user: user.user, pass: user.password },
      logger: false,
    });
    await client.connect();
    const found: Fetched[] = [];
    try {
      const box = await client.mailboxOpen('INBOX');
      if (box.exists > 0) {
        for await (const msg of client.fetch('1:*', { uid: true, source: true })) {
          const raw = msg.source!;
          const pec = await parsePecMessage(raw, { trust });
          if (pec.riferimentoMessageId === messageId) found.push({ uid: msg.uid, raw, pec });
        }
      }
    } finally {
      await client.logout();
    }
    return found.sort((a, b) => a.uid - b.uid);
  }

  const kinds = (list: readonly Fetched[]) => list.map((m) => m.pec.kind).sort();
  const issuedFor = (messageId: string) =>
    issued.filter((m) => m.riferimentoMessageId === messageId).map((m) => `${m.kind}${m.consegna ? ` ${m.consegna}` : ''} → ${m.mailbox}`);

  /** What every provider message must be: signed by the provider, well formed, about `messageId`. */
  function expectCertified(m: Fetched, messageId: string): void {
    expect(m.pec.signature).toMatchObject({ status: 'valid', digestAlgorithm: 'SHA-256' });
    expect(m.pec.signature.status === 'valid' && m.pec.signature.signer).toContain('Gestore PEC di prova - firma ricevute');
    expect(m.pec.malformed).toEqual([]);
    expect(quarantineReason(m.pec)).toBeUndefined();
    expect(m.pec.tipo).toBe(m.pec.kind);
    expect(m.pec.riferimentoMessageId).toBe(messageId);
    expect(m.pec.daticert?.dati.msgid).toBe(messageId);
    expect(m.pec.daticert?.dati.gestoreEmittente).toBe(GESTORE);
    expect(m.pec.daticert?.dati.identificativo).toMatch(/^opec-sim\.\d{14}\.\d+\.[0-9a-f]{8}@/);
    expect(m.pec.daticert?.dati.data.zona).toMatch(/^\+0[12]00$/);
    // Written with CRLF, which the signature covers; the PEC fields one line each, as the rules spell them.
    expect(m.raw.toString('latin1')).not.toMatch(/[^\r]\n/);
    expect(m.raw.toString('latin1').split('\r\n')).toContain(`X-Riferimento-Message-ID: ${messageId}`);
  }

  it('a message to a mailbox of the same provider: accettazione, busta with the original, avvenuta-consegna completa', async () => {
    const subject = 'Trasmissione delibera n. 12/2025 – urgente';
    const messageId = await send({
      to: RECIPIENT.user,
      subject,
      attachments: [{ filename: 'delibera-12-2025.pdf', contentType: 'application/pdf', content: PDF }],
    });

    await expect.poll(async () => kinds(await mailbox(SENDER, messageId)), POLL).toEqual(['accettazione', 'avvenuta-consegna']);
    await expect.poll(async () => kinds(await mailbox(RECIPIENT, messageId)), POLL).toEqual(['posta-certificata']);
    expect(issuedFor(messageId)).toEqual([
      `accettazione → ${SENDER.user}`,
      `posta-certificata → ${RECIPIENT.user}`,
      `avvenuta-consegna ${RECIPIENT.user} → ${SENDER.user}`,
    ]);

    const [accettazione, consegna] = await mailbox(SENDER, messageId).then((l) => [
      l.find((m) => m.pec.kind === 'accettazione')!,
      l.find((m) => m.pec.kind === 'avvenuta-consegna')!,
    ]);
    const [busta] = await mailbox(RECIPIENT, messageId);
    for (const m of [accettazione!, consegna!, busta!]) expectCertified(m, messageId);

    expect(accettazione!.pec).toMatchObject({
      subject: `ACCETTAZIONE: ${subject}`,
      from: `posta-certificata@${DOMAIN}`,
      mapping: { state: 'ACCEPTED_BY_PROVIDER' },
    });
    expect(accettazione!.pec.daticert).toMatchObject({
      errore: 'nessuno',
      intestazione: {
        mittente: SENDER.user,
        destinatari: [{ indirizzo: RECIPIENT.user, tipo: 'certificato' }],
        risposte: SENDER.user,
        oggetto: subject,
      },
    });
    expect(accettazione!.pec.daticert?.dati.consegna).toBeUndefined();
    expect(accettazione!.pec.original).toBeUndefined();

    // The busta: on behalf of the sender, Reply-To the sender, the original whole as postacert.eml.
    expect(busta!.pec).toMatchObject({
      kind: 'posta-certificata',
      subject: `POSTA CERTIFICATA: ${subject}`,
      mapping: { state: 'INBOUND' },
    });
    const bustaHeaders = await simpleParser(busta!.raw);
    expect(bustaHeaders.from?.value).toEqual([{ name: `Per conto di: ${SENDER.user}`, address: `posta-certificata@${DOMAIN}` }]);
    expect(bustaHeaders.replyTo?.value.map((a) => a.address)).toEqual([SENDER.user]);
    expect(bustaHeaders.messageId).toBe(`<${busta!.pec.daticert!.dati.identificativo}>`);
    expect(busta!.pec.original).toMatchObject({ messageId, subject, to: [RECIPIENT.user] });
    expect(busta!.pec.original?.text).toContain('Si trasmette la delibera.');
    expect(busta!.pec.original?.attachments.map((a) => [a.filename, a.contentType, a.content.equals(PDF)])).toEqual([
      ['delibera-12-2025.pdf', 'application/pdf', true],
    ]);

    // One identifier for the message across its receipts and its busta.
    expect(new Set([accettazione!, consegna!, busta!].map((m) => m.pec.daticert?.dati.identificativo)).size).toBe(1);

    expect(consegna!.pec).toMatchObject({
      subject: `CONSEGNA: ${subject}`,
      tipoRicevuta: 'completa',
      mapping: { state: 'DELIVERED', recipient: RECIPIENT.user },
    });
    expect(consegna!.pec.daticert?.dati).toMatchObject({ consegna: RECIPIENT.user, ricevuta: 'completa' });
    expect(consegna!.raw.toString('latin1')).toMatch(/^X-TipoRicevuta: completa\r$/m);
    expect(consegna!.pec.original?.messageId).toBe(messageId);
    expect(consegna!.pec.original?.attachments.map((a) => a.content.equals(PDF))).toEqual([true]);
  });

  it('a mailbox of its domain that does not exist: errore-consegna no-dest (5.1.1)', async () => {
    const nobody = `nessuno@${DOMAIN}`;
    const messageId = await send({ to: nobody, subject: 'Per una casella inesistente' });

    await expect.poll(async () => kinds(await mailbox(SENDER, messageId)), POLL).toEqual(['accettazione', 'errore-consegna']);
    const failure = (await mailbox(SENDER, messageId)).find((m) => m.pec.kind === 'errore-consegna')!;
    expectCertified(failure, messageId);
    expect(failure.pec).toMatchObject({
      errore: 'no-dest',
      subject: 'AVVISO DI MANCATA CONSEGNA: Per una casella inesistente',
      mapping: { state: 'FAILED', recipient: nobody },
    });
    expect(failure.pec.daticert?.dati.erroreEsteso).toMatch(/^5\.1\.1 - /);
    expect(failure.pec.mapping.reason).toMatch(/^5\.1\.1 - /);
    expect(failure.pec.original).toBeUndefined();
  });

  it('a recipient at another provider: preavviso-errore-consegna after warnAfterMs, errore-consegna after failAfterMs', async () => {
    const outside = `ufficio@pec.altro-gestore.example`;
    const messageId = await send({ to: outside, subject: 'Fuori dal gestore' });

    await expect
      .poll(async () => kinds(await mailbox(SENDER, messageId)), POLL)
      .toEqual(['accettazione', 'errore-consegna', 'preavviso-errore-consegna']);
    expect(issuedFor(messageId)).toEqual([
      `accettazione → ${SENDER.user}`,
      `preavviso-errore-consegna ${outside} → ${SENDER.user}`,
      `errore-consegna ${outside} → ${SENDER.user}`,
    ]);
    const list = await mailbox(SENDER, messageId);
    for (const m of list) expectCertified(m, messageId);
    const warning = list.find((m) => m.pec.kind === 'preavviso-errore-consegna')!;
    const failure = list.find((m) => m.pec.kind === 'errore-consegna')!;
    const prefix = 'AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO: ';
    expect(warning.pec).toMatchObject({
      subject: `${prefix}Fuori dal gestore`,
      from: `posta-certificata@${DOMAIN}`,
      mapping: { state: 'WARNING', recipient: outside },
    });
    expect(warning.pec.daticert?.dati.erroreEsteso).toMatch(/^4\.4\.7 - /);
    expect(failure.pec).toMatchObject({
      errore: 'altro',
      subject: `${prefix}Fuori dal gestore`,
      mapping: { state: 'FAILED', recipient: outside },
    });
    expect(failure.pec.daticert?.dati.erroreEsteso).toMatch(/^5\.4\.7 - /);
    // The texts tell the sender the configured durations.
    expect((await simpleParser(warning.raw)).text).toContain('dopo 1 secondo');
    expect((await simpleParser(failure.raw)).text).toContain('entro 2 secondi');
  });

  it('breve replaces the attachments with their hashes; sintetica carries no original; one receipt per recipient', async () => {
    const attachments = [{ filename: 'delibera.pdf', contentType: 'application/pdf', content: PDF }];
    const breveId = await send({
      to: [RECIPIENT.user, REGIONE.user],
      subject: 'Ricevuta breve',
      headers: { 'X-TipoRicevuta': 'breve' },
      attachments,
    });
    const sinteticaId = await send({
      to: RECIPIENT.user,
      subject: 'Ricevuta sintetica',
      headers: { 'X-TipoRicevuta': 'sintetica' },
      attachments,
    });

    await expect
      .poll(async () => kinds(await mailbox(SENDER, breveId)), POLL)
      .toEqual(['accettazione', 'avvenuta-consegna', 'avvenuta-consegna']);
    await expect.poll(async () => kinds(await mailbox(SENDER, sinteticaId)), POLL).toEqual(['accettazione', 'avvenuta-consegna']);
    await expect.poll(async () => kinds(await mailbox(REGIONE, breveId)), POLL).toEqual(['posta-certificata']);

    const breve = (await mailbox(SENDER, breveId)).filter((m) => m.pec.kind === 'avvenuta-consegna');
    expect(breve.map((m) => m.pec.mapping.recipient).sort()).toEqual([RECIPIENT.user, REGIONE.user].sort());
    for (const receipt of breve) {
      expectCertified(receipt, breveId);
      expect(receipt.pec.tipoRicevuta).toBe('breve');
      expect(receipt.raw.toString('latin1')).toMatch(/^X-TipoRicevuta: breve\r$/m);
      // Issued by the recipient's provider domain.
      expect(receipt.pec.from).toBe(`posta-certificata@${receipt.pec.mapping.recipient!.split('@')[1]}`);
      expect(receipt.pec.original).toMatchObject({ messageId: breveId, subject: 'Ricevuta breve' });
      expect(receipt.pec.original?.text).toContain('Si trasmette la delibera.');
      expect(receipt.pec.original?.attachments.map((a) => [a.filename, a.content.toString('utf8')])).toEqual([
        ['delibera.pdf.hash', createHash('sha256').update(PDF).digest('hex')],
      ]);
    }
    // The recipients still get the whole original in the busta.
    const [bustaRegione] = await mailbox(REGIONE, breveId);
    expectCertified(bustaRegione!, breveId);
    expect(bustaRegione!.pec.original?.attachments.map((a) => a.content.equals(PDF))).toEqual([true]);

    const sintetica = (await mailbox(SENDER, sinteticaId)).find((m) => m.pec.kind === 'avvenuta-consegna')!;
    expectCertified(sintetica, sinteticaId);
    expect(sintetica.pec).toMatchObject({ tipoRicevuta: 'sintetica', mapping: { state: 'DELIVERED', recipient: RECIPIENT.user } });
    expect(sintetica.pec.original).toBeUndefined();
    expect((await simpleParser(sintetica.raw)).attachments.map((a) => a.filename).sort()).toEqual(['daticert.xml', 'smime.p7s']);
  });

  describe('what the provider refuses', () => {
    it('refuses SMTP AUTH with a wrong password or an unknown mailbox (535)', async () => {
      await expect(
        transport({ user: SENDER.user, pass: 'sbagliata' }).sendMail({ from: SENDER.user, to: RECIPIENT.user, text: 'x' }),
      ).rejects.toMatchObject({ responseCode: 535 });
      await expect(
        transport({ user: `nessuno@${DOMAIN}`, pass: 'x' }).sendMail({ from: SENDER.user, to: RECIPIENT.user, text: 'x' }),
      ).rejects.toMatchObject({ responseCode: 535 });
    });

    it('refuses MAIL FROM other than the authenticated mailbox (553): nothing is certified', async () => {
      const before = issued.length;
      await expect(
        transport().sendMail({ from: 'qualcuno@esterno.example', to: RECIPIENT.user, subject: 'Non mio', text: 'x' }),
      ).rejects.toMatchObject({ responseCode: 553 });
      expect(issued.length).toBe(before);
    });

    it('answers a From of another domain with non-accettazione (SMTP accepts, the access point refuses to certify)', async () => {
      const messageId = await send({
        from: 'qualcuno@esterno.example',
        envelope: { from: SENDER.user, to: [RECIPIENT.user] },
        to: RECIPIENT.user,
        subject: 'Mittente estraneo',
      });
      // Issued before the SMTP reply, and nothing follows a non-acceptance.
      expect(issuedFor(messageId)).toEqual([`non-accettazione → ${SENDER.user}`]);
      const [refusal] = await mailbox(SENDER, messageId);
      expectCertified(refusal!, messageId);
      expect(refusal!.pec).toMatchObject({
        kind: 'non-accettazione',
        errore: 'altro',
        subject: 'AVVISO DI NON ACCETTAZIONE: Mittente estraneo',
        mapping: { state: 'FAILED' },
      });
      expect(refusal!.pec.daticert?.intestazione.mittente).toBe('qualcuno@esterno.example');
      expect(refusal!.pec.mapping.reason).toContain('non coincide con la casella che ha inviato il messaggio');
    });

    it('size: over the limit times the recipients is a non-accettazione; over the limit alone, SMTP refuses (552)', async () => {
      const small = new PecProviderSimulator({
        domains: [DOMAIN],
        mailboxes: [SENDER, RECIPIENT].map(({ user, password }) => ({ address: user, password })),
        signer,
        store: dovecot,
        gestore: GESTORE,
        maxMessageBytes: 4000,
        onIssued: (m) => issued.push(m),
        onError: (err) => errors.push(err),
      });
      await small.start();
      try {
        const smallTransport = nodemailer.createTransport({
          host: small.smtp.host,
          port: small.smtp.port,
          secure: false,
          requireTLS: true,
          tls: { ca: [small.smtpTlsCertPem] },
          auth: { user: SENDER.user, pass: SENDER.password },
        });
        const twice = await smallTransport.sendMail({
          from: SENDER.user,
          to: [RECIPIENT.user, `nessuno@${DOMAIN}`],
          subject: 'Troppo per due',
          text: 'x'.repeat(2500),
        });
        expect(issuedFor(twice.messageId)).toEqual([`non-accettazione → ${SENDER.user}`]);
        const [refusal] = await mailbox(SENDER, twice.messageId);
        expectCertified(refusal!, twice.messageId);
        expect(refusal!.pec.mapping.reason).toMatch(/supera il limite di 4000 byte/);

        await expect(
          smallTransport.sendMail({ from: SENDER.user, to: RECIPIENT.user, subject: 'Troppo', text: 'x'.repeat(5000) }),
        ).rejects.toMatchObject({ responseCode: 552 });
      } finally {
        await small.stop();
      }
    });

    it('allows AUTH without TLS from loopback, and refuses it (538) when TLS is required', async () => {
      const info = await transport(undefined, 'plain').sendMail({
        from: SENDER.user,
        to: RECIPIENT.user,
        subject: 'In chiaro da loopback',
        text: 'x',
      });
      expect(info.response).toMatch(/^250 /);
      expect(issuedFor(info.messageId)[0]).toBe(`accettazione → ${SENDER.user}`);

      const strict = new PecProviderSimulator({
        domains: [DOMAIN],
        mailboxes: [{ address: SENDER.user, password: SENDER.password }],
        signer,
        store: dovecot,
        requireTls: true,
        onError: (err) => errors.push(err),
      });
      await strict.start();
      try {
        const plain = nodemailer.createTransport({
          host: strict.smtp.host,
          port: strict.smtp.port,
          secure: false,
          ignoreTLS: true,
          auth: { user: SENDER.user, pass: SENDER.password },
        });
        await expect(plain.sendMail({ from: SENDER.user, to: RECIPIENT.user, text: 'x' })).rejects.toMatchObject({ responseCode: 538 });
      } finally {
        await strict.stop();
      }
    });
  });
});
