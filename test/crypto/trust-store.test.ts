import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, SecurityError } from '../../src/core/errors.js';
import { type PemPair, createDevPki, issueCertificate } from '../../src/crypto/dev-pki.js';
import { loadPartyIdentity } from '../../src/crypto/party-identity.js';
import { TrustStore } from '../../src/crypto/trust-store.js';
import { describeCertificate } from '../../src/core/certificate-description.js';

const NOW = new Date('2025-03-01T10:00:00Z');
const DAY = 86_400_000;
const inDays = (n: number): Date => new Date(NOW.getTime() + n * DAY);

let root: string;
let ca: PemPair;
let store: TrustStore;
let partyFiles: { keyFile: string; certFile: string; otherKeyFile: string };
let party: X509Certificate;
// One spare key certified again and again, so each special certificate costs no key generation.
let spareKeyPem: string;

/** A certificate over the spare key, valid around NOW unless told otherwise. */
function cert(opts: Partial<Parameters<typeof issueCertificate>[0]> & { issuer: PemPair | 'self' }): PemPair {
  return issueCertificate({
    subject: { CN: 'Test', O: 'SPC', C: 'IT' },
    notBefore: inDays(-1),
    notAfter: inDays(30),
    keyPem: spareKeyPem,
    ...opts,
  });
}

function x509(pair: PemPair): X509Certificate {
  return new X509Certificate(pair.certPem);
}

