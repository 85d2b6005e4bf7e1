/**
 * The signer's output is the original text with the Security header and the wsu:Ids inserted
 * (sealed-envelope-text.ts). The shapes of envelope the splice has to handle — no Header at all, a
 * self-closing Header, a Header with whitespace and other blocks, the SOAP namespace as the default
 * one, CR LF line ends — each verify (under Tramite and xmlsec1) and keep every original byte; an
 * envelope a profile added header blocks to is serialised from the tree instead, and verifies too.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { sealSoapEnvelope } from '../../../envelopes/security/ws-security-sign.js';
import { verifySoapSignature } from '../../../envelopes/security/ws-security-verify.js';
import { parseUntrustedXml } from '../../../envelopes/xml/hardened-xml.js';
import { childElements, isElement } from '../../../envelopes/xml/dom-navigation.js';
import { NS } from '../../../envelopes/xml/namespaces.js';
import { getTestPki, livePolicy, type TestPki } from '../../fixtures/test-pki.js';
import { requireXmlsec1, xmlsec1Verify, WS_SECURITY_IDS } from '../../../test-support/xmlsec1.js';

let pki: TestPki;
beforeAll(() => {
  requireXmlsec1();
  pki = getTestPki();
});

const S = NS.soap11;
const bodyOf = (doc: Document): Element => childElements(doc.documentElement!).find((e) => isElement(e, S, 'Body'))!;
const headerOf = (doc: Document): Element | undefined => childElements(doc.documentElement!).find((e) => isElement(e, S, 'Header'));

async function seal(xml: string, targets = (doc: Document): Element[] => [bodyOf(doc)]): Promise<string> {
  return await sealSoapEnvelope(xml, targets, pki.comuneA, { now: new Date(), ttlSeconds: 300 });
}

/** Verifies with the Body (and any header block) as what the node reads; returns the labels signed. */
function verify(xml: string): readonly string[] {
  const { doc } = parseUntrustedXml(xml);
  const header = headerOf(doc)!;
  const security = childElements(header).find((e) => isElement(e, NS.wsse, 'Security'))!;
  const body = bodyOf(doc);
  const signable = new Map<Element, string>([[body, 'Body']]);
  for (const block of childElements(header)) if (block !== security) signable.set(block, `Header/${block.localName}`);
  return verifySoapSignature(doc, { security, signable, required: [body] }, livePolicy()).signed;
}

function withoutInsertions(sealed: string): string {
  return sealed
    .replace(/<wsse:Security [\s\S]*<\/wsse:Security>/, '')
    .replace(/ xmlns:wsu="[^"]*" wsu:Id="id-[0-9a-f-]+"/g, '')
    .replace(/ wsu:Id="id-[0-9a-f-]+"/g, '');
}

const BODY = '<p:Pratica xmlns:p="urn:p" n="1">Mario &amp; Lucia&#13;</p:Pratica>';

describe('the sealed text is the original with insertions', () => {
  it.each([
    [
      'a Header with other blocks and whitespace',
      `<s:Envelope xmlns:s="${S}">\n  <s:Header>\n    <x:H xmlns:x="urn:x">h</x:H>\n  </s:Header>\n  <s:Body>${BODY}</s:Body>\n</s:Envelope>`,
    ],
    [
      'CR LF line ends and a start tag broken over lines',
      `<s:Envelope xmlns:s="${S}">\r\n<s:Header>\r\n</s:Header>\r\n<s:Body\r\n  a='1'>${BODY}</s:Body>\r\n</s:Envelope>`,
    ],
    ['the SOAP namespace as the default one', `<Envelope xmlns="${S}"><Header></Header><Body>${BODY}</Body></Envelope>`],
    [
      'an XML declaration and comments around',
      `<?xml version="1.0" encoding="UTF-8"?>\n<!-- c --><s:Envelope xmlns:s="${S}"><s:Header/><s:Body>${BODY}</s:Body></s:Envelope>`,
    ],
  ])('%s', async (_name, xml) => {
    const sealed = await seal(xml);
    // A self-closing Header is opened to take the Security header: the only byte change besides the insertions.
    expect(withoutInsertions(sealed)).toBe(xml.replace(/<(s:)?Header\/>/, '<$1Header></$1Header>'));
    expect(verify(sealed)).toEqual(['Security/Timestamp', 'Body']);
    const verdict = xmlsec1Verify(sealed, { signerCertPem: pki.comuneA.certPem, ids: WS_SECURITY_IDS });
    expect(verdict.ok, verdict.output.slice(0, 2000)).toBe(true);
  });

  it('an envelope without a Header gets one, before the Body, with Security in it', async () => {
    const xml = `<s:Envelope xmlns:s="${S}">\n<s:Body>${BODY}</s:Body></s:Envelope>`;
    const sealed = await seal(xml);
    expect(sealed.startsWith(`<s:Envelope xmlns:s="${S}">\n<s:Header`)).toBe(true);
    expect(withoutInsertions(sealed).replace(/<s:Header[^>]*><\/s:Header>/, '')).toBe(xml);
    expect(verify(sealed)).toEqual(['Security/Timestamp', 'Body']);
    expect(xmlsec1Verify(sealed, { signerCertPem: pki.comuneA.certPem, ids: WS_SECURITY_IDS }).ok).toBe(true);
  });

  it('keeps an Id the Body already has, adding nothing to its start tag', async () => {
    const xml = `<s:Envelope xmlns:s="${S}"><s:Header/><s:Body xmlns:wsu="${NS.wsu}" wsu:Id="mine">${BODY}</s:Body></s:Envelope>`;
    const sealed = await seal(xml);
    expect(sealed).toContain(`<s:Body xmlns:wsu="${NS.wsu}" wsu:Id="mine">`);
    expect(sealed).toContain('URI="#mine"');
    expect(verify(sealed)).toEqual(['Security/Timestamp', 'Body']);
  });

  it('a profile that adds a header block: the tree is serialised instead, and verifies', async () => {
    const xml = `<s:Envelope xmlns:s="${S}"><s:Header>\n</s:Header><s:Body>${BODY}</s:Body></s:Envelope>`;
    const sealed = await seal(xml, (doc) => {
      const block = doc.createElementNS('urn:added', 'a:Added');
      block.appendChild(doc.createTextNode('new'));
      headerOf(doc)!.appendChild(block);
      return [bodyOf(doc), block];
    });
    expect(sealed).toMatch(/<a:Added [^>]*xmlns:a="urn:added"[^>]*>new<\/a:Added><\/s:Header>/);
    expect(verify(sealed)).toEqual(['Security/Timestamp', 'Body', 'Header/Added']);
    expect(
      xmlsec1Verify(sealed, { signerCertPem: pki.comuneA.certPem, ids: [...WS_SECURITY_IDS, { ns: 'urn:added', local: 'Added' }] }).ok,
    ).toBe(true);
  });
});
