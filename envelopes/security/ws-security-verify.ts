import { verify as verifySignature, type X509Certificate } from 'node:crypto';
import { SecurityError } from '../../src/core/errors.js';
import type { TramiteCode } from '../../src/core/error-codes.js';
import { NS, WSS_BASE64, WSS_X509V3 } from '../xml/namespaces.js';
import type { SecurityTimestamp } from '../modi/modi-header.js';
import { parseXsdDateTime } from '../../src/core/xsd-datetime.js';
import {
  ACCEPTED_C14N,
  ACCEPTED_DIGEST,
  ACCEPTED_SIGNATURE,
  ACCEPTED_TRANSFORMS,
  ALG,
  DIGEST_HASH,
  EXC_C14N_NS,
  MAX_REFERENCES,
  SIGNATURE_METHODS,
  keyFitsMethod,
  type SignatureMethod,
} from './ws-security-algorithms.js';
import { ELEMENT_NODE, childElements, idAttributesOf, isElement, textOf } from '../xml/dom-navigation.js';
import { canonicalDigest, exclusiveC14n, parsePrefixList } from './exc-c14n.js';
import { describeCertificate } from '../../src/core/certificate-description.js';
import { SignerCertificateCache } from './signer-certificate-cache.js';

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

/**
 * The trust a verification consults, before any digest: src/crypto's TrustStore is one. Returns the
 * chain from the signer to a trusted anchor, or throws a SecurityError (untrusted, expired, revoked, unfit).
 */
export interface SignerTrust {
  validateSigner(signer: X509Certificate, at: Date): X509Certificate[];
}

export interface VerifyPolicy {
  readonly trust: SignerTrust;
  /** The instant the verdict is for (now, for live traffic). */
  readonly at: Date;
  /** Oldest acceptable wsu:Created, in seconds; undefined = no freshness check (offline audit). */
  readonly maxAgeSeconds?: number;
  /** Tolerated clock difference for a Created in the future, and past Expires. */
  readonly skewSeconds: number;
  /**
   * Binds the signer to the party the message claims to come from. Called once the signer's
   * certificate is trusted and before any canonicalisation, signature or digest work; throws to refuse
   * (its error is what the caller gets).
   */
  readonly bindSigner?: (signer: X509Certificate) => void;
}

export interface VerifiedSignature {
  readonly signer: X509Certificate;
  readonly chain: readonly X509Certificate[];
  readonly timestamp: SecurityTimestamp;
  /** Position labels of the elements the signature covers, in reference order. */
  readonly signed: readonly string[];
}

/** Enough for every peer of a busy node; see SignerCertificateCache. */
const SIGNER_CERTIFICATES = new SignerCertificateCache(256);

const fail = (reason: TramiteCode, message: string, posizione?: string): never => {
  throw new SecurityError(reason, message, posizione ? { posizione } : undefined);
};

/** One Reference, checked and resolved: what to canonicalise, how, and the digest it must give. */
interface ReferencePlan {
  readonly uri: string;
  readonly target: Element;
  readonly label: string;
  readonly c14n: 'exclusive' | 'inclusive';
  readonly prefixes: readonly string[];
  readonly enveloped: boolean;
  readonly hash: 'sha256' | 'sha512';
  readonly digestValue: string;
}

/**
 * Verifies the WS-Security signature of a parsed SOAP envelope, with this project's own exclusive
 * canonicalisation (envelopes/security/exc-c14n.ts) and node:crypto.
 *
 * Order — cheap and key-independent checks first, and nothing is canonicalised or digested for a
 * signer that is not trusted and bound to the claimed party (digests need no key: anyone can make
 * them right, so they prove nothing until the SignatureValue does):
 * 1. structure and the closed algorithm lists; 2. the Id index (every Id unique); 3. each Reference
 * mapped to the expected element in its place, and coverage; 4. the signer certificate and its key
 * against the SignatureMethod; 5. the certificate against the trust store (chain, dates, usage);
 * 6. `policy.bindSigner`; 7. the Timestamp window; 8. the SignatureValue over the canonical
 * SignedInfo; 9. the digests.
 */
