import { X509Certificate } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import forge from 'node-forge';
import { describeCertificate, describeIssuer } from '../core/certificate-description.js';
import { ConfigError, SecurityError } from '../core/errors.js';

/** Longest accepted path leaf → anchor, counting both ends; also bounds the search against loops. */
const MAX_PATH_LENGTH = 8;
/** How many alternative paths (cross-signed or renewed CAs) are tried before giving up. */
const MAX_PATHS = 8;
/**
 * Most issuer signatures checked for one signer. Untrusted intermediates come with the signed message:
 * many certificates sharing one name and key would otherwise make the search factorial.
 */
const MAX_LINK_CHECKS = 32;
/**
 * The costliest issuer key an untrusted intermediate may bring. The signature check of each link costs
 * with the issuer's modulus and exponent: an 8192-bit key with a 64-bit exponent made one hostile token
 * (seven such intermediates) cost ~0.4 s of CPU before its own signature was looked at.
 */
const MAX_INTERMEDIATE_RSA_BITS = 4096;
const MAX_INTERMEDIATE_RSA_EXPONENT = 65537n;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * How many distinct signers (with their intermediates) a store remembers the issuer paths of. A peer
 * signs every message with the same certificate: finding its path costs issuer signature checks and
 * an ASN.1 decode, every time the same answer. Dates, CA flags and usage are still judged per call.
 */
const PATH_CACHE_SIZE = 1024;

/**
 * The CA certificates a node trusts for envelope signers. Immutable: `withExtra` returns a new store,
 * so a peer-specific CA never leaks into the trust used for other peers.
 */
export class TrustStore {
  readonly anchors: readonly X509Certificate[];
  readonly #fingerprints: ReadonlySet<string>;
  /** Issuer paths found per leaf + intermediates (by fingerprints); the store is immutable, so they stay right. */
  readonly #paths = new LRUCache<string, X509Certificate[][]>({ max: PATH_CACHE_SIZE });

  private constructor(anchors: readonly X509Certificate[]) {
    const byFingerprint = new Map<string, X509Certificate>();
    for (const cert of anchors) byFingerprint.set(cert.fingerprint256, cert);
    this.anchors = Object.freeze([...byFingerprint.values()]);
    this.#fingerprints = new Set(byFingerprint.keys());
  }

  /** From PEM text (one or several texts, each possibly a bundle of certificates). */
  static fromPem(pem: string | readonly string[]): TrustStore {
    const texts = typeof pem === 'string' ? [pem] : pem;
    return new TrustStore(texts.flatMap((text) => certificatesFromPem(text)));
  }

  static fromCertificates(certs: readonly X509Certificate[]): TrustStore {
    return new TrustStore(certs);
  }

  withExtra(certs: readonly X509Certificate[]): TrustStore {
    return new TrustStore([...this.anchors, ...certs]);
  }

  isAnchor(cert: X509Certificate): boolean {
    return this.#fingerprints.has(cert.fingerprint256);
  }

  /**
   * Accepts `leaf` as a signer at instant `at` and returns its chain (leaf first, anchor last), or throws
   * SecurityError with TRAMITE_ERR_CERT_UNTRUSTED, TRAMITE_ERR_CERT_EXPIRED or TRAMITE_ERR_CERT_USAGE.
   * `intermediates` are untrusted helpers (e.g. sent along in the envelope): only anchors confer trust.
   */
  validateSigner(leaf: X509Certificate, at: Date, intermediates: readonly X509Certificate[] = []): X509Certificate[] {
    const paths = this.#pathsOf(leaf, intermediates);
    if (paths.length === 0) {
      throw new SecurityError(
        'TRAMITE_ERR_CERT_UNTRUSTED',
        `signer "${describeCertificate(leaf)}" (issued by "${describeIssuer(leaf)}") does not chain to a trusted CA`,
      );
    }
    // Several paths only exist with cross-signed or renewed CAs: any acceptable one will do, and the
    // first path's problem is the one reported.
    let firstProblem: SecurityError | undefined;
    for (const path of paths) {
      const problem = checkPath(path, at);
      if (!problem) return path;
      firstProblem ??= problem;
    }
    throw firstProblem!;
  }

