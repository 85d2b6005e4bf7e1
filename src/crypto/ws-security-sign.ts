import { randomUUID, type KeyObject } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { XMLSerializer } from '@xmldom/xmldom';
import { TramiteError } from '../core/errors.js';
import { NS, WSS_BASE64, WSS_X509V3 } from '../core/namespaces.js';
import { formatXsdDateTime } from '../core/xsd-datetime.js';
import { ALG } from './ws-security-algorithms.js';
import { childElements, isElement } from './dom-navigation.js';
import { parseUntrustedXml, type XmlLimits } from './hardened-xml.js';

export interface SigningIdentity {
  readonly privateKey: KeyObject;
  /** The signer's certificate, PEM; it travels in a BinarySecurityToken. */
  readonly certPem: string;
}

export interface SealOptions {
  readonly now: Date;
  /** Lifetime written in wsu:Expires. */
  readonly ttlSeconds: number;
  readonly limits?: XmlLimits;
}

/**
 * Picks, in a parsed SOAP document, the elements a profile signs besides the Timestamp
 * (e.g. Body + eGov Intestazione, or Body + wsa:* headers). Profiles live in envelopes/.
 */
export type SignatureTargets = (doc: Document) => Element[];

/**
 * Adds a wsse:Security header (Timestamp, BinarySecurityToken, Signature) to a SOAP 1.1 envelope
 * and signs the Timestamp and the targets with RSA-SHA256 over exclusive C14N and SHA-256 digests.
 * Each target gets a wsu:Id if it has none. An envelope that already carries wsse:Security is
 * refused rather than signed twice.
 */
export function sealSoapEnvelope(xml: string, targets: SignatureTargets, signer: SigningIdentity, opts: SealOptions): string {
  const { doc } = parseUntrustedXml(xml, opts.limits);
  const envelope = doc.documentElement!;
  let header: Element | undefined = childElements(envelope).find((e) => isElement(e, NS.soap11, 'Header'));
  const body = childElements(envelope).find((e) => isElement(e, NS.soap11, 'Body'));
  if (!body) throw new TramiteError('TRAMITE_ERR_SIG_STRUCTURE', 'cannot seal: the envelope has no soap:Body');
  if (header && childElements(header).some((e) => isElement(e, NS.wsse, 'Security'))) {
    throw new TramiteError('TRAMITE_ERR_SIG_STRUCTURE', 'cannot seal: the envelope already carries a wsse:Security header');
  }
  if (!header) {
    header = doc.createElementNS(NS.soap11, `${envelope.prefix ? `${envelope.prefix}:` : ''}Header`);
    envelope.insertBefore(header, body);
  }
  const soapHeader: Element = header;

  const signed = targets(doc);
  const ids = signed.map((el) => ensureWsuId(el, 'id'));

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
  bst.appendChild(doc.createTextNode(pemBody(signer.certPem)));

  security.appendChild(ts);
  security.appendChild(bst);
  soapHeader.insertBefore(security, soapHeader.firstChild);

  const unsigned = new XMLSerializer().serializeToString(doc);
  const sig = new SignedXml({
    privateKey: signer.privateKey.export({ format: 'pem', type: 'pkcs8' }),
    canonicalizationAlgorithm: ALG.excC14n,
    signatureAlgorithm: ALG.rsaSha256,
    idMode: 'wssecurity',
    getKeyInfoContent: () =>
      `<wsse:SecurityTokenReference xmlns:wsse="${NS.wsse}"><wsse:Reference URI="#${bstId}" ValueType="${WSS_X509V3}"/></wsse:SecurityTokenReference>`,
  });
  for (const id of [tsId, ...ids]) {
    sig.addReference({ xpath: `//*[@*[local-name()='Id' and .='${id}']]`, transforms: [ALG.excC14n], digestAlgorithm: ALG.sha256 });
  }
  sig.computeSignature(unsigned, {
    prefix: 'ds',
    location: { reference: `//*[local-name()='Security' and namespace-uri()='${NS.wsse}']`, action: 'append' },
  });
  return sig.getSignedXml();
}

/** Gives an element a wsu:Id unless it already has an Id-like attribute; returns the id in force. */
function ensureWsuId(el: Element, prefix: string): string {
  const existing = el.getAttributeNS(NS.wsu, 'Id') || el.getAttribute('Id') || el.getAttribute('ID') || el.getAttribute('id');
  if (existing) return existing;
  const id = `${prefix}-${randomUUID()}`;
  if (el.lookupNamespaceURI('wsu') !== NS.wsu) el.setAttributeNS(NS.xmlns, 'xmlns:wsu', NS.wsu);
  el.setAttributeNS(NS.wsu, 'wsu:Id', id);
  return id;
}

function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}
