import { isUtf8 } from 'node:buffer';
import { EnvelopeError } from '../../src/core/errors.js';

/** The encodings an XML document arriving as bytes may use; anything else is refused. */
export type XmlEncoding = 'UTF-8' | 'UTF-16LE' | 'UTF-16BE' | SingleByteEncoding;

type SingleByteEncoding = 'ISO-8859-1' | 'ISO-8859-15' | 'windows-1252' | 'US-ASCII';

/** What a document arriving as bytes turned out to be. */
export interface DecodedXml {
  /**
   * The document as characters, byte-order mark removed. When its XML declaration names an encoding,
   * the name is rewritten to UTF-8 (nothing else moves), so that this text, written out as UTF-8 — to a
   * schema validator, a file, another parse — is still the same document.
   */
  readonly text: string;
  readonly encoding: XmlEncoding;
}

/** IANA names and aliases (lower case) of the accepted encodings. */
const LABELS: Readonly<Record<string, 'UTF-8' | 'UTF-16' | SingleByteEncoding>> = {
  'utf-8': 'UTF-8',
  utf8: 'UTF-8',
  'utf-16': 'UTF-16',
  'utf-16le': 'UTF-16',
  'utf-16be': 'UTF-16',
  'iso-8859-1': 'ISO-8859-1',
  'iso8859-1': 'ISO-8859-1',
  iso_8859_1: 'ISO-8859-1',
  'iso_8859-1': 'ISO-8859-1',
  'iso_8859-1:1987': 'ISO-8859-1',
  latin1: 'ISO-8859-1',
  'latin-1': 'ISO-8859-1',
  l1: 'ISO-8859-1',
  'iso-ir-100': 'ISO-8859-1',
  cp819: 'ISO-8859-1',
  ibm819: 'ISO-8859-1',
  csisolatin1: 'ISO-8859-1',
  'iso-8859-15': 'ISO-8859-15',
  'iso8859-15': 'ISO-8859-15',
  'iso_8859-15': 'ISO-8859-15',
  latin9: 'ISO-8859-15',
  'latin-9': 'ISO-8859-15',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
  'x-cp1252': 'windows-1252',
  'us-ascii': 'US-ASCII',
  ascii: 'US-ASCII',
  'iso646-us': 'US-ASCII',
  'ansi_x3.4-1968': 'US-ASCII',
};

const ACCEPTED = 'UTF-8, UTF-16 (with a byte-order mark), ISO-8859-1, ISO-8859-15, windows-1252, US-ASCII';

