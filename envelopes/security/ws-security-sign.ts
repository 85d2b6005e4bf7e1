import { randomUUID } from 'node:crypto';
import { TramiteError } from '../../src/core/errors.js';
import { NS, WSS_BASE64, WSS_X509V3 } from '../xml/namespaces.js';
import { formatXsdDateTime } from '../../src/core/xsd-datetime.js';
import type { Signer } from '../../src/core/signer.js';
import { ALG, SIGNATURE_METHOD_OF } from './ws-security-algorithms.js';
import { childElements, isElement } from '../xml/dom-navigation.js';
import { canonicalDigest, exclusiveC14n } from './exc-c14n.js';
import { parseUntrustedXml, type XmlLimits } from '../xml/hardened-xml.js';
import { spliceSealedEnvelope, xmldomSerializer, type AddedAttributes } from './sealed-envelope-text.js';

export interface SealOptions {
  readonly now: Date;
  /** Lifetime written in wsu:Expires. */
  readonly ttlSeconds: number;
  readonly limits?: XmlLimits;
}

/**
 * Picks, in a parsed SOAP document, the elements a profile signs besides the Timestamp
 * (e.g. Body + eGov Intestazione, or Body + wsa:* headers). Profiles live in envelopes/. It may add
 * header blocks (the sealed text is then serialised from the tree) and must change nothing else.
 */
export type SignatureTargets = (doc: Document) => Element[];

/**
 * Adds a wsse:Security header (Timestamp, BinarySecurityToken, Signature) to a SOAP 1.1 envelope
 * and signs the Timestamp and the targets over exclusive C14N with SHA-256 digests: RSA-SHA256 with
 * an RSA key, ECDSA-SHA256 with an EC P-256 key. Each target gets a wsu:Id if it has none. An
 * envelope that already carries wsse:Security is refused rather than signed twice.
 *
 * Everything happens on the one parsed DOM: digests over each target in place (exc-c14n needs only
 * the element's own names, so its position in the envelope does not matter), the SignedInfo
 * canonicalised where it sits. The result is the original text with the Security header and the new
 * wsu:Id attributes inserted (sealed-envelope-text.ts); only when a profile added header blocks is the
 * whole tree serialised instead. The one asynchronous step is the signer's (a token may sign it).
 */
