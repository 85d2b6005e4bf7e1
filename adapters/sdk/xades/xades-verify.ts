import { constants, createHash, timingSafeEqual, verify as verifyRsa, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { ProtocolloError, SecurityError } from '../../../src/core/errors.js';
import { parseXsdDateTime } from '../../../src/core/xsd-datetime.js';
import {
  childElements,
  describeCertificate,
  exclusiveC14n,
  isElement,
  NS,
  parseUntrustedXml,
  textOf,
  walkElements,
  type TrustStore,
  type XmlLimits,
} from '../xml-security.js';
import { StrictSequenceReader, UNBOUNDED, type ChildSequence, type ChildSlot } from '../../../envelopes/xml/strict-sequence-reader.js';
import {
  ACCEPTED_DIGESTS,
  ACCEPTED_SIGNATURES,
  ACCEPTED_SIGNED_INFO_C14N,
  DOCUMENT_TRANSFORMS,
  MAX_KEYINFO_CERTIFICATES,
  MIN_RSA_MODULUS_BITS,
  SIGNED_PROPERTIES_TRANSFORMS,
  SIGNED_PROPERTIES_TYPE,
  SIGNING_TIME_SKEW_MS,
  XADES_ALG,
  XADES_NS,
  XPATH_FILTER2_NS,
} from './xades-algorithms.js';

export interface XadesVerifyOptions {
  readonly trust: TrustStore;
  /** The instant the verdict is for (default: now). The claimed SigningTime is never used instead. */
  readonly at?: Date;
  readonly limits?: XmlLimits;
}

export interface VerifiedXades {
  readonly signer: X509Certificate;
  /** Signer first, trust anchor last. */
  readonly chain: readonly X509Certificate[];
  /** xades:SigningTime as the signer claims it (baseline B: not attested by any third party). */
  readonly signingTime: Date;
  /** The parsed document whose bytes were checked; read the Segnatura from here, never re-parse the text. */
  readonly doc: Document;
  readonly root: Element;
  /** The verified ds:Signature (last child of `root`), so readers can skip it. */
  readonly signature: Element;
}

function refuse(message: string, where?: string, cause?: unknown): never {
  throw new ProtocolloError('001_ValidazioneFirma', message, { ...(where ? { where } : {}), ...(cause !== undefined ? { cause } : {}) });
}

/**
 * Verifies the enveloped XAdES baseline B seal of a Segnatura and returns the DOM it checked.
 *
 * Order: hardened parse; one ds:Signature, last child of the root; every Id in the document unique;
 * the Signature's exact shape and algorithm lists; the two References resolved to the root and to this
 * Signature's own xades:SignedProperties; then the SignatureValue over the canonical SignedInfo
 * (before any digest: digests need no key); then the two digests; then SigningCertificateV2 against
 * the KeyInfo certificate, the SigningTime, and the certificate against the trust store at `at`.
 *
 * Digests are computed here, on the very nodes returned, with the project's exclusive canonicalisation
 * and node:crypto — no re-parse, no XPath resolution, so what was checked is what the caller reads.
 * Every failure is a ProtocolloError 001_ValidazioneFirma naming what failed.
 */
export function verifyXades(xml: string | Uint8Array, opts: XadesVerifyOptions): VerifiedXades {
  const at = opts.at ?? new Date();
  const doc = readDocument(xml, opts.limits);
  const root = doc.documentElement!;
  const signature = locateSignature(root);
  const ids = indexIds(root);
  const parts = readSignature(signature);
  checkReferences(parts, ids);
  const certificates = readKeyInfoCertificates(parts.x509Certificates);
  const signer = certificates[0]!;
  checkSignerKey(signer);

  checkSignatureValue(parts, signer);
  checkDigest(parts.documentReference, canonicalise(root, signature), 'the signed document (Reference URI="")');
  checkDigest(parts.propertiesReference, canonicalise(parts.signedProperties), 'xades:SignedProperties');

  checkSigningCertificate(parts.signingCertificate, signer);
  const signingTime = readSigningTime(parts.signingTime, at);
  const chain = validateTrust(opts.trust, signer, at, certificates.slice(1));
  return { signer, chain, signingTime, doc, root, signature };
}

function readDocument(xml: string | Uint8Array, limits: XmlLimits | undefined): Document {
  try {
    return parseUntrustedXml(xml, limits).doc;
  } catch (cause) {
    const why = cause instanceof Error ? cause.message.replace(/^EGOV_IT_\d+ - /, '') : String(cause);
    return refuse(`the sealed document cannot be read safely: ${why}`, 'Segnatura', cause);
  }
}

/** The one ds:Signature of the document, which must be the root's last element child (enveloped). */
function locateSignature(root: Element): Element {
  const signatures = [...walkElements(root)].filter((el) => isElement(el, NS.ds, 'Signature'));
  if (signatures.length === 0) refuse(`<${root.nodeName}> carries no ds:Signature`, 'Signature');
  if (signatures.length > 1)
    refuse(`the document carries ${signatures.length} ds:Signature elements; exactly one is accepted`, 'Signature');
  const signature = signatures[0]!;
  if (signature.parentNode !== root) {
    refuse(
      `ds:Signature must be a child of the root <${root.nodeName}>, not of <${signature.parentNode?.nodeName ?? '(none)'}>`,
      'Signature',
    );
  }
  const siblings = childElements(root);
  if (siblings[siblings.length - 1] !== signature) {
    const next = siblings[siblings.indexOf(signature) + 1]!;
    refuse(`ds:Signature must be the last element of <${root.nodeName}>; it is followed by <${next.nodeName}>`, 'Signature');
  }
  return signature;
}

/**
 * Every Id-like attribute (local name Id, ID or id, any namespace) in the document, refusing a value
 * seen twice: with that, a "#x" Reference names one element and nothing can be slipped in beside it.
 */
function indexIds(root: Element): Map<string, Element> {
  const byId = new Map<string, Element>();
  for (const el of walkElements(root)) {
    for (let i = 0; i < el.attributes.length; i++) {
      const attr = el.attributes.item(i)!;
      const local = attr.localName ?? attr.name;
      if (local !== 'Id' && local !== 'ID' && local !== 'id') continue;
      const other = byId.get(attr.value);
      if (other) refuse(`Id "${attr.value}" appears on more than one element (<${other.nodeName}> and <${el.nodeName}>)`, attr.value);
      byId.set(attr.value, el);
    }
  }
  return byId;
}

// ---------------------------------------------------------------------------------------------------
// Shape: an ordered content model per element, read by the SDK's strict sequence reader (foreign or
// repeated children, stray text and unexpected attributes are refused), so each part below is the only
// one of its kind.

const ds = (local: string, min: number, max: number, attributes?: readonly string[]): ChildSlot => ({
  ns: NS.ds,
  name: local,
  min,
  max,
  ...(attributes ? { attributes } : {}),
});
const xades = (local: string, min: number, max: number, attributes?: readonly string[]): ChildSlot => ({
  ns: XADES_NS,
  name: local,
  min,
  max,
  ...(attributes ? { attributes } : {}),
});
const MANY = UNBOUNDED;

const PREFIX_IN_MESSAGES: ReadonlyMap<string | null, string> = new Map([
  [NS.ds, 'ds'],
  [XADES_NS, 'xades'],
  [XPATH_FILTER2_NS, 'dsig-filter2'],
]);

function prefixed(slot: ChildSlot): string {
  return `${PREFIX_IN_MESSAGES.get(slot.ns) ?? '?'}:${slot.name}`;
}

/** Every shape refusal is a 001_ValidazioneFirma naming the element path (`where`). */
const shape = new StrictSequenceReader((r) => {
  const where = r.path;
  const error = (message: string): ProtocolloError => new ProtocolloError('001_ValidazioneFirma', message, { where });
  switch (r.kind) {
    case 'stray-text':
      return error(`${where} holds stray text`);
    case 'missing':
      return error(
        r.found
          ? `${where}: <${prefixed(r.slot)}> is missing or out of order (found <${r.found.nodeName}>)`
          : `${where}: <${prefixed(r.slot)}> is missing`,
      );
    case 'unexpected':
    case 'out-of-order':
      return error(`${where}: unexpected <${r.element.nodeName}> (not allowed there, or out of order)`);
    case 'too-many':
      return error(`${where} holds more than ${r.slot.max} <${prefixed(r.slot)}>`);
    case 'attribute':
      return error(`${r.slot ? `${where}/${prefixed(r.slot)}` : where} carries an unexpected attribute ${r.attribute.name}`);
    case 'not-text':
      return error(`${where}: unexpected <${r.child.nodeName}> (text only)`);
    default:
      return error(`${where} is malformed`);
  }
});

const readContent = (parent: Element, where: string, slots: readonly ChildSlot[]): ChildSequence => shape.sequence(parent, where, slots);

/** A text-only leaf: its trimmed text. */
const leafText = (el: Element, where: string): string => shape.text(el, where);

/**
 * A Transform's algorithm. XPath transforms are not evaluated; two fixed expressions are recognised as
 * enveloped-signature, which is what they compute here because the document holds exactly one
 * ds:Signature (locateSignature): XPath Filter 2.0 `subtract /descendant::ds:Signature` (DSS since
 * 5.x) and XPath 1.0 `not(ancestor-or-self::ds:Signature)` (older DSS). Any other expression is refused.
 */
function readTransform(transform: Element, where: string): string {
  const algorithm = transform.getAttribute('Algorithm') ?? '';
  if (algorithm !== XADES_ALG.xpath && algorithm !== XADES_ALG.xpathFilter2) return algorithmOf(transform, where);
  const filter2 = algorithm === XADES_ALG.xpathFilter2;
  const xpath = readContent(transform, where, [
    { ns: filter2 ? XPATH_FILTER2_NS : NS.ds, name: 'XPath', min: 1, max: 1, attributes: filter2 ? ['Filter'] : [] },
  ]).one('XPath');
  const expression = leafText(xpath, `${where}/XPath`);
  const idiom = filter2 ? /^\/descendant::([A-Za-z_][\w.-]*):Signature$/ : /^not\(ancestor-or-self::([A-Za-z_][\w.-]*):Signature\)$/;
  const prefix = idiom.exec(expression)?.[1];
  const meansEnveloped =
    prefix !== undefined && xpath.lookupNamespaceURI(prefix) === NS.ds && (!filter2 || xpath.getAttribute('Filter') === 'subtract');
  if (!meansEnveloped) refuse(`${where}: XPath "${expression}" is not accepted (only the enveloped-signature idiom is)`, where);
  return XADES_ALG.enveloped;
}

function algorithmOf(el: Element, where: string): string {
  readContent(el, where, []); // no parameters (HMACOutputLength, InclusiveNamespaces, XPath…) are accepted
  return el.getAttribute('Algorithm') ?? '';
}

interface ReferencePart {
  readonly element: Element;
  readonly where: string;
  readonly uri: string;
  readonly transforms: readonly string[];
  /** node:crypto hash name (already on the accepted list). */
  readonly digest: string;
  readonly digestValue: Buffer;
}

interface SignatureParts {
  readonly signatureId: string;
  readonly signedInfo: Element;
  /** node:crypto hash name of the RSA signature. */
  readonly signatureHash: string;
  readonly signatureValue: Buffer;
  readonly documentReference: ReferencePart;
  readonly propertiesReference: ReferencePart;
  readonly x509Certificates: readonly Element[];
  readonly signedProperties: Element;
  readonly signingTime: Element;
  readonly signingCertificate: Element;
  readonly dataObjectFormats: readonly Element[];
}

/**
 * The strict XAdES-B shape, algorithm lists included:
 * Signature[@Id](SignedInfo, SignatureValue, KeyInfo(X509Data(X509Certificate+)), Object(QualifyingProperties)).
 */
function readSignature(signature: Element): SignatureParts {
  shape.allowAttributes(signature, 'ds:Signature', ['Id']);
  const signatureId = signature.getAttribute('Id') ?? '';
  if (!signatureId) refuse('ds:Signature has no Id, so xades:QualifyingProperties cannot target it', 'Signature');
  const top = readContent(signature, 'ds:Signature', [
    ds('SignedInfo', 1, 1, ['Id']),
    ds('SignatureValue', 1, 1, ['Id']),
    ds('KeyInfo', 1, 1, ['Id']),
    ds('Object', 1, 1, ['Id']),
  ]);
  const keyInfo = readContent(top.one('KeyInfo'), 'ds:KeyInfo', [ds('X509Data', 1, 1, [])]);
  const x509Data = readContent(keyInfo.one('X509Data'), 'ds:X509Data', [ds('X509Certificate', 1, MAX_KEYINFO_CERTIFICATES, [])]);
  return {
    signatureId,
    ...readSignedInfo(top.one('SignedInfo')),
    signatureValue: decodeBase64(leafText(top.one('SignatureValue'), 'ds:SignatureValue'), 'ds:SignatureValue'),
    x509Certificates: x509Data.all('X509Certificate'),
    ...readQualifyingProperties(top.one('Object'), signatureId),
  };
}

/** SignedInfo: accepted canonicalisation and signature algorithm, and exactly two References. */
function readSignedInfo(
  signedInfo: Element,
): Pick<SignatureParts, 'signedInfo' | 'signatureHash' | 'documentReference' | 'propertiesReference'> {
  const info = readContent(signedInfo, 'ds:SignedInfo', [
    ds('CanonicalizationMethod', 1, 1, ['Algorithm']),
    ds('SignatureMethod', 1, 1, ['Algorithm']),
    ds('Reference', 1, MANY, ['Id', 'URI', 'Type']),
  ]);
  const c14n = algorithmOf(info.one('CanonicalizationMethod'), 'ds:CanonicalizationMethod');
  if (!ACCEPTED_SIGNED_INFO_C14N.has(c14n))
    refuse(`SignedInfo canonicalization ${c14n || '(none)'} is not accepted (exclusive C14N only)`, 'SignedInfo');
  const sigAlg = algorithmOf(info.one('SignatureMethod'), 'ds:SignatureMethod');
  const signatureHash = ACCEPTED_SIGNATURES.get(sigAlg);
  if (!signatureHash)
    refuse(`signature algorithm ${sigAlg || '(none)'} is not accepted (RSA with SHA-256, SHA-384 or SHA-512 only)`, 'SignedInfo');

  const references = info.all('Reference');
  if (references.length !== 2) {
    refuse(
      `ds:SignedInfo must hold exactly two References (the document and the SignedProperties); found ${references.length}`,
      'SignedInfo',
    );
  }
  const [first, second] = references.map((ref, i) => readReference(ref, `ds:Reference[${i + 1}]`)) as [ReferencePart, ReferencePart];
  const documentReferences = [first, second].filter((r) => r.uri === '');
  if (documentReferences.length !== 1) {
    refuse(`exactly one Reference must have URI="" (the whole document); found ${documentReferences.length}`, 'SignedInfo');
  }
  const documentReference = documentReferences[0]!;
  const propertiesReference = documentReference === first ? second : first;
  return { signedInfo, signatureHash: signatureHash!, documentReference, propertiesReference };
}

/**
 * Object/QualifyingProperties[@Target=#signature]/SignedProperties: baseline B requires SigningTime and
 * SigningCertificateV2; the other optional signed properties are signed but carry nothing the node acts
 * on, so their content is not read. UnsignedProperties (B-T and above) is refused, not carried unread.
 */
function readQualifyingProperties(
  object: Element,
  signatureId: string,
): Pick<SignatureParts, 'signedProperties' | 'signingTime' | 'signingCertificate' | 'dataObjectFormats'> {
  const qualifying = readContent(object, 'ds:Object', [xades('QualifyingProperties', 1, 1, ['Target', 'Id'])]).one('QualifyingProperties');
  const target = qualifying.getAttribute('Target') ?? '';
  if (target !== `#${signatureId}`) {
    refuse(`xades:QualifyingProperties Target="${target}" does not name this signature (Id="${signatureId}")`, 'QualifyingProperties');
  }
  const signedProperties = readContent(qualifying, 'xades:QualifyingProperties', [xades('SignedProperties', 1, 1, ['Id'])]).one(
    'SignedProperties',
  );
  const props = readContent(signedProperties, 'xades:SignedProperties', [
    xades('SignedSignatureProperties', 1, 1, ['Id']),
    xades('SignedDataObjectProperties', 0, 1, ['Id']),
  ]);
  const signatureProps = readContent(props.one('SignedSignatureProperties'), 'xades:SignedSignatureProperties', [
    xades('SigningTime', 1, 1, []),
    xades('SigningCertificateV2', 1, 1, []),
    xades('SignaturePolicyIdentifier', 0, 1),
    xades('SignatureProductionPlaceV2', 0, 1),
    xades('SignerRoleV2', 0, 1),
  ]);
  const dataObjectProps = props.optional('SignedDataObjectProperties');
  const dataObjectFormats = dataObjectProps
    ? readContent(dataObjectProps, 'xades:SignedDataObjectProperties', [
        xades('DataObjectFormat', 0, MANY, ['ObjectReference']),
        xades('CommitmentTypeIndication', 0, MANY),
      ]).all('DataObjectFormat')
    : [];
  return {
    signedProperties,
    signingTime: signatureProps.one('SigningTime'),
    signingCertificate: signatureProps.one('SigningCertificateV2'),
    dataObjectFormats,
  };
}

function readReference(ref: Element, where: string): ReferencePart {
  if (!ref.hasAttribute('URI')) refuse(`${where} has no URI (an implicit target is not accepted)`, where);
  const uri = ref.getAttribute('URI')!;
  const content = readContent(ref, where, [
    ds('Transforms', 0, 1, []),
    ds('DigestMethod', 1, 1, ['Algorithm']),
    ds('DigestValue', 1, 1, []),
  ]);
  const transformsEl = content.optional('Transforms');
  const transforms = transformsEl
    ? readContent(transformsEl, `${where}/ds:Transforms`, [ds('Transform', 1, MANY, ['Algorithm'])])
        .all('Transform')
        .map((t) => readTransform(t, `${where}/ds:Transform`))
    : [];
  const digestUri = algorithmOf(content.one('DigestMethod'), `${where}/ds:DigestMethod`);
  const digest = ACCEPTED_DIGESTS.get(digestUri);
  if (!digest)
    refuse(
      `digest algorithm ${digestUri || '(none)'} of ${where} (URI="${uri}") is not accepted (SHA-224, SHA-256, SHA-384 or SHA-512 only)`,
      where,
    );
  const digestValue = decodeBase64(leafText(content.one('DigestValue'), `${where}/ds:DigestValue`), `${where}/ds:DigestValue`);
  return { element: ref, where, uri, transforms, digest: digest!, digestValue };
}

/**
 * The document Reference must be URI="" with exactly [enveloped, exc-c14n]; the other must be
 * "#Id" of THIS signature's xades:SignedProperties, typed as such, with exactly [exc-c14n]. Any other
 * target — an element of the content, a SignedProperties elsewhere — is signature wrapping.
 */
function checkReferences(parts: SignatureParts, ids: ReadonlyMap<string, Element>): void {
  const doc = parts.documentReference;
  // DSS writes Type="" on it; any actual type would say the target is something else than the document.
  if (doc.element.getAttribute('Type'))
    refuse(`the document Reference must carry no Type (found "${doc.element.getAttribute('Type')}")`, doc.where);
  if (!sameList(doc.transforms, DOCUMENT_TRANSFORMS)) {
    refuse(
      `the document Reference must have exactly the transforms [enveloped-signature, exc-c14n]; found [${doc.transforms.join(', ')}]`,
      doc.where,
    );
  }

  const props = parts.propertiesReference;
  const m = /^#([A-Za-z_][\w.-]*)$/.exec(props.uri);
  if (!m) refuse(`Reference URI "${props.uri}" is neither "" (the whole document) nor a same-document "#Id"`, props.where);
  const target = ids.get(m![1]!);
  if (!target) refuse(`Reference ${props.uri} resolves to no element`, props.where);
  if (target !== parts.signedProperties) {
    refuse(`Reference ${props.uri} points at <${target!.nodeName}>, not at the xades:SignedProperties of this signature`, props.where);
  }
  if (props.element.getAttribute('Type') !== SIGNED_PROPERTIES_TYPE) {
    refuse(`the Reference to xades:SignedProperties must have Type="${SIGNED_PROPERTIES_TYPE}"`, props.where);
  }
  if (!sameList(props.transforms, SIGNED_PROPERTIES_TRANSFORMS)) {
    refuse(
      `the SignedProperties Reference must have exactly the transform [exc-c14n]; found [${props.transforms.join(', ')}]`,
      props.where,
    );
  }

  // A DataObjectFormat describes a signed data object: it may only name the document Reference.
  const documentRefId = doc.element.getAttribute('Id');
  for (const format of parts.dataObjectFormats) {
    const objectReference = format.getAttribute('ObjectReference') ?? '';
    if (!documentRefId || objectReference !== `#${documentRefId}`) {
      refuse(
        `xades:DataObjectFormat ObjectReference="${objectReference}" does not name the document Reference of this signature`,
        'DataObjectFormat',
      );
    }
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

// ---------------------------------------------------------------------------------------------------
// Cryptography

function readKeyInfoCertificates(elements: readonly Element[]): X509Certificate[] {
  return elements.map((el, i) => {
    const der = decodeBase64(textOf(el), `ds:X509Certificate[${i + 1}]`);
    try {
      return new X509Certificate(der);
    } catch (cause) {
      return refuse(`ds:X509Certificate[${i + 1}] is not an X.509 certificate`, 'KeyInfo', cause);
    }
  });
}

/** The first KeyInfo certificate is the seal; it must hold an RSA key of a safe size. */
function checkSignerKey(signer: X509Certificate): void {
  const key = signer.publicKey;
  if (key.asymmetricKeyType !== 'rsa') {
    refuse(
      `the seal certificate "${describeCertificate(signer)}" has a ${key.asymmetricKeyType ?? 'non-asymmetric'} key; only RSA seals are accepted`,
      'KeyInfo',
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_MODULUS_BITS) refuse(`the seal key has ${bits} bits; at least ${MIN_RSA_MODULUS_BITS} are required`, 'KeyInfo');
}

function checkSignatureValue(parts: SignatureParts, signer: X509Certificate): void {
  const signedInfo = Buffer.from(canonicalise(parts.signedInfo), 'utf8');
  const ok = verifyRsa(
    parts.signatureHash,
    signedInfo,
    { key: signer.publicKey, padding: constants.RSA_PKCS1_PADDING },
    parts.signatureValue,
  );
  if (!ok)
    refuse(`the SignatureValue does not verify with the certificate in KeyInfo ("${describeCertificate(signer)}")`, 'SignatureValue');
}

function checkDigest(ref: ReferencePart, canonical: string, what: string): void {
  const actual = createHash(ref.digest).update(canonical, 'utf8').digest();
  if (!sameBytes(actual, ref.digestValue)) refuse(`${what} was altered after signing (digest mismatch)`, ref.where);
}

/**
 * Exclusive C14N (without comments) of `el` where it stands; `enveloped` (a child of `el`) is left out
 * with its subtree, which is the enveloped-signature transform.
 */
function canonicalise(el: Element, enveloped?: Element): string {
  return exclusiveC14n(el, enveloped ? { exclude: enveloped } : {});
}

/**
 * xades:SigningCertificateV2 binds the signature to one certificate: one of its Cert entries must carry
 * the digest of the KeyInfo certificate (and, if it has an IssuerSerialV2, that certificate's issuer
 * and serial number). Otherwise a different certificate with the same key could be substituted.
 */
function checkSigningCertificate(signingCertificate: Element, signer: X509Certificate): void {
  const certs = readContent(signingCertificate, 'xades:SigningCertificateV2', [xades('Cert', 1, MANY, [])]).all('Cert');
  let matched: Element | undefined;
  certs.forEach((cert, i) => {
    const where = `xades:SigningCertificateV2/xades:Cert[${i + 1}]`;
    const parts = readContent(cert, where, [xades('CertDigest', 1, 1, []), xades('IssuerSerialV2', 0, 1, [])]);
    const digest = readContent(parts.one('CertDigest'), `${where}/xades:CertDigest`, [
      ds('DigestMethod', 1, 1, ['Algorithm']),
      ds('DigestValue', 1, 1, []),
    ]);
    const uri = algorithmOf(digest.one('DigestMethod'), `${where}/ds:DigestMethod`);
    const hash = ACCEPTED_DIGESTS.get(uri);
    if (!hash)
      refuse(
        `certificate digest algorithm ${uri || '(none)'} in ${where} is not accepted (SHA-224, SHA-256, SHA-384 or SHA-512 only)`,
        where,
      );
    const expected = decodeBase64(leafText(digest.one('DigestValue'), `${where}/ds:DigestValue`), `${where}/ds:DigestValue`);
    if (!matched && sameBytes(createHash(hash!).update(signer.raw).digest(), expected)) {
      matched = cert;
      const issuerSerial = parts.optional('IssuerSerialV2');
      if (issuerSerial) checkIssuerSerial(leafText(issuerSerial, `${where}/xades:IssuerSerialV2`), signer, where);
    }
  });
  if (!matched) {
    refuse(
      `xades:SigningCertificateV2 does not identify the certificate in KeyInfo ("${describeCertificate(signer)}"): no CertDigest matches it`,
      'SigningCertificateV2',
    );
  }
}

/** IssuerSerialV2: base64 DER of IssuerSerial (RFC 5035) — GeneralNames with one directoryName, and the serial. */
function checkIssuerSerial(b64: string, signer: X509Certificate, where: string): void {
  const der = decodeBase64(b64, `${where}/xades:IssuerSerialV2`);
  let issuerSerial: pkijs.IssuerSerial;
  let certificate: pkijs.Certificate;
  try {
    const asn = asn1js.fromBER(new Uint8Array(der));
    if (asn.offset === -1 || asn.offset !== der.length)
      throw new ProtocolloError('001_ValidazioneFirma', asn.result.error || 'trailing bytes', { where });
    issuerSerial = new pkijs.IssuerSerial({ schema: asn.result });
    certificate = pkijs.Certificate.fromBER(new Uint8Array(signer.raw));
  } catch (cause) {
    return refuse(`${where}/xades:IssuerSerialV2 is not a DER IssuerSerial`, where, cause);
  }
  const [name, ...more] = issuerSerial.issuer.names;
  const sameIssuer = more.length === 0 && name?.type === 4 && (name.value as pkijs.RelativeDistinguishedNames).isEqual(certificate.issuer);
  const sameSerial = issuerSerial.serialNumber.toBigInt() === certificate.serialNumber.toBigInt();
  if (!sameIssuer || !sameSerial) {
    refuse(`${where}/xades:IssuerSerialV2 names another certificate than the one in KeyInfo ("${describeCertificate(signer)}")`, where);
  }
}

/** The claimed signing instant; one in the future (beyond clock skew) is refused. */
function readSigningTime(el: Element, at: Date): Date {
  const text = leafText(el, 'xades:SigningTime');
  const signingTime = parseXsdDateTime(text);
  if (!signingTime) return refuse(`xades:SigningTime "${text}" is not an xsd:dateTime`, 'SigningTime');
  if (signingTime.getTime() > at.getTime() + SIGNING_TIME_SKEW_MS) {
    refuse(
      `xades:SigningTime ${text} is in the future (more than ${SIGNING_TIME_SKEW_MS / 60000} minutes after ${at.toISOString()})`,
      'SigningTime',
    );
  }
  return signingTime;
}

/**
 * The seal certificate is judged at `at`, never at the SigningTime: at baseline B nothing attests the
 * SigningTime, and trusting it would let whoever holds an expired or revoked key back-date a seal.
 */
function validateTrust(trust: TrustStore, signer: X509Certificate, at: Date, intermediates: readonly X509Certificate[]): X509Certificate[] {
  try {
    return trust.validateSigner(signer, at, intermediates);
  } catch (cause) {
    if (cause instanceof SecurityError)
      return refuse(`the seal certificate is not accepted (${cause.reason}): ${cause.message}`, 'KeyInfo', cause);
    throw cause;
  }
}

// ---------------------------------------------------------------------------------------------------

/** Strict base64 (whitespace allowed, as XML-DSig line-wraps it): Buffer.from would skip junk silently. */
function decodeBase64(text: string, where: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) refuse(`${where} is not base64`, where);
  return Buffer.from(compact, 'base64');
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
