/**
 * The raw-text copy a sealed Segnatura crosses the SOAP leg with: rawElementAt cuts an element out of a
 * document as written (references, CDATA and carriage returns untouched, which a DOM round trip would
 * change), and namespace-scope says which bindings a copy cut out of its document must declare.
 */
import { describe, expect, it } from 'vitest';
import { inScopeAbove, namespaceDeclarationsOn, prefixesFromOutside } from '../../../../adapters/protocollo/soap/namespace-scope.js';
import { rawElementAt } from '../../../../adapters/protocollo/soap/raw-element.js';
import { parseUntrustedXml } from '../../../../adapters/sdk/index.js';

const A = 'urn:test:a';
const B = 'urn:test:b';

describe('rawElementAt', () => {
  it('cuts out the start tag attributes and the content exactly as written', () => {
    const text = `<a:root xmlns:a="${A}"><a:x  xmlns:b="${B}" b:k = 'v&amp;w'>line&#13;\r\n<![CDATA[<not markup>]]><b:y/></a:x></a:root>`;
    expect(
      rawElementAt(text, [
        { ns: A, local: 'root' },
        { ns: A, local: 'x' },
      ]),
    ).toEqual({
      qname: 'a:x',
      attributes: `  xmlns:b="${B}" b:k = 'v&amp;w'`,
      content: 'line&#13;\r\n<![CDATA[<not markup>]]><b:y/>',
    });
  });

  it('gives a self-closing element empty content', () => {
    expect(
      rawElementAt(`<r xmlns="${A}"><x id="1"/></r>`, [
        { ns: A, local: 'r' },
        { ns: A, local: 'x' },
      ]),
    ).toEqual({ qname: 'x', attributes: ' id="1"', content: '' });
  });

  it('takes the first match, and keeps a nested element of the same name inside its content', () => {
    const text = `<r xmlns="${A}"><x><x>inner</x></x><x>second</x></r>`;
    expect(
      rawElementAt(text, [
        { ns: A, local: 'r' },
        { ns: A, local: 'x' },
      ])?.content,
    ).toBe('<x>inner</x>');
  });

  it('matches by namespace and by the whole path from the root, not by prefix or by name alone', () => {
    const text = `<r xmlns="${A}" xmlns:b="${B}"><w><x>deep</x></w><b:x>other namespace</b:x></r>`;
    expect(
      rawElementAt(text, [
        { ns: A, local: 'r' },
        { ns: A, local: 'x' },
      ]),
    ).toBeUndefined();
    expect(
      rawElementAt(text, [
        { ns: A, local: 'r' },
        { ns: B, local: 'x' },
      ])?.content,
    ).toBe('other namespace');
    expect(rawElementAt(text, [{ ns: null, local: 'r' }])).toBeUndefined();
  });
});

describe('namespace scope', () => {
  const { doc } = parseUntrustedXml(
    `<r xmlns="${A}" xmlns:b="${B}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
      `<m xmlns:b="urn:test:nearer"><seg xmlns:own="urn:test:own" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
      `<b:c own:k="1" xsi:type="t:T"><own:d/><e xmlns:local="urn:test:local" local:k="2"/></b:c></seg></m></r>`,
  );
  const seg = doc.getElementsByTagName('seg')[0]!;

  it('lists the declarations written on the element itself, the default one under ""', () => {
    expect([...namespaceDeclarationsOn(seg)]).toEqual([
      ['own', 'urn:test:own'],
      ['xsi', 'http://www.w3.org/2001/XMLSchema-instance'],
    ]);
    expect(namespaceDeclarationsOn(doc.documentElement!).get('')).toBe(A);
  });

  it('lists the bindings in scope above the element, the nearest declaration winning', () => {
    const above = inScopeAbove(seg);
    expect(above.get('b')).toBe('urn:test:nearer');
    expect(above.get('')).toBe(A);
    expect(above.has('own')).toBe(false);
  });

  it('names the prefixes used below the element that a copy must declare: element, attribute and xsi:type prefixes, not its own name', () => {
    expect([...prefixesFromOutside(seg)].sort()).toEqual(['', 'b', 't']);
  });
});
