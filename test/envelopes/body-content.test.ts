/**
 * What the back office gets of a signed Body: no more than the signature covered. Exclusive C14N does
 * not digest a namespace declaration that no name uses, so such a declaration can be rebound after
 * signing; a prefix used only inside content (a QName in xsi:type) must then not reach the back office
 * bound to the attacker's namespace.
 */
import { DOMParser } from '@xmldom/xmldom';
import { describe, expect, it } from 'vitest';
import { bodyContent, openEnvelope } from '../../envelopes/envelope.js';
import { locateSoapParts } from '../../envelopes/soap/soap-envelope.js';
import { NS } from '../../envelopes/xml/namespaces.js';
import { ALG } from '../../envelopes/security/ws-security-algorithms.js';
import { livePolicy, signedEgovEnvelope, signedModiEnvelope } from '../fixtures/test-pki.js';

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const QNAME_BODY = `<p:Pagamento xmlns:p="urn:pagamenti" xmlns:t="urn:tipi:v1" xmlns:xsi="${XSI}"><p:importo xsi:type="t:Ridotto">10</p:importo></p:Pagamento>`;

describe('the Body handed to the back office', async () => {
  it.each([
    ['egov', async () => (await signedEgovEnvelope({ body: QNAME_BODY })).xml],
    ['modi', async () => (await signedModiEnvelope({ body: QNAME_BODY })).xml],
  ])('%s: a declaration used only inside content, rebound after signing, still verifies but is not delivered', async (_profile, make) => {
    const tampered = (await make()).replace('xmlns:t="urn:tipi:v1"', 'xmlns:t="urn:evil"');
    const opened = openEnvelope(tampered, livePolicy());
    const payload = bodyContent(opened);
    expect(payload).not.toContain('urn:evil');
    expect(payload).not.toContain('xmlns:t=');
    // What the signature did cover arrives intact: the element names, the xsi binding, the text.
    expect(payload).toContain('xsi:type="t:Ridotto"');
    expect(payload).toContain(`xmlns:xsi="${XSI}"`);
    expect(payload).toContain('>10</p:importo>');
  });

  it('keeps a prefix declared on an ancestor where a descendant uses it, bound to the same namespace', async () => {
    const body = '<p:Pratica xmlns:p="urn:p" xmlns:q="urn:q"><q:voce q:tipo="a">x</q:voce></p:Pratica>';
    const payload = bodyContent(openEnvelope((await signedEgovEnvelope({ body })).xml, livePolicy()));
    const root = new DOMParser().parseFromString(payload, 'text/xml').documentElement!;
    const voce = root.getElementsByTagName('q:voce')[0]!;
    expect(voce.namespaceURI).toBe('urn:q');
    expect(voce.getAttributeNodeNS('urn:q', 'tipo')?.value).toBe('a');
  });

  it('keeps what the Reference lists in its InclusiveNamespaces PrefixList, and everything under inclusive C14N', () => {
    const envelope = (transform: string) =>
      `<s:Envelope xmlns:s="${NS.soap11}"><s:Header><wsse:Security xmlns:wsse="${NS.wsse}"><ds:Signature xmlns:ds="${NS.ds}"><ds:SignedInfo>` +
      `<ds:Reference URI="#corpo"><ds:Transforms>${transform}</ds:Transforms></ds:Reference></ds:SignedInfo></ds:Signature></wsse:Security></s:Header>` +
      `<s:Body xmlns:wsu="${NS.wsu}" wsu:Id="corpo">${QNAME_BODY}</s:Body></s:Envelope>`;
    const read = (transform: string) => bodyContent(readEnvelopeParts(envelope(transform)));
    expect(
      read(`<ds:Transform Algorithm="${ALG.excC14n}"><ec:InclusiveNamespaces xmlns:ec="${ALG.excC14n}" PrefixList="t"/></ds:Transform>`),
    ).toContain('xmlns:t="urn:tipi:v1"');
    expect(read(`<ds:Transform Algorithm="${ALG.excC14n}"/>`)).not.toContain('xmlns:t=');
    expect(read(`<ds:Transform Algorithm="${ALG.c14n}"/>`)).toContain('xmlns:t="urn:tipi:v1"');
  });

  it('leaves an unsigned Body (ModI ID_AUTH without INTEGRITY) as it came: nothing of it was signed', () => {
    const envelope = `<s:Envelope xmlns:s="${NS.soap11}"><s:Header/><s:Body>${QNAME_BODY}</s:Body></s:Envelope>`;
    expect(bodyContent(readEnvelopeParts(envelope))).toContain('xmlns:t="urn:tipi:v1"');
  });
});

/** The parts bodyContent reads, from an envelope that need not be a whole busta. */
function readEnvelopeParts(xml: string): Parameters<typeof bodyContent>[0] {
  const parts = locateSoapParts(new DOMParser().parseFromString(xml, 'text/xml'));
  const security = parts.headerBlocks.find((e) => e.namespaceURI === NS.wsse && e.localName === 'Security');
  return { parts, ...(security ? { security } : {}) };
}