function refusal(fn: () => unknown): SecurityError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SecurityError);
    return err as SecurityError;
  }
  throw new Error('expected a SecurityError');
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'tramite-trust-'));
  const pki = createDevPki({ dir: root, parties: ['SPC/ComuneA', 'SPC/ComuneB'], now: NOW });
  ca = { certPem: readFileSync(pki.ca.certFile, 'utf8'), keyPem: readFileSync(pki.ca.keyFile, 'utf8') };
  store = TrustStore.fromPem(ca.certPem);
  partyFiles = { keyFile: pki.parties[0]!.keyFile, certFile: pki.parties[0]!.certFile, otherKeyFile: pki.parties[1]!.keyFile };
  party = new X509Certificate(readFileSync(partyFiles.certFile));
  spareKeyPem = readFileSync(pki.parties[1]!.keyFile, 'utf8');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('TrustStore.validateSigner', () => {
  it('accepts a dev party certificate and returns its chain up to the CA', () => {
    const chain = store.validateSigner(party, NOW);
    expect(chain.map(describeCertificate)).toEqual(['CN=ComuneA, O=SPC, C=IT', 'CN=Tramite Dev CA, O=Tramite, C=IT']);
  });

  it('refuses a certificate from another CA as untrusted, naming signer and issuer', () => {
    const otherCa = cert({ subject: { CN: 'Other CA', O: 'Elsewhere', C: 'IT' }, issuer: 'self', ca: true, keyUsage: 'ca' });
    const stranger = cert({ subject: { CN: 'Stranger', O: 'SPC', C: 'IT' }, issuer: otherCa });
    const err = refusal(() => store.validateSigner(x509(stranger), NOW));
    expect(err.reason).toBe('TRAMITE_ERR_CERT_UNTRUSTED');
    expect(err.code).toBe('EGOV_IT_200');
    expect(err.message).toContain('CN=Stranger, O=SPC, C=IT');
    expect(err.message).toContain('CN=Other CA, O=Elsewhere, C=IT');
  });

  it('refuses a certificate that only claims our CA as issuer (same name, other key)', () => {
    const impostorCa = cert({ subject: { CN: 'Tramite Dev CA', O: 'Tramite', C: 'IT' }, issuer: 'self', ca: true });
    const forged = cert({ subject: { CN: 'ComuneA', O: 'SPC', C: 'IT' }, issuer: impostorCa });
    expect(refusal(() => store.validateSigner(x509(forged), NOW)).reason).toBe('TRAMITE_ERR_CERT_UNTRUSTED');
  });

  it('refuses an expired certificate, stating its dates', () => {
    const expired = cert({ issuer: ca, notBefore: inDays(-60), notAfter: inDays(-1) });
    const err = refusal(() => store.validateSigner(x509(expired), NOW));
    expect(err.reason).toBe('TRAMITE_ERR_CERT_EXPIRED');
    expect(err.message).toContain('has expired');
    expect(err.message).toContain(`not after ${inDays(-1).toISOString()}`);
  });

  it('refuses a certificate that is not yet valid', () => {
    const early = cert({ issuer: ca, notBefore: inDays(1), notAfter: inDays(30) });
    const err = refusal(() => store.validateSigner(x509(early), NOW));
    expect(err.reason).toBe('TRAMITE_ERR_CERT_EXPIRED');
    expect(err.message).toContain('not yet valid');
  });

  it('judges validity at the instant given, not now', () => {
    expect(() => store.validateSigner(party, inDays(826))).toThrow(/has expired/);
  });

  it('refuses a certificate whose keyUsage does not allow signatures', () => {
    const certSigner = cert({ issuer: ca, keyUsage: 'certSignOnly' });
    const err = refusal(() => store.validateSigner(x509(certSigner), NOW));
    expect(err.reason).toBe('TRAMITE_ERR_CERT_USAGE');
    expect(err.message).toContain('keyCertSign');
  });

  it('accepts a certificate with no keyUsage extension at all', () => {
    expect(() => store.validateSigner(x509(cert({ issuer: ca, keyUsage: 'none' })), NOW)).not.toThrow();
  });

  it('refuses a chain through an issuer that is not a CA', () => {
    const notCa = cert({ subject: { CN: 'Not a CA', O: 'SPC', C: 'IT' }, issuer: ca, ca: false, keyUsage: 'certSignOnly' });
    const leaf = cert({ subject: { CN: 'Leaf', O: 'SPC', C: 'IT' }, issuer: notCa });
    const err = refusal(() => store.validateSigner(x509(leaf), NOW, [x509(notCa)]));
    expect(err.reason).toBe('TRAMITE_ERR_CERT_UNTRUSTED');
    expect(err.message).toContain('CN=Not a CA, O=SPC, C=IT');
    expect(err.message).toContain('not a CA');
  });

  it('follows intermediates given with the signer, and only with them', () => {
    const intermediate = cert({ subject: { CN: 'Sub CA', O: 'Tramite', C: 'IT' }, issuer: ca, ca: true });
    const leaf = cert({ subject: { CN: 'Leaf', O: 'SPC', C: 'IT' }, issuer: intermediate });
    const chain = store.validateSigner(x509(leaf), NOW, [x509(intermediate)]);
    expect(chain.map(describeCertificate)).toEqual([
      'CN=Leaf, O=SPC, C=IT',
      'CN=Sub CA, O=Tramite, C=IT',
      'CN=Tramite Dev CA, O=Tramite, C=IT',
    ]);
    expect(refusal(() => store.validateSigner(x509(leaf), NOW)).reason).toBe('TRAMITE_ERR_CERT_UNTRUSTED');
  });

  it('refuses, without an endless search, a signer sent with many look-alike CAs that all issue each other', () => {
    // One name and one key: every certificate verifies as the issuer of every other one. Unbounded,
    // the path search would try about 12!/4! orderings; the budget of signature checks ends it.
    const loop = Array.from({ length: 12 }, () => x509(cert({ subject: { CN: 'Loop CA', O: 'X', C: 'IT' }, issuer: 'self', ca: true })));
    const leaf = x509(cert({ subject: { CN: 'Loop CA', O: 'X', C: 'IT' }, issuer: 'self', ca: true }));
    expect(refusal(() => store.validateSigner(leaf, NOW, loop)).reason).toBe('TRAMITE_ERR_CERT_UNTRUSTED');
  });

  it('does not search through an untrusted intermediate whose key costs more to check than a CA key does', () => {
    // A hostile token brought seven look-alike CAs with an 8192-bit key and a 64-bit exponent: ~0.4 s of
    // issuer checks before its own signature was looked at. An RSA exponent over 65537 (or a modulus over
    // 4096 bits) in a certificate the peer sends is never used as an issuer.
    const oddKey = execFileSync(
      'openssl',
      ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-pkeyopt', 'rsa_keygen_pubexp:65539'],
      {
        encoding: 'utf8',
      },
    );
    const odd = cert({ subject: { CN: 'Odd Exponent CA', O: 'Tramite', C: 'IT' }, issuer: ca, ca: true, keyPem: oddKey });
    const leaf = cert({ subject: { CN: 'Leaf', O: 'SPC', C: 'IT' }, issuer: odd });
    const refused = refusal(() => store.validateSigner(x509(leaf), NOW, [x509(odd)]));
    expect(refused.reason).toBe('TRAMITE_ERR_CERT_UNTRUSTED');
    // The same CA configured as a trust anchor is the operator's choice, and is used.
    expect(
      store
        .withExtra([x509(odd)])
        .validateSigner(x509(leaf), NOW)
        .map(describeCertificate)[1],
    ).toBe('CN=Odd Exponent CA, O=Tramite, C=IT');
  });

  it('finds the same chain whatever order the intermediates come in', () => {
    const upper = cert({ subject: { CN: 'Upper CA', O: 'Tramite', C: 'IT' }, issuer: ca, ca: true });
    const lower = cert({ subject: { CN: 'Lower CA', O: 'Tramite', C: 'IT' }, issuer: upper, ca: true });
    const leaf = x509(cert({ subject: { CN: 'Leaf', O: 'SPC', C: 'IT' }, issuer: lower }));
    const one = store.validateSigner(leaf, NOW, [x509(upper), x509(lower)]).map(describeCertificate);
    expect(store.validateSigner(leaf, NOW, [x509(lower), x509(upper), x509(lower)]).map(describeCertificate)).toEqual(one);
    expect(one).toHaveLength(4);
  });

  it('checks the dates of the CAs in the chain too', () => {
    const oldSub = cert({ subject: { CN: 'Old Sub CA' }, issuer: ca, ca: true, notBefore: inDays(-60), notAfter: inDays(-2) });
    const leaf = cert({ subject: { CN: 'Leaf' }, issuer: oldSub });
    const err = refusal(() => store.validateSigner(x509(leaf), NOW, [x509(oldSub)]));
    expect(err.reason).toBe('TRAMITE_ERR_CERT_EXPIRED');
    expect(err.message).toContain('CA certificate "CN=Old Sub CA"');
  });

  it('judges a signer it has seen before afresh: dates per call, intermediates per call, its own certificate object back', () => {
    const intermediate = cert({ subject: { CN: 'Sub CA 2', O: 'Tramite', C: 'IT' }, issuer: ca, ca: true });
    const leaf = cert({ subject: { CN: 'Leaf 2', O: 'SPC', C: 'IT' }, issuer: intermediate, notBefore: inDays(-1), notAfter: inDays(10) });
    // Seen once with its intermediate, then without it: the remembered path does not stand in for it.
    expect(store.validateSigner(x509(leaf), NOW, [x509(intermediate)])).toHaveLength(3);
    expect(refusal(() => store.validateSigner(x509(leaf), NOW)).reason).toBe('TRAMITE_ERR_CERT_UNTRUSTED');
    const again = x509(leaf);
    const chain = store.validateSigner(again, NOW, [x509(intermediate)]);
    expect(chain[0]).toBe(again);
    // The same signer, later: expired, although its path was found before.
    expect(refusal(() => store.validateSigner(x509(leaf), inDays(11), [x509(intermediate)])).reason).toBe('TRAMITE_ERR_CERT_EXPIRED');
    // Another store (another trust) finds nothing for it.
    const other = TrustStore.fromCertificates([x509(cert({ subject: { CN: 'Other CA' }, issuer: 'self', ca: true }))]);
    expect(refusal(() => other.validateSigner(x509(leaf), NOW, [x509(intermediate)])).reason).toBe('TRAMITE_ERR_CERT_UNTRUSTED');
  });

  it('accepts a signer that is itself a trust anchor', () => {
    const selfSigned = cert({ subject: { CN: 'Pinned' }, issuer: 'self' });
    expect(refusal(() => store.validateSigner(x509(selfSigned), NOW)).reason).toBe('TRAMITE_ERR_CERT_UNTRUSTED');
    const pinned = store.withExtra([x509(selfSigned)]);
    expect(pinned.validateSigner(x509(selfSigned), NOW)).toHaveLength(1);
  });
});

