/**
 * adapters/pec/smime-sign.ts against the PEC adapter's own reader: what the provider simulator signs
 * must verify with verifyDetachedSignature (over the bytes split out by splitMultipartSigned), also
 * once a mailbox has stored it with Unix line ends, and must not once anything signed changes.
 */
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { splitHeaderAndBody, splitMultipartSigned } from '../../adapters/pec/multipart-signed.js';
import { signMultipartSigned } from '../../adapters/pec/smime-sign.js';
import { verifyDetachedSignature } from '../../adapters/pec/smime-signature.js';
import { issueCertificate } from '../../src/crypto/dev-pki.js';
import { TrustStore } from '../../src/crypto/trust-store.js';

const now = Date.now();
const validity = { notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 86_400_000) };
const ca = issueCertificate({ subject: { CN: 'Gestore di prova CA', O: 'Prova', C: 'IT' }, ...validity, issuer: 'self', ca: true });
const intermediate = issueCertificate({
  subject: { CN: 'Gestore di prova firma CA', O: 'Prova', C: 'IT' },
  ...validity,
  issuer: ca,
  ca: true,
});
const signer = issueCertificate({ subject: { CN: 'Gestore di prova - ricevute', O: 'Prova', C: 'IT' }, ...validity, issuer: intermediate });
const trust = TrustStore.fromPem(ca.certPem);

const INNER = Buffer.from(
  [
    'Content-Type: multipart/mixed; boundary="inner"',
    '',
    '--inner',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    'Ricevuta di prova: àèìòù',
    '--inner--',
    '',
  ].join('\n'),
  'utf8',
);

/** A message around the signed body, split again as a reader does. */
function reread(contentType: string, body: Buffer, transform: (raw: string) => string = (s) => s) {
  const raw = Buffer.from(
    transform(`Subject: prova\r\nMIME-Version: 1.0\r\nContent-Type: ${contentType}\r\n\r\n${body.toString('latin1')}`),
    'latin1',
  );
  const split = splitHeaderAndBody(raw)!;
  const boundary = /boundary="([^"]+)"/.exec(contentType)![1]!;
  const parts = splitMultipartSigned(split.body, boundary)!;
  const p7s = Buffer.from(
    parts
      .signature!.toString('latin1')
      .split(/\r?\n\r?\n/)[1]!
      .replace(/\s+/g, ''),
    'base64',
  );
  return { parts, p7s };
}

describe('signMultipartSigned', () => {
  it('signs the canonical (CRLF) entity: SHA-256, detached, chain carried, valid against the CA', async () => {
    const at = new Date();
    const { contentType, body } = signMultipartSigned(INNER, { ...signer, chainPem: [intermediate.certPem] }, { signingTime: at });
    expect(contentType).toMatch(/^multipart\/signed; protocol="application\/pkcs7-signature"; micalg=sha-256; boundary="[^"]+"$/);
    expect(body.toString('latin1')).not.toMatch(/[^\r]\n/);

    const { parts, p7s } = reread(contentType, body);
    expect(parts.extraParts).toBe(0);
    expect(parts.closed).toBe(true);
    expect(parts.signed.equals(Buffer.from(INNER.toString('latin1').replace(/\n/g, '\r\n'), 'latin1'))).toBe(true);
    const verified = await verifyDetachedSignature(parts.signed, p7s, { trust, at });
    expect(verified.status).toBe('valid');
    if (verified.status !== 'valid') return;
    expect(verified.digestAlgorithm).toBe('SHA-256');
    expect(verified.chain.map((c) => c.subject)).toEqual([signer, intermediate, ca].map((p) => new X509Certificate(p.certPem).subject));
  });

  it('still verifies once stored with LF line ends, and no longer once a signed byte changes', async () => {
    const { contentType, body } = signMultipartSigned(INNER, signer);
    const stored = reread(contentType, body, (s) => s.replace(/\r\n/g, '\n'));
    const trustWithIntermediate = TrustStore.fromPem([ca.certPem, intermediate.certPem]);
    expect((await verifyDetachedSignature(stored.parts.signed, stored.p7s, { trust: trustWithIntermediate, at: new Date() })).status).toBe(
      'valid',
    );

    const tampered = reread(contentType, body, (s) => s.replace('Ricevuta di prova', 'Ricevuta di PROVA'));
    const result = await verifyDetachedSignature(tampered.parts.signed, tampered.p7s, { trust: trustWithIntermediate, at: new Date() });
    expect(result.status).toBe('invalid');
  });

  it('refuses a boundary that occurs in the content', () => {
    expect(() => signMultipartSigned(INNER, signer, { boundary: 'inner' })).toThrow(/boundary occurs/);
  });
});
