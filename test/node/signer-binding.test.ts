/**
 * Registry.signerIsParty, the one rule that binds a signer certificate to a party: the subject is read
 * as parsed attributes (a value holding ", CN=…" is not a CN; two CNs bind to nobody), and a party's
 * configured signers — by fingerprint, or by subject and issuer — replace the CN rule for it.
 * Certificates are real ones, issued by the test PKI's trusted CA (and by an unrelated CA).
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { initNode } from '../../src/config/init-node.js';
import { validateConfig } from '../../src/config/load-config.js';
import { issueCertificate, type PemPair } from '../../src/crypto/dev-pki.js';
import { Registry } from '../../src/node/registry/registry.js';
import { getTestPki } from '../fixtures/test-pki.js';

type Json = any;

const DAY_MS = 86_400_000;
const REGIONE_B = 'SPC/RegioneB';
const COMUNE_A = 'SPC/ComuneA';

let dir: string;
let base: Json;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-signers-'));
  const report = initNode({ dir, parties: [COMUNE_A] });
  base = JSON.parse(readFileSync(report.configFile, 'utf8'));
  writeFileSync(join(dir, 'federation-ca.pem'), getTestPki().ca.certPem);
  base.trust.caFiles = ['federation-ca.pem'];
  base.peers = [{ name: 'regione', url: 'http://127.0.0.1:8081/tramite/envelope', parties: [REGIONE_B, 'SPC/ComuneC'] }];
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function registry(edit: (config: Json) => void = () => {}): Registry {
  const config = structuredClone(base);
  edit(config);
  return new Registry(validateConfig(config, dir));
}

/** A signing certificate with the given subject, issued now by `issuer` (default: the federation's trusted CA). */
function certificate(subject: { CN: string; O?: string; C?: string }, issuer: PemPair = getTestPki().ca): X509Certificate {
  const now = Date.now();
  return new X509Certificate(
    issueCertificate({ subject, notBefore: new Date(now - DAY_MS), notAfter: new Date(now + 30 * DAY_MS), issuer }).certPem,
  );
}

/** A certificate whose subject holds the attributes in this order (node-forge writes several CNs when told). */
function certificateWithAttributes(attributes: Array<{ shortName: string; value: string }>): X509Certificate {
  const ca = getTestPki().ca;
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = '0a1b2c3d';
  cert.validity.notBefore = new Date(Date.now() - DAY_MS);
  cert.validity.notAfter = new Date(Date.now() + 30 * DAY_MS);
  cert.setSubject(attributes);
  cert.setIssuer(forge.pki.certificateFromPem(ca.certPem).subject.attributes);
  cert.setExtensions([{ name: 'keyUsage', digitalSignature: true, nonRepudiation: true, critical: true }]);
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create());
  return new X509Certificate(forge.pki.certificateToPem(cert));
}

describe('the CN rule reads the subject as attributes', () => {
  it('binds a certificate whose one CN is the party nome, and no other party', () => {
    const reg = registry();
    const cert = certificate({ CN: 'RegioneB', O: 'Regione B', C: 'IT' });
    expect(reg.signerIsParty(cert, REGIONE_B)).toBe(true);
    expect(reg.signerIsParty(cert, COMUNE_A)).toBe(false);
    expect(reg.signerIsParty(cert, 'SPC/Regione')).toBe(false);
  });

  it('does not take ", CN=RegioneB" inside an O value for a CN (the certificate is ComuneA\'s)', () => {
    const reg = registry();
    const cert = certificate({ CN: 'ComuneA', O: 'x, CN=RegioneB', C: 'IT' });
    expect(reg.signerIsParty(cert, REGIONE_B)).toBe(false);
    expect(reg.signerIsParty(cert, COMUNE_A)).toBe(true);
  });

  it('does not take "\\nCN=RegioneB" inside an O value for a CN either', () => {
    const cert = certificate({ CN: 'ComuneA', O: 'x\nCN=RegioneB', C: 'IT' });
    expect(registry().signerIsParty(cert, REGIONE_B)).toBe(false);
  });

  it('binds a certificate with two CN attributes to neither party', () => {
    const reg = registry();
    const cert = certificateWithAttributes([
      { shortName: 'C', value: 'IT' },
      { shortName: 'CN', value: 'RegioneB' },
      { shortName: 'CN', value: 'ComuneA' },
    ]);
    expect(reg.signerIsParty(cert, REGIONE_B)).toBe(false);
    expect(reg.signerIsParty(cert, COMUNE_A)).toBe(false);
  });
});

