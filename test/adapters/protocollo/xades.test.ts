/**
 * XAdES baseline B seal of the Segnatura: what signXades writes, that verifyXades accepts it (and that
 * xml-crypto, independently, does too), and every way of breaking or wrapping it being refused with
 * ProtocolloError 001_ValidazioneFirma and a message naming what failed.
 *
 * Variants are made after signing, on the DOM. Variants that must be refused by a structural rule
 * rather than by a broken SignatureValue are re-sealed here (SignedInfo signed again with the key, and
 * the SignedProperties digest recomputed where they changed), so the rule itself is what refuses them.
 */
import { X509Certificate, createHash, createPrivateKey, createSign } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import * as pkijs from 'pkijs';
import { ExclusiveCanonicalization, SignedXml } from 'xml-crypto';
import { signXades } from '../../../adapters/sdk/xades/xades-sign.js';
import { verifyXades } from '../../../adapters/sdk/xades/xades-verify.js';
import { ConfigError, ProtocolloError, TramiteError } from '../../../src/core/errors.js';
import { issueCertificate } from '../../../src/crypto/dev-pki.js';
import { TrustStore } from '../../../src/crypto/trust-store.js';
import { getTestPki, type TestPki, type TestSigner } from '../../fixtures/test-pki.js';
import { memorySigner } from '../../../src/crypto/signer/memory-signer.js';

const DS = 'http://www.w3.org/2000/09/xmldsig#';
const XADES = 'http://uri.etsi.org/01903/v1.3.2#';
const PROT = 'http://www.agid.gov.it/protocollo/';
const SP_TYPE = 'http://uri.etsi.org/01903#SignedProperties';
const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1';
const SHA224 = 'http://www.w3.org/2001/04/xmldsig-more#sha224';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const SHA384 = 'http://www.w3.org/2001/04/xmldsig-more#sha384';
const SHA512 = 'http://www.w3.org/2001/04/xmlenc#sha512';
const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
const XPATH = 'http://www.w3.org/TR/1999/REC-xpath-19991116';
const XPATH_FILTER2 = 'http://www.w3.org/2002/06/xmldsig-filter2';
const XPATH_FILTER2_NS = 'http://www.w3.org/2002/06/xmldsig-filter2';
const HASH_OF: Record<string, string> = { [SHA1]: 'sha1', [SHA224]: 'sha224', [SHA256]: 'sha256', [SHA384]: 'sha384', [SHA512]: 'sha512' };

/** A minimal SegnaturaInformatica-like document (2021 form, qualified attributes), before the seal. */
const SEGNATURA = `<?xml version="1.0" encoding="UTF-8"?>
<SegnaturaInformatica xmlns="${PROT}" xmlns:prot="${PROT}" prot:versione="3.0.0" prot:lang="it">
  <Intestazione>
    <Identificatore>
      <CodiceAmministrazione>c_h501</CodiceAmministrazione>
      <CodiceAOO>AOO_PROT</CodiceAOO>
      <CodiceRegistro>REG_UFF</CodiceRegistro>
      <NumeroRegistrazione>0000042</NumeroRegistrazione>
      <DataRegistrazione>2024-03-01</DataRegistrazione>
    </Identificatore>
    <Oggetto>Richiesta di accesso agli atti</Oggetto>
    <Classifica><Denominazione>Affari generali</Denominazione><CodiceFlat>1.2</CodiceFlat></Classifica>
  </Intestazione>
  <Descrizione>
    <Mittente><Amministrazione><Denominazione>Comune A</Denominazione></Amministrazione></Mittente>
    <Destinatario><Amministrazione><Denominazione>Regione</Denominazione></Amministrazione></Destinatario>
    <DocumentoPrimario prot:nomeFile="richiesta.pdf" prot:mimeType="application/pdf">
      <Impronta>47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=</Impronta>
    </DocumentoPrimario>
  </Descrizione>
</SegnaturaInformatica>`;

const DAY_MS = 24 * 60 * 60 * 1000;

let pki: TestPki;
let signed: string;
const signingTime = new Date();
/** A CA valid since a month ago and a seal certificate that was valid from 20 to 10 days ago. */
let pastPki: { trust: TrustStore; expired: TestSigner };
beforeAll(async () => {
  pki = getTestPki();
  signed = await signXades(SEGNATURA, pki.comuneA, { signingTime });
  const now = Date.now();
  const ca = issueCertificate({
    subject: { CN: 'CA Storica', O: 'Tramite', C: 'IT' },
    notBefore: new Date(now - 30 * DAY_MS),
    notAfter: new Date(now + 365 * DAY_MS),
    issuer: 'self',
    ca: true,
  });
  const leaf = issueCertificate({
    subject: { CN: 'AooScaduta', O: 'SPC', C: 'IT' },
    notBefore: new Date(now - 20 * DAY_MS),
    notAfter: new Date(now - 10 * DAY_MS),
    issuer: ca,
  });
  pastPki = {
    trust: TrustStore.fromPem(ca.certPem),
    expired: {
      ...memorySigner({ privateKey: createPrivateKey(leaf.keyPem), certPem: leaf.certPem, certificate: new X509Certificate(leaf.certPem) }),
      privateKey: createPrivateKey(leaf.keyPem),
      keyPem: leaf.keyPem,
    },
  };
});

