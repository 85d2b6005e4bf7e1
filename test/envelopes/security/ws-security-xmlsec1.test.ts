/**
 * Differential tests of WS-Security against xmlsec1 (libxml2 + OpenSSL), an independent XML-DSig
 * implementation: e-Gov and ModI envelopes Tramite seals verify under xmlsec1 (and xmlsec1 digested
 * the very bytes our canonicaliser produced), and envelopes xmlsec1 signs — templates with the same
 * References, some with an InclusiveNamespaces PrefixList — verify under Tramite. The corpus mixes
 * prefix cases (SOAP_ENV, eGov_IT, a, Z), default namespaces and attributes from several namespaces.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { buildEgovEnvelope, buildModiEnvelope, openEnvelope, sealEnvelope, type EnvelopeProfile } from '../../../envelopes/envelope.js';
import { SecurityError } from '../../../src/core/errors.js';
import { NS } from '../../../envelopes/xml/namespaces.js';
import { exclusiveC14n, parsePrefixList } from '../../../envelopes/security/exc-c14n.js';
import { ALG } from '../../../envelopes/security/ws-security-algorithms.js';
import {
  SAMPLE_BODY,
  getTestPki,
  livePolicy,
  sampleAddressing,
  sampleEgovHeader,
  type TestPki,
  type TestSigner,
} from '../../fixtures/test-pki.js';
import { SIGNER_EXTENSIONS, issueWithOpenssl } from '../../fixtures/openssl-certs.js';
import { requireXmlsec1, xmlsec1Sign, xmlsec1Verify, WS_SECURITY_IDS } from '../../../test-support/xmlsec1.js';

/** Every element kind a Tramite envelope references by Id. */
/** A Body with prefixes of mixed case, a default namespace and its undeclaration, attributes from several namespaces. */
const MIXED_BODY =
  '<Z:Pratica xmlns:Z="urn:tramite:test:z" xmlns:a="urn:tramite:test:a" xmlns="urn:tramite:test:default" a:tipo="x" Z:n="1" n="2" xml:lang="it">' +
  '<Richiedente a:ruolo="titolare">Mario Rossi</Richiedente><a:Importo xmlns="" valuta="EUR"><cifra>1000</cifra></a:Importo>' +
  '<eGov_IT:Nota xmlns:eGov_IT="urn:tramite:test:egov-like" SOAP_ENV:role="r" xmlns:SOAP_ENV="urn:tramite:test:soap-like">n &amp; m</eGov_IT:Nota></Z:Pratica>';

let pki: TestPki;
let ecSigner: TestSigner;
beforeAll(() => {
  requireXmlsec1();
  pki = getTestPki();
  ecSigner = issueWithOpenssl({ issuer: pki.ca, subject: '/C=IT/O=SPC/CN=ComuneA', key: 'ec-p256', extensions: SIGNER_EXTENSIONS });
});

/** An unsigned envelope of the profile; `defaultSoap` writes the SOAP namespace as the default one. */
function unsigned(profile: EnvelopeProfile, body: string, defaultSoap = false): string {
  const xml = profile === 'egov' ? buildEgovEnvelope(sampleEgovHeader(new Date()), body) : buildModiEnvelope(sampleAddressing(), body);
  if (!defaultSoap) return xml;
  return xml
    .replace(`<SOAP_ENV:Envelope xmlns:SOAP_ENV="${NS.soap11}">`, `<Envelope xmlns="${NS.soap11}" xmlns:SOAP_ENV="${NS.soap11}">`)
    .replace(/<(\/?)SOAP_ENV:(Envelope|Header|Body)>/g, '<$1$2>');
}

async function seal(profile: EnvelopeProfile, body: string, signer: TestSigner, defaultSoap = false): Promise<string> {
  return await sealEnvelope(unsigned(profile, body, defaultSoap), profile, signer, {
    now: new Date(),
    ttlSeconds: 300,
    addressing: sampleAddressing(),
  });
}

/** Our canonical bytes of each Reference target of a signed envelope, in SignedInfo order. */
function ourReferenceBytes(xml: string): string[] {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const all = Array.from(doc.getElementsByTagName('*'));
  return Array.from(doc.getElementsByTagNameNS(NS.ds, 'Reference')).map((ref) => {
    const id = ref.getAttribute('URI')!.slice(1);
    const target = all.find((e) => e.getAttributeNS(NS.wsu, 'Id') === id || e.getAttribute('Id') === id)!;
    const list = ref.getElementsByTagNameNS(ALG.excC14n, 'InclusiveNamespaces')[0]?.getAttribute('PrefixList') ?? '';
    return exclusiveC14n(target, { inclusivePrefixes: parsePrefixList(list) });
  });
}

