import { createHash, randomUUID, type X509Certificate } from 'node:crypto';
import { ConfigError, TramiteError } from '../../../src/core/errors.js';
import { NS, certificatesFromPem, exclusiveC14n, isElement, parseUntrustedXml, walkElements } from '../xml-security.js';
import type { Signer } from '../../../src/core/signer.js';
import { escapeAttribute } from '../../../envelopes/xml/xml-escape.js';
import { DIGEST_URI, MAX_KEYINFO_CERTIFICATES, SIGNED_PROPERTIES_TYPE, XADES_ALG, XADES_NS, type XadesDigest } from './xades-algorithms.js';

/**
 * The AOO's electronic seal: an RSA Signer. Its certificate, then its chain (and any CA certificate that
 * follows the certificate in certPem) travel in KeyInfo.
 */
export type XadesSigner = Signer;

export interface XadesSignOptions {
  /** Written in xades:SigningTime (default: now). */
  readonly signingTime?: Date;
  /** Digest of both References (default sha256). The certificate digest is always SHA-256. */
  readonly digest?: XadesDigest;
}

/**
 * Seals an XML document (the Segnatura) with an enveloped XAdES baseline B signature appended as the
 * last child of the root element:
 *
 *   ds:Signature[@Id]
 *     SignedInfo (exc-c14n, RSA-SHA256)
 *       Reference URI=""  [enveloped-signature, exc-c14n]   — the whole document
 *       Reference URI="#<SignedProperties Id>" Type=…#SignedProperties [exc-c14n]
 *     SignatureValue
 *     KeyInfo/X509Data/X509Certificate+  — the seal certificate first
 *     Object/xades:QualifyingProperties[@Target='#<Signature Id>']/xades:SignedProperties
 *       SignedSignatureProperties: SigningTime, SigningCertificateV2 (SHA-256 of the certificate DER)
 *       SignedDataObjectProperties: DataObjectFormat (text/xml) for the document Reference
 *
 * The project's own exclusive C14N computes both digests and the SignedInfo that is signed
 * (differential-tested against xmlsec1 and xml-crypto). The document's digest is taken before the
 * signature exists, which is exactly what the enveloped transform gives back; the signature is then
 * spliced in before the root's end tag, so the document's own bytes are never re-serialised (a
 * serialiser can change what a parser reads back, e.g. a character reference &#13; in text). Exclusive
 * C14N renders only the namespaces an element visibly uses, so the Signature's subtrees canonicalise
 * the same standalone as in place. A document that already carries a ds:Signature is refused: a second
 * seal would make the first one's enveloped transform cover a different document.
 */
export async function signXades(xml: string, signer: XadesSigner, opts: XadesSignOptions = {}): Promise<string> {
  const { doc, text } = parseUntrustedXml(xml);
  const root = doc.documentElement!;
  if ([...walkElements(root)].some((el) => isElement(el, NS.ds, 'Signature'))) {
    throw new TramiteError('TRAMITE_ERR_SIG_STRUCTURE', `cannot seal: <${root.nodeName}> already carries a ds:Signature`);
  }
  const insertAt = rootEndTag(text, root.nodeName);
  const chain = publishedCertificates(signer);
  const digest = opts.digest ?? 'sha256';
  const hash = (canonical: string) => createHash(digest).update(canonical, 'utf8').digest('base64');

  const signatureId = `xades-${randomUUID()}`;
  const ids = { signature: signatureId, signedProperties: `${signatureId}-signedprops`, documentReference: `${signatureId}-ref-doc` };
  const parts: SignatureText = {
    ids,
    digestUri: DIGEST_URI[digest],
    documentDigest: hash(exclusiveC14n(root)),
    propertiesDigest: '',
    signatureValue: '',
    certificates: chain.map((c) => c.raw.toString('base64')),
    qualifyingProperties: qualifyingProperties(ids, signer.certificate, opts.signingTime ?? new Date()),
  };
  const signedProperties = signaturePart(signatureXml(parts), XADES_NS, 'SignedProperties');
  parts.propertiesDigest = hash(exclusiveC14n(signedProperties));
  const signedInfo = signaturePart(signatureXml(parts), NS.ds, 'SignedInfo');
  parts.signatureValue = (await signer.sign(Buffer.from(exclusiveC14n(signedInfo), 'utf8'))).toString('base64');
  return text.slice(0, insertAt) + signatureXml(parts) + text.slice(insertAt);
}

interface SignatureText {
  readonly ids: { signature: string; signedProperties: string; documentReference: string };
  readonly digestUri: string;
  readonly documentDigest: string;
  propertiesDigest: string;
  signatureValue: string;
  readonly certificates: readonly string[];
  readonly qualifyingProperties: string;
}

