/**
 * The signed path against two independent XML-DSig implementations, on payloads chosen to trip
 * canonicalisers, parsers and the signer's splice (test/fixtures/generated-xml.ts), from empty to
 * 200 KB, and on fast-check generated ones:
 * - what Tramite seals verifies under xml-crypto and under xmlsec1, and is the original text with
 *   only the Security header and the wsu:Id attributes added;
 * - what xml-crypto and xmlsec1 sign verifies under Tramite;
 * - changing any single byte inside a signed element gets the envelope refused.
 *
 * xml-crypto orders namespace declarations with localeCompare (eGov_IT before SOAP_ENV), where
 * exclusive C14N orders them by code point; as in ws-security.test.ts its canonicaliser is used with
 * that one comparison corrected, and stays an independent implementation of everything else.
 * xmlsec1 runs as a process per call, so it gets the hand-written corpus and a fixed sample of the
 * generated payloads; xml-crypto gets many generated runs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DOMParser } from '@xmldom/xmldom';
import { ExclusiveCanonicalization, SignedXml } from 'xml-crypto';
import { buildEgovEnvelope, buildModiEnvelope, openEnvelope, sealEnvelope, type EnvelopeProfile } from '../../../envelopes/envelope.js';
import { TramiteError } from '../../../src/core/errors.js';
import { NS, WSS_X509V3 } from '../../../envelopes/xml/namespaces.js';
import { ALG } from '../../../envelopes/security/ws-security-algorithms.js';
import { getTestPki, livePolicy, sampleAddressing, sampleEgovHeader, type TestPki } from '../../fixtures/test-pki.js';
import { PAYLOAD_CORPUS, payloadArb, payloadOfSize } from '../../fixtures/generated-xml.js';
import { requireXmlsec1, xmlsec1Sign, xmlsec1Verify, WS_SECURITY_IDS } from '../../../test-support/xmlsec1.js';

let pki: TestPki;
beforeAll(() => {
  requireXmlsec1();
  pki = getTestPki();
});

const CORPUS = [
  ...PAYLOAD_CORPUS,
  { name: '50 KB of records', xml: payloadOfSize(50 * 1024) },
  { name: '200 KB of records', xml: payloadOfSize(200 * 1024) },
];

function unsigned(profile: EnvelopeProfile, body: string): string {
  return profile === 'egov' ? buildEgovEnvelope(sampleEgovHeader(new Date()), body) : buildModiEnvelope(sampleAddressing(), body);
}

async function seal(profile: EnvelopeProfile, text: string): Promise<string> {
  return await sealEnvelope(text, profile, pki.comuneA, { now: new Date(), ttlSeconds: 300, addressing: sampleAddressing() });
}

/** xml-crypto's exclusive C14N with the namespace order of the spec: prefixes by code point. */
class CodePointExcC14n extends ExclusiveCanonicalization {
  override nsCompare(a: { prefix: string }, b: { prefix: string }): number {
    return a.prefix === b.prefix ? 0 : a.prefix < b.prefix ? -1 : 1;
  }
}

function withCodePointOrder(sig: SignedXml): SignedXml {
  sig.CanonicalizationAlgorithms = { ...sig.CanonicalizationAlgorithms, [ALG.excC14n]: CodePointExcC14n };
  return sig;
}

function xmlCryptoVerifies(xml: string): boolean {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const signature = doc.getElementsByTagNameNS(NS.ds, 'Signature')[0];
  if (!signature) return false;
  const sig = withCodePointOrder(new SignedXml({ publicCert: pki.comuneA.certPem, idMode: 'wssecurity' }));
  sig.loadSignature(signature as unknown as Node);
  return sig.checkSignature(xml);
}

