/**
 * parsePecMessage on provider messages built by test/fixtures/pec/pec-fixture.ts: classification by
 * header and its mapping, the S/MIME signature in every state, the cross-checks between the unsigned
 * headers and the signed daticert.xml, the original carried by a busta, and quarantineReason.
 */
import { describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { type PecKind, parsePecMessage, quarantineReason } from '../../../adapters/pec/pec-message.js';
import { PecError } from '../../../adapters/pec/pec-errors.js';
import { buildDaticertXml } from '../../../adapters/pec/daticert.js';
import {
  ORIGINAL_MESSAGE_ID,
  RECIPIENT,
  buildPecMessage,
  providerPki,
  sampleDaticert,
  sampleOriginal,
} from '../../fixtures/pec/pec-fixture.js';

const trusted = () => ({ trust: providerPki().trust });

describe('classification and mapping', () => {
  const cases: Array<{
    kind: PecKind;
    errore?: 'no-dest' | 'virus' | 'altro';
    erroreEsteso?: string;
    state: string;
    recipient?: string;
    reason?: string | RegExp;
  }> = [
    { kind: 'accettazione', state: 'ACCEPTED_BY_PROVIDER' },
    {
      kind: 'non-accettazione',
      errore: 'altro',
      erroreEsteso: 'Destinatario con indirizzo non valido',
      state: 'FAILED',
      reason: 'Destinatario con indirizzo non valido',
    },
    { kind: 'presa-in-carico', state: 'ACCEPTED_BY_PROVIDER', reason: /presa in carico/ },
    { kind: 'avvenuta-consegna', state: 'DELIVERED', recipient: RECIPIENT },
    {
      kind: 'errore-consegna',
      errore: 'no-dest',
      erroreEsteso: '5.1.1 - Gestore di Prova: indirizzo non valido',
      state: 'FAILED',
      recipient: RECIPIENT,
      reason: '5.1.1 - Gestore di Prova: indirizzo non valido',
    },
    {
      kind: 'preavviso-errore-consegna',
      errore: 'altro',
      erroreEsteso: '4.4.7 - consegna non ancora riuscita dopo 12 ore',
      state: 'WARNING',
      recipient: RECIPIENT,
      reason: '4.4.7 - consegna non ancora riuscita dopo 12 ore',
    },
    { kind: 'rilevazione-virus', errore: 'virus', state: 'FAILED', reason: 'virus' },
  ];
  for (const c of cases) {
    it(`X-Ricevuta: ${c.kind} → ${c.state}`, async () => {
      const daticert = sampleDaticert(c.kind as Exclude<PecKind, 'errore'>, {
        ...(c.errore ? { errore: c.errore } : {}),
        ...(c.erroreEsteso ? { erroreEsteso: c.erroreEsteso } : {}),
      });
      const msg = await parsePecMessage(buildPecMessage({ kind: c.kind, daticert }), trusted());
      expect(msg.kind).toBe(c.kind);
      expect(msg.tipo).toBe(c.kind);
      expect(msg.errore).toBe(c.errore ?? 'nessuno');
      expect(msg.riferimentoMessageId).toBe(ORIGINAL_MESSAGE_ID);
      expect(msg.mapping.state).toBe(c.state);
      expect(msg.mapping.recipient).toBe(c.recipient);
      if (c.reason instanceof RegExp) expect(msg.mapping.reason).toMatch(c.reason);
      else expect(msg.mapping.reason).toBe(c.reason);
      expect(msg.malformed).toEqual([]);
      expect(quarantineReason(msg)).toBeUndefined();
    });
  }

  it('X-Trasporto: posta-certificata → INBOUND, with the original message and its attachments', async () => {
    const original = await sampleOriginal();
    const msg = await parsePecMessage(buildPecMessage({ kind: 'posta-certificata', original }), trusted());
    expect(msg).toMatchObject({
      kind: 'posta-certificata',
      tipo: 'posta-certificata',
      mapping: { state: 'INBOUND' },
      tipoRicevuta: 'completa',
    });
    expect(quarantineReason(msg)).toBeUndefined();
    const expected = await simpleParser(original);
    expect(msg.original).toMatchObject({
      messageId: ORIGINAL_MESSAGE_ID,
      from: expect.stringContaining('protocollo@pec.comune-valverde.example'),
      to: [RECIPIENT],
      subject: 'Trasmissione delibera n. 12/2025 <urgente> & riservata',
      text: expect.stringContaining('delibera n. 12/2025'),
    });
    expect(msg.original!.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ['delibera-12-2025.pdf', 'application/pdf'],
      ['segnatura.xml', 'application/xml'],
    ]);
    expect(msg.original!.attachments[0]!.content.equals(expected.attachments[0]!.content)).toBe(true);
    expect(msg.original!.attachments[0]!.content.toString()).toContain('delibera di prova');
  });

  it('X-Trasporto: errore (busta di anomalia) → INBOUND, daticert not required', async () => {
    const msg = await parsePecMessage(buildPecMessage({ kind: 'errore', daticert: null, original: await sampleOriginal() }), trusted());
    expect(msg).toMatchObject({
      kind: 'errore',
      tipo: undefined,
      mapping: { state: 'INBOUND', reason: expect.stringContaining('anomalia') },
    });
    expect(msg.malformed).toEqual([]);
    expect(quarantineReason(msg)).toBeUndefined();
  });

  it('classifies by header, never by subject', async () => {
    const raw = buildPecMessage({ kind: 'accettazione' }).toString('latin1').replace('Subject: ACCETTAZIONE:', 'Subject: CONSEGNA:');
    const msg = await parsePecMessage(Buffer.from(raw, 'latin1'), trusted());
    expect(msg.kind).toBe('accettazione');
    expect(msg.subject).toMatch(/^CONSEGNA:/);
  });

  it('reads the daticert date with its zona as an instant, and the msgid without escapes', async () => {
    const daticert = sampleDaticert('accettazione', { at: new Date('2025-03-04T09:15:01Z'), zona: '+0200' });
    const msg = await parsePecMessage(buildPecMessage({ kind: 'accettazione', daticert }), { ...trusted(), at: new Date() });
    expect(msg.daticert!.dati.data).toEqual({ zona: '+0200', giorno: '04/03/2025', ora: '11:15:01', instant: '2025-03-04T09:15:01.000Z' });
    expect(msg.daticert!.dati.msgid).toBe(ORIGINAL_MESSAGE_ID);
  });
});

