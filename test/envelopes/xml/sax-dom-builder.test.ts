/**
 * The hardened parser builds its DOM from the saxes events (sax-dom-builder.ts) instead of running
 * xmldom's own parser: for every document saxes accepts, the tree must be the one xmldom's DOMParser
 * builds — node kinds, names, namespace URIs (null for none), attributes and their values, text —
 * and serialise to the same text. Checked on the payload corpus, on generated documents, and on
 * prologs and epilogs (declaration, comments, whitespace outside the root).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { parseUntrustedXml } from '../../../envelopes/xml/hardened-xml.js';
import { startTagSpan } from '../../../envelopes/xml/sax-dom-builder.js';
import { PAYLOAD_CORPUS, payloadArb } from '../../fixtures/generated-xml.js';

/**
 * xmldom's own parser leaves "no namespace" undefined on some nodes and null on others (it depends on
 * what the parent declared); the DOM's lookups compare with ==, and Tramite reads `?? ''`, so the two
 * are one value here.
 */
const orNull = (ns: string | null | undefined): string | null => ns ?? null;

function describeTree(parent: Node): unknown[] {
  const out: unknown[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1) {
      const el = n as Element;
      const attrs = Array.from({ length: el.attributes.length }, (_, i) => el.attributes.item(i)!).map((a) => [
        a.name,
        orNull(a.namespaceURI),
        a.prefix,
        a.localName,
        a.value,
      ]);
      out.push({
        element: el.nodeName,
        ns: orNull(el.namespaceURI),
        prefix: el.prefix,
        local: el.localName,
        attrs,
        children: describeTree(el),
      });
    } else {
      out.push([n.nodeType, n.nodeName, n.nodeValue]);
    }
  }
  return out;
}

function expectSameAsXmldom(xml: string): void {
  const theirs = new DOMParser().parseFromString(xml, 'text/xml');
  const ours = parseUntrustedXml(xml).doc;
  expect(describeTree(ours.documentElement!)).toEqual(describeTree(theirs.documentElement!));
  expect(new XMLSerializer().serializeToString(ours.documentElement!)).toBe(new XMLSerializer().serializeToString(theirs.documentElement!));
}

describe('the DOM built from saxes events is the one xmldom builds', () => {
  it.each(PAYLOAD_CORPUS.filter((c) => c.xml.trim() !== ''))('$name', ({ xml }) => {
    expectSameAsXmldom(`<root xmlns:a="urn:a" xml:lang="it">${xml}</root>`);
  });

  it('generated documents', () => {
    fc.assert(
      fc.property(payloadArb, (xml) => expectSameAsXmldom(`<root xmlns="urn:root">${xml}</root>`)),
      { numRuns: 300 },
    );
  });

  it('keeps the declaration, and comments and whitespace around the root, on the document', () => {
    const xml = '<?xml version="1.0" encoding="UTF-8"?>\n<!-- before -->\n<r/>\n<!-- after -->';
    const ours = parseUntrustedXml(xml).doc;
    const theirs = new DOMParser().parseFromString(xml, 'text/xml');
    expect(describeTree(ours).slice(0, 5)).toEqual(describeTree(theirs).slice(0, 5));
  });
});

describe('start tags near the root are located in the text', () => {
  it('for the root, its children and grandchildren, whatever ends the name (space, CR LF, /, >)', () => {
    const xml =
      '<?xml version="1.0"?>\r\n<S:E xmlns:S="urn:s">\r\n<S:H\r\n a="1"/><S:B><x:d xmlns:x="urn:x"\ty=\'>\'><deep/></x:d>😀<e/></S:B></S:E>';
    const { doc } = parseUntrustedXml(xml);
    const root = doc.documentElement!;
    const [h, b] = Array.from(root.childNodes).filter((n) => n.nodeType === 1) as Element[];
    const [d, e] = Array.from(b!.childNodes).filter((n) => n.nodeType === 1) as Element[];
    const text = (el: Element): string => {
      const span = startTagSpan(el)!;
      return xml.slice(span.start, span.end);
    };
    expect(text(root)).toBe('<S:E xmlns:S="urn:s">');
    expect(text(h!)).toBe('<S:H\r\n a="1"/>');
    expect(startTagSpan(h!)!.selfClosing).toBe(true);
    expect(text(b!)).toBe('<S:B>');
    expect(text(d!)).toBe('<x:d xmlns:x="urn:x"\ty=\'>\'>');
    expect(text(e!)).toBe('<e/>');
    // Deeper elements are not tracked: the signer only needs the Envelope, its children and the header blocks.
    expect(startTagSpan(d!.firstChild as Element)).toBeUndefined();
  });
});
