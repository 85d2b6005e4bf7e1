import { verify as rsaVerify, X509Certificate } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { SecurityError } from '../core/errors.js';
import type { TramiteCode } from '../core/error-codes.js';
import { NS, WSS_BASE64, WSS_X509V3 } from '../core/namespaces.js';
import type { SecurityTimestamp } from '../core/modi-header.js';
import { parseXsdDateTime } from '../core/xsd-datetime.js';
import { ACCEPTED_C14N, ACCEPTED_DIGEST, ACCEPTED_SIGNATURE, ACCEPTED_TRANSFORMS, MAX_REFERENCES, SIGNATURE_DIGEST } from './ws-security-algorithms.js';
import { childElements, idAttributesOf, isElement, textOf, walkElements } from './dom-navigation.js';
import { describeCertificate, type TrustStore } from './trust-store.js';

/**
 * What the caller (an envelope profile) expects: the one Security header it located, the elements
 * it is going to read and where they sit (`signable`: element → position label), and those of them
 * that must be signed. A Reference to anything outside `signable` is signature wrapping.
 */
export interface SignatureExpectation {
  readonly security: Element;
  readonly signable: ReadonlyMap<Element, string>;
  readonly required: readonly Element[];
}

export interface VerifyPolicy {
  readonly trust: TrustStore;
  /** The instant the verdict is for (now, for live traffic). */
  readonly at: Date;
  /** Oldest acceptable wsu:Created, in seconds; undefined = no freshness check (offline audit). */
  readonly maxAgeSeconds?: number;
  /** Tolerated clock difference for a Created in the future, and past Expires. */
  readonly skewSeconds: number;
  /** Refuses (throws) a trusted signer that may not sign for the claimed sender; called before any digest. */
  readonly bindSigner?: (signer: X509Certificate) => void;
}

export interface VerifiedSignature {
  readonly signer: X509Certificate;
  readonly chain: readonly X509Certificate[];
  readonly timestamp: SecurityTimestamp;
  /** Position labels of the elements the signature covers, in reference order. */
  readonly signed: readonly string[];
}

const fail = (reason: TramiteCode, message: string, posizione?: string): never => {
  throw new SecurityError(reason, message, posizione ? { posizione } : undefined);
};

/**
 * Verifies the WS-Security signature of a parsed SOAP envelope. `text` must be the exact string
 * `doc` was parsed from: xml-crypto re-parses it, and because every Id in the document is checked
 * to be unique first, its Reference resolution lands on the same elements this function checked.
 *
 * Order: structure and algorithm lists, Id uniqueness, Reference → expected element mapping and
 * coverage, then the SignatureValue over SignedInfo (before any digest: digests need no key, the
 * SignatureValue does), then the digests (xml-crypto, with its algorithm tables cut down to the
 * accepted ones), then the Timestamp window, then the signer's certificate against the trust store.
 */