// ---------------------------------------------------------------------------------------------------
// Helpers

const parse = (xml: string): Document => new DOMParser().parseFromString(xml, 'text/xml');
const serialize = (node: Node): string => new XMLSerializer().serializeToString(node);
const canonical = (el: Element): string => new ExclusiveCanonicalization().process(el.cloneNode(true) as Element, {});

function elements(parent: Node): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) out.push(n as Element);
  return out;
}
const child = (parent: Node, ns: string, local: string): Element => {
  const found = elements(parent).find((e) => e.namespaceURI === ns && e.localName === local);
  if (!found) throw new Error(`test fixture: no ${local} under ${parent.nodeName}`);
  return found;
};
const first = (doc: Document, ns: string, local: string): Element => doc.getElementsByTagNameNS(ns, local).item(0)!;
const signatureOf = (doc: Document): Element => child(doc.documentElement!, DS, 'Signature');
const referencesOf = (sig: Element): Element[] => elements(child(sig, DS, 'SignedInfo')).filter((e) => e.localName === 'Reference');
const propertiesReference = (sig: Element): Element => referencesOf(sig).find((r) => r.getAttribute('Type') === SP_TYPE)!;
const documentReference = (sig: Element): Element => referencesOf(sig).find((r) => r.getAttribute('URI') === '')!;
const signedPropertiesOf = (sig: Element): Element => first(sig.ownerDocument!, XADES, 'SignedProperties');
const setText = (el: Element, text: string): void => {
  while (el.firstChild) el.removeChild(el.firstChild);
  el.appendChild(el.ownerDocument!.createTextNode(text));
};

/**
 * Signs SignedInfo again with `signer`'s key, after optionally recomputing the SignedProperties digest:
 * what a holder of the key — or a broken signer — could produce. Used so that structural rules, not the
 * SignatureValue, are what refuse a variant.
 */
function reseal(doc: Document, signer: TestSigner, { redigestProperties = false } = {}): void {
  const sig = signatureOf(doc);
  if (redigestProperties) {
    const ref = propertiesReference(sig);
    const hash = HASH_OF[child(ref, DS, 'DigestMethod').getAttribute('Algorithm')!]!;
    setText(
      child(ref, DS, 'DigestValue'),
      createHash(hash)
        .update(canonical(signedPropertiesOf(sig)))
        .digest('base64'),
    );
  }
  const value = createSign('RSA-SHA256')
    .update(canonical(child(sig, DS, 'SignedInfo')))
    .sign(signer.privateKey, 'base64');
  setText(child(sig, DS, 'SignatureValue'), value);
}

/** Replaces the enveloped-signature transform of the document Reference with an XPath transform. */
function xpathTransform(
  doc: Document,
  sig: Element,
  algorithm: string,
  ns: string,
  qname: string,
  expression: string,
  filter?: string,
): void {
  const transform = elements(child(documentReference(sig), DS, 'Transforms'))[0]!;
  transform.setAttribute('Algorithm', algorithm);
  const xpath = doc.createElementNS(ns, qname);
  if (filter) xpath.setAttribute('Filter', filter);
  xpath.appendChild(doc.createTextNode(expression));
  transform.appendChild(xpath);
}

/** xades:IssuerSerialV2 content for `cert`: base64 DER of IssuerSerial (issuer as a directoryName, serial). */
function issuerSerialV2(cert: X509Certificate): string {
  const parsed = pkijs.Certificate.fromBER(new Uint8Array(cert.raw));
  const issuer = new pkijs.GeneralNames({ names: [new pkijs.GeneralName({ type: 4, value: parsed.issuer })] });
  return Buffer.from(new pkijs.IssuerSerial({ issuer, serialNumber: parsed.serialNumber }).toSchema().toBER(false)).toString('base64');
}

function withIssuerSerial(xml: string, value: string): string {
  return variant(
    xml,
    (doc) =>
      first(doc, XADES, 'Cert').appendChild(doc.createElementNS(XADES, 'xades:IssuerSerialV2')).appendChild(doc.createTextNode(value)),
    pki.comuneA,
    { redigestProperties: true },
  );
}

/** Parse the signed text, let `fn` change the DOM, optionally re-seal, serialise. */
function variant(
  xml: string,
  fn: (doc: Document, sig: Element) => void,
  resealWith?: TestSigner,
  opts?: { redigestProperties?: boolean },
): string {
  const doc = parse(xml);
  fn(doc, signatureOf(doc));
  if (resealWith) reseal(doc, resealWith, opts);
  return serialize(doc);
}