export async function sealSoapEnvelope(xml: string, targets: SignatureTargets, signer: Signer, opts: SealOptions): Promise<string> {
  const signatureMethod = SIGNATURE_METHOD_OF[signer.algorithm];
  const { doc, text } = parseUntrustedXml(xml, opts.limits);
  const envelope = doc.documentElement!;
  let header: Element | undefined = childElements(envelope).find((e) => isElement(e, NS.soap11, 'Header'));
  const body = childElements(envelope).find((e) => isElement(e, NS.soap11, 'Body'));
  if (!body) throw new TramiteError('TRAMITE_ERR_SIG_STRUCTURE', 'cannot seal: the envelope has no soap:Body');
  if (header && childElements(header).some((e) => isElement(e, NS.wsse, 'Security'))) {
    throw new TramiteError('TRAMITE_ERR_SIG_STRUCTURE', 'cannot seal: the envelope already carries a wsse:Security header');
  }
  const headerCreated = !header;
  if (!header) {
    header = doc.createElementNS(NS.soap11, `${envelope.prefix ? `${envelope.prefix}:` : ''}Header`);
    envelope.insertBefore(header, body);
  }
  const soapHeader: Element = header;

  const signed = targets(doc);
  const added: AddedAttributes[] = [];
  const ids = signed.map((el) => ensureWsuId(el, 'id', added));

  const security = doc.createElementNS(NS.wsse, 'wsse:Security');
  security.setAttributeNS(NS.xmlns, 'xmlns:wsse', NS.wsse);
  security.setAttributeNS(NS.xmlns, 'xmlns:wsu', NS.wsu);
  security.setAttributeNS(NS.soap11, `${soapHeader.prefix ?? 'soapenv'}:mustUnderstand`, '1');
  if (!soapHeader.prefix) security.setAttributeNS(NS.xmlns, 'xmlns:soapenv', NS.soap11);

  const tsId = `TS-${randomUUID()}`;
  const ts = doc.createElementNS(NS.wsu, 'wsu:Timestamp');
  ts.setAttributeNS(NS.wsu, 'wsu:Id', tsId);
  const created = doc.createElementNS(NS.wsu, 'wsu:Created');
  created.appendChild(doc.createTextNode(formatXsdDateTime(opts.now)));
  const expires = doc.createElementNS(NS.wsu, 'wsu:Expires');
  expires.appendChild(doc.createTextNode(formatXsdDateTime(new Date(opts.now.getTime() + opts.ttlSeconds * 1000))));
  ts.appendChild(created);
  ts.appendChild(expires);

  const bstId = `X509-${randomUUID()}`;
  const bst = doc.createElementNS(NS.wsse, 'wsse:BinarySecurityToken');
  bst.setAttribute('EncodingType', WSS_BASE64);
  bst.setAttribute('ValueType', WSS_X509V3);
  bst.setAttributeNS(NS.wsu, 'wsu:Id', bstId);
  bst.appendChild(doc.createTextNode(signerCertificateBase64(signer.certPem)));

  security.appendChild(ts);
  security.appendChild(bst);
  soapHeader.insertBefore(security, soapHeader.firstChild);

  const el = (local: string, attrs: Record<string, string> = {}, text?: string): Element => {
    const e = doc.createElementNS(NS.ds, `ds:${local}`);
    for (const [name, value] of Object.entries(attrs)) e.setAttribute(name, value);
    if (text !== undefined) e.appendChild(doc.createTextNode(text));
    return e;
  };
  const signature = el('Signature');
  signature.setAttributeNS(NS.xmlns, 'xmlns:ds', NS.ds);
  const signedInfo = el('SignedInfo');
  signedInfo.appendChild(el('CanonicalizationMethod', { Algorithm: ALG.excC14n }));
  signedInfo.appendChild(el('SignatureMethod', { Algorithm: signatureMethod }));
  const references: Array<[Element, string]> = [[ts, tsId], ...signed.map((t, i): [Element, string] => [t, ids[i]!])];
  for (const [target, id] of references) {
    const reference = el('Reference', { URI: `#${id}` });
    const transforms = el('Transforms');
    transforms.appendChild(el('Transform', { Algorithm: ALG.excC14n }));
    reference.appendChild(transforms);
    reference.appendChild(el('DigestMethod', { Algorithm: ALG.sha256 }));
    reference.appendChild(el('DigestValue', {}, canonicalDigest(target, 'exclusive', 'sha256').toString('base64')));
    signedInfo.appendChild(reference);
  }
  signature.appendChild(signedInfo);
  const signatureValue = el('SignatureValue');
  signature.appendChild(signatureValue);
  const keyInfo = el('KeyInfo');
  const str = doc.createElementNS(NS.wsse, 'wsse:SecurityTokenReference');
  const strRef = doc.createElementNS(NS.wsse, 'wsse:Reference');
  strRef.setAttribute('URI', `#${bstId}`);
  strRef.setAttribute('ValueType', WSS_X509V3);
  str.appendChild(strRef);
  keyInfo.appendChild(str);
  signature.appendChild(keyInfo);
  security.appendChild(signature);

  // ECDSA as XML-DSig writes it: r||s.
  const value = await signer.sign(Buffer.from(exclusiveC14n(signedInfo), 'utf8'), { ecdsaEncoding: 'ieee-p1363' });
  signatureValue.appendChild(doc.createTextNode(value.toString('base64')));
  const serialize = xmldomSerializer(keepCarriageReturns);
  return spliceSealedEnvelope({ text, header: soapHeader, headerCreated, body, security, added }, serialize) ?? serialize(doc);
}

/**
 * The serialiser writes a carriage return in text or CDATA as is, and the peer's parser turns it into
 * a line feed: the digest over the text it reads would not be the one signed. Such text is written
 * with character references instead (CDATA as escaped text: the same characters).
 */
function keepCarriageReturns(node: Node): Node | string {
  if ((node.nodeType === 3 || node.nodeType === 4) && (node as CharacterData).data.includes('\r')) {
    return (node as CharacterData).data.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
  }
  return node;
}

/**
 * Gives an element a wsu:Id unless it already has an Id-like attribute; returns the id in force, and
 * notes the attributes added, as text, in `added`.
 */
function ensureWsuId(el: Element, prefix: string, added: AddedAttributes[]): string {
  const existing = el.getAttributeNS(NS.wsu, 'Id') || el.getAttribute('Id') || el.getAttribute('ID') || el.getAttribute('id');
  if (existing) return existing;
  const id = `${prefix}-${randomUUID()}`;
  let text = '';
  if (el.lookupNamespaceURI('wsu') !== NS.wsu) {
    el.setAttributeNS(NS.xmlns, 'xmlns:wsu', NS.wsu);
    text += ` xmlns:wsu="${NS.wsu}"`;
  }
  el.setAttributeNS(NS.wsu, 'wsu:Id', id);
  added.push({ element: el, text: `${text} wsu:Id="${id}"` });
  return id;
}

/**
 * The signer's certificate, base64: the first of the PEM. A party's certificate file may go on with its
 * CA chain, and a BinarySecurityToken carries exactly one certificate (X509v3).
 */
function signerCertificateBase64(pem: string): string {
  const first = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem)?.[1];
  if (first === undefined) throw new TramiteError('TRAMITE_ERR_KEY_INVALID', "the signer's certificate PEM holds no certificate");
  return first.replace(/\s+/g, '');
}