export function verifySoapSignature(doc: Document, text: string, expect: SignatureExpectation, policy: VerifyPolicy): VerifiedSignature {
  const sec = readSecurityHeader(expect.security);
  const byId = indexIds(doc.documentElement!);

  checkSignatureShape(sec.signature);
  const signedInfo = single(childrenDs(sec.signature, 'SignedInfo'), 'Signature/SignedInfo');
  const references = childrenDs(signedInfo, 'Reference');
  if (references.length > MAX_REFERENCES) fail('TRAMITE_ERR_SIG_STRUCTURE', `the signature carries ${references.length} References; at most ${MAX_REFERENCES} are accepted`);
  const c14n = single(childrenDs(signedInfo, 'CanonicalizationMethod'), 'SignedInfo/CanonicalizationMethod').getAttribute('Algorithm') ?? '';
  if (!ACCEPTED_C14N.has(c14n)) fail('TRAMITE_ERR_SIG_ALGORITHM', `canonicalization ${c14n || '(none)'} is not accepted`);
  const sigAlg = single(childrenDs(signedInfo, 'SignatureMethod'), 'SignedInfo/SignatureMethod').getAttribute('Algorithm') ?? '';
  if (!ACCEPTED_SIGNATURE.has(sigAlg)) fail('TRAMITE_ERR_SIG_ALGORITHM', `signature algorithm ${sigAlg || '(none)'} is not accepted (RSA with SHA-256 or SHA-512 only)`);

  const covered = new Map<Element, string>();
  for (const ref of references) {
    const uri = ref.getAttribute('URI') ?? '';
    const m = /^#([A-Za-z_][\w.-]*)$/.exec(uri);
    if (!m) fail('TRAMITE_ERR_SIG_WRAPPING', `Reference URI "${uri}" is not a same-document #Id reference`);
    const target = byId.get(m![1]!);
    if (!target) fail('TRAMITE_ERR_SIG_STRUCTURE', `Reference ${uri} resolves to no element`);
    const label = target === sec.timestamp ? 'Security/Timestamp' : sec.tokens.has(target!) ? 'Security/BinarySecurityToken' : expect.signable.get(target!);
    if (!label) fail('TRAMITE_ERR_SIG_WRAPPING', `Reference ${uri} points at <${target!.nodeName}>, which is not an element the node reads in that position`, uri);
    if (covered.has(target!)) fail('TRAMITE_ERR_SIG_WRAPPING', `element ${label} is referenced twice`, label);
    covered.set(target!, label!);
    const transforms = childrenDs(ref, 'Transforms').flatMap((t) => childrenDs(t, 'Transform'));
    for (const t of transforms) {
      const alg = t.getAttribute('Algorithm') ?? '';
      if (!ACCEPTED_TRANSFORMS.has(alg)) fail('TRAMITE_ERR_SIG_ALGORITHM', `transform ${alg || '(none)'} on ${label} is not accepted`, label);
    }
    const digest = single(childrenDs(ref, 'DigestMethod'), `Reference ${uri}/DigestMethod`).getAttribute('Algorithm') ?? '';
    if (!ACCEPTED_DIGEST.has(digest)) fail('TRAMITE_ERR_SIG_ALGORITHM', `digest ${digest || '(none)'} on ${label} is not accepted (SHA-256 or SHA-512 only)`, label);
  }
  for (const el of [sec.timestamp, ...expect.required]) {
    if (!covered.has(el)) {
      const label = el === sec.timestamp ? 'Security/Timestamp' : expect.signable.get(el) ?? el.nodeName;
      fail('TRAMITE_ERR_SIG_COVERAGE', `${label} is not covered by the signature`, label);
    }
  }

  const signer = resolveSigner(sec, byId);
  try {
    checkSignatureValue(sec.signature, text, signer, covered);
    const timestamp = checkTimestamp(sec.timestamp, policy);
    const chain = policy.trust.validateSigner(signer, policy.at);
    return { signer, chain, timestamp, signed: [...covered.values()] };
  } catch (err) {
    // Once the certificate is read, every verdict names who signed.
    if (err instanceof SecurityError && err.signer === undefined) {
      throw new SecurityError(err.reason, err.message, { cause: err.cause, posizione: err.posizione, signer: describeCertificate(signer) });
    }
    throw err;
  }
}

interface SecurityParts {
  readonly signature: Element;
  readonly timestamp: Element;
  readonly tokens: ReadonlySet<Element>;
}