function refusal(xml: string | Uint8Array, opts?: { at?: Date; trust?: TrustStore }): ProtocolloError {
  try {
    verifyXades(xml, { trust: opts?.trust ?? pki.trust, ...(opts?.at ? { at: opts.at } : {}) });
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolloError);
    expect((err as ProtocolloError).code).toBe('001_ValidazioneFirma');
    return err as ProtocolloError;
  }
  throw new Error('expected verifyXades to refuse the document');
}

const expectRefused = (xml: string | Uint8Array, message: RegExp, opts?: { at?: Date; trust?: TrustStore }): void => {
  expect(refusal(xml, opts).message).toMatch(message);
};

const ALTERED_DOCUMENT = /the signed document \(Reference URI=""\) was altered after signing \(digest mismatch\)/;
const ALTERED_PROPERTIES = /xades:SignedProperties was altered after signing \(digest mismatch\)/;

// ---------------------------------------------------------------------------------------------------

describe('signXades', async () => {
  it('appends an enveloped XAdES-B ds:Signature as the last child of the root', () => {
    const doc = parse(signed);
    const root = doc.documentElement!;
    const sig = elements(root).at(-1)!;
    expect([sig.namespaceURI, sig.localName]).toEqual([DS, 'Signature']);
    const sigId = sig.getAttribute('Id')!;
    expect(sigId).toMatch(/^xades-/);
    expect(elements(sig).map((e) => e.localName)).toEqual(['SignedInfo', 'SignatureValue', 'KeyInfo', 'Object']);

    const signedInfo = child(sig, DS, 'SignedInfo');
    expect(child(signedInfo, DS, 'CanonicalizationMethod').getAttribute('Algorithm')).toBe(EXC_C14N);
    expect(child(signedInfo, DS, 'SignatureMethod').getAttribute('Algorithm')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    const [docRef, propsRef] = referencesOf(sig);
    expect(docRef!.getAttribute('URI')).toBe('');
    expect(elements(child(docRef!, DS, 'Transforms')).map((t) => t.getAttribute('Algorithm'))).toEqual([ENVELOPED, EXC_C14N]);
    expect(child(docRef!, DS, 'DigestMethod').getAttribute('Algorithm')).toBe(SHA256);
    expect(propsRef!.getAttribute('Type')).toBe(SP_TYPE);
    expect(elements(child(propsRef!, DS, 'Transforms')).map((t) => t.getAttribute('Algorithm'))).toEqual([EXC_C14N]);

    const qp = first(doc, XADES, 'QualifyingProperties');
    expect(qp.parentNode).toBe(child(sig, DS, 'Object'));
    expect(qp.getAttribute('Target')).toBe(`#${sigId}`);
    const sp = first(doc, XADES, 'SignedProperties');
    expect(propsRef!.getAttribute('URI')).toBe(`#${sp.getAttribute('Id')}`);
    expect(first(doc, XADES, 'SigningTime').textContent).toBe(signingTime.toISOString().replace(/\.\d{3}Z$/, 'Z'));
    const certDigest = first(doc, XADES, 'CertDigest');
    expect(child(certDigest, DS, 'DigestMethod').getAttribute('Algorithm')).toBe(SHA256);
    expect(child(certDigest, DS, 'DigestValue').textContent).toBe(
      createHash('sha256').update(pki.comuneA.certificate.raw).digest('base64'),
    );
    expect(first(doc, XADES, 'DataObjectFormat').getAttribute('ObjectReference')).toBe(`#${docRef!.getAttribute('Id')}`);
    expect(first(doc, DS, 'X509Certificate').textContent).toBe(pki.comuneA.certificate.raw.toString('base64'));
  });

  it('writes SHA-384 and SHA-512 reference digests on request', async () => {
    for (const [digest, uri] of [
      ['sha384', SHA384],
      ['sha512', SHA512],
    ] as const) {
      const xml = await signXades(SEGNATURA, pki.comuneA, { digest });
      const sig = signatureOf(parse(xml));
      expect(referencesOf(sig).map((r) => child(r, DS, 'DigestMethod').getAttribute('Algorithm'))).toEqual([uri, uri]);
      expect(verifyXades(xml, { trust: pki.trust }).signer.fingerprint256).toBe(pki.comuneA.certificate.fingerprint256);
    }
  });

  it('is accepted by xml-crypto verifying on its own (an independent XML-DSig implementation of the same references)', () => {
    const check = new SignedXml({ publicCert: pki.comuneA.certPem });
    check.loadSignature(signatureOf(parse(signed)));
    expect(check.checkSignature(signed)).toBe(true);
  });

  it('refuses a document that already carries a ds:Signature', async () => {
    await expect(signXades(signed, pki.regione)).rejects.toThrow(TramiteError);
    await expect(signXades(signed, pki.regione)).rejects.toThrow(/already carries a ds:Signature/);
  });

  it('refuses a private key that does not belong to the certificate', () => {
    // Refused when the seal's Signer is made (at the node's start), before anything is signed.
    const mismatched = () => memorySigner({ privateKey: pki.regione.privateKey, certificate: pki.comuneA.certificate });
    expect(mismatched).toThrow(ConfigError);
    expect(mismatched).toThrow(/does not belong to the certificate/);
  });
});

describe('verifyXades accepts', () => {
  it('a sealed Segnatura, returning the signer, the SigningTime and the very DOM it checked', () => {
    const result = verifyXades(signed, { trust: pki.trust });
    expect(result.signer.fingerprint256).toBe(pki.comuneA.certificate.fingerprint256);
    expect(result.chain.map((c) => c.subject)).toEqual([pki.comuneA.certificate.subject, new X509Certificate(pki.ca.certPem).subject]);
    expect(result.signingTime.getTime()).toBe(Math.floor(signingTime.getTime() / 1000) * 1000);
    expect(result.root).toBe(result.doc.documentElement);
    expect(elements(result.root).at(-1)).toBe(result.signature);
    expect(result.root.getElementsByTagNameNS(PROT, 'Oggetto').item(0)!.textContent).toBe('Richiesta di accesso agli atti');
  });

  it('the enveloped-signature idioms DSS writes instead of the enveloped transform (XPath Filter 2.0, XPath 1.0)', () => {
    const filter2 = variant(
      signed,
      (doc, sig) =>
        xpathTransform(doc, sig, XPATH_FILTER2, XPATH_FILTER2_NS, 'dsig-filter2:XPath', '/descendant::ds:Signature', 'subtract'),
      pki.comuneA,
    );
    expect(verifyXades(filter2, { trust: pki.trust }).signer.subject).toBe(pki.comuneA.certificate.subject);
    const xpath1 = variant(
      signed,
      (doc, sig) => xpathTransform(doc, sig, XPATH, DS, 'ds:XPath', 'not(ancestor-or-self::ds:Signature)'),
      pki.comuneA,
    );
    expect(verifyXades(xpath1, { trust: pki.trust }).signer.subject).toBe(pki.comuneA.certificate.subject);
    // …and the content they cover is still the whole document.
    expectRefused(
      variant(filter2, (doc) => setText(first(doc, PROT, 'Oggetto'), 'Altro')),
      ALTERED_DOCUMENT,
    );
  });

  it('SHA-224 reference digests', () => {
    const xml = variant(
      signed,
      (doc, sig) => {
        const copy = doc.documentElement!.cloneNode(true) as Element;
        copy.removeChild(elements(copy).at(-1)!);
        const docRef = documentReference(sig);
        child(docRef, DS, 'DigestMethod').setAttribute('Algorithm', SHA224);
        setText(child(docRef, DS, 'DigestValue'), createHash('sha224').update(canonical(copy)).digest('base64'));
        child(propertiesReference(sig), DS, 'DigestMethod').setAttribute('Algorithm', SHA224);
      },
      pki.comuneA,
      { redigestProperties: true },
    );
    expect(verifyXades(xml, { trust: pki.trust }).signer.subject).toBe(pki.comuneA.certificate.subject);
  });

  it('an IssuerSerialV2 that names the KeyInfo certificate', () => {
    expect(verifyXades(withIssuerSerial(signed, issuerSerialV2(pki.comuneA.certificate)), { trust: pki.trust }).signer.subject).toBe(
      pki.comuneA.certificate.subject,
    );
  });

  it('a seal issued by an intermediate CA that travels in KeyInfo after the seal certificate', async () => {
    const now = Date.now();
    const validity = { notBefore: new Date(now - DAY_MS), notAfter: new Date(now + 30 * DAY_MS) };
    const root = issueCertificate({ subject: { CN: 'Radice QTSP', C: 'IT' }, ...validity, issuer: 'self', ca: true });
    const intermediate = issueCertificate({ subject: { CN: 'Sigilli QTSP', C: 'IT' }, ...validity, issuer: root, ca: true });
    const seal = issueCertificate({ subject: { CN: 'AOO Sigillo', O: 'c_h501', C: 'IT' }, ...validity, issuer: intermediate });
    const signer = { privateKey: createPrivateKey(seal.keyPem), certificate: new X509Certificate(seal.certPem) };
    const trust = TrustStore.fromPem(root.certPem);

    const withChain = await signXades(SEGNATURA, memorySigner({ ...signer, certPem: seal.certPem + intermediate.certPem }));
    expect(parse(withChain).getElementsByTagNameNS(DS, 'X509Certificate').length).toBe(2);
    const result = verifyXades(withChain, { trust });
    expect(result.signer.subject).toBe(signer.certificate.subject);
    expect(result.chain).toHaveLength(3);

    expectRefused(await signXades(SEGNATURA, memorySigner({ ...signer, certPem: seal.certPem })), /\(TRAMITE_ERR_CERT_UNTRUSTED\)/, {
      trust,
    });
  });

  it('bytes as well as text', () => {
    expect(verifyXades(new TextEncoder().encode(signed), { trust: pki.trust }).signer.subject).toBe(pki.comuneA.certificate.subject);
  });

  it('a comment added to the content (outside C14N without comments; the text a reader gets is unchanged)', () => {
    const xml = variant(signed, (doc) => {
      const oggetto = first(doc, PROT, 'Oggetto');
      oggetto.insertBefore(doc.createComment(' note '), oggetto.firstChild!.nextSibling);
    });
    const result = verifyXades(xml, { trust: pki.trust });
    expect(result.root.getElementsByTagNameNS(PROT, 'Oggetto').item(0)!.textContent).toBe('Richiesta di accesso agli atti');
  });

  it('an expired certificate when the caller judges at an instant inside its validity (archive check)', async () => {
    const at = new Date(Date.now() - 15 * DAY_MS);
    const xml = await signXades(SEGNATURA, pastPki.expired, { signingTime: at });
    expect(verifyXades(xml, { trust: pastPki.trust, at }).signer.subject).toBe(pastPki.expired.certificate.subject);
  });
});

describe('verifyXades refuses a change of the signed content', () => {
  it('a text node', () => {
    expectRefused(
      variant(signed, (doc) => setText(first(doc, PROT, 'Oggetto'), 'Richiesta di annullamento')),
      ALTERED_DOCUMENT,
    );
  });

  it('an attribute value, an added attribute, a removed attribute', () => {
    expectRefused(
      variant(signed, (doc) => first(doc, PROT, 'DocumentoPrimario').setAttributeNS(PROT, 'prot:nomeFile', 'altro.pdf')),
      ALTERED_DOCUMENT,
    );
    expectRefused(
      variant(signed, (doc) => first(doc, PROT, 'Destinatario').setAttributeNS(PROT, 'prot:perConoscenza', 'true')),
      ALTERED_DOCUMENT,
    );
    expectRefused(
      variant(signed, (doc) => first(doc, PROT, 'DocumentoPrimario').removeAttributeNS(PROT, 'mimeType')),
      ALTERED_DOCUMENT,
    );
  });

  it('a moved element, a duplicated element, a removed element', () => {
    expectRefused(
      variant(signed, (doc) => {
        const intestazione = first(doc, PROT, 'Intestazione');
        intestazione.insertBefore(first(doc, PROT, 'Oggetto'), first(doc, PROT, 'Identificatore'));
      }),
      ALTERED_DOCUMENT,
    );
    expectRefused(
      variant(signed, (doc) => {
        const destinatario = first(doc, PROT, 'Destinatario');
        destinatario.parentNode!.insertBefore(destinatario.cloneNode(true), destinatario);
      }),
      ALTERED_DOCUMENT,
    );
    expectRefused(
      variant(signed, (doc) => first(doc, PROT, 'Classifica').parentNode!.removeChild(first(doc, PROT, 'Classifica'))),
      ALTERED_DOCUMENT,
    );
  });

  it('a signed property (SigningTime)', () => {
    expectRefused(
      variant(signed, (doc) => setText(first(doc, XADES, 'SigningTime'), '2020-01-01T00:00:00Z')),
      ALTERED_PROPERTIES,
    );
  });

  it('the SignatureValue', () => {
    expectRefused(
      variant(signed, (_doc, sig) => {
        const value = child(sig, DS, 'SignatureValue');
        const bytes = Buffer.from(value.textContent!, 'base64');
        bytes[10] = bytes[10]! ^ 0x01;
        setText(value, bytes.toString('base64'));
      }),
      /the SignatureValue does not verify with the certificate in KeyInfo/,
    );
  });
});

describe('verifyXades refuses signature wrapping and a wrong shape', () => {
  it('a second ds:Signature (beside the first, or inside the content)', () => {
    const besides = variant(signed, (doc, sig) => {
      const copy = sig.cloneNode(true) as Element;
      copy.setAttribute('Id', 'copy');
      doc.documentElement!.insertBefore(copy, sig);
    });
    expectRefused(besides, /the document carries 2 ds:Signature elements; exactly one is accepted/);
    const nested = variant(signed, (doc, sig) => first(doc, PROT, 'Descrizione').appendChild(sig.cloneNode(true)));
    expectRefused(nested, /the document carries 2 ds:Signature elements/);
  });

  it('a ds:Signature that is not the last element of the root', () => {
    const xml = variant(signed, (doc, sig) => doc.documentElement!.insertBefore(sig, first(doc, PROT, 'Descrizione')));
    expectRefused(xml, /ds:Signature must be the last element of <SegnaturaInformatica>; it is followed by <Descrizione>/);
  });

  it('no ds:Signature at all', () => {
    expectRefused(SEGNATURA, /<SegnaturaInformatica> carries no ds:Signature/);
  });

  it('the signed Segnatura wrapped in another root', () => {
    const xml = `<Wrapper xmlns="urn:attacker">${signed.replace(/^<\?xml[^>]*\?>\s*/, '')}</Wrapper>`;
    expectRefused(xml, /ds:Signature must be a child of the root <Wrapper>, not of <SegnaturaInformatica>/);
  });

  it('altered content, with the original signed content copied into a wrapper element', () => {
    const xml = variant(signed, (doc) => {
      const descrizione = first(doc, PROT, 'Descrizione');
      const wrapper = doc.createElementNS('urn:attacker', 'w:Original');
      wrapper.appendChild(descrizione.cloneNode(true));
      doc.documentElement!.insertBefore(wrapper, descrizione);
      setText(first(doc, PROT, 'Denominazione'), 'Ente Falso');
    });
    expectRefused(xml, ALTERED_DOCUMENT);
  });

  it('altered content, with the original signed Segnatura (its signature removed) hidden inside ds:Object', () => {
    const xml = variant(
      signed,
      (doc, sig) => {
        const original = doc.documentElement!.cloneNode(true) as Element;
        original.removeChild(elements(original).at(-1)!);
        child(sig, DS, 'Object').appendChild(original);
        setText(first(doc, PROT, 'Oggetto'), 'Altro oggetto');
      },
      pki.comuneA,
    );
    expectRefused(xml, /ds:Object: unexpected <SegnaturaInformatica>/);
  });

  it('a Reference to another element of the document', async () => {
    const withId = SEGNATURA.replace('<Intestazione>', '<Intestazione Id="int-1">');
    const xml = variant(
      await signXades(withId, pki.comuneA),
      (_doc, sig) => propertiesReference(sig).setAttribute('URI', '#int-1'),
      pki.comuneA,
    );
    expectRefused(xml, /Reference #int-1 points at <Intestazione>, not at the xades:SignedProperties of this signature/);
  });

  it('a Reference to an Id that does not exist, or to an XPointer', () => {
    expectRefused(
      variant(signed, (_doc, sig) => propertiesReference(sig).setAttribute('URI', '#nowhere'), pki.comuneA),
      /Reference #nowhere resolves to no element/,
    );
    expectRefused(
      variant(signed, (_doc, sig) => propertiesReference(sig).setAttribute('URI', "#xpointer(id('x'))"), pki.comuneA),
      /is neither "" \(the whole document\) nor a same-document "#Id"/,
    );
  });

  it('an extra Reference', async () => {
    const withId = SEGNATURA.replace('<Intestazione>', '<Intestazione Id="int-1">');
    const xml = variant(
      await signXades(withId, pki.comuneA),
      (_doc, sig) => {
        const extra = propertiesReference(sig).cloneNode(true) as Element;
        extra.setAttribute('URI', '#int-1');
        extra.removeAttribute('Type');
        child(sig, DS, 'SignedInfo').appendChild(extra);
      },
      pki.comuneA,
    );
    expectRefused(xml, /ds:SignedInfo must hold exactly two References \(the document and the SignedProperties\); found 3/);
  });

  it('two References to the whole document and none to the SignedProperties', () => {
    const xml = variant(signed, (_doc, sig) => propertiesReference(sig).setAttribute('URI', ''), pki.comuneA);
    expectRefused(xml, /exactly one Reference must have URI="" \(the whole document\); found 2/);
  });

  it('an Id used twice in the document', () => {
    const xml = variant(signed, (doc, sig) =>
      first(doc, PROT, 'Intestazione').setAttribute('Id', signedPropertiesOf(sig).getAttribute('Id')!),
    );
    expectRefused(xml, /Id "xades-[^"]+-signedprops" appears on more than one element \(<Intestazione> and <xades:SignedProperties>\)/);
  });

  it('SignedProperties swapped in from another signature', async () => {
    const other = parse(await signXades(SEGNATURA, pki.comuneA, { signingTime: new Date(Date.now() - 60_000) }));
    const otherProps = signedPropertiesOf(signatureOf(other));
    const swap = (keepId: boolean) =>
      variant(signed, (doc, sig) => {
        const mine = signedPropertiesOf(sig);
        const theirs = doc.importNode(otherProps, true) as Element;
        if (keepId) {
          // A careful attacker also fixes every cross-reference, so only the digest can tell.
          theirs.setAttribute('Id', mine.getAttribute('Id')!);
          theirs
            .getElementsByTagNameNS(XADES, 'DataObjectFormat')
            .item(0)!
            .setAttribute('ObjectReference', `#${documentReference(sig).getAttribute('Id')}`);
        }
        mine.parentNode!.replaceChild(theirs, mine);
      });
    expectRefused(swap(false), /Reference #xades-[^ ]+-signedprops resolves to no element/);
    expectRefused(swap(true), ALTERED_PROPERTIES);
  });

  it('QualifyingProperties swapped in from another signature (Target names that one)', async () => {
    const other = parse(await signXades(SEGNATURA, pki.comuneA));
    const otherQp = first(other, XADES, 'QualifyingProperties');
    const xml = variant(signed, (doc) => {
      const mine = first(doc, XADES, 'QualifyingProperties');
      mine.parentNode!.replaceChild(doc.importNode(otherQp, true), mine);
    });
    expectRefused(xml, /xades:QualifyingProperties Target="#xades-[^"]+" does not name this signature/);
  });

  it('unsigned properties, a second ds:Object, stray elements in SignedInfo', () => {
    expectRefused(
      variant(signed, (doc) =>
        first(doc, XADES, 'QualifyingProperties').appendChild(doc.createElementNS(XADES, 'xades:UnsignedProperties')),
      ),
      /xades:QualifyingProperties: unexpected <xades:UnsignedProperties>/,
    );
    expectRefused(
      variant(signed, (doc, sig) => sig.appendChild(doc.createElementNS(DS, 'ds:Object'))),
      /ds:Signature holds more than 1 <ds:Object>/,
    );
    expectRefused(
      variant(signed, (doc, sig) => child(sig, DS, 'SignedInfo').appendChild(doc.createElementNS('urn:attacker', 'a:Extra')), pki.comuneA),
      /ds:SignedInfo: unexpected <a:Extra>/,
    );
  });

  it('a DataObjectFormat describing something other than the document Reference', () => {
    const xml = variant(signed, (doc) => first(doc, XADES, 'DataObjectFormat').setAttribute('ObjectReference', '#elsewhere'), pki.comuneA, {
      redigestProperties: true,
    });
    expectRefused(xml, /xades:DataObjectFormat ObjectReference="#elsewhere" does not name the document Reference/);
  });
});

describe('verifyXades refuses weak or unexpected algorithms', () => {
  it('a SHA-1 digest', () => {
    const xml = variant(
      signed,
      (doc, sig) => {
        const ref = documentReference(sig);
        const copy = doc.documentElement!.cloneNode(true) as Element;
        copy.removeChild(elements(copy).at(-1)!);
        child(ref, DS, 'DigestMethod').setAttribute('Algorithm', SHA1);
        setText(child(ref, DS, 'DigestValue'), createHash('sha1').update(canonical(copy)).digest('base64'));
      },
      pki.comuneA,
    );
    expectRefused(xml, /digest algorithm http:\/\/www\.w3\.org\/2000\/09\/xmldsig#sha1 of ds:Reference\[1\] \(URI=""\) is not accepted/);
  });

  it('RSA-SHA1, inclusive C14N of SignedInfo', () => {
    expectRefused(
      variant(signed, (_doc, sig) => child(child(sig, DS, 'SignedInfo'), DS, 'SignatureMethod').setAttribute('Algorithm', RSA_SHA1)),
      /signature algorithm http:\/\/www\.w3\.org\/2000\/09\/xmldsig#rsa-sha1 is not accepted/,
    );
    expectRefused(
      variant(
        signed,
        (_doc, sig) => child(child(sig, DS, 'SignedInfo'), DS, 'CanonicalizationMethod').setAttribute('Algorithm', C14N),
        pki.comuneA,
      ),
      /SignedInfo canonicalization http:\/\/www\.w3\.org\/TR\/2001\/REC-xml-c14n-20010315 is not accepted/,
    );
  });

  it('a document Reference without the enveloped-signature transform', () => {
    expectRefused(
      variant(
        signed,
        (_doc, sig) => {
          const transforms = child(documentReference(sig), DS, 'Transforms');
          transforms.removeChild(elements(transforms)[0]!);
        },
        pki.comuneA,
      ),
      /the document Reference must have exactly the transforms \[enveloped-signature, exc-c14n\]; found \[http:\/\/www\.w3\.org\/2001\/10\/xml-exc-c14n#\]/,
    );
  });

  it('an XPath transform other than the enveloped-signature idiom (partial signing)', () => {
    const xml = variant(
      signed,
      (doc, sig) => xpathTransform(doc, sig, XPATH, DS, 'ds:XPath', 'ancestor-or-self::prot:Intestazione'),
      pki.comuneA,
    );
    expectRefused(
      xml,
      /ds:Reference\[1\]\/ds:Transform: XPath "ancestor-or-self::prot:Intestazione" is not accepted \(only the enveloped-signature idiom is\)/,
    );
    const intersect = variant(
      signed,
      (doc, sig) => xpathTransform(doc, sig, XPATH_FILTER2, XPATH_FILTER2_NS, 'f:XPath', '/descendant::ds:Signature', 'intersect'),
      pki.comuneA,
    );
    expectRefused(intersect, /XPath "\/descendant::ds:Signature" is not accepted/);
    const unboundPrefix = variant(
      signed,
      (doc, sig) => xpathTransform(doc, sig, XPATH, DS, 'ds:XPath', 'not(ancestor-or-self::x:Signature)'),
      pki.comuneA,
    );
    expectRefused(unboundPrefix, /XPath "not\(ancestor-or-self::x:Signature\)" is not accepted/);
  });
});

describe('verifyXades refuses the wrong certificate', () => {
  it('a SigningCertificateV2 naming another certificate (re-sealed by the same key)', () => {
    const otherDigest = createHash('sha256').update(pki.regione.certificate.raw).digest('base64');
    const xml = variant(signed, (doc) => setText(child(first(doc, XADES, 'CertDigest'), DS, 'DigestValue'), otherDigest), pki.comuneA, {
      redigestProperties: true,
    });
    expectRefused(
      xml,
      /xades:SigningCertificateV2 does not identify the certificate in KeyInfo \("CN=ComuneA, O=SPC, C=IT"\): no CertDigest matches it/,
    );
  });

  it('an IssuerSerialV2 naming another certificate, or not DER', () => {
    expectRefused(
      withIssuerSerial(signed, issuerSerialV2(pki.regione.certificate)),
      /xades:SigningCertificateV2\/xades:Cert\[1\]\/xades:IssuerSerialV2 names another certificate than the one in KeyInfo \("CN=ComuneA, O=SPC, C=IT"\)/,
    );
    expectRefused(withIssuerSerial(signed, Buffer.from('not DER').toString('base64')), /xades:IssuerSerialV2 is not a DER IssuerSerial/);
  });

  it('another trusted party re-sealing the SignedInfo with its own certificate in KeyInfo', () => {
    const xml = variant(
      signed,
      (_doc, sig) => setText(first(sig.ownerDocument!, DS, 'X509Certificate'), pki.regione.certificate.raw.toString('base64')),
      pki.regione,
    );
    expectRefused(xml, /xades:SigningCertificateV2 does not identify the certificate in KeyInfo \("CN=Regione, O=SPC, C=IT"\)/);
  });

  it('more than five certificates in KeyInfo (path building over them is bounded)', () => {
    const xml = variant(signed, (doc) => {
      const data = first(doc, DS, 'X509Data');
      for (let i = 0; i < 5; i++) data.appendChild(first(doc, DS, 'X509Certificate').cloneNode(true));
    });
    expectRefused(xml, /ds:X509Data holds more than 5 <ds:X509Certificate>/);
  });

  it('another certificate swapped into KeyInfo without the key', () => {
    const xml = variant(signed, (doc) => setText(first(doc, DS, 'X509Certificate'), pki.regione.certificate.raw.toString('base64')));
    expectRefused(xml, /the SignatureValue does not verify with the certificate in KeyInfo \("CN=Regione, O=SPC, C=IT"\)/);
  });

  it('a certificate from a CA the node does not trust', async () => {
    expectRefused(
      await signXades(SEGNATURA, pki.rogue),
      /the seal certificate is not accepted \(TRAMITE_ERR_CERT_UNTRUSTED\): signer "CN=ComuneA, O=SPC, C=IT" .*does not chain to a trusted CA/,
    );
  });

  it('an expired certificate — even with a SigningTime back-dated into its validity', async () => {
    const expired =
      /the seal certificate is not accepted \(TRAMITE_ERR_CERT_EXPIRED\): signer certificate "CN=AooScaduta, O=SPC, C=IT" has expired at /;
    expectRefused(await signXades(SEGNATURA, pastPki.expired), expired, { trust: pastPki.trust });
    expectRefused(await signXades(SEGNATURA, pastPki.expired, { signingTime: new Date(Date.now() - 15 * DAY_MS) }), expired, {
      trust: pastPki.trust,
    });
  });

  it('a certificate whose keyUsage does not allow signatures', async () => {
    expectRefused(await signXades(SEGNATURA, pki.certSignOnly), /\(TRAMITE_ERR_CERT_USAGE\)/);
  });
});

describe('verifyXades refuses', () => {
  it('a SigningTime more than 5 minutes in the future', async () => {
    const at = new Date();
    expectRefused(
      await signXades(SEGNATURA, pki.comuneA, { signingTime: new Date(at.getTime() + 10 * 60_000) }),
      /xades:SigningTime \S+ is in the future \(more than 5 minutes after/,
      { at },
    );
    expect(
      verifyXades(await signXades(SEGNATURA, pki.comuneA, { signingTime: new Date(at.getTime() + 4 * 60_000) }), { trust: pki.trust, at })
        .signer,
    ).toBeDefined();
  });

  it('a DOCTYPE (entity expansion, external entities)', () => {
    const xml = signed.replace(/^<\?xml[^>]*\?>/, '<?xml version="1.0"?><!DOCTYPE SegnaturaInformatica [<!ENTITY x "y">]>');
    expectRefused(xml, /the sealed document cannot be read safely: a DOCTYPE is not accepted \(line 1/);
  });

  it('a processing instruction and malformed XML', () => {
    expectRefused(
      signed.replace('<Intestazione>', '<?evil x?><Intestazione>'),
      /cannot be read safely: processing instruction <\?evil\?> is not accepted/,
    );
    expectRefused(signed.replace('</Oggetto>', '</Ogetto>'), /cannot be read safely: XML not well formed/);
  });

  it('junk in base64 values', () => {
    expectRefused(
      variant(signed, (_doc, sig) => setText(child(documentReference(sig), DS, 'DigestValue'), 'not*base64')),
      /ds:Reference\[1\]\/ds:DigestValue is not base64/,
    );
  });
});
