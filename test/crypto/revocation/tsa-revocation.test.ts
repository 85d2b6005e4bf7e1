/**
 * A TSA certificate issued by an `openssl ca` CA, time-stamps made by `openssl ts -reply`: the token
 * verifies while the TSA certificate is good, and is refused once the CRL lists it as revoked before
 * the token's genTime.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecurityError } from '../../../src/core/errors.js';
import { verifyTimestampToken } from '../../../src/crypto/rfc3161/index.js';
import { RevocationChecker } from '../../../src/crypto/revocation/revocation-checker.js';
import { AnchorPolicies } from '../../../src/crypto/revocation/revocation-policy.js';
import { OpensslCa, type IssuedCert } from '../../fixtures/openssl-ca.js';

let dir: string;
let ca: OpensslCa;
let tsa: IssuedCert;
const data = Buffer.from('checkpoint statement');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-tsa-revocation-'));
  ca = OpensslCa.create(join(dir, 'ca'), 'TSA Revocation CA');
  tsa = ca.issue('TestTSA', {
    subject: '/C=IT/O=SPC/CN=Test TSA',
    extensions: ['keyUsage = critical, digitalSignature', 'extendedKeyUsage = critical, timeStamping'],
  });
  writeFileSync(join(dir, 'tsaserial'), '01\n');
  writeFileSync(
    join(dir, 'ts.cnf'),
    [
      '[tsa]',
      'default_tsa = tsa_config',
      '[tsa_config]',
      `serial = ${join(dir, 'tsaserial')}`,
      'crypto_device = builtin',
      'default_policy = 1.3.6.1.4.1.99999.1',
      'digests = sha256',
      'signer_digest = sha256',
      'ess_cert_id_alg = sha256',
      'accuracy = secs:1',
      '',
    ].join('\n'),
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function timestamp(): Uint8Array {
  writeFileSync(join(dir, 'data.bin'), data);
  execFileSync('openssl', ['ts', '-query', '-data', 'data.bin', '-sha256', '-cert', '-out', 'q.tsq'], { cwd: dir, stdio: 'pipe' });
  execFileSync(
    'openssl',
    [
      'ts',
      '-reply',
      '-config',
      'ts.cnf',
      '-queryfile',
      'q.tsq',
      '-signer',
      tsa.certFile,
      '-inkey',
      tsa.keyFile,
      '-chain',
      ca.certFile,
      '-token_out',
      '-out',
      'token.der',
    ],
    { cwd: dir, stdio: 'pipe' },
  );
  return readFileSync(join(dir, 'token.der'));
}

function checker(crlFile: string): RevocationChecker {
  return new RevocationChecker({
    policies: new AnchorPolicies({ mode: 'hard', allowSha1Crl: false }),
    crlFiles: [crlFile],
    ocsp: false,
    fetchCrls: false,
    failureCacheSeconds: 0,
  });
}

describe('the TSA certificate against revocation', () => {
  it('verifies while the TSA certificate is good, and refuses with TRAMITE_ERR_CERT_REVOKED once it is revoked', async () => {
    const token = timestamp();
    const crl = ca.crl(join(dir, 'tsa.crl.pem'));
    const ok = await verifyTimestampToken(token, data, { trustedCerts: [ca.certPem], revocation: checker(crl) });
    expect(ok.tsa).toBe('CN=Test TSA, O=SPC, C=IT');

    // Revoked after the first token's genTime: a new token made now is refused.
    await new Promise((r) => setTimeout(r, 1100));
    ca.revoke(tsa);
    ca.crl(crl);
    await new Promise((r) => setTimeout(r, 1100));
    const later = timestamp();
    const err = await verifyTimestampToken(later, data, { trustedCerts: [ca.certPem], revocation: checker(crl) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SecurityError);
    expect((err as SecurityError).reason).toBe('TRAMITE_ERR_CERT_REVOKED');
    expect((err as SecurityError).message).toContain('TSA certificate "CN=Test TSA, O=SPC, C=IT"');
    // The token made before the revocation stays good: its TSA certificate was not revoked at its genTime.
    await verifyTimestampToken(token, data, { trustedCerts: [ca.certPem], revocation: checker(crl) });
    // Without a revocation check, the later token verifies as before.
    await verifyTimestampToken(later, data, { trustedCerts: [ca.certPem] });
  });
});