function readSecurityHeader(security: Element): SecurityParts {
  const signatures: Element[] = [];
  const timestamps: Element[] = [];
  const tokens = new Set<Element>();
  for (const c of childElements(security)) {
    if (isElement(c, NS.ds, 'Signature')) signatures.push(c);
    else if (isElement(c, NS.wsu, 'Timestamp')) timestamps.push(c);
    else if (isElement(c, NS.wsse, 'BinarySecurityToken')) tokens.add(c);
    else fail('TRAMITE_ERR_SIG_STRUCTURE', `unexpected <${c.nodeName}> in wsse:Security`);
  }
  if (signatures.length === 0) fail('TRAMITE_ERR_SIG_MISSING', 'wsse:Security carries no ds:Signature');
  if (signatures.length > 1) fail('TRAMITE_ERR_SIG_STRUCTURE', 'wsse:Security carries more than one ds:Signature');
  if (timestamps.length !== 1) fail('TRAMITE_ERR_TIMESTAMP', `wsse:Security must carry exactly one wsu:Timestamp (found ${timestamps.length})`, 'Security/Timestamp');
  return { signature: signatures[0]!, timestamp: timestamps[0]!, tokens };
}

/** Every Id-like value in the document, refusing duplicates: the precondition of unambiguous References. */
function indexIds(root: Element): Map<string, Element> {
  const byId = new Map<string, Element>();
  for (const el of walkElements(root)) {
    for (const id of idAttributesOf(el)) {
      if (byId.has(id)) fail('TRAMITE_ERR_SIG_WRAPPING', `Id "${id}" appears on more than one element`, id);
      byId.set(id, el);
    }
  }
  return byId;
}

function childrenDs(parent: Element, local: string): Element[] {
  return childElements(parent).filter((e) => isElement(e, NS.ds, local));
}

function single(list: Element[], what: string): Element {
  if (list.length !== 1) fail('TRAMITE_ERR_SIG_STRUCTURE', `${what}: expected exactly one, found ${list.length}`);
  return list[0]!;
}

/** The signer certificate: a BinarySecurityToken of this Security header, or an inline X509Certificate. */
function resolveSigner(sec: SecurityParts, byId: Map<string, Element>): X509Certificate {
  const keyInfo = single(childrenDs(sec.signature, 'KeyInfo'), 'Signature/KeyInfo');
  const [first] = childElements(keyInfo);
  let b64: string | undefined;
  if (isElement(first, NS.wsse, 'SecurityTokenReference')) {
    const ref = childElements(first).find((e) => isElement(e, NS.wsse, 'Reference'));
    if (!ref) fail('TRAMITE_ERR_SIG_STRUCTURE', 'SecurityTokenReference without wsse:Reference (KeyIdentifier, IssuerSerial and Thumbprint are not supported)');
    const vt = ref!.getAttribute('ValueType');
    if (vt && vt !== WSS_X509V3) fail('TRAMITE_ERR_SIG_STRUCTURE', `token reference ValueType ${vt} is not X509v3`);
    const m = /^#(.+)$/.exec(ref!.getAttribute('URI') ?? '');
    const token = m ? byId.get(m[1]!) : undefined;
    if (!token || !sec.tokens.has(token)) fail('TRAMITE_ERR_SIG_STRUCTURE', 'the token reference does not point at a BinarySecurityToken of this Security header');
    const enc = token!.getAttribute('EncodingType');
    if (enc && enc !== WSS_BASE64) fail('TRAMITE_ERR_SIG_STRUCTURE', `BinarySecurityToken EncodingType ${enc} is not Base64Binary`);
    if (token!.getAttribute('ValueType') !== WSS_X509V3) fail('TRAMITE_ERR_SIG_STRUCTURE', 'BinarySecurityToken ValueType is not X509v3');
    b64 = textOf(token!);
  } else if (isElement(first, NS.ds, 'X509Data')) {
    const certEl = childElements(first).find((e) => isElement(e, NS.ds, 'X509Certificate'));
    if (!certEl) fail('TRAMITE_ERR_SIG_STRUCTURE', 'ds:X509Data without ds:X509Certificate');
    b64 = textOf(certEl!);
  } else {
    fail('TRAMITE_ERR_SIG_STRUCTURE', 'KeyInfo must hold a SecurityTokenReference to a BinarySecurityToken, or X509Data');
  }
  try {
    return new X509Certificate(Buffer.from(b64!.replace(/\s+/g, ''), 'base64'));
  } catch (cause) {
    throw new SecurityError('TRAMITE_ERR_SIG_STRUCTURE', 'the signer certificate cannot be parsed', { cause });
  }
}