/** Our sealed envelope with its ds:Signature replaced by xml-crypto's, over the same Ids, with the same token. */
function xmlCryptoResign(sealed: string): string {
  const ids = [...sealed.matchAll(/<ds:Reference URI="#([^"]+)"/g)].map((m) => m[1]!);
  const bstId = /<wsse:BinarySecurityToken[^>]* wsu:Id="([^"]+)"/.exec(sealed)![1]!;
  const start = sealed.indexOf('<ds:Signature');
  const end = sealed.indexOf('</ds:Signature>') + '</ds:Signature>'.length;
  const sig = withCodePointOrder(
    new SignedXml({
      privateKey: pki.comuneA.keyPem,
      canonicalizationAlgorithm: ALG.excC14n,
      signatureAlgorithm: ALG.rsaSha256,
      idMode: 'wssecurity',
      getKeyInfoContent: () =>
        `<wsse:SecurityTokenReference xmlns:wsse="${NS.wsse}"><wsse:Reference URI="#${bstId}" ValueType="${WSS_X509V3}"/></wsse:SecurityTokenReference>`,
    }),
  );
  for (const id of ids)
    sig.addReference({ xpath: `//*[@*[local-name()='Id' and .='${id}']]`, transforms: [ALG.excC14n], digestAlgorithm: ALG.sha256 });
  sig.computeSignature(sealed.slice(0, start) + sealed.slice(end), {
    prefix: 'ds',
    location: { reference: `//*[local-name()='Security' and namespace-uri()='${NS.wsse}']`, action: 'append' },
  });
  return sig.getSignedXml();
}

/** Our sealed envelope as an xmlsec1 template: same References, values emptied. */
function xmlsec1Resign(sealed: string): string {
  const template = sealed
    .replace(/<ds:DigestValue>[^<]*<\/ds:DigestValue>/g, '<ds:DigestValue></ds:DigestValue>')
    .replace(/<ds:SignatureValue>[^<]*<\/ds:SignatureValue>/, '<ds:SignatureValue></ds:SignatureValue>');
  return xmlsec1Sign(template, { keyPem: pki.comuneA.keyPem, ids: WS_SECURITY_IDS }).xml;
}

/** The sealed text without what sealing inserted: the Security header and the wsu:Id attributes (with their declaration). */
function withoutInsertions(sealed: string): string {
  return sealed
    .replace(/<wsse:Security [\s\S]*<\/wsse:Security>/, '')
    .replace(/ xmlns:wsu="[^"]*" wsu:Id="id-[0-9a-f-]+"/g, '')
    .replace(/ wsu:Id="id-[0-9a-f-]+"/g, '');
}

function opens(xml: string | Uint8Array): boolean {
  try {
    openEnvelope(xml, livePolicy());
    return true;
  } catch (err) {
    if (err instanceof TramiteError) return false;
    throw err;
  }
}

describe.each(['egov', 'modi'] as const)('%s: the hand-written corpus', (profile) => {
  it.each(CORPUS)('$name: ours verifies under xml-crypto and xmlsec1, and keeps the original text', async ({ xml }) => {
    const text = unsigned(profile, xml);
    const sealed = await seal(profile, text);
    expect(withoutInsertions(sealed)).toBe(text);
    expect(xmlCryptoVerifies(sealed)).toBe(true);
    const verdict = xmlsec1Verify(sealed, { signerCertPem: pki.comuneA.certPem, trustedCaPem: pki.ca.certPem, ids: WS_SECURITY_IDS });
    expect(verdict.ok, verdict.output.slice(0, 2000)).toBe(true);
    expect(opens(sealed)).toBe(true);
  });

  it.each(CORPUS)('$name: xml-crypto and xmlsec1 signatures verify under ours', async ({ xml }) => {
    const sealed = await seal(profile, unsigned(profile, xml));
    const theirs = xmlCryptoResign(sealed);
    expect(xmlCryptoVerifies(theirs)).toBe(true);
    expect(opens(theirs)).toBe(true);
    expect(opens(xmlsec1Resign(sealed))).toBe(true);
  });
});

