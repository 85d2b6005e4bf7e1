/**
 * Differential: jose is our library, so the checks here use other implementations. Tokens we make
 * verify under `openssl dgst -verify` over the JWS signing input (ES256's r||s converted to DER), the
 * Digest and the audit digest match python3's hashlib; tokens openssl signs (header and payload
 * assembled here, the signature made by openssl) verify under ours, and fail once a byte changes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildModiRestRequestHeaders } from '../../../envelopes/modi-rest/rest-message-headers.js';
import { verifyModiRestMessage } from '../../../envelopes/modi-rest/rest-message-verify.js';
import { ModiRestError } from '../../../envelopes/modi-rest/modi-rest-error.js';
import type { ModiRestAlgorithm } from '../../../envelopes/modi-rest/modi-rest-patterns.js';
import type { TestSigner } from '../../fixtures/test-pki.js';
import type { Signer } from '../../../src/core/signer.js';
import { restTestKeys, x509Key } from './rest-test-keys.js';

const AUD = 'urn:regione:anagrafe:v1';
const BODY = Buffer.from('{"nome":"Mario","comune":"Città di Castello"}\n');
restTestKeys();
const now = new Date();
const dir = mkdtempSync(join(tmpdir(), 'tramite-modi-rest-diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HASH: Record<string, string> = { RS256: '-sha256', RS512: '-sha512', ES256: '-sha256' };

/** ECDSA r||s (JWS) → DER ECDSA-Sig-Value (openssl), and back. */
function rawToDer(raw: Buffer): Buffer {
  const int = (b: Buffer) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    let v = b.subarray(i);
    if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return Buffer.concat([Buffer.from([0x02, v.length]), v]);
  };
  const half = raw.length / 2;
  const body = Buffer.concat([int(raw.subarray(0, half)), int(raw.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

function derToRaw(der: Buffer, size: number): Buffer {
  let at = 2;
  const read = () => {
    const len = der[at + 1]!;
    const v = der.subarray(at + 2, at + 2 + len);
    at += 2 + len;
    const trimmed = v.subarray(Math.max(0, v.length - size));
    return Buffer.concat([Buffer.alloc(size - trimmed.length), trimmed]);
  };
  return Buffer.concat([read(), read()]);
}

function opensslVerifies(token: string, signer: TestSigner, alg: string): boolean {
  const [h, p, s] = token.split('.') as [string, string, string];
  const sig = Buffer.from(s, 'base64url');
  writeFileSync(join(dir, 'input'), `${h}.${p}`);
  writeFileSync(join(dir, 'sig'), alg.startsWith('ES') ? rawToDer(sig) : sig);
  writeFileSync(join(dir, 'pub.pem'), signer.certificate.publicKey.export({ type: 'spki', format: 'pem' }));
  try {
    execFileSync('openssl', ['dgst', HASH[alg]!, '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig'), join(dir, 'input')], {
      stdio: 'pipe',
    });
    return true;
  } catch {
    return false;
  }
}

function opensslSign(input: string, signer: TestSigner, alg: string): string {
  writeFileSync(join(dir, 'input'), input);
  writeFileSync(join(dir, 'key.pem'), signer.keyPem);
  const sig = execFileSync('openssl', ['dgst', HASH[alg]!, '-sign', join(dir, 'key.pem'), join(dir, 'input')]);
  return (alg.startsWith('ES') ? derToRaw(sig, 32) : sig).toString('base64url');
}

const python = (script: string, input: Buffer | string) => execFileSync('python3', ['-c', script], { input }).toString().trim();
const PY_DIGEST =
  'import sys,hashlib,base64; print("SHA-256="+base64.b64encode(hashlib.sha256(sys.stdin.buffer.read()).digest()).decode())';
const PY_HEX = 'import sys,hashlib; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())';

const signers = (): Array<[ModiRestAlgorithm, TestSigner]> => {
  const { pki, ec } = restTestKeys();
  return [
    ['RS256', pki.comuneA],
    ['RS512', pki.comuneA],
    ['ES256', ec],
  ];
};

describe('ModI REST tokens against independent implementations', () => {
  it.each(['RS256', 'RS512', 'ES256'] as const)(
    'our %s tokens verify under openssl dgst -verify, and not once a byte changes',
    async (alg) => {
      const signer = signers().find(([a]) => a === alg)![1];
      const built = await buildModiRestRequestHeaders(
        { audience: AUD, now, ttlSeconds: 300, body: BODY, headers: { 'Content-Type': 'application/json' } },
        { idAuth: 'ID_AUTH_REST_02', integrity: 'INTEGRITY_REST_01' },
        x509Key(signer, alg),
      );
      for (const token of [built.tokens.authorization!, built.tokens.signature!]) {
        expect(opensslVerifies(token, signer, alg)).toBe(true);
        const [h, p, s] = token.split('.');
        const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
        const altered = Buffer.from(JSON.stringify({ ...payload, aud: 'urn:altro' })).toString('base64url');
        expect(opensslVerifies(`${h}.${altered}.${s}`, signer, alg)).toBe(false);
      }
      // Digest as python's hashlib + base64 computes it over the same bytes.
      expect(built.headers.Digest).toBe(python(PY_DIGEST, BODY));
    },
  );

  it.each(['RS256', 'ES256'] as const)(
    'tokens signed through a Signer (the path of a key on a token) verify under openssl dgst -verify with %s',
    async (alg) => {
      const signer = signers().find(([a]) => a === alg)![1];
      const built = await buildModiRestRequestHeaders(
        { audience: AUD, now, ttlSeconds: 300, body: BODY, headers: { 'Content-Type': 'application/json' } },
        { idAuth: 'ID_AUTH_REST_02', integrity: 'INTEGRITY_REST_01' },
        // The Signer itself, not its KeyObject: signCompactJws asks it to sign the JWS signing input.
        { privateKey: signer as Signer, alg, certificates: [signer.certificate] },
      );
      for (const token of [built.tokens.authorization!, built.tokens.signature!]) expect(opensslVerifies(token, signer, alg)).toBe(true);
    },
  );

  it('the x5c certificate is the DER openssl reads, and the AUDIT_REST_02 digest is hashlib hex of the token', async () => {
    const { pki } = restTestKeys();
    const built = await buildModiRestRequestHeaders(
      { audience: AUD, now, ttlSeconds: 60 },
      { idAuth: 'ID_AUTH_REST_01', audit: { pattern: 'AUDIT_REST_02', claims: { userID: 'u', userLocation: 'l', LoA: 'low' } } },
      x509Key(pki.comuneA, 'RS256'),
    );
    const header = JSON.parse(Buffer.from(built.tokens.authorization!.split('.')[0]!, 'base64url').toString()) as { x5c: string[] };
    const subject = execFileSync('openssl', ['x509', '-inform', 'DER', '-noout', '-subject', '-nameopt', 'RFC2253'], {
      input: Buffer.from(header.x5c[0]!, 'base64'),
    }).toString();
    expect(subject).toContain('CN=ComuneA');
    expect(built.auditDigest!.value).toBe(python(PY_HEX, built.tokens.trackingEvidence!));
  });

  it.each(['RS256', 'RS512', 'ES256'] as const)(
    '%s tokens signed by openssl verify under ours, and a flipped signature byte is refused',
    async (alg) => {
      const { pki } = restTestKeys();
      const signer = signers().find(([a]) => a === alg)![1];
      const iat = Math.floor(now.getTime() / 1000);
      const digest = python(PY_DIGEST, BODY);
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const header = b64({ alg, typ: 'JWT', x5c: [signer.certificate.raw.toString('base64')] });
      const jws = (claims: Record<string, unknown>) => {
        const input = `${header}.${b64({ iss: 'other-impl', aud: AUD, iat, nbf: iat, exp: iat + 120, jti: `jti-${alg}-${Object.keys(claims).length}`, ...claims })}`;
        return `${input}.${opensslSign(input, signer, alg)}`;
      };
      const authorization = jws({});
      const signature = jws({ signed_headers: [{ digest }, { 'content-type': 'application/json' }] });
      const headers = {
        authorization: `Bearer ${authorization}`,
        'agid-jwt-signature': signature,
        digest,
        'content-type': 'application/json',
      };
      const policy = { at: now, skewSeconds: 5, audience: AUD, trust: pki.trust };
      const expectation = { idAuth: 'ID_AUTH_REST_02', integrity: 'INTEGRITY_REST_01' } as const;
      const verified = await verifyModiRestMessage({ headers, body: BODY }, expectation, policy);
      expect(verified.idAuth!.claims.iss).toBe('other-impl');
      expect(verified.integrity!.signedHeaders.map(([n]) => n)).toEqual(['digest', 'content-type']);

      const sig = Buffer.from(signature.split('.')[2]!, 'base64url');
      sig[5] = sig[5]! ^ 0x01;
      const flipped = `${signature.split('.').slice(0, 2).join('.')}.${sig.toString('base64url')}`;
      const err = await verifyModiRestMessage(
        { headers: { ...headers, 'agid-jwt-signature': flipped }, body: BODY },
        expectation,
        policy,
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModiRestError);
      expect((err as ModiRestError).code).toBe('TRAMITE_ERR_MODI_REST_SIGNATURE');
    },
  );
});
