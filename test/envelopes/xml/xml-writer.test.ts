import { DOMParser } from '@xmldom/xmldom';
import { describe, expect, it } from 'vitest';
import { TramiteError } from '../../../src/core/errors.js';
import { XmlWriter, type XmlNamespace } from '../../../envelopes/xml/xml-writer.js';

const A: XmlNamespace = { prefix: 'a', uri: 'urn:test:a' };
const B: XmlNamespace = { prefix: 'b', uri: 'urn:test:b' };
const parse = (xml: string): Document => new DOMParser().parseFromString(xml, 'text/xml');

describe('XmlWriter', () => {
  it('writes prefixed elements and attributes, namespaces declared once on the root, values escaped', () => {
    const w = new XmlWriter(A, 'Root', { alsoUsed: [B], rootAttributes: { versione: '1' } });
    const child = w.add(w.root, 'Child', `x < y & "z" 'w'`);
    w.attribute(child, 'q', 'a"b<c');
    w.attributeIn(null, child, 'plain', 'p&q');
    w.attributeIn(B, child, 'other', 2);
    w.attribute(child, 'absent', undefined);
    w.addIn(B, w.root, 'Foreign');
    w.addOptional(w.root, 'Skipped', undefined);
    const xml = w.serialize();
    expect(xml.startsWith('<a:Root versione="1" xmlns:a="urn:test:a" xmlns:b="urn:test:b">')).toBe(true);
    expect(xml.match(/xmlns:/g)).toHaveLength(2);

    const root = parse(xml).documentElement!;
    expect(root.namespaceURI).toBe(A.uri);
    const [c, f] = [root.getElementsByTagNameNS(A.uri, 'Child')[0]!, root.getElementsByTagNameNS(B.uri, 'Foreign')[0]!];
    expect(c.textContent).toBe(`x < y & "z" 'w'`);
    expect(c.getAttributeNS(A.uri, 'q')).toBe('a"b<c');
    expect(c.getAttribute('plain')).toBe('p&q');
    expect(c.getAttributeNS(B.uri, 'other')).toBe('2');
    expect(c.hasAttributeNS(A.uri, 'absent')).toBe(false);
    expect(f).toBeDefined();
    expect(root.getElementsByTagNameNS(A.uri, 'Skipped')).toHaveLength(0);
  });

  it('writes in a content namespace other than the root one', () => {
    const w = new XmlWriter(B, 'Envelope', { contentNs: A });
    w.add(w.root, 'Inside', 'v');
    const root = parse(w.serialize()).documentElement!;
    expect(root.namespaceURI).toBe(B.uri);
    expect(root.firstChild && (root.firstChild as Element).namespaceURI).toBe(A.uri);
  });

  it('adds the XML declaration and indents element-only content when asked, never text', () => {
    const w = new XmlWriter(A, 'Root', { declaration: true, indent: true });
    const outer = w.add(w.root, 'Outer');
    w.add(outer, 'Text', '  spaced  ');
    const xml = w.serialize();
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<a:Root xmlns:a="urn:test:a">\n  <a:Outer>\n    <a:Text>  spaced  </a:Text>\n  </a:Outer>\n</a:Root>',
    );
    expect(parse(xml).getElementsByTagNameNS(A.uri, 'Text')[0]!.textContent).toBe('  spaced  ');
  });

  it('refuses a character XML cannot carry, in text or attribute, with the default coded error', () => {
    const w = new XmlWriter(A, 'Root');
    const err = (() => {
      try {
        w.add(w.root, 'Oggetto', 'bell\u0007');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TramiteError);
    expect((err as TramiteError).code).toBe('TRAMITE_ERR_XML_UNWRITABLE');
    expect((err as Error).message).toBe('cannot write Oggetto: it contains U+0007, a character XML cannot carry');
    expect(() => w.attributeIn(null, w.root, 'note', '\uFFFF')).toThrow('cannot write @note: it contains U+FFFF');
  });

  it('builds the refusal with the caller’s factory when given', () => {
    class MineError extends Error {}
    const w = new XmlWriter(A, 'Root', { unwritable: (field, char) => new MineError(`${field}/${char.label}/${char.index}`) });
    expect(() => w.add(w.root, 'F', 'ab\u0001')).toThrow(new MineError('F/U+0001/2'));
  });
});
