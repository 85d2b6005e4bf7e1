/**
 * The hardened parser's shape limits (issue 12): elements, attributes and namespace declarations,
 * per element and in total, with the defaults a node runs with. Each refusal is EGOV_IT_001 with the
 * position of the first excess, and parsing stops there.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvelopeError } from '../../../src/core/errors.js';
import { DEFAULT_XML_LIMITS, parseUntrustedXml } from '../../../envelopes/xml/hardened-xml.js';
import { readEnvelope } from '../../../envelopes/envelope.js';
import { manyEmptyElements, namespaceDeclarationsPerElement } from '../../../test-support/hostile-envelopes.js';
import { signedEgovEnvelope } from '../../fixtures/test-pki.js';

const hostile = (name: string) => readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'hostile', name), 'utf8');
const soap = (body: string) => `<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>${body}</S:Body></S:Envelope>`;
const PARTIES = { from: 'SPC/ComuneA', to: 'SPC/Regione', service: 'Protocollo' } as const;

function refusal(xml: string): EnvelopeError {
  try {
    parseUntrustedXml(xml);
  } catch (err) {
    expect(err).toBeInstanceOf(EnvelopeError);
    expect((err as EnvelopeError).code).toBe('EGOV_IT_001');
    return err as EnvelopeError;
  }
  throw new Error('the document was accepted');
}

describe('XML limits of the hardened parser (defaults)', () => {
  it('refuses 17 namespace declarations on one element, at that element', () => {
    const err = refusal(hostile('namespace-declarations-on-one-element.xml'));
    expect(err.message).toContain('more than 16 namespace declarations on <h:Pratica>');
    // The 17th declaration is on line 22 of the fixture: the refusal names it, not the end of the file.
    expect(err.posizione).toMatch(/^riga 22, colonna \d+$/);
  });

  it('refuses 33 attributes on one element, at the 33rd', () => {
    const err = refusal(hostile('attributes-on-one-element.xml'));
    expect(err.message).toContain('more than 32 attributes on <h:Pratica>');
    expect(err.posizione).toMatch(/^riga 39, colonna \d+$/);
  });

  it('refuses the 10 001st element and reads no further (a broken end is never reached)', () => {
    // Not well formed at its very end: had the parser read on, it would say so instead.
    const err = refusal(soap(`<x:d xmlns:x="urn:x">${'<x:e/>'.repeat(100_000)}</x:d><unclosed>`));
    expect(err.message).toContain('more than 10000 elements');
    const column = Number(/colonna (\d+)/.exec(err.posizione)![1]);
    expect(column).toBeLessThan(10_001 * 6 + 200);
  });

  it('refuses the 1 001st namespace declaration of a document, even one per element', () => {
    const err = refusal(
      soap(`<x:d xmlns:x="urn:x">${Array.from({ length: 1_001 }, (_, i) => `<x:e xmlns:p="urn:p:${i}"/>`).join('')}</x:d>`),
    );
    expect(err.message).toContain('more than 1000 namespace declarations');
  });

  it('refuses the 20 001st attribute of a document, even three per element', () => {
    const err = refusal(soap(`<x:d xmlns:x="urn:x">${'<x:e a="1" b="2" c="3"/>'.repeat(6_667)}</x:d>`));
    expect(err.message).toContain('more than 20000 attributes');
  });

  // Generating (signing) the big envelopes takes seconds on a busy machine; refusing them does not.
  it('refuses the generated 400 KB envelope of ~100 000 empty elements while parsing', { timeout: 180_000 }, async () => {
    const xml = await manyEmptyElements(PARTIES);
    expect(() => readEnvelope(xml)).toThrow(/EGOV_IT_001 - more than 10000 elements/);
  });

  it(
    'refuses the generated 4.7 MB envelope with 63 namespace declarations on every element while parsing',
    { timeout: 180_000 },
    async () => {
      const awaited5 = await namespaceDeclarationsPerElement(PARTIES);
      expect(() => readEnvelope(awaited5)).toThrow(/EGOV_IT_001 - more than 16 namespace declarations on <h:e>/);
    },
  );

  it('accepts what real traffic needs: a signed envelope with a 2 000-row payload', { timeout: 60_000 }, async () => {
    const rows = Array.from({ length: 2_000 }, (_, i) => `<v:Riga r="${i}">riga ${i} ${'x'.repeat(64)}</v:Riga>`).join('');
    const { xml } = await signedEgovEnvelope({ body: `<v:Pratica xmlns:v="urn:tramite:test">${rows}</v:Pratica>` });
    expect(readEnvelope(xml, DEFAULT_XML_LIMITS).egov?.mittente[0]?.nome).toBe('ComuneA');
  });

  it('accepts the Segnature of 2001, 2013 and 2021 with their namespaces and attributes', () => {
    for (const year of [2001, 2013, 2021]) {
      const xml = readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'protocollo', `segnatura-${year}-valverde.xml`));
      expect(parseUntrustedXml(xml).doc.documentElement?.localName).toMatch(/^Segnatura/);
    }
  });
});
