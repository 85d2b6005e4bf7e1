/**
 * XML escaping for documents the bus writes as text, and the one definition of the characters XML 1.0
 * cannot carry at all. Exclusive C14N has its own output rules (`&#xD;` and friends, exc-c14n.ts): it
 * does not use these.
 */

/**
 * A character XML 1.0 forbids even as a reference (most C0 controls, lone surrogates, U+FFFE, U+FFFF):
 * a document holding one does not parse. XML 1.0 §2.2 `Char`.
 */
export const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

const NOT_XML_CHARS = new RegExp(NOT_XML_CHAR.source, 'gu');

export interface ForbiddenXmlChar {
  /** UTF-16 offset of the character in the value. */
  readonly index: number;
  readonly codePoint: number;
  /** `U+0001`: how messages name it. */
  readonly label: string;
}

/** The first character of `value` XML cannot carry, if any. */
export function findForbiddenXmlChar(value: string): ForbiddenXmlChar | undefined {
  const bad = NOT_XML_CHAR.exec(value);
  if (!bad) return undefined;
  const codePoint = bad[0].codePointAt(0) ?? 0;
  return { index: bad.index, codePoint, label: `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}` };
}

/** `value` with each character XML cannot carry replaced (by U+FFFD unless told), for text that must go through. */
export function replaceForbiddenXmlChars(value: string, replacement = '\uFFFD'): string {
  return value.replace(NOT_XML_CHARS, replacement);
}

const TEXT_SPECIAL = /[&<>\r]/g;
const ATTRIBUTE_SPECIAL = /[&<>"'\t\n\r]/g;
const REFERENCES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

/**
 * Element text that reads back as exactly `value`: `&`, `<`, `>` as entities, and CR as `&#13;`
 * (a parser turns a literal CR into LF). Forbidden characters are left for the caller to refuse or
 * replace (findForbiddenXmlChar, replaceForbiddenXmlChars).
 */
export function escapeText(value: string): string {
  return value.replace(TEXT_SPECIAL, (c) => REFERENCES[c]!);
}

/**
 * An attribute value that reads back as exactly `value` in either quoting style: all five predefined
 * entities, and tab and line ends as references, since attribute-value normalisation would turn them
 * into spaces.
 */
export function escapeAttribute(value: string): string {
  return value.replace(ATTRIBUTE_SPECIAL, (c) => REFERENCES[c]!);
}