/**
 * The Signature must have exactly the shape XML-DSig gives it — no foreign or repeated children
 * anywhere. xml-crypto reads the first element of a given local name under Signature, in any
 * namespace; with nothing else there, that element is the one this module checked.
 */
function checkSignatureShape(signature: Element): void {
  const only = (parent: Element, allowed: Record<string, 'one' | 'optional' | 'many'>, where: string): void => {
    const seen = new Map<string, number>();
    for (const c of childElements(parent)) {
      const local = c.localName ?? '';
      if (c.namespaceURI !== NS.ds || !(local in allowed)) fail('TRAMITE_ERR_SIG_STRUCTURE', `unexpected <${c.nodeName}> in ${where}`);
      seen.set(local, (seen.get(local) ?? 0) + 1);
    }
    for (const [local, rule] of Object.entries(allowed)) {
      const n = seen.get(local) ?? 0;
      if ((rule === 'one' && n !== 1) || (rule === 'optional' && n > 1) || (rule === 'many' && n < 1)) {
        fail('TRAMITE_ERR_SIG_STRUCTURE', `${where} must hold ${rule === 'one' ? 'exactly one' : rule === 'optional' ? 'at most one' : 'at least one'} ds:${local} (found ${n})`);
      }
    }
  };
  only(signature, { SignedInfo: 'one', SignatureValue: 'one', KeyInfo: 'one' }, 'ds:Signature');
  const signedInfo = childElements(signature).find((e) => e.localName === 'SignedInfo')!;
  only(signedInfo, { CanonicalizationMethod: 'one', SignatureMethod: 'one', Reference: 'many' }, 'ds:SignedInfo');
  for (const ref of childElements(signedInfo).filter((e) => e.localName === 'Reference')) {
    only(ref, { Transforms: 'optional', DigestMethod: 'one', DigestValue: 'one' }, 'ds:Reference');
    for (const transforms of childElements(ref).filter((e) => e.localName === 'Transforms')) only(transforms, { Transform: 'many' }, 'ds:Transforms');
  }
}

/** xml-crypto with its algorithm tables cut down to what the node accepts: nothing else can run. */
function restrictedSignedXml(certPem: string): SignedXml {
  const sig = new SignedXml({ publicCert: certPem, getCertFromKeyInfo: () => certPem });
  const pick = <T>(table: Record<string, T>, allowed: ReadonlySet<string>): Record<string, T> =>
    Object.fromEntries(Object.entries(table).filter(([uri]) => allowed.has(uri))) as Record<string, T>;
  sig.SignatureAlgorithms = pick(sig.SignatureAlgorithms, ACCEPTED_SIGNATURE) as typeof sig.SignatureAlgorithms;
  sig.HashAlgorithms = pick(sig.HashAlgorithms, ACCEPTED_DIGEST) as typeof sig.HashAlgorithms;
  sig.CanonicalizationAlgorithms = pick(sig.CanonicalizationAlgorithms, new Set([...ACCEPTED_C14N, ...ACCEPTED_TRANSFORMS])) as typeof sig.CanonicalizationAlgorithms;
  return sig;
}

