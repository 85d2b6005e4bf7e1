/**
 * The TSA's certificate read from its tokens (what the inventory watches once a checkpoint is stamped),
 * with a real TSA: openssl ts -reply behind HTTP on 127.0.0.1.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestTimestamp } from '../../../src/crypto/rfc3161/index.js';
import { tsaCertificateOfToken } from '../../../src/crypto/rfc3161/tsa-certificate-of-token.js';
import { startOpensslTsa, type OpensslTsa } from '../../../test-support/openssl-tsa-server.js';

let dir: string;
let tsa: OpensslTsa;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-tsa-cert-'));
  tsa = await startOpensslTsa(join(dir, 'tsa'));
});
afterAll(async () => {
  await tsa?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('tsaCertificateOfToken', () => {
  it("is the TSA's signing certificate, not its CA, from a token openssl ts made", async () => {
    const token = await requestTimestamp(tsa.url, new TextEncoder().encode('checkpoint statement'));
    const cert = tsaCertificateOfToken(token);
    expect(cert?.fingerprint256).toBe(new X509Certificate(tsa.tsaCertPem).fingerprint256);
  });

  it('is undefined for bytes that are no token', () => {
    expect(tsaCertificateOfToken(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]))).toBeUndefined();
  });
});