describe('TrustStore construction', () => {
  it('splits PEM bundles and ignores duplicates', () => {
    const second = cert({ subject: { CN: 'Second CA' }, issuer: 'self', ca: true });
    const bundled = TrustStore.fromPem(`${ca.certPem}\n${second.certPem}`);
    expect(bundled.anchors.map(describeCertificate)).toEqual(['CN=Tramite Dev CA, O=Tramite, C=IT', 'CN=Second CA']);
    expect(TrustStore.fromPem([ca.certPem, ca.certPem]).anchors).toHaveLength(1);
  });

  it('withExtra returns a new store and leaves the original as it was', () => {
    const extraCa = cert({ subject: { CN: 'Peer CA' }, issuer: 'self', ca: true });
    const wider = store.withExtra([x509(extraCa)]);
    expect(wider.anchors).toHaveLength(2);
    expect(store.anchors).toHaveLength(1);
    expect(wider.isAnchor(x509(extraCa))).toBe(true);
    expect(store.isAnchor(x509(extraCa))).toBe(false);
  });

  it('refuses PEM text that holds no certificate', () => {
    expect(() => TrustStore.fromPem('not a pem')).toThrow(ConfigError);
  });
});

describe('loadPartyIdentity', () => {
  it('loads a matching key and certificate', () => {
    const identity = loadPartyIdentity('SPC/ComuneA', partyFiles.keyFile, partyFiles.certFile);
    expect(identity.code).toBe('SPC/ComuneA');
    expect(identity.certificate.fingerprint256).toBe(party.fingerprint256);
    expect(identity.algorithm).toBe('RSA-SHA256');
  });

  it('refuses a key that does not belong to the certificate', () => {
    try {
      loadPartyIdentity('SPC/ComuneA', partyFiles.otherKeyFile, partyFiles.certFile);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).code).toBe('TRAMITE_ERR_KEY_INVALID');
      expect((err as ConfigError).message).toContain(partyFiles.otherKeyFile);
      expect((err as ConfigError).message).not.toContain('PRIVATE KEY');
    }
  });

  it('refuses a file that is not a key, and a missing file', () => {
    expect(() => loadPartyIdentity('SPC/ComuneA', partyFiles.certFile, partyFiles.certFile)).toThrow(/not an unencrypted PEM private key/);
    expect(() => loadPartyIdentity('SPC/ComuneA', join(root, 'nope.pem'), partyFiles.certFile)).toThrow(/cannot read .*nope\.pem/);
  });
});