  /**
   * The issuer paths of `leaf` (found once per leaf and set of intermediates), each starting with this
   * very `leaf` object. The set, not the order it came in: a reordered copy of the same certificates is
   * the same question, and must not cost a new search.
   */
  #pathsOf(leaf: X509Certificate, intermediates: readonly X509Certificate[]): X509Certificate[][] {
    const byFingerprint = new Map(intermediates.map((c) => [c.fingerprint256, c]));
    const key = `${leaf.fingerprint256} ${[...byFingerprint.keys()].sort().join(' ')}`;
    let paths = this.#paths.get(key);
    if (!paths) {
      const helpers = [...byFingerprint.values()].filter((c) => !this.isAnchor(c) && affordableIssuerKey(c));
      paths = this.#findPaths(leaf, [...helpers, ...this.anchors]);
      this.#paths.set(key, paths);
    }
    return paths.map((path) => [leaf, ...path.slice(1)]);
  }

  /** Depth-first search for issuer paths that end in an anchor; a signature check decides each link. */
  #findPaths(leaf: X509Certificate, candidates: readonly X509Certificate[]): X509Certificate[][] {
    const found: X509Certificate[][] = [];
    let checks = 0;
    const walk = (path: X509Certificate[]): void => {
      if (found.length >= MAX_PATHS || checks >= MAX_LINK_CHECKS) return;
      const last = path[path.length - 1]!;
      if (this.isAnchor(last)) {
        found.push(path);
        return;
      }
      if (path.length >= MAX_PATH_LENGTH) return;
      for (const issuer of candidates) {
        if (path.some((c) => c.fingerprint256 === issuer.fingerprint256)) continue;
        // `a.checkIssued(b)` asks whether a was issued by b (names, key identifiers, issuer keyUsage).
        if (!last.checkIssued(issuer)) continue;
        if (++checks > MAX_LINK_CHECKS) return;
        if (last.verify(issuer.publicKey)) walk([...path, issuer]);
      }
    };
    walk([leaf]);
    return found;
  }
}

/**
 * Whether checking a signature with this untrusted certificate's key costs what a CA key costs: RSA up to
 * 4096 bits with the usual exponent (EC and EdDSA keys cost the same whatever the certificate says).
 * Anchors are configured, not sent, and are never judged by this.
 */
function affordableIssuerKey(cert: X509Certificate): boolean {
  const key = cert.publicKey;
  if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'rsa-pss') return true;
  const details = key.asymmetricKeyDetails;
  return (
    (details?.modulusLength ?? Infinity) <= MAX_INTERMEDIATE_RSA_BITS && (details?.publicExponent ?? 0n) <= MAX_INTERMEDIATE_RSA_EXPONENT
  );
}

/** Structural and date checks of one leaf → anchor path; returns the first problem, if any. */
function checkPath(path: readonly X509Certificate[], at: Date): SecurityError | undefined {
  for (let i = 1; i < path.length; i++) {
    const issuer = path[i]!;
    if (!issuer.ca) {
      return new SecurityError(
        'TRAMITE_ERR_CERT_UNTRUSTED',
        `"${describeCertificate(issuer)}", issuer of "${describeCertificate(path[i - 1]!)}", is not a CA certificate (basicConstraints cA is not true)`,
      );
    }
  }
  for (let i = 0; i < path.length; i++) {
    const cert = path[i]!;
    const notBefore = new Date(cert.validFrom);
    const notAfter = new Date(cert.validTo);
    if (at < notBefore || at > notAfter) {
      const role = i === 0 ? 'signer certificate' : 'CA certificate';
      const state = at < notBefore ? 'is not yet valid' : 'has expired';
      return new SecurityError(
        'TRAMITE_ERR_CERT_EXPIRED',
        `${role} "${describeCertificate(cert)}" ${state} at ${at.toISOString()} (not before ${notBefore.toISOString()}, not after ${notAfter.toISOString()})`,
      );
    }
  }
  return signerUsageProblem(path[0]!);
}

/**
 * extendedKeyUsage purposes under which a certificate may sign envelopes, and why:
 * - anyExtendedKeyUsage: the issuer put no restriction on purpose;
 * - clientAuth and serverAuth: a WS-Security signature authenticates the sending or replying node
 *   to its peer, the job TLS client and server certificates do; SPCoop/ModI party certificates (and
 *   the dev PKI's) are issued with these;
 * - emailProtection: S/MIME signing certificates, which public bodies also hold, sign content;
 * - documentSigning (RFC 9336): exactly "sign a document".
 * Not codeSigning, timeStamping (RFC 3161 wants a TSA key for time-stamps only) or OCSPSigning: a key
 * dedicated to those must not put its name under a message.
 */
const SIGNING_PURPOSES: ReadonlyMap<string, string> = new Map([
  ['2.5.29.37.0', 'anyExtendedKeyUsage'],
  ['1.3.6.1.5.5.7.3.1', 'serverAuth'],
  ['1.3.6.1.5.5.7.3.2', 'clientAuth'],
  ['1.3.6.1.5.5.7.3.4', 'emailProtection'],
  ['1.3.6.1.5.5.7.3.36', 'documentSigning'],
]);
const OTHER_PURPOSES: ReadonlyMap<string, string> = new Map([
  ['1.3.6.1.5.5.7.3.3', 'codeSigning'],
  ['1.3.6.1.5.5.7.3.8', 'timeStamping'],
  ['1.3.6.1.5.5.7.3.9', 'OCSPSigning'],
]);