describe('generated payloads (fast-check)', () => {
  it('ours verifies under xml-crypto, xml-crypto verifies under ours, the text is kept (many runs)', async () => {
    await fc.assert(
      fc.asyncProperty(payloadArb, fc.constantFrom<EnvelopeProfile>('egov', 'modi'), async (xml, profile) => {
        const text = unsigned(profile, xml);
        const sealed = await seal(profile, text);
        expect(withoutInsertions(sealed)).toBe(text);
        expect(opens(sealed)).toBe(true);
        expect(xmlCryptoVerifies(sealed)).toBe(true);
        expect(opens(xmlCryptoResign(sealed))).toBe(true);
      }),
      { numRuns: 60 },
    );
  }, 60_000);

  it('a fixed sample: ours verifies under xmlsec1, xmlsec1 verifies under ours', async () => {
    for (const xml of fc.sample(payloadArb, { seed: 14, numRuns: 6 })) {
      const sealed = await seal('egov', unsigned('egov', xml));
      const verdict = xmlsec1Verify(sealed, { signerCertPem: pki.comuneA.certPem, ids: WS_SECURITY_IDS });
      expect(verdict.ok, `${xml}\n${verdict.output.slice(0, 2000)}`).toBe(true);
      expect(opens(xmlsec1Resign(sealed)), xml).toBe(true);
    }
  }, 60_000);
});

/**
 * Byte offsets of the prefix in each `xmlns:p="uri"` that repeats a declaration already in force
 * (the Intestazione redeclares SOAP_ENV): renamed, it becomes a declaration nothing uses, which
 * exclusive C14N does not digest, by design — body-content.ts keeps such declarations from the back
 * office. Offsets of the latin1 view are byte offsets.
 */
function redundantDeclarationNames(text: string): Set<number> {
  const out = new Set<number>();
  for (const m of text.matchAll(/ xmlns:([A-Za-z_][\w.-]*)="[^"]*"/g)) {
    if (text.lastIndexOf(m[0], m.index - 1) < 0) continue;
    const from = m.index + ' xmlns:'.length;
    for (let i = 0; i < m[1]!.length; i++) out.add(from + i);
  }
  return out;
}

describe('a single byte changed inside a signed element is refused', () => {
  // No comments and no unused namespace declarations: everything in these elements is digested.
  const body =
    '<p:Pratica xmlns:p="urn:tramite:test:pratica" numero="42" xml:lang="it"><p:Richiedente>Mario &amp; Lucia Rossi è</p:Richiedente>' +
    '<p:Nota><![CDATA[a < b]]></p:Nota><p:Vuoto/><p:Importo valuta="EUR">1000&#13;</p:Importo>\n </p:Pratica>';
  const signedRanges = (bytes: Buffer): Array<[number, number]> =>
    ['SOAP_ENV:Body', 'eGov_IT:Intestazione', 'wsu:Timestamp'].map((name) => {
      const start = bytes.indexOf(`<${name}`);
      const end = bytes.indexOf(`</${name}>`) + `</${name}>`.length;
      expect(start).toBeGreaterThan(0);
      return [start, end];
    });

  it('anywhere in the Body, the Intestazione or the Timestamp, by a letter or a digit', async () => {
    const sealed = Buffer.from(await seal('egov', unsigned('egov', body)), 'utf8');
    expect(opens(sealed)).toBe(true);
    const ranges = signedRanges(sealed);
    const redundant = redundantDeclarationNames(sealed.toString('latin1'));
    const positions = ranges.flatMap(([s, e]) => Array.from({ length: e - s }, (_, i) => s + i)).filter((at) => !redundant.has(at));
    expect(redundant.size).toBeGreaterThan(0);
    fc.assert(
      fc.property(fc.constantFrom(...positions), fc.constantFrom(0x51, 0x37, 0x7a), (at, replacement) => {
        const mutated = Buffer.from(sealed);
        mutated[at] = mutated[at] === replacement ? 0x58 : replacement;
        expect(opens(mutated), `byte ${at}: ${sealed.subarray(Math.max(0, at - 20), at + 20).toString()}`).toBe(false);
      }),
      { numRuns: 400 },
    );
  }, 60_000);
});