describe('signature', () => {
  it('valid: signed by a provider certificate the trust store accepts, SHA-256', async () => {
    const msg = await parsePecMessage(buildPecMessage({ kind: 'avvenuta-consegna' }), trusted());
    expect(msg.signature).toEqual({
      status: 'valid',
      signer: expect.stringContaining('CN=Gestore PEC di Prova'),
      digestAlgorithm: 'SHA-256',
    });
  });

  it('valid also when the mailbox stored the message with LF line ends (canonical CRLF is what was signed)', async () => {
    const raw = buildPecMessage({ kind: 'accettazione', lineEnd: '\n' });
    expect(raw.includes('\r\n')).toBe(false);
    const msg = await parsePecMessage(raw, trusted());
    expect(msg.signature.status).toBe('valid');
  });

  it('absent: the signature part is missing → quarantined as unsigned', async () => {
    const msg = await parsePecMessage(buildPecMessage({ kind: 'accettazione', signer: null }), trusted());
    expect(msg.signature).toMatchObject({ status: 'absent', code: 'TRAMITE_ERR_PEC_UNSIGNED' });
    expect(msg.tipo).toBe('accettazione');
    expect(quarantineReason(msg)).toEqual({ code: 'TRAMITE_ERR_PEC_UNSIGNED', reason: expect.stringMatching(/^unsigned: .*smime\.p7s/) });
  });

  it('absent: a message that is not multipart/signed at all', async () => {
    const daticert = buildDaticertXml(sampleDaticert('accettazione'));
    const raw = [
      'From: posta-certificata@pec.gestore-prova.example',
      'X-Ricevuta: accettazione',
      `X-Riferimento-Message-ID: ${ORIGINAL_MESSAGE_ID}`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain',
      '',
      'ricevuta',
      '--b1',
      'Content-Type: application/xml; name="daticert.xml"',
      'Content-Disposition: attachment; filename="daticert.xml"',
      '',
      daticert,
      '--b1--',
      '',
    ].join('\r\n');
    const msg = await parsePecMessage(Buffer.from(raw), trusted());
    expect(msg.signature).toMatchObject({ status: 'absent', reason: expect.stringContaining('multipart/mixed') });
    expect(msg.tipo).toBe('accettazione');
    expect(quarantineReason(msg)?.code).toBe('TRAMITE_ERR_PEC_UNSIGNED');
  });

  it('invalid: the signed part was altered after signing', async () => {
    const raw = buildPecMessage({ kind: 'avvenuta-consegna' })
      .toString('latin1')
      .replace('Ricevuta o busta di prova', 'Ricevuta o busta di PROVA');
    const msg = await parsePecMessage(Buffer.from(raw, 'latin1'), trusted());
    expect(msg.signature).toMatchObject({
      status: 'invalid',
      code: 'TRAMITE_ERR_PEC_BAD_SIGNATURE',
      reason: expect.stringContaining('altered'),
    });
    expect(quarantineReason(msg)).toMatchObject({
      code: 'TRAMITE_ERR_PEC_BAD_SIGNATURE',
      reason: expect.stringMatching(/^bad signature: /),
    });
  });

  it('invalid: a daticert.xml swapped for another one', async () => {
    const genuine = buildPecMessage({
      kind: 'errore-consegna',
      daticert: sampleDaticert('errore-consegna', { errore: 'no-dest' }),
    }).toString('latin1');
    const forgedXml = buildDaticertXml(sampleDaticert('avvenuta-consegna'));
    const forged = genuine.replace(
      /(filename="daticert\.xml"\r\nContent-Transfer-Encoding: base64\r\n\r\n)[A-Za-z0-9+/=\r\n]+?(\r\n--)/,
      (_m, head: string, tail: string) => `${head}${Buffer.from(forgedXml).toString('base64')}${tail}`,
    );
    expect(forged).not.toBe(genuine);
    const msg = await parsePecMessage(
      Buffer.from(forged.replace('X-Ricevuta: errore-consegna', 'X-Ricevuta: avvenuta-consegna'), 'latin1'),
      trusted(),
    );
    expect(msg.tipo).toBe('avvenuta-consegna');
    expect(msg.signature.status).toBe('invalid');
    expect(quarantineReason(msg)).toBeDefined();
  });

  it('untrusted: signed by a certificate of another CA', async () => {
    const msg = await parsePecMessage(buildPecMessage({ kind: 'accettazione', signer: providerPki().rogue }), trusted());
    expect(msg.signature).toMatchObject({
      status: 'untrusted',
      code: 'TRAMITE_ERR_CERT_UNTRUSTED',
      signer: expect.stringContaining('Gestore PEC di Prova'),
    });
    expect(quarantineReason(msg)?.reason).toMatch(/^untrusted signer: .*does not chain to a trusted CA/);
  });

  it('untrusted: the provider certificate had expired at the daticert date; valid when judged (--at) inside its validity', async () => {
    const raw = buildPecMessage({ kind: 'accettazione', signer: providerPki().expired });
    const msg = await parsePecMessage(raw, trusted());
    expect(msg.signature).toMatchObject({
      status: 'untrusted',
      code: 'TRAMITE_ERR_CERT_EXPIRED',
      reason: expect.stringContaining('has expired'),
    });
    const back = await parsePecMessage(raw, { ...trusted(), at: new Date(Date.now() - 10 * 24 * 3600 * 1000) });
    expect(back.signature.status).toBe('valid');
  });

  it('untrusted: no trust store given', async () => {
    const msg = await parsePecMessage(buildPecMessage({ kind: 'accettazione' }));
    expect(msg.signature).toMatchObject({
      status: 'untrusted',
      code: 'TRAMITE_ERR_CERT_UNTRUSTED',
      reason: expect.stringContaining('no trust store'),
    });
  });

  it('SHA-1 is refused unless explicitly accepted', async () => {
    const raw = buildPecMessage({ kind: 'accettazione', digest: 'sha1' });
    const refused = await parsePecMessage(raw, trusted());
    expect(refused.signature).toMatchObject({
      status: 'invalid',
      code: 'TRAMITE_ERR_SIG_ALGORITHM',
      reason: expect.stringContaining('SHA-1'),
    });
    const accepted = await parsePecMessage(raw, { ...trusted(), acceptSha1: true });
    expect(accepted.signature).toMatchObject({ status: 'valid', digestAlgorithm: 'SHA-1' });
  });

  it('a signature with embedded content is refused (it would verify its own content, not this message)', async () => {
    const msg = await parsePecMessage(buildPecMessage({ kind: 'accettazione', attached: true }), trusted());
    expect(msg.signature).toMatchObject({ status: 'invalid', reason: expect.stringContaining('detached') });
  });

  it('an unreadable smime.p7s is invalid, not absent', async () => {
    const raw = buildPecMessage({ kind: 'accettazione' })
      .toString('latin1')
      .replace(/(filename="smime\.p7s"\r\n\r\n)[\s\S]*?(\r\n--outer)/, '$1MII..PKw==$2');
    const msg = await parsePecMessage(Buffer.from(raw, 'latin1'), trusted());
    expect(msg.signature).toMatchObject({
      status: 'invalid',
      code: 'TRAMITE_ERR_PEC_BAD_SIGNATURE',
      reason: expect.stringContaining('not a usable CMS SignedData'),
    });
  });
});

