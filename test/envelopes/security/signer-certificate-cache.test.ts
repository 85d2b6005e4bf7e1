import { describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { SignerCertificateCache } from '../../../envelopes/security/signer-certificate-cache.js';
import { getTestPki } from '../../fixtures/test-pki.js';

const base64Of = (pem: string): string => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

describe('SignerCertificateCache', () => {
  it('parses a certificate once and gives the same parse back for the same text', () => {
    const pki = getTestPki();
    const cache = new SignerCertificateCache(4);
    const text = base64Of(pki.comuneA.certPem);
    const first = cache.get(text);
    expect(first.fingerprint256).toBe(new X509Certificate(pki.comuneA.certPem).fingerprint256);
    expect(cache.get(text)).toBe(first);
  });

  it('holds at most its capacity, dropping the least recently used', () => {
    const pki = getTestPki();
    const cache = new SignerCertificateCache(2);
    const [a, b, c] = [pki.comuneA, pki.regione, pki.ca].map((x) => base64Of(x.certPem));
    const certA = cache.get(a!);
    cache.get(b!);
    cache.get(a!); // a is now the most recently used
    cache.get(c!); // evicts b
    expect(cache.size).toBe(2);
    expect(cache.get(a!)).toBe(certA);
  });

  it('refuses text that is not a certificate, and remembers nothing of it', () => {
    const cache = new SignerCertificateCache(2);
    expect(() => cache.get(Buffer.from('not a certificate').toString('base64'))).toThrow();
    expect(cache.size).toBe(0);
  });
});