const CORPUS: Array<{ name: string; profile: EnvelopeProfile; body: string; defaultSoap?: boolean; ec?: boolean }> = [
  { name: 'e-Gov busta (SOAP_ENV and eGov_IT on the Intestazione), RSA', profile: 'egov', body: SAMPLE_BODY },
  { name: 'ModI envelope, RSA', profile: 'modi', body: SAMPLE_BODY },
  {
    name: 'e-Gov busta with a Body of mixed-case prefixes (Z, a, eGov_IT, SOAP_ENV), default namespaces, attributes of several namespaces',
    profile: 'egov',
    body: MIXED_BODY,
  },
  { name: 'ModI envelope with the mixed Body', profile: 'modi', body: MIXED_BODY },
  { name: 'e-Gov busta whose SOAP namespace is the default one', profile: 'egov', body: MIXED_BODY, defaultSoap: true },
  { name: 'ModI envelope whose SOAP namespace is the default one', profile: 'modi', body: SAMPLE_BODY, defaultSoap: true },
  {
    name: 'e-Gov busta whose Body holds carriage returns (&#13; in text, CDATA and an attribute)',
    profile: 'egov',
    body: '<p:N xmlns:p="urn:p" a="x&#13;y">Mario Rossi&#13;\r\n<![CDATA[a\rb]]></p:N>',
  },
  { name: 'e-Gov busta, ECDSA P-256', profile: 'egov', body: MIXED_BODY, ec: true },
  { name: 'ModI envelope, ECDSA P-256', profile: 'modi', body: SAMPLE_BODY, ec: true },
];

describe('what Tramite seals verifies under xmlsec1', () => {
  it.each(CORPUS)('$name', async (c) => {
    const signer = c.ec ? ecSigner : pki.comuneA;
    const xml = await seal(c.profile, c.body, signer, c.defaultSoap);
    const verdict = xmlsec1Verify(xml, { signerCertPem: signer.certPem, trustedCaPem: pki.ca.certPem, ids: WS_SECURITY_IDS });
    expect(verdict.ok, verdict.output.slice(0, 3000)).toBe(true);
    // xmlsec1 digested exactly the bytes our canonicaliser produced, Reference by Reference.
    expect(verdict.references).toEqual(ourReferenceBytes(xml));
  });

  it('control: the same envelope altered after sealing is refused by xmlsec1', async () => {
    const xml = (await seal('egov', MIXED_BODY, pki.comuneA)).replace('Mario Rossi', 'Mario Rosso');
    expect(xmlsec1Verify(xml, { signerCertPem: pki.comuneA.certPem, ids: WS_SECURITY_IDS }).ok).toBe(false);
  });

  it('an e-Gov busta digested the xml-crypto way (eGov_IT declared before SOAP_ENV) is refused by xmlsec1 and by Tramite', async () => {
    // What Tramite wrote before issue 12: xml-crypto's own canonicaliser over the same References.
    const doc = new DOMParser().parseFromString(await seal('egov', SAMPLE_BODY, pki.comuneA), 'text/xml');
    const security = doc.getElementsByTagNameNS(NS.wsse, 'Security')[0]!;
    security.removeChild(doc.getElementsByTagNameNS(NS.ds, 'Signature')[0]!);
    const ids = ['Timestamp', 'Body', 'Intestazione'].map((local) => {
      const ns = local === 'Timestamp' ? NS.wsu : local === 'Body' ? NS.soap11 : NS.egov;
      return doc.getElementsByTagNameNS(ns, local)[0]!.getAttributeNS(NS.wsu, 'Id');
    });
    const bstId = doc.getElementsByTagNameNS(NS.wsse, 'BinarySecurityToken')[0]!.getAttributeNS(NS.wsu, 'Id');
    const sig = new SignedXml({
      privateKey: pki.comuneA.keyPem,
      canonicalizationAlgorithm: ALG.excC14n,
      signatureAlgorithm: ALG.rsaSha256,
      getKeyInfoContent: () =>
        `<wsse:SecurityTokenReference xmlns:wsse="${NS.wsse}"><wsse:Reference URI="#${bstId}" ValueType="${'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3'}"/></wsse:SecurityTokenReference>`,
    });
    for (const id of ids)
      sig.addReference({ xpath: `//*[@*[local-name()='Id' and .='${id}']]`, transforms: [ALG.excC14n], digestAlgorithm: ALG.sha256 });
    sig.computeSignature(doc.toString(), { prefix: 'ds', location: { reference: `//*[local-name()='Security']`, action: 'append' } });
    const xml = sig.getSignedXml();

    const verdict = xmlsec1Verify(xml, { signerCertPem: pki.comuneA.certPem, ids: WS_SECURITY_IDS });
    expect(verdict.ok).toBe(false);
    expect(verdict.output).toMatch(/digest/i);
    let err: unknown;
    try {
      openEnvelope(xml, livePolicy());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SecurityError);
    expect({ reason: (err as SecurityError).reason, posizione: (err as SecurityError).posizione }).toEqual({
      reason: 'TRAMITE_ERR_SIG_DIGEST',
      posizione: 'Header/Intestazione',
    });
  });
});