describe('malformed provider messages', () => {
  it('header and daticert disagree on the type → malformed, quarantined although the signature is valid', async () => {
    const msg = await parsePecMessage(
      buildPecMessage({ kind: 'avvenuta-consegna', daticert: sampleDaticert('errore-consegna', { errore: 'no-dest' }) }),
      trusted(),
    );
    expect(msg.signature.status).toBe('valid');
    expect(msg.kind).toBe('avvenuta-consegna');
    expect(msg.tipo).toBe('errore-consegna');
    expect(msg.malformed).toEqual(['X-Ricevuta says avvenuta-consegna but daticert.xml says errore-consegna']);
    expect(quarantineReason(msg)).toEqual({
      code: 'TRAMITE_ERR_PEC_MALFORMED',
      reason: 'malformed: X-Ricevuta says avvenuta-consegna but daticert.xml says errore-consegna',
    });
  });

  it('X-Riferimento-Message-ID differs from the signed daticert msgid → malformed', async () => {
    const msg = await parsePecMessage(
      buildPecMessage({ kind: 'accettazione', riferimentoMessageId: '<another@pec.comune-valverde.example>' }),
      trusted(),
    );
    expect(msg.malformed).toEqual([
      `X-Riferimento-Message-ID <another@pec.comune-valverde.example> differs from daticert msgid ${ORIGINAL_MESSAGE_ID}`,
    ]);
    expect(quarantineReason(msg)?.code).toBe('TRAMITE_ERR_PEC_MALFORMED');
  });

  it('no X-Riferimento-Message-ID, no daticert.xml → malformed', async () => {
    const msg = await parsePecMessage(buildPecMessage({ kind: 'accettazione', riferimentoMessageId: null, daticert: null }), trusted());
    expect(msg.malformed).toEqual(['no daticert.xml part', 'no X-Riferimento-Message-ID header']);
    expect(msg.tipo).toBeUndefined();
  });

  it('a DOCTYPE in daticert.xml is refused → malformed, no daticert read', async () => {
    const xml = buildDaticertXml(sampleDaticert('accettazione')).replace(
      '<postacert',
      '<!DOCTYPE postacert [<!ENTITY x "avvenuta-consegna">]>\n<postacert',
    );
    const msg = await parsePecMessage(buildPecMessage({ kind: 'accettazione', daticert: xml }), trusted());
    expect(msg.daticert).toBeUndefined();
    expect(msg.malformed).toEqual([expect.stringMatching(/^daticert\.xml: not acceptable XML: a DOCTYPE is not accepted/)]);
    expect(quarantineReason(msg)?.code).toBe('TRAMITE_ERR_PEC_MALFORMED');
  });

  it('a busta without postacert.eml → malformed', async () => {
    const msg = await parsePecMessage(buildPecMessage({ kind: 'posta-certificata' }), trusted());
    expect(msg.malformed).toEqual(['the busta di trasporto carries no postacert.eml']);
  });

  it('a part appended after the signature is never read, and makes the message malformed', async () => {
    const forgedDaticert = buildDaticertXml(sampleDaticert('avvenuta-consegna'));
    const extraPart = `Content-Type: application/xml; name="daticert.xml"\r\nContent-Disposition: attachment; filename="daticert.xml"\r\n\r\n${forgedDaticert}`;
    const msg = await parsePecMessage(
      buildPecMessage({ kind: 'errore-consegna', daticert: sampleDaticert('errore-consegna', { errore: 'no-dest' }), extraPart }),
      trusted(),
    );
    expect(msg.tipo).toBe('errore-consegna');
    expect(msg.signature.status).toBe('valid');
    expect(msg.malformed).toEqual(['multipart/signed has 3 body parts instead of 2']);
    expect(quarantineReason(msg)?.code).toBe('TRAMITE_ERR_PEC_MALFORMED');
  });

  it('a repeated classification header → malformed', async () => {
    const msg = await parsePecMessage(
      buildPecMessage({ kind: 'accettazione', extraHeaders: ['X-Ricevuta: avvenuta-consegna'] }),
      trusted(),
    );
    expect(msg.malformed).toContain('header X-Ricevuta appears 2 times');
  });
});

describe('not a PEC message', () => {
  it('an ordinary e-mail is refused with TRAMITE_ERR_PEC_NOT_PEC', async () => {
    const raw = Buffer.from(
      'From: mario.rossi@example.org\r\nTo: ufficio@example.org\r\nSubject: CONSEGNA: non sono una ricevuta\r\n\r\nciao\r\n',
    );
    await expect(parsePecMessage(raw)).rejects.toSatisfy(
      (err: unknown) => err instanceof PecError && err.code === 'TRAMITE_ERR_PEC_NOT_PEC' && /X-Ricevuta/.test(err.message),
    );
  });

  it('an unknown X-Ricevuta value, and bytes that are not a message, are refused', async () => {
    await expect(parsePecMessage(Buffer.from('X-Ricevuta: conferma-lettura\r\n\r\nx'))).rejects.toMatchObject({
      code: 'TRAMITE_ERR_PEC_NOT_PEC',
      message: expect.stringContaining('conferma-lettura'),
    });
    await expect(parsePecMessage(Buffer.from('just some bytes without a header end'))).rejects.toMatchObject({
      code: 'TRAMITE_ERR_PEC_NOT_PEC',
    });
  });
});
