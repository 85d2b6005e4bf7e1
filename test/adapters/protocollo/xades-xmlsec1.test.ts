/**
 * The XAdES seal of a Segnatura, checked against an independent XML-DSig implementation (Debian's
 * xmlsec1: libxml2's canonicaliser, OpenSSL's RSA): what signXades writes verifies under xmlsec1, and
 * what xmlsec1 computes (both digests and the SignatureValue, over the same XAdES structure) verifies
 * under verifyXades — so neither side agrees only with itself.
 */
import { describe, expect, it } from 'vitest';
import { buildSegnaturaXml } from '../../../adapters/protocollo/segnatura/segnatura-writer.js';
import { validateSegnaturaSchema } from '../../../adapters/protocollo/segnatura/segnatura-schema.js';
import { signXades } from '../../../adapters/sdk/xades/xades-sign.js';
import { verifyXades } from '../../../adapters/sdk/xades/xades-verify.js';
import { XADES_NS } from '../../../adapters/sdk/xades/xades-algorithms.js';
import { ProtocolloError } from '../../../src/core/errors.js';
import { xmlsec1Sign, xmlsec1Verify, type IdElement } from '../../../test-support/xmlsec1.js';
import { getTestPki } from '../../fixtures/test-pki.js';
import { richSegnatura } from '../../fixtures/protocollo/sample-segnatura.js';

/** The element a XAdES Reference names by Id besides the document (URI=""). */
const XADES_IDS: readonly IdElement[] = [{ ns: XADES_NS, local: 'SignedProperties' }];

const pki = getTestPki();

/**
 * The seal with the References' DigestValues (in SignedInfo) and the SignatureValue emptied: a template
 * for xmlsec1 --sign. The certificate digest in SigningCertificateV2 stays: it is XAdES, not XML-DSig.
 */
function asTemplate(sealed: string): string {
  const signedInfo = /<ds:SignedInfo>[\s\S]*<\/ds:SignedInfo>/.exec(sealed)?.[0];
  if (!signedInfo) throw new Error('no ds:SignedInfo in the seal');
  return sealed
    .replace(signedInfo, signedInfo.replace(/(<ds:DigestValue>)[^<]*(<\/ds:DigestValue>)/g, '$1$2'))
    .replace(/(<ds:SignatureValue[^>]*>)[^<]*(<)/, '$1$2');
}

describe('the XAdES seal of a Segnatura, against xmlsec1', async () => {
  const sealed = await signXades(buildSegnaturaXml(richSegnatura()), pki.comuneA);

  it('what signXades writes is schema-valid and verifies under xmlsec1, chain included', async () => {
    expect(await validateSegnaturaSchema(sealed)).toEqual({ valid: true });
    const verdict = xmlsec1Verify(sealed, { signerCertPem: pki.comuneA.certPem, trustedCaPem: pki.ca.certPem, ids: XADES_IDS });
    expect(verdict.output).toMatch(/^OK$/m);
    expect(verdict.ok).toBe(true);
    // Both References were digested: the document (enveloped) and the SignedProperties.
    expect(verdict.references).toHaveLength(2);
    expect(verdict.references[1]).toMatch(/^<xades:SignedProperties /);
  });

  it('xmlsec1 refuses it once one character of the Oggetto changes', () => {
    const altered = sealed.replace('Richiesta di parere', 'Richiesta di parare');
    expect(altered).not.toBe(sealed);
    expect(xmlsec1Verify(altered, { signerCertPem: pki.comuneA.certPem, ids: XADES_IDS }).ok).toBe(false);
  });

  it('what xmlsec1 signs over the same structure verifies under verifyXades', () => {
    const template = asTemplate(sealed);
    expect(template).toMatch(/<ds:SignatureValue[^>]*><\/ds:SignatureValue>/);
    expect(template.match(/<ds:DigestValue><\/ds:DigestValue>/g)).toHaveLength(2);
    const byXmlsec1 = xmlsec1Sign(template, { keyPem: pki.comuneA.keyPem, ids: XADES_IDS });
    // xmlsec1 computed every value itself: both digests and the RSA signature over its canonical SignedInfo.
    expect(byXmlsec1.xml).not.toMatch(/<ds:DigestValue><\/ds:DigestValue>|<ds:SignatureValue[^>]*><\/ds:SignatureValue>/);
    const verified = verifyXades(byXmlsec1.xml, { trust: pki.trust });
    expect(verified.signer.fingerprint256).toBe(pki.comuneA.certificate.fingerprint256);
    expect(verified.root.localName).toBe('SegnaturaInformatica');
  });

  it('verifyXades refuses what xmlsec1 signed once the document changes after signing', () => {
    const byXmlsec1 = xmlsec1Sign(asTemplate(sealed), { keyPem: pki.comuneA.keyPem, ids: XADES_IDS });
    const altered = byXmlsec1.xml.replace('Richiesta di parere', 'Richiesta di parare');
    expect(() => verifyXades(altered, { trust: pki.trust })).toThrow(ProtocolloError);
    expect(() => verifyXades(altered, { trust: pki.trust })).toThrow(/digest/i);
  });

  it('seals a document whose bytes a re-serialisation would change: both verifiers accept it, its bytes kept', async () => {
    // &#13; in text and &#9; in an attribute survive only as references; a comment after the root names
    // the root's end tag; the document is not in the model's form at all (any XML can be sealed).
    const original =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<d:Documento xmlns:d="urn:test:documento" xmlns:x="urn:test:unused" d:nota="a&#9;b">\n' +
      '  <d:Testo>riga uno&#13;\nriga due &amp; &lt;tre&gt; &quot;€&quot;</d:Testo>\n' +
      '  <d:Vuoto/><![CDATA[</d:Documento>]]>\n' +
      '</d:Documento>\n<!-- </d:Documento> -->\n';
    const sealedDoc = await signXades(original, pki.comuneA);
    const at = original.lastIndexOf('</d:Documento>\n<!--');
    expect(sealedDoc.slice(0, at)).toBe(original.slice(0, at));
    expect(sealedDoc.endsWith(original.slice(at))).toBe(true);
    expect(xmlsec1Verify(sealedDoc, { signerCertPem: pki.comuneA.certPem, trustedCaPem: pki.ca.certPem, ids: XADES_IDS }).ok).toBe(true);
    expect(verifyXades(sealedDoc, { trust: pki.trust }).root.localName).toBe('Documento');
  });

  it('refuses to seal a root written as an empty-element tag, with a code', async () => {
    await expect(signXades('<d:Documento xmlns:d="urn:test:documento"/>', pki.comuneA)).rejects.toThrow(
      expect.objectContaining({ code: 'TRAMITE_ERR_SIG_STRUCTURE', message: expect.stringContaining('no end tag') }),
    );
  });
});