/** Our sealed envelope turned into an xmlsec1 template: same References, values emptied, optional PrefixLists. */
function template(xml: string, prefixList?: string): string {
  let t = xml
    .replace(/<ds:DigestValue>[^<]*<\/ds:DigestValue>/g, '<ds:DigestValue></ds:DigestValue>')
    .replace(/<ds:SignatureValue>[^<]*<\/ds:SignatureValue>/, '<ds:SignatureValue></ds:SignatureValue>');
  if (prefixList !== undefined) {
    const list = `<ec:InclusiveNamespaces xmlns:ec="${ALG.excC14n}" PrefixList="${prefixList}"/>`;
    t = t
      .replace(
        new RegExp(`<ds:Transform Algorithm="${ALG.excC14n}"/>`, 'g'),
        `<ds:Transform Algorithm="${ALG.excC14n}">${list}</ds:Transform>`,
      )
      .replace(
        `<ds:CanonicalizationMethod Algorithm="${ALG.excC14n}"/>`,
        `<ds:CanonicalizationMethod Algorithm="${ALG.excC14n}">${list}</ds:CanonicalizationMethod>`,
      );
    expect(t).toContain('PrefixList');
  }
  return t;
}

describe('what xmlsec1 signs verifies under Tramite', () => {
  const CASES = CORPUS.flatMap((c) => [
    { ...c, prefixList: undefined as string | undefined },
    { ...c, name: `${c.name}, InclusiveNamespaces "SOAP_ENV a Z #default"`, prefixList: 'SOAP_ENV a Z #default' },
  ]);

  it.each(CASES)('$name', async (c) => {
    const signer = c.ec ? ecSigner : pki.comuneA;
    const signed = xmlsec1Sign(template(await seal(c.profile, c.body, signer, c.defaultSoap), c.prefixList), {
      keyPem: signer.keyPem,
      ids: WS_SECURITY_IDS,
    });
    expect(signed.xml).not.toContain('<ds:DigestValue></ds:DigestValue>');
    const opened = openEnvelope(signed.xml, livePolicy());
    expect(opened.signature.signed).toEqual(expect.arrayContaining(['Security/Timestamp', 'Body']));
    expect(ourReferenceBytes(signed.xml)).toEqual(signed.references);
  });

  it('control: an xmlsec1-signed envelope altered after signing → SIG_DIGEST at Body', async () => {
    const signed = xmlsec1Sign(template(await seal('egov', MIXED_BODY, pki.comuneA), 'SOAP_ENV #default'), {
      keyPem: pki.comuneA.keyPem,
      ids: WS_SECURITY_IDS,
    });
    let err: unknown;
    try {
      openEnvelope(signed.xml.replace('Mario Rossi', 'Mario Rosso'), livePolicy());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SecurityError);
    expect({ reason: (err as SecurityError).reason, posizione: (err as SecurityError).posizione }).toEqual({
      reason: 'TRAMITE_ERR_SIG_DIGEST',
      posizione: 'Body',
    });
  });
});

describe('the other accepted transform chains, signed by xmlsec1, verify under Tramite', () => {
  const EXC = `<ds:Transform Algorithm="${ALG.excC14n}"/>`;
  it.each([
    ['enveloped-signature then exclusive C14N', `<ds:Transform Algorithm="${ALG.enveloped}"/>${EXC}`],
    ['Canonical XML 1.0 (inclusive)', `<ds:Transform Algorithm="${ALG.c14n}"/>`],
    ['no transform at all (Canonical XML 1.0 by default)', ''],
  ])('%s, on an e-Gov busta with the mixed Body', async (_name, chain) => {
    const base = template(await seal('egov', MIXED_BODY, pki.comuneA));
    const t = chain === '' ? base.split(`<ds:Transforms>${EXC}</ds:Transforms>`).join('') : base.split(EXC).join(chain);
    expect(t).not.toBe(base);
    const signed = xmlsec1Sign(t, { keyPem: pki.comuneA.keyPem, ids: WS_SECURITY_IDS });
    expect(openEnvelope(signed.xml, livePolicy()).signature.signed).toEqual(['Security/Timestamp', 'Body', 'Header/Intestazione']);
  });
});
