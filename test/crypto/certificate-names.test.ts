/**
 * Names as attributes: RFC 4514 text (what an operator writes in the config) parsed into the attribute
 * list a certificate carries, and a certificate's subject read from its DER, not from node's text.
 */
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { certificateNames, parseDistinguishedName } from '../../src/crypto/certificate-names.js';
import { issueCertificate } from '../../src/crypto/dev-pki.js';
import { getTestPki } from '../fixtures/test-pki.js';

const CN = '2.5.4.3';
const O = '2.5.4.10';
const C = '2.5.4.6';

describe('parseDistinguishedName', () => {
  it('reads most-specific-first text into certificate order, spaces around separators ignored', () => {
    expect(parseDistinguishedName('CN=ComuneA,  O=Comune di A ,C=IT')).toEqual({
      attributes: [
        { type: C, value: 'IT' },
        { type: O, value: 'Comune di A' },
        { type: CN, value: 'ComuneA' },
      ],
    });
  });

  it('takes escaped commas, plus signs, backslashes and UTF-8 hex pairs as part of the value', () => {
    expect(parseDistinguishedName('O=x\\, CN=RegioneB\\+1\\\\, CN=Citt\\C3\\A0')).toEqual({
      attributes: [
        { type: CN, value: 'Città' },
        { type: O, value: 'x, CN=RegioneB+1\\' },
      ],
    });
  });

  it('accepts types by short name in any case, or as dotted OIDs', () => {
    expect(parseDistinguishedName('cn=A, 2.5.4.97=VATIT-01234567890')).toEqual({
      attributes: [
        { type: '2.5.4.97', value: 'VATIT-01234567890' },
        { type: CN, value: 'A' },
      ],
    });
  });

  it('says why text is not a name: no "=", an unknown type, an empty value, a multi-valued RDN', () => {
    expect(parseDistinguishedName('ComuneA')).toMatchObject({ problem: expect.stringContaining('no "="') });
    expect(parseDistinguishedName('CN=A, XX=B')).toMatchObject({ problem: expect.stringContaining('unknown attribute type "XX"') });
    expect(parseDistinguishedName('CN= , O=B')).toMatchObject({ problem: expect.stringContaining('empty value') });
    expect(parseDistinguishedName('CN=A+O=B')).toMatchObject({ problem: expect.stringContaining('multi-valued') });
  });
});

describe('certificateNames', () => {
  it("reads a certificate's subject and issuer attribute by attribute, a comma inside a value included", () => {
    const now = Date.now();
    const pem = issueCertificate({
      subject: { CN: 'ComuneA', O: 'x, CN=RegioneB', C: 'IT' },
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
      issuer: getTestPki().ca,
    }).certPem;
    const names = certificateNames(new X509Certificate(pem))!;
    expect(names.subject).toEqual([
      { type: C, value: 'IT' },
      { type: O, value: 'x, CN=RegioneB' },
      { type: CN, value: 'ComuneA' },
    ]);
    expect(names.issuer).toEqual((parseDistinguishedName('CN=Tramite Dev CA, O=Tramite, C=IT') as { attributes: unknown }).attributes);
  });
});