function checkSignatureValue(signature: Element, text: string, signer: X509Certificate, covered: Map<Element, string>): void {
  const certPem = signer.toString();
  const sig = restrictedSignedXml(certPem);
  // WS-Security and XML-DSig name identifiers `Id` (wsu:Id, ds:Id). xml-crypto scans the whole document
  // once per listed attribute name for every Reference; listing only `Id` makes a Reference to an `ID`
  // or `id` attribute fail closed here (indexIds has already refused any such value twice).
  sig.idAttributes = ['Id'];
  sig.loadSignature(signature);
  // The SignatureValue first, over SignedInfo canonicalised by xml-crypto itself: an envelope nobody
  // with the key signed is refused before any Reference is resolved or digested.
  const signedInfoCanon = (sig as unknown as { getCanonSignedInfoXml(doc: Document): string }).getCanonSignedInfoXml(signature.ownerDocument!);
  const sigAlg = childElements(childElements(signature)[0]!).find((e) => e.localName === 'SignatureMethod')!.getAttribute('Algorithm')!;
  const value = Buffer.from(textOf(childElements(signature).find((e) => e.localName === 'SignatureValue')!).replace(/\s+/g, ''), 'base64');
  if (!rsaVerify(SIGNATURE_DIGEST[sigAlg]!, Buffer.from(signedInfoCanon, 'utf8'), signer.publicKey, value)) {
    fail('TRAMITE_ERR_SIG_VALUE', 'the SignatureValue does not verify with the signer certificate');
  }
  let ok: boolean;
  try {
    ok = sig.checkSignature(text);
  } catch (cause) {
    const msg = cause instanceof Error ? cause.message : String(cause);
    if (/signature value/i.test(msg)) throw new SecurityError('TRAMITE_ERR_SIG_VALUE', 'the SignatureValue does not verify with the signer certificate', { cause });
    throw new SecurityError('TRAMITE_ERR_SIG_STRUCTURE', `the signature cannot be checked: ${msg}`, { cause });
  }
  if (!ok) {
    const labelByUri = new Map<string, string>();
    for (const [el, label] of covered) for (const id of idAttributesOf(el)) labelByUri.set(`#${id}`, label);
    const bad = sig.getReferences().find((r) => r.validationError);
    const label = bad ? labelByUri.get(bad.uri ?? '') ?? bad.uri : 'a signed element';
    fail('TRAMITE_ERR_SIG_DIGEST', `${label} was altered after signing (digest mismatch)`, label);
  }
}

function checkTimestamp(ts: Element, policy: VerifyPolicy): SecurityTimestamp {
  const createdEl = childElements(ts).filter((e) => isElement(e, NS.wsu, 'Created'));
  const expiresEl = childElements(ts).filter((e) => isElement(e, NS.wsu, 'Expires'));
  if (createdEl.length !== 1 || expiresEl.length > 1) fail('TRAMITE_ERR_TIMESTAMP', 'wsu:Timestamp needs one Created and at most one Expires', 'Security/Timestamp');
  const created = textOf(createdEl[0]!);
  const expires = expiresEl[0] ? textOf(expiresEl[0]) : undefined;
  const c = parseXsdDateTime(created);
  const e = expires !== undefined ? parseXsdDateTime(expires) : undefined;
  if (!c || (expires !== undefined && !e)) fail('TRAMITE_ERR_TIMESTAMP', 'wsu:Created or wsu:Expires is not an xsd:dateTime', 'Security/Timestamp');
  const at = policy.at.getTime();
  const skew = policy.skewSeconds * 1000;
  if (e && e.getTime() < c!.getTime()) fail('TRAMITE_ERR_TIMESTAMP', 'wsu:Expires is before wsu:Created', 'Security/Timestamp/Expires');
  if (c!.getTime() > at + skew) fail('TRAMITE_ERR_TIMESTAMP', `wsu:Created ${created} is in the future (more than ${policy.skewSeconds} s ahead)`, 'Security/Timestamp/Created');
  if (e && at > e.getTime() + skew) fail('TRAMITE_ERR_TIMESTAMP', `the Timestamp expired at ${expires}`, 'Security/Timestamp/Expires');
  if (policy.maxAgeSeconds !== undefined && at - c!.getTime() > policy.maxAgeSeconds * 1000) {
    fail('TRAMITE_ERR_TIMESTAMP', `wsu:Created ${created} is older than ${policy.maxAgeSeconds} s (stale or replayed)`, 'Security/Timestamp/Created');
  }
  return { created, ...(expires !== undefined ? { expires } : {}) };
}
