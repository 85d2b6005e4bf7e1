import { DOMParser } from '@xmldom/xmldom';
import { describe, expect, it } from 'vitest';
import {
  NOT_XML_CHAR,
  escapeAttribute,
  escapeText,
  findForbiddenXmlChar,
  replaceForbiddenXmlChars,
} from '../../../envelopes/xml/xml-escape.js';

const parse = (xml: string): Element => new DOMParser().parseFromString(xml, 'text/xml').documentElement as Element;

describe('xml-escape', () => {
  it('escapes the markup characters of text, and CR, so the text reads back unchanged', () => {
    const value = `a & b < c > d "e" 'f'\r\n\tg`;
    expect(escapeText(value)).toBe(`a &amp; b &lt; c &gt; d "e" 'f'&#13;\n\tg`);
    expect(parse(`<r>${escapeText(value)}</r>`).textContent).toBe(value);
  });

  it('escapes all five predefined entities in an attribute value, and whitespace that normalisation would flatten', () => {
    const value = `&<>"'\t\n\r`;
    expect(escapeAttribute(value)).toBe('&amp;&lt;&gt;&quot;&apos;&#9;&#10;&#13;');
    expect(parse(`<r a="${escapeAttribute(value)}"/>`).getAttribute('a')).toBe(value);
    expect(parse(`<r a='${escapeAttribute(value)}'/>`).getAttribute('a')).toBe(value);
  });

  it('leaves plain text, and text beyond the BMP, as it is', () => {
    expect(escapeText('Società 😀')).toBe('Società 😀');
    expect(escapeAttribute('Società 😀')).toBe('Società 😀');
  });

  it('knows the characters XML 1.0 forbids: C0 controls but tab and line ends, lone surrogates, U+FFFE and U+FFFF', () => {
    for (const bad of ['\u0000', '\u0001', '\u0008', '\u000B', '\u000C', '\u001F', '\uFFFE', '\uFFFF', '\uD800', '\uDFFF']) {
      expect(NOT_XML_CHAR.test(`x${bad}y`), JSON.stringify(bad)).toBe(true);
    }
    for (const good of ['\t', '\n', '\r', ' ', '\u007F', '\uD7FF', '\uE000', '\uFFFD', '😀']) {
      expect(NOT_XML_CHAR.test(`x${good}y`), JSON.stringify(good)).toBe(false);
    }
  });

  it('finds the first forbidden character, naming its code point', () => {
    expect(findForbiddenXmlChar('ok\ttext')).toBeUndefined();
    expect(findForbiddenXmlChar('ab\u0007c\u0001')).toEqual({ index: 2, codePoint: 7, label: 'U+0007' });
    expect(findForbiddenXmlChar('\uFFFF')?.label).toBe('U+FFFF');
  });

  it('replaces every forbidden character, by U+FFFD unless told', () => {
    expect(replaceForbiddenXmlChars('a\u0000b\uD800c😀')).toBe('a\uFFFDb\uFFFDc😀');
    expect(replaceForbiddenXmlChars('a\u0001b', '?')).toBe('a?b');
  });
});
