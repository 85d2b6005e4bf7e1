/**
 * The certificates a verification worker hands back as DER are parsed once and shared; their names are
 * decoded once per certificate (by fingerprint), not once per envelope — and never mixed up.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { certificateNames, valuesOf } from '../../../src/crypto/certificate-names.js';
import { createDevPki } from '../../../src/crypto/dev-pki.js';
import { certificateFromDer } from '../../../src/node/reception/certificate-cache.js';

const dir = mkdtempSync(join(tmpdir(), 'tramite-cert-cache-'));
const pki = createDevPki({ dir, parties: ['SPC/ComuneA', 'SPC/ComuneB'] });
const der = (i: number) => new Uint8Array(new X509Certificate(readFileSync(pki.parties[i]!.certFile)).raw);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('certificate cache', () => {
  it('the same DER bytes give the same certificate object; other bytes another one', () => {
    const a1 = certificateFromDer(der(0));
    const a2 = certificateFromDer(Uint8Array.from(der(0)));
    const b = certificateFromDer(der(1));
    expect(a2).toBe(a1);
    expect(b).not.toBe(a1);
    expect(a1.subject).toContain('CN=ComuneA');
    expect(b.subject).toContain('CN=ComuneB');
  });

  it('names are decoded per certificate: a fresh object of the same certificate has the same names, another certificate its own', () => {
    const a = certificateNames(new X509Certificate(der(0)))!;
    const again = certificateNames(new X509Certificate(der(0)))!;
    const b = certificateNames(new X509Certificate(der(1)))!;
    expect(again).toBe(a);
    expect(valuesOf(a.subject, '2.5.4.3')).toEqual(['ComuneA']);
    expect(valuesOf(b.subject, '2.5.4.3')).toEqual(['ComuneB']);
  });
});
