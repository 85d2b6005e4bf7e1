/**
 * The access point's reading of a submitted message and its formal checks (RFC 6109 §3.1.1), which
 * decide between acceptance and non-acceptance.
 */
import { describe, expect, it } from 'vitest';
import { formalProblems, readSubmittedMessage } from '../../src/pec-provider/submission.js';

const SENDER = 'protocollo@pec.comune.example';

function message(headers: string[], body = 'Testo.'): Buffer {
  return Buffer.from([...headers, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', body, ''].join('\n'), 'utf8');
}

const read = (raw: Buffer) => readSubmittedMessage(raw, () => '<nuovo@pec.comune.example>');

describe('readSubmittedMessage', () => {
  it('makes line ends CRLF, keeps a Message-ID, reads X-TipoRicevuta', async () => {
    const msg = await read(
      message([
        `From: Protocollo <${SENDER.toUpperCase()}>`,
        'To: a@pec.example',
        'Subject: prova',
        'Message-ID: <m1@x>',
        'X-TipoRicevuta: Breve',
      ]),
    );
    expect(msg.raw.toString('latin1')).not.toMatch(/[^\r]\n/);
    expect(msg).toMatchObject({ messageId: '<m1@x>', subject: 'prova', from: [SENDER], to: ['a@pec.example'], tipoRicevuta: 'breve' });
  });

  it('gives a message without Message-ID one, and an unknown X-TipoRicevuta means completa', async () => {
    const msg = await read(message([`From: ${SENDER}`, 'To: a@pec.example', 'X-TipoRicevuta: lunga']));
    expect(msg.messageId).toBe('<nuovo@pec.comune.example>');
    expect(msg.raw.toString('latin1').startsWith('Message-ID: <nuovo@pec.comune.example>\r\n')).toBe(true);
    expect(msg.tipoRicevuta).toBe('completa');
  });
});

describe('formalProblems', () => {
  const envelope = { sender: SENDER, recipients: ['a@pec.example', 'B@pec.example'] };

  it('passes a message whose From is the sender and whose To/Cc are exactly the SMTP recipients', async () => {
    const msg = await read(message([`From: ${SENDER}`, 'To: a@pec.example', 'Cc: b@PEC.example', 'Message-ID: <m@x>']));
    expect(formalProblems(msg, envelope, 1_000_000)).toEqual([]);
  });

  it('names every failed check', async () => {
    const msg = await read(
      message(['From: altro@esterno.example', 'Cc: a@pec.example, c@pec.example', 'Bcc: b@pec.example', 'Message-ID: <m@x>']),
    );
    const problems = formalProblems(msg, envelope, 100);
    expect(problems).toEqual([
      expect.stringContaining('"altro@esterno.example" dell\'intestazione From non coincide'),
      expect.stringContaining("manca l'intestazione To"),
      expect.stringContaining('copia nascosta (Bcc)'),
      expect.stringContaining('i destinatari b@pec.example non compaiono nelle intestazioni To o Cc'),
      expect.stringContaining('i destinatari c@pec.example delle intestazioni To o Cc non sono tra quelli della trasmissione'),
      expect.stringMatching(/dimensione del messaggio per il numero dei destinatari \(\d+ byte\) supera il limite di 100 byte/),
    ]);
  });

  it('wants exactly one From address', async () => {
    const msg = await read(message([`From: ${SENDER}, altro@pec.comune.example`, 'To: a@pec.example', 'Message-ID: <m@x>']));
    expect(formalProblems(msg, { sender: SENDER, recipients: ['a@pec.example'] }, 1_000_000)).toEqual([
      expect.stringContaining('un solo indirizzo (ne contiene 2)'),
    ]);
  });
});