/** The ds:Signature as text. Every value is generated here (ids, URIs, base64), and escaped all the same. */
function signatureXml(p: SignatureText): string {
  const transform = (algorithm: string) => `<ds:Transform Algorithm="${algorithm}"/>`;
  const digestOf = (value: string) => `<ds:DigestMethod Algorithm="${p.digestUri}"/><ds:DigestValue>${value}</ds:DigestValue>`;
  return (
    `<ds:Signature Id="${escapeAttribute(p.ids.signature)}" xmlns:ds="${NS.ds}">` +
    '<ds:SignedInfo>' +
    `<ds:CanonicalizationMethod Algorithm="${XADES_ALG.excC14n}"/>` +
    `<ds:SignatureMethod Algorithm="${XADES_ALG.rsaSha256}"/>` +
    `<ds:Reference URI="" Id="${escapeAttribute(p.ids.documentReference)}">` +
    `<ds:Transforms>${transform(XADES_ALG.enveloped)}${transform(XADES_ALG.excC14n)}</ds:Transforms>` +
    `${digestOf(p.documentDigest)}</ds:Reference>` +
    `<ds:Reference URI="#${escapeAttribute(p.ids.signedProperties)}" Type="${SIGNED_PROPERTIES_TYPE}">` +
    `<ds:Transforms>${transform(XADES_ALG.excC14n)}</ds:Transforms>${digestOf(p.propertiesDigest)}</ds:Reference>` +
    '</ds:SignedInfo>' +
    `<ds:SignatureValue>${p.signatureValue}</ds:SignatureValue>` +
    `<ds:KeyInfo><ds:X509Data>${p.certificates.map((c) => `<ds:X509Certificate>${c}</ds:X509Certificate>`).join('')}</ds:X509Data></ds:KeyInfo>` +
    `<ds:Object>${p.qualifyingProperties}</ds:Object>` +
    '</ds:Signature>'
  );
}

/** The one element `{ns}local` of a Signature written by signatureXml, parsed on its own. */
function signaturePart(signatureText: string, ns: string, local: string): Element {
  const found = [...walkElements(parseUntrustedXml(signatureText).doc.documentElement!)].find((el) => isElement(el, ns, local));
  if (!found) throw new TramiteError('TRAMITE_ERR_INTERNAL', `the XAdES signature written has no ${local}`);
  return found;
}

/**
 * Where the signature goes: at the root's end tag, the last `</name` that only whitespace and comments
 * follow (an earlier candidate may sit inside a trailing comment; a comment cannot hold `<!--`, so the
 * remainder from inside one never fits). A root written as an empty-element tag has no end tag to use.
 */
function rootEndTag(text: string, rootName: string): number {
  const endTagThenMisc = /^<\/[^\s>]+\s*>(?:\s|<!--(?:(?!-->)[\s\S])*-->)*$/;
  for (let at = text.lastIndexOf(`</${rootName}`); at >= 0; at = text.lastIndexOf(`</${rootName}`, at - 1)) {
    if (endTagThenMisc.test(text.slice(at))) return at;
  }
  throw new TramiteError(
    'TRAMITE_ERR_SIG_STRUCTURE',
    `cannot seal: <${rootName}> has no end tag (an empty root element cannot carry the seal)`,
  );
}

/**
 * The seal certificate first, then its chain: the signer's (a keystore's CAs, or a token's chain file),
 * then any other CA certificate that came with it in `certPem`, each once. A verifier without the
 * intermediate CA can then still build the path.
 */
function publishedCertificates(signer: XadesSigner): X509Certificate[] {
  if (signer.algorithm !== 'RSA-SHA256') {
    throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `the Segnatura seal is RSA only; ${signer.keyDescription} signs ${signer.algorithm}`);
  }
  const seen = new Set([signer.certificate.fingerprint256]);
  const others = [...signer.chain, ...certificatesFromPem(signer.certPem, 'seal certificate PEM')].filter((c) => {
    if (seen.has(c.fingerprint256)) return false;
    seen.add(c.fingerprint256);
    return true;
  });
  if (others.length + 1 > MAX_KEYINFO_CERTIFICATES) {
    throw new ConfigError(
      'TRAMITE_ERR_KEY_INVALID',
      `the seal PEM carries ${others.length + 1} certificates; peers accept at most ${MAX_KEYINFO_CERTIFICATES} in KeyInfo`,
    );
  }
  return [signer.certificate, ...others];
}

/**
 * The ds:Object content. Every value written is generated here (ids, base64, a UTC instant), yet it is
 * escaped anyway so the string can never change the markup around it.
 */
function qualifyingProperties(
  ids: { signature: string; signedProperties: string; documentReference: string },
  certificate: X509Certificate,
  signingTime: Date,
): string {
  const certDigest = createHash('sha256').update(certificate.raw).digest('base64');
  return (
    `<xades:QualifyingProperties xmlns:xades="${XADES_NS}" Target="#${escapeAttribute(ids.signature)}">` +
    `<xades:SignedProperties Id="${escapeAttribute(ids.signedProperties)}">` +
    '<xades:SignedSignatureProperties>' +
    `<xades:SigningTime>${xsdDateTimeSeconds(signingTime)}</xades:SigningTime>` +
    '<xades:SigningCertificateV2><xades:Cert><xades:CertDigest>' +
    `<ds:DigestMethod Algorithm="${XADES_ALG.sha256}"/><ds:DigestValue>${certDigest}</ds:DigestValue>` +
    '</xades:CertDigest></xades:Cert></xades:SigningCertificateV2>' +
    '</xades:SignedSignatureProperties>' +
    '<xades:SignedDataObjectProperties>' +
    `<xades:DataObjectFormat ObjectReference="#${escapeAttribute(ids.documentReference)}"><xades:MimeType>text/xml</xades:MimeType></xades:DataObjectFormat>` +
    '</xades:SignedDataObjectProperties>' +
    '</xades:SignedProperties>' +
    '</xades:QualifyingProperties>'
  );
}

/** UTC to the second, `Z`: the form XAdES signers and validators (DSS) write and expect. */
function xsdDateTimeSeconds(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