export function verifySoapSignature(doc: Document, expect: SignatureExpectation, policy: VerifyPolicy): VerifiedSignature {
  const sec = readSecurityHeader(expect.security);
  checkSignatureShape(sec.signature);
  const signedInfo = childrenDs(sec.signature, 'SignedInfo')[0]!;
  const references = childrenDs(signedInfo, 'Reference');
  if (references.length > MAX_REFERENCES)
    fail('TRAMITE_ERR_SIG_STRUCTURE', `the signature carries ${references.length} References; at most ${MAX_REFERENCES} are accepted`);
  const c14nMethod = childrenDs(signedInfo, 'CanonicalizationMethod')[0]!;
  const c14n = c14nMethod.getAttribute('Algorithm') ?? '';
  if (!ACCEPTED_C14N.has(c14n)) fail('TRAMITE_ERR_SIG_ALGORITHM', `canonicalization ${c14n || '(none)'} is not accepted`);
  const signedInfoPrefixes = inclusivePrefixesOf(c14nMethod, 'SignedInfo/CanonicalizationMethod');
  const sigAlg = childrenDs(signedInfo, 'SignatureMethod')[0]!.getAttribute('Algorithm') ?? '';
  if (!ACCEPTED_SIGNATURE.has(sigAlg))
    fail(
      'TRAMITE_ERR_SIG_ALGORITHM',
      `signature algorithm ${sigAlg || '(none)'} is not accepted (RSA with SHA-256 or SHA-512, ECDSA P-256 with SHA-256)`,
    );
  const method = SIGNATURE_METHODS[sigAlg]!;

  const byId = indexIds(doc.documentElement!);
  const plans = planReferences(references, byId, sec, expect);

  const signer = resolveSigner(sec, byId);
  try {
    if (!keyFitsMethod(signer.publicKey, method)) {
      const curve = signer.publicKey.asymmetricKeyDetails?.namedCurve;
      fail(
        'TRAMITE_ERR_SIG_ALGORITHM',
        `SignatureMethod ${sigAlg} does not fit the signer's ${signer.publicKey.asymmetricKeyType ?? 'unknown'}${curve ? ` (${curve})` : ''} key`,
      );
    }
    const chain = policy.trust.validateSigner(signer, policy.at);
    policy.bindSigner?.(signer);
    const timestamp = checkTimestamp(sec.timestamp, policy);
    checkSignatureValue(sec.signature, signedInfo, signedInfoPrefixes, method, signer);
    for (const plan of plans) checkDigest(plan, sec.signature);
    return { signer, chain, timestamp, signed: plans.map((p) => p.label) };
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
  if (timestamps.length !== 1)
    fail('TRAMITE_ERR_TIMESTAMP', `wsse:Security must carry exactly one wsu:Timestamp (found ${timestamps.length})`, 'Security/Timestamp');
  return { signature: signatures[0]!, timestamp: timestamps[0]!, tokens };
}

/**
 * Every Id-like value in the document, refusing duplicates: the precondition of unambiguous References.
 * One pass in document order over the tree (no generator: this runs over every element of every envelope).
 */
function indexIds(root: Element): Map<string, Element> {
  const byId = new Map<string, Element>();
  let n: Node | null = root;
  while (n) {
    if (n.nodeType === ELEMENT_NODE) {
      for (const id of idAttributesOf(n as Element)) {
        if (byId.has(id)) fail('TRAMITE_ERR_SIG_WRAPPING', `Id "${id}" appears on more than one element`, id);
        byId.set(id, n as Element);
      }
      if (n.firstChild) {
        n = n.firstChild;
        continue;
      }
    }
    // Next in document order: a sibling, else the nearest ancestor's sibling, never above the root.
    while (n && n !== root && !n.nextSibling) n = n.parentNode;
    n = n && n !== root ? n.nextSibling : null;
  }
  return byId;
}

/**
 * Each Reference resolved to the element the node reads in that position, with its transforms and
 * digest checked against the closed lists; then the coverage the profile requires.
 */
function planReferences(
  references: readonly Element[],
  byId: ReadonlyMap<string, Element>,
  sec: SecurityParts,
  expect: SignatureExpectation,
): ReferencePlan[] {
  const covered = new Map<Element, string>();
  const plans: ReferencePlan[] = [];
  for (const ref of references) {
    const uri = ref.getAttribute('URI') ?? '';
    const m = /^#([A-Za-z_][\w.-]*)$/.exec(uri);
    if (!m) fail('TRAMITE_ERR_SIG_WRAPPING', `Reference URI "${uri}" is not a same-document #Id reference`);
    const target = byId.get(m![1]!);
    if (!target) fail('TRAMITE_ERR_SIG_STRUCTURE', `Reference ${uri} resolves to no element`);
    const label =
      target === sec.timestamp
        ? 'Security/Timestamp'
        : sec.tokens.has(target!)
          ? 'Security/BinarySecurityToken'
          : expect.signable.get(target!);
    if (!label)
      fail(
        'TRAMITE_ERR_SIG_WRAPPING',
        `Reference ${uri} points at <${target!.nodeName}>, which is not an element the node reads in that position`,
        uri,
      );
    if (covered.has(target!)) fail('TRAMITE_ERR_SIG_WRAPPING', `element ${label} is referenced twice`, label);
    covered.set(target!, label!);
    const transforms = childrenDs(ref, 'Transforms').flatMap((t) => childrenDs(t, 'Transform'));
    const chain = transforms.map((t) => {
      const alg = t.getAttribute('Algorithm') ?? '';
      if (!ACCEPTED_TRANSFORMS.has(alg))
        fail('TRAMITE_ERR_SIG_ALGORITHM', `transform ${alg || '(none)'} on ${label} is not accepted`, label);
      return {
        alg,
        prefixes: alg === ALG.excC14n ? inclusivePrefixesOf(t, `Reference ${uri}/Transform`) : noChildren(t, `Reference ${uri}/Transform`),
      };
    });
    // Enveloped-signature (at most once, first), then at most one canonicalisation (last): the chains
    // XML-DSig signers write. Without one, the node-set is canonicalised with C14N 1.0 (XML-DSig §4.3.3.2).
    const envelopedCount = chain.filter((t) => t.alg === ALG.enveloped).length;
    const c14nSteps = chain.filter((t) => t.alg !== ALG.enveloped);
    if (
      envelopedCount > 1 ||
      (envelopedCount === 1 && chain[0]!.alg !== ALG.enveloped) ||
      c14nSteps.length > 1 ||
      (c14nSteps.length === 1 && chain[chain.length - 1]!.alg === ALG.enveloped)
    ) {
      fail('TRAMITE_ERR_SIG_ALGORITHM', `the transform chain on ${label} (${chain.map((t) => t.alg).join(', ')}) is not accepted`, label);
    }
    const digestMethod = childrenDs(ref, 'DigestMethod')[0]!;
    noChildren(digestMethod, `Reference ${uri}/DigestMethod`);
    const digest = digestMethod.getAttribute('Algorithm') ?? '';
    if (!ACCEPTED_DIGEST.has(digest))
      fail('TRAMITE_ERR_SIG_ALGORITHM', `digest ${digest || '(none)'} on ${label} is not accepted (SHA-256 or SHA-512 only)`, label);
    const step = c14nSteps[0];
    plans.push({
      uri,
      target: target!,
      label: label!,
      c14n: step?.alg === ALG.excC14n ? 'exclusive' : 'inclusive',
      prefixes: step?.prefixes ?? [],
      enveloped: envelopedCount === 1,
      hash: DIGEST_HASH[digest]!,
      digestValue: textOf(childrenDs(ref, 'DigestValue')[0]!),
    });
  }
  for (const el of [sec.timestamp, ...expect.required]) {
    if (!covered.has(el)) {
      const label = el === sec.timestamp ? 'Security/Timestamp' : (expect.signable.get(el) ?? el.nodeName);
      fail('TRAMITE_ERR_SIG_COVERAGE', `${label} is not covered by the signature`, label);
    }
  }
  return plans;
}

/** The PrefixList of an exclusive C14N method's single optional ec:InclusiveNamespaces child. */
function inclusivePrefixesOf(method: Element, where: string): string[] {
  const children = childElements(method);
  if (children.length === 0) return [];
  const [only] = children;
  if (children.length > 1 || !isElement(only, EXC_C14N_NS, 'InclusiveNamespaces')) {
    fail('TRAMITE_ERR_SIG_STRUCTURE', `${where} may hold one ec:InclusiveNamespaces and nothing else`);
  }
  return parsePrefixList(only!.getAttribute('PrefixList') ?? '');
}

function noChildren(el: Element, where: string): [] {
  const [child] = childElements(el);
  if (child) fail('TRAMITE_ERR_SIG_STRUCTURE', `unexpected <${child.nodeName}> in ${where}`);
  return [];
}

function childrenDs(parent: Element, local: string): Element[] {
  return childElements(parent).filter((e) => isElement(e, NS.ds, local));
}

/** The signer certificate: a BinarySecurityToken of this Security header, or an inline X509Certificate. */
function resolveSigner(sec: SecurityParts, byId: ReadonlyMap<string, Element>): X509Certificate {
  const keyInfo = childrenDs(sec.signature, 'KeyInfo')[0]!;
  const children = childElements(keyInfo);
  if (children.length !== 1) fail('TRAMITE_ERR_SIG_STRUCTURE', `ds:KeyInfo must hold exactly one element (found ${children.length})`);
  const first = children[0];
  let b64: string | undefined;
  if (isElement(first, NS.wsse, 'SecurityTokenReference')) {
    const refs = childElements(first).filter((e) => isElement(e, NS.wsse, 'Reference'));
    if (refs.length !== 1 || childElements(first).length !== 1) {
      fail(
        'TRAMITE_ERR_SIG_STRUCTURE',
        'SecurityTokenReference must hold one wsse:Reference (KeyIdentifier, IssuerSerial and Thumbprint are not supported)',
      );
    }
    const ref = refs[0]!;
    const vt = ref.getAttribute('ValueType');
    if (vt && vt !== WSS_X509V3) fail('TRAMITE_ERR_SIG_STRUCTURE', `token reference ValueType ${vt} is not X509v3`);
    const m = /^#(.+)$/.exec(ref.getAttribute('URI') ?? '');
    const token = m ? byId.get(m[1]!) : undefined;
    if (!token || !sec.tokens.has(token))
      fail('TRAMITE_ERR_SIG_STRUCTURE', 'the token reference does not point at a BinarySecurityToken of this Security header');
    const enc = token!.getAttribute('EncodingType');
    if (enc && enc !== WSS_BASE64) fail('TRAMITE_ERR_SIG_STRUCTURE', `BinarySecurityToken EncodingType ${enc} is not Base64Binary`);
    if (token!.getAttribute('ValueType') !== WSS_X509V3) fail('TRAMITE_ERR_SIG_STRUCTURE', 'BinarySecurityToken ValueType is not X509v3');
    b64 = textOf(token!);
  } else if (isElement(first, NS.ds, 'X509Data')) {
    const certs = childElements(first).filter((e) => isElement(e, NS.ds, 'X509Certificate'));
    if (certs.length !== 1)
      fail('TRAMITE_ERR_SIG_STRUCTURE', `ds:X509Data must hold exactly one ds:X509Certificate (found ${certs.length})`);
    b64 = textOf(certs[0]!);
  } else {
    fail('TRAMITE_ERR_SIG_STRUCTURE', 'KeyInfo must hold a SecurityTokenReference to a BinarySecurityToken, or X509Data');
  }
  try {
    return SIGNER_CERTIFICATES.get(b64!.replace(/\s+/g, ''));
  } catch (cause) {
    throw new SecurityError('TRAMITE_ERR_SIG_STRUCTURE', 'the signer certificate cannot be parsed', { cause });
  }
}

/**
 * The Signature must have exactly the shape XML-DSig gives it — no foreign or repeated children
 * anywhere: the element the node checked is then the only one that could be meant.
 */
function checkSignatureShape(signature: Element): void {
  const only = (parent: Element, allowed: Record<string, 'one' | 'optional' | 'many'>, where: string): void => {
    const seen = new Map<string, number>();
    for (const c of childElements(parent)) {
      const local = c.localName ?? '';
      if (c.namespaceURI !== NS.ds || !Object.hasOwn(allowed, local))
        fail('TRAMITE_ERR_SIG_STRUCTURE', `unexpected <${c.nodeName}> in ${where}`);
      seen.set(local, (seen.get(local) ?? 0) + 1);
    }
    for (const [local, rule] of Object.entries(allowed)) {
      const n = seen.get(local) ?? 0;
      if ((rule === 'one' && n !== 1) || (rule === 'optional' && n > 1) || (rule === 'many' && n < 1)) {
        fail(
          'TRAMITE_ERR_SIG_STRUCTURE',
          `${where} must hold ${rule === 'one' ? 'exactly one' : rule === 'optional' ? 'at most one' : 'at least one'} ds:${local} (found ${n})`,
        );
      }
    }
  };
  only(signature, { SignedInfo: 'one', SignatureValue: 'one', KeyInfo: 'one' }, 'ds:Signature');
  const signedInfo = childElements(signature).find((e) => e.localName === 'SignedInfo')!;
  only(signedInfo, { CanonicalizationMethod: 'one', SignatureMethod: 'one', Reference: 'many' }, 'ds:SignedInfo');
  // HMACOutputLength and the like: nothing the accepted methods take.
  noChildren(
    childElements(signedInfo).find((e) => e.localName === 'SignatureMethod')!,
    'ds:SignatureMethod',
  );
  for (const ref of childElements(signedInfo).filter((e) => e.localName === 'Reference')) {
    only(ref, { Transforms: 'optional', DigestMethod: 'one', DigestValue: 'one' }, 'ds:Reference');
    for (const transforms of childElements(ref).filter((e) => e.localName === 'Transforms'))
      only(transforms, { Transform: 'many' }, 'ds:Transforms');
  }
}

/** The SignatureValue over SignedInfo, canonicalised where it stands, with the signer's key. */
function checkSignatureValue(
  signature: Element,
  signedInfo: Element,
  prefixes: readonly string[],
  method: SignatureMethod,
  signer: X509Certificate,
): void {
  const value = Buffer.from(textOf(childrenDs(signature, 'SignatureValue')[0]!).replace(/\s+/g, ''), 'base64');
  const data = Buffer.from(exclusiveC14n(signedInfo, { inclusivePrefixes: prefixes }), 'utf8');
  const ok =
    method.keyType === 'ec'
      ? value.length === method.valueBytes &&
        verifySignature(method.hash, data, { key: signer.publicKey, dsaEncoding: 'ieee-p1363' }, value)
      : verifySignature(method.hash, data, signer.publicKey, value);
  if (!ok) fail('TRAMITE_ERR_SIG_VALUE', 'the SignatureValue does not verify with the signer certificate');
}

function checkDigest(plan: ReferencePlan, signature: Element): void {
  const actual = canonicalDigest(plan.target, plan.c14n, plan.hash, {
    inclusivePrefixes: plan.prefixes,
    ...(plan.enveloped ? { exclude: signature } : {}),
  });
  if (!actual.equals(Buffer.from(plan.digestValue.replace(/\s+/g, ''), 'base64'))) {
    fail('TRAMITE_ERR_SIG_DIGEST', `${plan.label} was altered after signing (digest mismatch)`, plan.label);
  }
}

function checkTimestamp(ts: Element, policy: VerifyPolicy): SecurityTimestamp {
  const createdEl = childElements(ts).filter((e) => isElement(e, NS.wsu, 'Created'));
  const expiresEl = childElements(ts).filter((e) => isElement(e, NS.wsu, 'Expires'));
  if (createdEl.length !== 1 || expiresEl.length > 1)
    fail('TRAMITE_ERR_TIMESTAMP', 'wsu:Timestamp needs one Created and at most one Expires', 'Security/Timestamp');
  const created = textOf(createdEl[0]!);
  const expires = expiresEl[0] ? textOf(expiresEl[0]) : undefined;
  const c = parseXsdDateTime(created);
  const e = expires !== undefined ? parseXsdDateTime(expires) : undefined;
  if (!c || (expires !== undefined && !e))
    fail('TRAMITE_ERR_TIMESTAMP', 'wsu:Created or wsu:Expires is not an xsd:dateTime', 'Security/Timestamp');
  const at = policy.at.getTime();
  const skew = policy.skewSeconds * 1000;
  if (e && e.getTime() < c!.getTime()) fail('TRAMITE_ERR_TIMESTAMP', 'wsu:Expires is before wsu:Created', 'Security/Timestamp/Expires');
  if (c!.getTime() > at + skew)
    fail(
      'TRAMITE_ERR_TIMESTAMP',
      `wsu:Created ${created} is in the future (more than ${policy.skewSeconds} s ahead)`,
      'Security/Timestamp/Created',
    );
  if (e && at > e.getTime() + skew) fail('TRAMITE_ERR_TIMESTAMP', `the Timestamp expired at ${expires}`, 'Security/Timestamp/Expires');
  if (policy.maxAgeSeconds !== undefined && at - c!.getTime() > policy.maxAgeSeconds * 1000) {
    fail(
      'TRAMITE_ERR_TIMESTAMP',
      `wsu:Created ${created} is older than ${policy.maxAgeSeconds} s (stale or replayed)`,
      'Security/Timestamp/Created',
    );
  }
  return { created, ...(expires !== undefined ? { expires } : {}) };
}