/** The XML declaration's encoding pseudo-attribute, in the declaration at the very start of `text`. */
const DECLARED_ENCODING = /^(<\?xml\s+version\s*=\s*(["'])[^"']*\2\s+encoding\s*=\s*)(["'])([^"'<>?]*)\3/;

/** Longest XML declaration read from raw bytes (a real one is under 100 bytes). */
const MAX_DECLARATION_BYTES = 512;

/**
 * Decodes an XML document that arrived as bytes, as XML 1.0 (section 4.3.3 and appendix F) says: a
 * byte-order mark decides UTF-8 or UTF-16; otherwise the XML declaration's `encoding`, and without one
 * UTF-8. The declaration must agree with the mark and with the bytes: an unknown encoding, a declaration
 * the bytes contradict, and a byte the encoding does not define are refused (EGOV_IT_001) with what to
 * fix, never guessed around.
 *
 * ISO-8859-1 is decoded as ISO-8859-1 (byte n → U+00nn), as XML and IANA define it and as libxml2 and
 * Java read it — not as WHATWG's TextDecoder('iso-8859-1'), which is windows-1252. Its bytes 0x80–0x9F
 * are then C1 control characters, which no administrative document contains: a document declaring
 * ISO-8859-1 that holds one was written in windows-1252 (a curly apostrophe, 0x92, is the usual sign)
 * and is refused with that advice rather than read with a control character where the author typed
 * punctuation. Likewise the five bytes windows-1252 leaves undefined are refused, and a document
 * declaring a single-byte encoding whose bytes are in fact UTF-8 (è written C3 A8) is refused rather
 * than read as "Ã¨".
 */
export function decodeXmlBytes(bytes: Uint8Array): DecodedXml {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bom = byteOrderMark(buf);
  if (bom === 'UTF-16LE' || bom === 'UTF-16BE') {
    const text = decodeStrict(bom === 'UTF-16LE' ? 'utf-16le' : 'utf-16be', buf, bom);
    const declared = declaredEncoding(text);
    if (declared !== undefined && LABELS[declared.toLowerCase()] !== 'UTF-16') {
      refuse(
        `the document starts with a UTF-16 byte-order mark but its XML declaration says encoding="${declared}": one of the two is wrong`,
      );
    }
    return { text: withUtf8Declaration(text), encoding: bom };
  }
  if (bom === undefined && looksLikeUtf16WithoutMark(buf)) {
    refuse(
      'the document is UTF-16 without a byte-order mark, which XML does not allow: write the mark (FF FE or FE FF) or send it as UTF-8',
    );
  }
  const body = bom === 'UTF-8' ? buf.subarray(3) : buf;
  const declared = declaredEncoding(body.subarray(0, MAX_DECLARATION_BYTES).toString('latin1'));
  const encoding = declared === undefined ? 'UTF-8' : LABELS[declared.toLowerCase()];
  if (encoding === undefined) refuse(`encoding "${declared}" (XML declaration) is not accepted: use one of ${ACCEPTED}`);
  if (encoding === 'UTF-16')
    refuse(`the XML declaration says encoding="${declared}" but the document has no UTF-16 byte-order mark and its bytes are not UTF-16`);
  if (bom === 'UTF-8' && encoding !== 'UTF-8')
    refuse(`the document starts with a UTF-8 byte-order mark but its XML declaration says encoding="${declared}": one of the two is wrong`);
  const text = encoding === 'UTF-8' ? decodeUtf8(body, declared) : decodeSingleByte(body, encoding, declared!);
  return { text: withUtf8Declaration(text), encoding };
}

function byteOrderMark(b: Buffer): 'UTF-8' | 'UTF-16LE' | 'UTF-16BE' | undefined {
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return 'UTF-8';
  if ((b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0) || (b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff)) {
    refuse('the document is UTF-32, which is not accepted: send it as UTF-8');
  }
  if (b[0] === 0xff && b[1] === 0xfe) return 'UTF-16LE';
  if (b[0] === 0xfe && b[1] === 0xff) return 'UTF-16BE';
  return undefined;
}

/** `<?` in UTF-16, either byte order (XML 1.0 appendix F), without the mark that must precede it. */
function looksLikeUtf16WithoutMark(b: Buffer): boolean {
  return (b[0] === 0x3c && b[1] === 0 && b[2] === 0x3f && b[3] === 0) || (b[0] === 0 && b[1] === 0x3c && b[2] === 0 && b[3] === 0x3f);
}

function declaredEncoding(head: string): string | undefined {
  return DECLARED_ENCODING.exec(head.startsWith('\uFEFF') ? head.slice(1) : head)?.[4];
}

/**
 * The same text, its XML declaration (if it names an encoding) now naming UTF-8: what a document held
 * as characters must say before it is written out as UTF-8 bytes (e.g. handed to libxml2).
 */
export function withUtf8Declaration(text: string): string {
  const bare = text.startsWith('\uFEFF') ? text.slice(1) : text;
  return bare.replace(DECLARED_ENCODING, '$1$3UTF-8$3');
}

function decodeUtf8(body: Buffer, declared: string | undefined): string {
  if (!isUtf8(body)) {
    const at = firstNonUtf8Offset(body);
    const said = declared === undefined ? 'declares no encoding, so it must be UTF-8,' : `declares encoding="${declared}"`;
    refuse(
      `the document ${said} but is not valid UTF-8 (byte 0x${hex(body[at] ?? 0)} at offset ${at}): ` +
        'if it was written in ISO-8859-1 or windows-1252, its XML declaration must say so (<?xml version="1.0" encoding="ISO-8859-1"?>)',
    );
  }
  return body.toString('utf8');
}

function decodeSingleByte(body: Buffer, encoding: SingleByteEncoding, declared: string): string {
  const high = body.findIndex((b) => b >= 0x80);
  if (high < 0) return body.toString('latin1'); // pure ASCII reads the same in every one of them
  if (encoding === 'US-ASCII')
    refuse(`the document declares encoding="${declared}" but byte 0x${hex(body[high]!)} at offset ${high} is not ASCII`);
  if (isUtf8(body)) {
    refuse(
      `the document declares encoding="${declared}" but its bytes are UTF-8 (offset ${high}: ${describeUtf8At(body, high)}): declare encoding="UTF-8"`,
    );
  }
  const text =
    encoding === 'ISO-8859-1'
      ? body.toString('latin1')
      : encoding === 'windows-1252'
        ? decodeWindows1252(body)
        : decodeStrict(encoding.toLowerCase(), body, declared);
  const c1 = /[\u0080-\u009f]/.exec(text);
  if (c1) {
    const byte = c1[0].charCodeAt(0);
    const offset = body.indexOf(byte);
    refuse(
      encoding === 'ISO-8859-1'
        ? `the document declares encoding="${declared}" but holds byte 0x${hex(byte)} at offset ${offset}, a control character in ISO-8859-1: it was written in windows-1252 (declare encoding="windows-1252")`
        : `the document declares encoding="${declared}" but holds byte 0x${hex(byte)} at offset ${offset}, which ${encoding} does not define`,
    );
  }
  return text;
}

/**
 * windows-1252 is ISO-8859-1 but for 0x80–0x9F, where it has punctuation, € and a few letters (WHATWG
 * index-windows-1252; the five bytes it leaves undefined stay C1 controls, refused by the caller).
 * Written out because Node 20's TextDecoder('windows-1252') takes its Latin-1 fast path and returns the
 * C1 controls instead (fixed in later Node releases).
 */
const WINDOWS_1252_HIGH =
  '\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178';

function decodeWindows1252(body: Buffer): string {
  return body.toString('latin1').replace(/[\u0080-\u009f]/g, (c) => WINDOWS_1252_HIGH.charAt(c.charCodeAt(0) - 0x80));
}

function decodeStrict(label: string, bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder(label, { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (cause) {
    return refuse(`the document is not valid ${what}`, cause);
  }
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence. */
function firstNonUtf8Offset(b: Buffer): number {
  let i = 0;
  while (i < b.length) {
    const lead = b[i]!;
    const length =
      lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (length === 0 || i + length > b.length || !isUtf8(b.subarray(i, i + length))) return i;
    i += length;
  }
  return i;
}

function describeUtf8At(b: Buffer, at: number): string {
  const lead = b[at]!;
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
  const seq = b.subarray(at, at + length);
  return `${[...seq].map(hex).join(' ')} is "${seq.toString('utf8')}" in UTF-8`;
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}

function refuse(why: string, cause?: unknown): never {
  throw new EnvelopeError('EGOV_IT_001', 'Envelope', `EGOV_IT_001 - ${why}`, cause === undefined ? undefined : { cause });
}
