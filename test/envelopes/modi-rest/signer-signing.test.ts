/**
 * ModI REST tokens signed through the node's `Signer` (the interface a PKCS#11 key signs behind), not
 * through a KeyObject: the JWS signing input goes to the signer, and the token is checked against its
 * certificate before it is handed out.
 */
import { describe, expect, it } from 'vitest';
import { buildModiRestRequestHeaders } from '../../../envelopes/modi-rest/rest-message-headers.js';
import { verifyModiRestMessage } from '../../../envelopes/modi-rest/rest-message-verify.js';
import type { ModiRestAlgorithm } from '../../../envelopes/modi-rest/modi-rest-patterns.js';
import type { Signer } from '../../../src/core/signer.js';
import type { TestSigner } from '../../fixtures/test-pki.js';
import { restTestKeys } from './rest-test-keys.js';

const AUD = 'https://regione.example.it/rest/anagrafe/v1';
const BODY = Buffer.from('{"codiceFiscale":"RSSMRA80A01H501U"}');
const PATTERNS = { idAuth: 'ID_AUTH_REST_02', integrity: 'INTEGRITY_REST_01' } as const;
restTestKeys();
const now = new Date();

/** The signer with nothing of its key in sight: what a token-held key looks like to the signing code. */
function keyless(signer: TestSigner, sign: Signer['sign'] = (data, opts) => signer.sign(data, opts)): Signer {
  const { algorithm, certificate, certPem, chain } = signer;
  return { algorithm, certificate, certPem, chain, keyDescription: 'a key the test holds elsewhere', sign };
}

const build = (signer: Signer, alg: ModiRestAlgorithm) =>
  buildModiRestRequestHeaders(
    { audience: AUD, now, ttlSeconds: 300, body: BODY, headers: { 'Content-Type': 'application/json' } },
    PATTERNS,
    { privateKey: signer, alg, certificates: [signer.certificate] },
  );

describe('ModI REST tokens signed through a Signer', () => {
  it.each<[ModiRestAlgorithm, 'rsa' | 'ec']>([
    ['RS256', 'rsa'],
    ['ES256', 'ec'],
  ])('%s: the tokens verify, with the signer named by x5c', async (alg, kind) => {
    const { pki, ec } = restTestKeys();
    const signer = kind === 'rsa' ? pki.comuneA : ec;
    const built = await build(keyless(signer), alg);
    const verified = await verifyModiRestMessage({ headers: built.headers, body: BODY }, PATTERNS, {
      at: now,
      skewSeconds: 5,
      audience: AUD,
      trust: pki.trust,
    });
    expect(verified.patterns).toEqual(['ID_AUTH_REST_02', 'INTEGRITY_REST_01']);
    expect(verified.idAuth!.signer!.fingerprint256).toBe(signer.certificate.fingerprint256);
  });

  it('refuses an alg its key does not make (an RSA key asked for ES256)', async () => {
    await expect(build(keyless(restTestKeys().pki.comuneA), 'ES256')).rejects.toMatchObject({ code: 'TRAMITE_ERR_KEY_INVALID' });
  });

  it('refuses to hand out a token the signer signed wrongly (a token or HSM that misbehaves)', async () => {
    const broken = keyless(restTestKeys().pki.comuneA, async () => Buffer.alloc(256, 7));
    await expect(build(broken, 'RS256')).rejects.toMatchObject({
      code: 'TRAMITE_ERR_KEY_INVALID',
      message: expect.stringContaining('does not verify'),
    });
  });
});
