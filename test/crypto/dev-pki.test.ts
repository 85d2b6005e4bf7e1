import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { type DevPkiReport, createDevPki, issueCertificate } from '../../src/crypto/dev-pki.js';
import { loadPartyIdentity } from '../../src/crypto/party-identity.js';
import { readKeyUsage } from '../../src/crypto/trust-store.js';
import { describeCertificate } from '../../src/core/certificate-description.js';

const NOW = new Date('2025-03-01T10:00:00Z');
let root: string;
let dir: string;
let first: DevPkiReport;

function snapshot(folder: string): Map<string, { bytes: string; mtimeMs: number }> {
  return new Map(
    readdirSync(folder).map((name) => {
      const file = join(folder, name);
      return [name, { bytes: readFileSync(file, 'base64'), mtimeMs: statSync(file).mtimeMs }];
    }),
  );
}

function issuedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

function caught(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'tramite-dev-pki-'));
  dir = join(root, 'pki');
  first = createDevPki({ dir, parties: ['SPC/ComuneA', 'Regione'], now: NOW });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('createDevPki', () => {
  it('creates a CA and one certificate per party, a bare nome meaning SPC/nome', () => {
    expect(first.ca.created).toBe(true);
    expect(first.parties.map((p) => [p.code, p.created])).toEqual([
      ['SPC/ComuneA', true],
      ['SPC/Regione', true],
    ]);
    expect(readdirSync(dir).sort()).toEqual(
      ['ComuneA.cert.pem', 'ComuneA.key.pem', 'Regione.cert.pem', 'Regione.key.pem', 'ca.cert.pem', 'ca.key.pem'].sort(),
    );
  });

  it('writes keys as PKCS#8 readable by the owner only', () => {
    for (const file of [first.ca.keyFile, ...first.parties.map((p) => p.keyFile)]) {
      expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);
    }
  });

  it('makes a CA certificate that can only sign certificates', () => {
    const ca = new X509Certificate(readFileSync(first.ca.certFile));
    expect(describeCertificate(ca)).toBe('CN=Tramite Dev CA, O=Tramite, C=IT');
    expect(ca.ca).toBe(true);
    expect(readKeyUsage(ca)?.names).toEqual(['keyCertSign', 'cRLSign']);
    expect(issuedBy(ca, ca)).toBe(true);
  });

  it('makes party certificates for signing, issued by the CA, valid from now for 825 days', () => {
    const ca = new X509Certificate(readFileSync(first.ca.certFile));
    const cert = new X509Certificate(readFileSync(first.parties[0]!.certFile));
    expect(describeCertificate(cert)).toBe('CN=ComuneA, O=SPC, C=IT');
    expect(cert.ca).toBe(false);
    expect(readKeyUsage(cert)?.names).toEqual(['digitalSignature', 'nonRepudiation']);
    expect(cert.keyUsage?.sort()).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']); // node reports extKeyUsage here
    expect(issuedBy(cert, ca)).toBe(true);
    expect(new Date(cert.validFrom).getTime()).toBeLessThanOrEqual(NOW.getTime());
    expect(new Date(cert.validTo).getTime()).toBe(NOW.getTime() + 825 * 86_400_000);
    // 16 random bytes, positive
    expect(cert.serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/i);
    expect(cert.serialNumber).not.toBe(ca.serialNumber);
    expect(() => loadPartyIdentity('SPC/ComuneA', first.parties[0]!.keyFile, first.parties[0]!.certFile)).not.toThrow();
  });

  it('run again, creates nothing and leaves every file as it was', () => {
    const before = snapshot(dir);
    const again = createDevPki({ dir, parties: ['SPC/ComuneA', 'SPC/Regione'], now: NOW });
    expect(again.ca.created).toBe(false);
    expect(again.parties.every((p) => !p.created)).toBe(true);
    expect(snapshot(dir)).toEqual(before);
  });

  it('adds a party later with the existing CA', () => {
    const before = snapshot(dir);
    const later = createDevPki({ dir, parties: ['SPC/ComuneA', 'SPC/ComuneB'] });
    expect(later.ca.created).toBe(false);
    expect(later.parties.map((p) => [p.code, p.created])).toEqual([
      ['SPC/ComuneA', false],
      ['SPC/ComuneB', true],
    ]);
    const after = snapshot(dir);
    for (const [name, state] of before) expect(after.get(name)).toEqual(state);
    const ca = new X509Certificate(readFileSync(first.ca.certFile));
    expect(issuedBy(new X509Certificate(readFileSync(later.parties[1]!.certFile)), ca)).toBe(true);
  });

  it('refuses a key without its certificate, naming the file, and writes nothing', () => {
    const other = join(root, 'half');
    createDevPki({ dir: other, parties: ['ComuneA'] });
    rmSync(join(other, 'ComuneA.cert.pem'));
    const before = snapshot(other);
    const err = caught(() => createDevPki({ dir: other, parties: ['ComuneZ', 'ComuneA'] }));
    expect(err.code).toBe('TRAMITE_ERR_PKI_EXISTS');
    expect(err.message).toContain(join(other, 'ComuneA.key.pem'));
    expect(snapshot(other)).toEqual(before);
  });

  it('refuses party files when the CA that issued them is gone', () => {
    const other = join(root, 'no-ca');
    createDevPki({ dir: other, parties: ['ComuneA'] });
    rmSync(join(other, 'ca.cert.pem'));
    rmSync(join(other, 'ca.key.pem'));
    const err = caught(() => createDevPki({ dir: other, parties: ['ComuneA'] }));
    expect(err.code).toBe('TRAMITE_ERR_PKI_EXISTS');
    expect(readdirSync(other).sort()).toEqual(['ComuneA.cert.pem', 'ComuneA.key.pem']);
  });

  it('refuses a CA certificate half-present', () => {
    const other = mkdtempSync(join(root, 'half-ca-'));
    writeFileSync(join(other, 'ca.cert.pem'), readFileSync(first.ca.certFile));
    const err = caught(() => createDevPki({ dir: other, parties: ['ComuneA'] }));
    expect(err.code).toBe('TRAMITE_ERR_PKI_EXISTS');
    expect(err.message).toContain('ca.cert.pem');
  });

  it('refuses a party code that is not tipo/nome', () => {
    const err = caught(() => createDevPki({ dir: join(root, 'bad'), parties: ['SPC/Comune-A'] }));
    expect(err.code).toBe('TRAMITE_ERR_CONFIG_INVALID');
    expect(err.message).toContain('SPC/Comune-A');
    expect(err.message).toContain('SPC/ComuneA');
  });
});

describe('issueCertificate', () => {
  it('honours dates, usage and issuer, reusing a given key', () => {
    const ca = { certPem: readFileSync(first.ca.certFile, 'utf8'), keyPem: readFileSync(first.ca.keyFile, 'utf8') };
    const keyPem = readFileSync(first.parties[0]!.keyFile, 'utf8');
    const { certPem } = issueCertificate({
      subject: { CN: 'Old' },
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2021-01-01T00:00:00Z'),
      keyUsage: 'certSignOnly',
      issuer: ca,
      keyPem,
    });
    const cert = new X509Certificate(certPem);
    expect(new Date(cert.validTo).toISOString()).toBe('2021-01-01T00:00:00.000Z');
    expect(readKeyUsage(cert)?.names).toEqual(['keyCertSign']);
    expect(issuedBy(cert, new X509Certificate(ca.certPem))).toBe(true);
    expect(() => loadPartyIdentity('x', first.parties[0]!.keyFile, first.parties[0]!.certFile)).not.toThrow();
  });
});