describe('configured signers replace the CN rule for their party', () => {
  it('by fingerprint: only that certificate signs for the party, whatever its CN; other parties keep the CN rule', () => {
    const bound = certificate({ CN: 'Sistema Protocollo RegioneB', O: 'Regione B', C: 'IT' });
    const reg = registry((c) => {
      c.peers[0].signers = [{ party: REGIONE_B, fingerprint256: bound.fingerprint256.toLowerCase() }];
    });
    expect(reg.signerIsParty(bound, REGIONE_B)).toBe(true);
    // A certificate the CN rule would have taken no longer signs for RegioneB…
    expect(reg.signerIsParty(certificate({ CN: 'RegioneB', O: 'Regione B', C: 'IT' }), REGIONE_B)).toBe(false);
    // …and the bound one signs for nobody else.
    expect(reg.signerIsParty(bound, 'SPC/ComuneC')).toBe(false);
    expect(reg.signerIsParty(certificate({ CN: 'ComuneC' }), 'SPC/ComuneC')).toBe(true);
  });

  it('by subject and issuer: renewals from the same CA sign, the same subject from another CA does not', () => {
    const subject = { CN: 'RegioneB', O: 'Regione B, Giunta', C: 'IT' };
    const reg = registry((c) => {
      c.peers[0].signers = [
        { party: REGIONE_B, subject: 'CN=RegioneB, O=Regione B\\, Giunta, C=IT', issuer: 'CN=Tramite Dev CA, O=Tramite, C=IT' },
      ];
    });
    expect(reg.signerIsParty(certificate(subject), REGIONE_B)).toBe(true);
    expect(reg.signerIsParty(certificate(subject), REGIONE_B)).toBe(true); // a renewal: new key, same names
    expect(reg.signerIsParty(certificate(subject, getTestPki().rogueCa), REGIONE_B)).toBe(false);
    expect(reg.signerIsParty(certificate({ CN: 'RegioneB', O: 'Regione B', C: 'IT' }), REGIONE_B)).toBe(false);
    // A subject whose text reads the same once commas are not escaped is another subject.
    expect(reg.signerIsParty(certificate({ CN: 'RegioneB, O=Regione B', O: 'Giunta', C: 'IT' }), REGIONE_B)).toBe(false);
  });

  it('for a hosted party too', () => {
    const own = new X509Certificate(readFileSync(join(dir, 'pki', 'ComuneA.cert.pem')));
    const other = certificate({ CN: 'ComuneA', O: 'SPC', C: 'IT' });
    const reg = registry((c) => {
      c.parties[0].signers = [{ fingerprint256: own.fingerprint256 }];
    });
    expect(reg.signerIsParty(own, COMUNE_A)).toBe(true);
    expect(reg.signerIsParty(other, COMUNE_A)).toBe(false);
  });
});

describe('signers in the configuration', () => {
  function refusal(edit: (config: Json) => void): string {
    try {
      registry(edit);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('expected the configuration to be refused');
  }

  it('refuses a signer for a party the peer does not host', () => {
    const message = refusal((c) => {
      c.peers[0].signers = [{ party: 'SPC/ComuneA', fingerprint256: 'AB:'.repeat(31) + 'AB' }];
    });
    expect(message).toContain('peers[0].signers[0].party');
  });

  it('refuses a subject that is not a distinguished name, naming the field', () => {
    const message = refusal((c) => {
      c.peers[0].signers = [{ party: REGIONE_B, subject: 'RegioneB', issuer: 'CN=Tramite Dev CA, O=Tramite, C=IT' }];
    });
    expect(message).toContain('peers[0].signers[0].subject');
    expect(refusal((c) => (c.peers[0].signers = [{ party: REGIONE_B, subject: 'XX=RegioneB', issuer: 'CN=CA' }]))).toContain(
      'unknown attribute type "XX"',
    );
  });

  it('refuses a signer given both by fingerprint and by subject, or by neither, or a malformed fingerprint', () => {
    const fingerprint = 'AB:'.repeat(31) + 'AB';
    expect(
      refusal((c) => (c.peers[0].signers = [{ party: REGIONE_B, fingerprint256: fingerprint, subject: 'CN=RegioneB', issuer: 'CN=CA' }])),
    ).toContain('peers[0].signers[0]');
    expect(refusal((c) => (c.peers[0].signers = [{ party: REGIONE_B }]))).toContain('peers[0].signers[0]');
    expect(refusal((c) => (c.peers[0].signers = [{ party: REGIONE_B, fingerprint256: 'ABCD' }]))).toContain(
      'peers[0].signers[0].fingerprint256',
    );
  });
});

describe('Registry.auditTrust', () => {
  it('is one store for the node’s life (its issuer-path cache serves every REST request) and validates a federation signer', () => {
    const r = registry();
    const trust = r.auditTrust();
    expect(r.auditTrust()).toBe(trust);
    const signer = certificate({ CN: 'RegioneB' });
    expect(trust.validateSigner(signer, new Date()).at(-1)?.fingerprint256).toBe(
      new X509Certificate(getTestPki().ca.certPem).fingerprint256,
    );
    expect(() => trust.validateSigner(certificate({ CN: 'RegioneB' }, getTestPki().rogueCa), new Date())).toThrow(/untrusted|trust/i);
  });
});
