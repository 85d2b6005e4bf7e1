/**
 * Every XML document that arrives as bytes is decoded as its own declaration (or byte-order mark) says,
 * through the one hardened parser; an unknown encoding, or one the bytes contradict, is refused with
 * EGOV_IT_001 and what to fix.
 */
import { describe, expect, it } from 'vitest';
import { parseUntrustedXml } from '../../../envelopes/xml/hardened-xml.js';
import { EnvelopeError } from '../../../src/core/errors.js';

const ACCENTED = "Città di Chieti: l'attività è più «urgente» — N° 84";
/** The same text in a single-byte encoding: everything but the dash (not in ISO-8859-1) is there. */
const LATIN = ACCENTED.replace(' — ', ' - ');

const doc = (encoding: string | undefined, text: string) =>
  `<?xml version="1.0"${encoding ? ` encoding="${encoding}"` : ''}?>\n<Oggetto>${text}</Oggetto>`;

const textOf = (input: Uint8Array) => parseUntrustedXml(input).doc.documentElement!.textContent;

function refusal(input: Uint8Array): EnvelopeError {
  try {
    parseUntrustedXml(input);
  } catch (err) {
    expect(err).toBeInstanceOf(EnvelopeError);
    expect((err as EnvelopeError).code).toBe('EGOV_IT_001');
    return err as EnvelopeError;
  }
  throw new Error('expected EGOV_IT_001, the document was accepted');
}

describe('declared encodings, decoded', () => {
  it('ISO-8859-1 bytes declared ISO-8859-1 read as the accented text', () => {
    expect(textOf(Buffer.from(doc('ISO-8859-1', LATIN), 'latin1'))).toBe(LATIN);
  });

  it('windows-1252 and ISO-8859-1 give the same text for the letters they share', () => {
    const iso = textOf(Buffer.from(doc('ISO-8859-1', LATIN), 'latin1'));
    const win = textOf(Buffer.from(doc('windows-1252', LATIN), 'latin1'));
    expect(win).toBe(iso);
    expect(win).toBe(LATIN);
  });

  it('windows-1252 reads its own punctuation (0x92 is a curly apostrophe, 0x80 the euro sign)', () => {
    const bytes = Buffer.from(doc('windows-1252', "dell'X: 5 E"), 'latin1');
    bytes[bytes.indexOf("'")] = 0x92;
    bytes[bytes.lastIndexOf('E')] = 0x80;
    expect(textOf(bytes)).toBe('dell\u2019X: 5 \u20AC');
  });

  it('encoding names are case-insensitive and take their usual aliases', () => {
    for (const name of ['iso-8859-1', 'Latin1', 'ISO_8859-1', 'CP1252', 'iso-8859-15']) {
      expect(textOf(Buffer.from(doc(name, LATIN), 'latin1'))).toBe(LATIN);
    }
  });

  it('UTF-8, declared or by default, with or without a byte-order mark', () => {
    expect(textOf(Buffer.from(doc('UTF-8', ACCENTED), 'utf8'))).toBe(ACCENTED);
    expect(textOf(Buffer.from(doc(undefined, ACCENTED), 'utf8'))).toBe(ACCENTED);
    expect(textOf(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(doc('UTF-8', ACCENTED), 'utf8')]))).toBe(ACCENTED);
  });

  it('UTF-16 with a byte-order mark, little and big endian', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(doc('UTF-16', ACCENTED), 'utf16le')]);
    expect(textOf(le)).toBe(ACCENTED);
    const be = Buffer.from(le);
    be.swap16();
    expect(textOf(be)).toBe(ACCENTED);
  });

  it('gives back the text with its declaration naming UTF-8, so that writing it out as UTF-8 keeps it the same document', () => {
    const { text } = parseUntrustedXml(Buffer.from(doc('ISO-8859-1', LATIN), 'latin1'));
    expect(text).toBe(doc('UTF-8', LATIN));
  });
});

describe('unknown or lying encodings, refused', () => {
  it('an encoding the bus does not read', () => {
    expect(refusal(Buffer.from(doc('Shift_JIS', 'x'), 'latin1')).message).toMatch(
      /encoding "Shift_JIS" \(XML declaration\) is not accepted: use one of UTF-8, .*ISO-8859-1/,
    );
  });

  it('ISO-8859-1 bytes that declare nothing (so UTF-8): says to declare the encoding', () => {
    const err = refusal(Buffer.from(doc(undefined, LATIN), 'latin1'));
    expect(err.message).toMatch(/declares no encoding, so it must be UTF-8, but is not valid UTF-8 \(byte 0xE0 at offset \d+\)/);
    expect(err.message).toMatch(/encoding="ISO-8859-1"/);
  });

  it('UTF-8 bytes declared ISO-8859-1, which would read "Ã¨" for "è"', () => {
    expect(refusal(Buffer.from(doc('ISO-8859-1', LATIN), 'utf8')).message).toMatch(
      /declares encoding="ISO-8859-1" but its bytes are UTF-8 \(offset \d+: C3 A0 is "à" in UTF-8\): declare encoding="UTF-8"/,
    );
  });

  it('windows-1252 bytes declared ISO-8859-1 (0x92 would be a C1 control character there)', () => {
    const bytes = Buffer.from(doc('ISO-8859-1', "dell'attivit\u00e0"), 'latin1');
    bytes[bytes.indexOf("'")] = 0x92;
    expect(refusal(bytes).message).toMatch(
      /declares encoding="ISO-8859-1" but holds byte 0x92 at offset \d+, a control character in ISO-8859-1: it was written in windows-1252/,
    );
  });

  it('a byte windows-1252 leaves undefined', () => {
    const bytes = Buffer.from(doc('windows-1252', 'a\u00e8b'), 'latin1');
    bytes[bytes.indexOf('b')] = 0x81;
    expect(refusal(bytes).message).toMatch(/byte 0x81 at offset \d+, which windows-1252 does not define/);
  });

  it('non-ASCII bytes declared US-ASCII', () => {
    expect(refusal(Buffer.from(doc('US-ASCII', LATIN), 'latin1')).message).toMatch(
      /declares encoding="US-ASCII" but byte 0xE0 at offset \d+ is not ASCII/,
    );
  });

  it('a UTF-8 byte-order mark in front of a declaration naming another encoding', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(doc('ISO-8859-1', 'x'), 'latin1')]);
    expect(refusal(bytes).message).toMatch(/UTF-8 byte-order mark but its XML declaration says encoding="ISO-8859-1"/);
  });

  it('a UTF-16 byte-order mark in front of a declaration naming another encoding', () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(doc('ISO-8859-1', 'x'), 'utf16le')]);
    expect(refusal(bytes).message).toMatch(/UTF-16 byte-order mark but its XML declaration says encoding="ISO-8859-1"/);
  });

  it('UTF-16 declared, without the byte-order mark XML requires', () => {
    expect(refusal(Buffer.from(doc('UTF-16', 'x'), 'utf16le')).message).toMatch(/UTF-16 without a byte-order mark/);
    expect(refusal(Buffer.from(doc('UTF-16', 'x'), 'latin1')).message).toMatch(
      /says encoding="UTF-16" but the document has no UTF-16 byte-order mark/,
    );
  });
});