/**
 * Whether the leaf may sign messages: not a CA certificate (a CA key signs certificates; a leaf with
 * cA=TRUE could issue a "party" certificate of its own), keyUsage (when present) with digitalSignature
 * or nonRepudiation, extendedKeyUsage (when present) with a signing purpose.
 */
function signerUsageProblem(leaf: X509Certificate): SecurityError | undefined {
  if (leaf.ca) {
    return new SecurityError(
      'TRAMITE_ERR_CERT_USAGE',
      `signer "${describeCertificate(leaf)}" is a CA certificate (basicConstraints cA=TRUE): a CA key signs certificates, not messages`,
    );
  }
  const usage = keyUsageOf(leaf);
  if (usage && !usage.digitalSignature && !usage.nonRepudiation) {
    return new SecurityError(
      'TRAMITE_ERR_CERT_USAGE',
      `signer "${describeCertificate(leaf)}" has keyUsage ${usage.names.join(', ') || '(none)'}, which allows neither digitalSignature nor nonRepudiation`,
    );
  }
  // node reads the extendedKeyUsage OIDs (undefined: no extension, any purpose).
  const purposes = leaf.keyUsage;
  if (purposes && !purposes.some((oid) => SIGNING_PURPOSES.has(oid))) {
    const names = purposes.map((oid) => OTHER_PURPOSES.get(oid) ?? oid);
    return new SecurityError(
      'TRAMITE_ERR_CERT_USAGE',
      `signer "${describeCertificate(leaf)}" has extendedKeyUsage ${names.join(', ') || '(none)'}, none of which allows signing messages (${[...SIGNING_PURPOSES.values()].join(', ')})`,
    );
  }
  return undefined;
}

/** The keyUsage flags that decide whether a certificate may sign, plus all set names for messages. */
interface KeyUsage {
  readonly digitalSignature: boolean;
  readonly nonRepudiation: boolean;
  readonly names: readonly string[];
}

const KEY_USAGE_NAMES = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;

/** keyUsage per certificate fingerprint (false: no extension): decoding it is an ASN.1 walk per message otherwise. */
const keyUsages = new LRUCache<string, KeyUsage | false>({ max: PATH_CACHE_SIZE });

function keyUsageOf(cert: X509Certificate): KeyUsage | undefined {
  const fingerprint = cert.fingerprint256;
  let usage = keyUsages.get(fingerprint);
  if (usage === undefined) {
    usage = readKeyUsage(cert) ?? false;
    keyUsages.set(fingerprint, usage);
  }
  return usage || undefined;
}

/** node-forge's extension decoder; present at runtime, missing from @types/node-forge. */
type ExtensionDecoder = (ext: forge.asn1.Asn1) => { name?: string } & Record<string, unknown>;

/**
 * The keyUsage extension, or undefined when the certificate has none. The extensions are read from the
 * DER with node-forge's ASN.1 decoder rather than forge.pki.certificateFromPem, which refuses any
 * certificate whose key is not RSA.
 */
export function readKeyUsage(cert: X509Certificate): KeyUsage | undefined {
  const decode = (forge.pki as unknown as { certificateExtensionFromAsn1: ExtensionDecoder }).certificateExtensionFromAsn1;
  const root = forge.asn1.fromDer(cert.raw.toString('binary'));
  const tbs = (root.value as forge.asn1.Asn1[])[0];
  const explicit = (tbs?.value as forge.asn1.Asn1[] | undefined)?.find(
    (node) => node.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && node.type === 3,
  );
  const extensions = ((explicit?.value as forge.asn1.Asn1[] | undefined)?.[0]?.value ?? []) as forge.asn1.Asn1[];
  for (const ext of extensions) {
    const decoded = decode(ext);
    if (decoded.name !== 'keyUsage') continue;
    return {
      digitalSignature: decoded['digitalSignature'] === true,
      nonRepudiation: decoded['nonRepudiation'] === true,
      names: KEY_USAGE_NAMES.filter((name) => decoded[name] === true),
    };
  }
  return undefined;
}

/** Every certificate in a PEM text (a single certificate or a bundle). */
export function certificatesFromPem(pem: string, source = 'PEM text'): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `${source} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (cause) {
      throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `${source}: certificate #${i + 1} cannot be parsed`, { cause });
    }
  });
}
