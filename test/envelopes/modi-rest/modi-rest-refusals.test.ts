/**
 * Every refusal of issue 16's point 7 that belongs to the wire (the voucher's purpose and audience
 * are the PDND step's), each with its stable code, and the HTTP answer each one gets.
 */
import { createHmac } from 'node:crypto';
import { CompactSign, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { buildModiRestRequestHeaders } from '../../../envelopes/modi-rest/rest-message-headers.js';
import { verifyModiRestMessage, type RestExpectation } from '../../../envelopes/modi-rest/rest-message-verify.js';
import { verifyRestToken, type RestVerifyPolicy } from '../../../envelopes/modi-rest/rest-token-verify.js';
import { ModiRestError } from '../../../envelopes/modi-rest/modi-rest-error.js';
import { refusalProblem } from '../../../envelopes/modi-rest/modi-rest-problem.js';
import { DEFAULT_MODI_REST_LIMITS } from '../../../envelopes/modi-rest/modi-rest-patterns.js';
import type { TramiteCode } from '../../../src/core/error-codes.js';
import { pdndKey, restTestKeys, x509Key, REST_AUDIENCE, restPolicy, expectModiRefused as expectRefused } from './rest-test-keys.js';

const AUD = REST_AUDIENCE;
const BODY = Buffer.from('{"codiceFiscale":"RSSMRA80A01H501U"}');
restTestKeys();
const now = new Date();
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

const policy = (extra: Partial<RestVerifyPolicy> = {}): RestVerifyPolicy => restPolicy(now, extra);

const FULL: RestExpectation = { idAuth: 'ID_AUTH_REST_02', integrity: 'INTEGRITY_REST_01' };

async function signedRequest(opts: { at?: Date; ttl?: number; audience?: string; signer?: 'comuneA' | 'rogue' | 'expired' } = {}) {
  const { pki } = restTestKeys();
  return buildModiRestRequestHeaders(
    {
      audience: opts.audience ?? AUD,
      now: opts.at ?? now,
      ttlSeconds: opts.ttl ?? 300,
      notBefore: true,
      body: BODY,
      headers: { 'Content-Type': 'application/json' },
    },
    { idAuth: 'ID_AUTH_REST_02', integrity: 'INTEGRITY_REST_01' },
    x509Key(pki[opts.signer ?? 'comuneA'], 'RS256'),
  );
}

const verifyToken = (token: string, extra: Partial<RestVerifyPolicy> = {}) => verifyRestToken(token, 'Authorization', policy(extra));

describe('ModI REST refusals', () => {
  it('alg none is refused', async () => {
    const none = new UnsecuredJWT({ aud: AUD, iat: 1, exp: 2 }).encode();
    await expectRefused(verifyToken(none), 'TRAMITE_ERR_MODI_REST_ALG');
  });

  it('HS256 is refused, even keyed with the public certificate (algorithm confusion)', async () => {
    const { pki } = restTestKeys();
    const header = { alg: 'HS256', typ: 'JWT', x5c: [pki.comuneA.certificate.raw.toString('base64')] };
    const input = `${b64url(header)}.${b64url({ aud: AUD, iat: Math.floor(now.getTime() / 1000), exp: Math.floor(now.getTime() / 1000) + 60 })}`;
    const mac = createHmac('sha256', pki.comuneA.certPem).update(input).digest('base64url');
    await expectRefused(verifyToken(`${input}.${mac}`), 'TRAMITE_ERR_MODI_REST_ALG');
  });

  it('an alg outside a narrowed allow-list is refused', async () => {
    const { pki } = restTestKeys();
    const built = await buildModiRestRequestHeaders(
      { audience: AUD, now, ttlSeconds: 60 },
      { idAuth: 'ID_AUTH_REST_01' },
      x509Key(pki.comuneA, 'RS512'),
    );
    await expectRefused(verifyToken(built.tokens.authorization!, { algorithms: ['RS256'] }), 'TRAMITE_ERR_MODI_REST_ALG');
  });

  it('an unknown kid is refused', async () => {
    const key = { ...pdndKey(), kid: 'not-registered' };
    const built = await buildModiRestRequestHeaders(
      { audience: AUD, now, ttlSeconds: 60, body: BODY },
      { integrity: 'INTEGRITY_REST_02' },
      key,
    );
    await expectRefused(
      verifyModiRestMessage({ headers: built.headers, body: BODY }, { integrity: 'INTEGRITY_REST_02' }, policy()),
      'TRAMITE_ERR_MODI_REST_KID_UNKNOWN',
      'Agid-JWT-Signature',
    );
  });

  it('a token without x5c (kid only) is refused where X.509 trust is configured', async () => {
    const built = await buildModiRestRequestHeaders({ audience: AUD, now, ttlSeconds: 60 }, { idAuth: 'ID_AUTH_REST_01' }, pdndKey());
    await expectRefused(verifyToken(built.tokens.authorization!, { keyByKid: undefined }), 'TRAMITE_ERR_MODI_REST_CERT_MISSING');
  });

  it('a token with no certificate reference at all is refused', async () => {
    const { pki } = restTestKeys();
    const token = await new CompactSign(Buffer.from(JSON.stringify({ aud: AUD, iat: 1, exp: 2 })))
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .sign(pki.comuneA.privateKey);
    await expectRefused(verifyToken(token), 'TRAMITE_ERR_MODI_REST_CERT_MISSING');
  });

  it('an x5c chain to an untrusted CA is refused (same subject, other issuer)', async () => {
    const built = await signedRequest({ signer: 'rogue' });
    await expectRefused(
      verifyModiRestMessage({ headers: built.headers, body: BODY }, FULL, policy()),
      'TRAMITE_ERR_CERT_UNTRUSTED',
      'Authorization',
    );
  });

  it('an expired signer certificate is refused', async () => {
    const built = await signedRequest({ signer: 'expired' });
    await expectRefused(verifyModiRestMessage({ headers: built.headers, body: BODY }, FULL, policy()), 'TRAMITE_ERR_CERT_EXPIRED');
  });

  it('x5t#S256 that is not the x5c certificate is refused', async () => {
    const { pki } = restTestKeys();
    const token = await new CompactSign(Buffer.from(JSON.stringify({ aud: AUD, iat: 1, exp: 2 })))
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', x5c: [pki.comuneA.certificate.raw.toString('base64')], 'x5t#S256': 'A'.repeat(43) })
      .sign(pki.comuneA.privateKey);
    await expectRefused(verifyToken(token), 'TRAMITE_ERR_MODI_REST_THUMBPRINT');
  });

  it('a token signed by another key than its x5c certificate is refused', async () => {
    const { pki } = restTestKeys();
    const key = { ...x509Key(pki.comuneA, 'RS256'), privateKey: pki.regione.privateKey };
    const built = await buildModiRestRequestHeaders({ audience: AUD, now, ttlSeconds: 60 }, { idAuth: 'ID_AUTH_REST_01' }, key);
    await expectRefused(verifyToken(built.tokens.authorization!), 'TRAMITE_ERR_MODI_REST_SIGNATURE');
  });

  it('an expired token is refused, and one just inside the skew is not', async () => {
    const old = await signedRequest({ at: new Date(now.getTime() - 70_000), ttl: 60 });
    await expectRefused(verifyModiRestMessage({ headers: old.headers, body: BODY }, FULL, policy()), 'TRAMITE_ERR_MODI_REST_EXPIRED');
    const edge = await signedRequest({ at: new Date(now.getTime() - 62_000), ttl: 60 });
    await verifyModiRestMessage({ headers: edge.headers, body: BODY }, FULL, policy());
  });

  it('a token issued longer ago than the maximum age is refused', async () => {
    const stale = await signedRequest({ at: new Date(now.getTime() - 600_000), ttl: 3600 });
    await expectRefused(verifyModiRestMessage({ headers: stale.headers, body: BODY }, FULL, policy()), 'TRAMITE_ERR_MODI_REST_EXPIRED');
  });

  it('a not-yet-valid token (nbf and iat in the future beyond the skew) is refused', async () => {
    const future = await signedRequest({ at: new Date(now.getTime() + 60_000) });
    await expectRefused(
      verifyModiRestMessage({ headers: future.headers, body: BODY }, FULL, policy()),
      'TRAMITE_ERR_MODI_REST_NOT_YET_VALID',
    );
  });

  it('a token for another audience is refused', async () => {
    const other = await signedRequest({ audience: 'https://altro.example.it/rest/c030' });
    await expectRefused(verifyModiRestMessage({ headers: other.headers, body: BODY }, FULL, policy()), 'TRAMITE_ERR_MODI_REST_AUDIENCE');
  });

  it('a replayed jti is refused through the replay filter seam (ID_AUTH_REST_02)', async () => {
    const seen = new Set<string>();
    const replay = { accept: (ns: string, jti: string) => !seen.has(`${ns} ${jti}`) && Boolean(seen.add(`${ns} ${jti}`)) };
    const built = await signedRequest();
    await verifyModiRestMessage({ headers: built.headers, body: BODY }, FULL, policy({ replay }));
    await expectRefused(
      verifyModiRestMessage({ headers: built.headers, body: BODY }, FULL, policy({ replay })),
      'TRAMITE_ERR_MODI_REST_REPLAY',
    );
  });

  it('an ID_AUTH_REST_01 token and an audit token may be reused until they expire: only single-use tokens meet the replay filter', async () => {
    const { pki } = restTestKeys();
    const seen = new Set<string>();
    const replay = { accept: (ns: string, jti: string) => !seen.has(`${ns} ${jti}`) && Boolean(seen.add(`${ns} ${jti}`)) };
    const built = await buildModiRestRequestHeaders(
      { audience: AUD, now, ttlSeconds: 60 },
      {
        idAuth: 'ID_AUTH_REST_01',
        audit: { pattern: 'AUDIT_REST_01', claims: { userID: 'u', userLocation: 'l', LoA: 'low' }, purposeId: 'p' },
      },
      x509Key(pki.comuneA, 'RS256'),
    );
    const expectation = { idAuth: 'ID_AUTH_REST_01', audit: { pattern: 'AUDIT_REST_01' } } as const;
    for (let i = 0; i < 2; i++)
      await verifyModiRestMessage({ headers: built.headers, body: new Uint8Array() }, expectation, policy({ replay }));
    expect(seen.size).toBe(0);
  });

  it('a key that cannot make the alg is refused before signing', async () => {
    const { pki } = restTestKeys();
    const err = await buildModiRestRequestHeaders(
      { audience: AUD, now, ttlSeconds: 60 },
      { idAuth: 'ID_AUTH_REST_01' },
      x509Key(pki.comuneA, 'ES256'),
    ).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('TRAMITE_ERR_KEY_INVALID');
  });

  it('ID_AUTH_REST_02 without jti is refused', async () => {
    const { pki } = restTestKeys();
    const iat = Math.floor(now.getTime() / 1000);
    const token = await new CompactSign(Buffer.from(JSON.stringify({ aud: AUD, iat, exp: iat + 60 })))
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', x5c: [pki.comuneA.certificate.raw.toString('base64')] })
      .sign(pki.comuneA.privateKey);
    await expectRefused(
      verifyModiRestMessage(
        { headers: { authorization: `Bearer ${token}` }, body: new Uint8Array() },
        { idAuth: 'ID_AUTH_REST_02' },
        policy(),
      ),
      'TRAMITE_ERR_MODI_REST_MALFORMED',
    );
    await verifyModiRestMessage(
      { headers: { authorization: `Bearer ${token}` }, body: new Uint8Array() },
      { idAuth: 'ID_AUTH_REST_01' },
      policy(),
    );
  });

  it('one byte flipped anywhere in the body is refused by the Digest', async () => {
    const built = await signedRequest();
    for (const i of [0, 10, BODY.length - 1]) {
      const tampered = Buffer.from(BODY);
      tampered[i] = tampered[i]! ^ 0x01;
      await expectRefused(
        verifyModiRestMessage({ headers: built.headers, body: tampered }, FULL, policy()),
        'TRAMITE_ERR_MODI_REST_DIGEST',
        'Digest',
      );
    }
    // A trailing newline is other bytes too.
    await expectRefused(
      verifyModiRestMessage({ headers: built.headers, body: Buffer.concat([BODY, Buffer.from('\n')]) }, FULL, policy()),
      'TRAMITE_ERR_MODI_REST_DIGEST',
    );
  });

  it('a Digest in hex, or base64url without padding, does not match (base64 is the format)', async () => {
    const built = await signedRequest();
    const { createHash } = await import('node:crypto');
    for (const digest of [
      `SHA-256=${createHash('sha256').update(BODY).digest('hex')}`,
      `SHA-256=${createHash('sha256').update(BODY).digest('base64url')}`,
    ]) {
      await expectRefused(
        verifyModiRestMessage({ headers: { ...built.headers, Digest: digest }, body: BODY }, FULL, policy()),
        'TRAMITE_ERR_MODI_REST_SIGNED_HEADER',
      );
    }
  });

  it('a signed header altered in transit (one byte of Content-Type) is refused', async () => {
    const built = await signedRequest();
    await expectRefused(
      verifyModiRestMessage({ headers: { ...built.headers, 'Content-Type': 'application/jsoN+x' }, body: BODY }, FULL, policy()),
      'TRAMITE_ERR_MODI_REST_SIGNED_HEADER',
    );
    await expectRefused(
      verifyModiRestMessage({ headers: { ...built.headers, 'Content-Type': 'application/xml' }, body: BODY }, FULL, policy()),
      'TRAMITE_ERR_MODI_REST_SIGNED_HEADER',
    );
  });

  it('a Digest replaced together with the body (re-hashed by an attacker) fails the signed_headers comparison', async () => {
    const built = await signedRequest();
    const { bodyDigest } = await import('../../../envelopes/modi-rest/body-digest.js');
    const forged = Buffer.from('{"codiceFiscale":"VRDGPP80A01H501X"}');
    await expectRefused(
      verifyModiRestMessage({ headers: { ...built.headers, Digest: bodyDigest(forged) }, body: forged }, FULL, policy()),
      'TRAMITE_ERR_MODI_REST_SIGNED_HEADER',
    );
  });

  it('a byte flipped in a token signature, or a token without its signature, is refused', async () => {
    const built = await signedRequest();
    const token = built.tokens.signature!;
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    const flipped = `${token.slice(0, -2)}${last}${token.at(-1)}`;
    await expectRefused(
      verifyModiRestMessage({ headers: { ...built.headers, 'Agid-JWT-Signature': flipped }, body: BODY }, FULL, policy()),
      'TRAMITE_ERR_MODI_REST_SIGNATURE',
    );
    const [h, p] = token.split('.');
    await expectRefused(
      verifyModiRestMessage({ headers: { ...built.headers, 'Agid-JWT-Signature': `${h}.${p}.` }, body: BODY }, FULL, policy()),
      'TRAMITE_ERR_MODI_REST_MALFORMED',
    );
  });

  it('a repeated Authorization, a missing Agid-JWT-Signature, and signed_headers as an object are refused', async () => {
    const built = await signedRequest();
    await expectRefused(
      verifyModiRestMessage(
        { headers: { ...built.headers, Authorization: [built.headers.Authorization!, built.headers.Authorization!] }, body: BODY },
        FULL,
        policy(),
      ),
      'TRAMITE_ERR_MODI_REST_MALFORMED',
      'Authorization',
    );
    const { 'Agid-JWT-Signature': _, ...noSignature } = built.headers;
    await expectRefused(
      verifyModiRestMessage({ headers: noSignature, body: BODY }, FULL, policy()),
      'TRAMITE_ERR_MODI_REST_MALFORMED',
      'Agid-JWT-Signature',
    );
    const { pki } = restTestKeys();
    const iat = Math.floor(now.getTime() / 1000);
    const objectClaim = await new CompactSign(
      Buffer.from(JSON.stringify({ aud: AUD, iat, exp: iat + 60, signed_headers: { digest: built.headers.Digest } })),
    )
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', x5c: [pki.comuneA.certificate.raw.toString('base64')] })
      .sign(pki.comuneA.privateKey);
    await expectRefused(
      verifyModiRestMessage({ headers: { ...built.headers, 'Agid-JWT-Signature': objectClaim }, body: BODY }, FULL, policy()),
      'TRAMITE_ERR_MODI_REST_MALFORMED',
    );
  });

  it('a Digest on an empty body is refused unless the API allows it', async () => {
    const { pki } = restTestKeys();
    const built = await buildModiRestRequestHeaders(
      { audience: AUD, now, ttlSeconds: 60, signEmptyBody: true },
      { integrity: 'INTEGRITY_REST_01' },
      x509Key(pki.comuneA, 'RS256'),
    );
    const empty = { headers: built.headers, body: new Uint8Array() };
    await expectRefused(verifyModiRestMessage(empty, { integrity: 'INTEGRITY_REST_01' }, policy()), 'TRAMITE_ERR_MODI_REST_DIGEST');
    const ok = await verifyModiRestMessage(empty, { integrity: 'INTEGRITY_REST_01', emptyBody: 'require' }, policy());
    expect(ok.patterns).toEqual(['INTEGRITY_REST_01']);
  });

  it('a response not bound to its request (request_digest) is refused', async () => {
    const { pki } = restTestKeys();
    const { buildModiRestResponseHeaders } = await import('../../../envelopes/modi-rest/rest-message-headers.js');
    const answer = Buffer.from('{}');
    const response = await buildModiRestResponseHeaders(
      { audience: AUD, now, ttlSeconds: 60, body: answer },
      { integrity: 'INTEGRITY_REST_01', requestDigest: 'SHA-256=another-request' },
      x509Key(pki.regione, 'RS256'),
    );
    await expectRefused(
      verifyModiRestMessage(
        { headers: response.headers, body: answer },
        { integrity: 'INTEGRITY_REST_01', requestDigest: 'SHA-256=this-request' },
        policy(),
      ),
      'TRAMITE_ERR_MODI_REST_BINDING',
    );
  });

  it('AUDIT_REST_02 with a voucher digest of another audit token, or none, is refused', async () => {
    const { pki } = restTestKeys();
    const built = await buildModiRestRequestHeaders(
      { audience: AUD, now, ttlSeconds: 60 },
      { audit: { pattern: 'AUDIT_REST_02', claims: { userID: 'u', userLocation: 'l', LoA: 'high' }, purposeId: 'p' } },
      x509Key(pki.comuneA, 'RS256'),
      pdndKey(),
    );
    const message = { headers: built.headers, body: new Uint8Array() };
    const expectAudit = (voucherDigest: unknown, purposeId = 'p') => ({
      audit: { pattern: 'AUDIT_REST_02' as const, purposeId, voucherDigest },
    });
    await expectRefused(
      verifyModiRestMessage(message, expectAudit({ alg: 'SHA256', value: '0'.repeat(64) }), policy()),
      'TRAMITE_ERR_MODI_REST_BINDING',
    );
    await expectRefused(verifyModiRestMessage(message, expectAudit(undefined), policy()), 'TRAMITE_ERR_MODI_REST_BINDING');
    await expectRefused(
      verifyModiRestMessage(message, expectAudit(built.auditDigest, 'other-purpose'), policy()),
      'TRAMITE_ERR_MODI_REST_BINDING',
    );
    await verifyModiRestMessage(message, expectAudit(built.auditDigest), policy());
  });

  it('is bounded before parsing: an oversized token, too many headers', async () => {
    await expectRefused(verifyToken('a'.repeat(DEFAULT_MODI_REST_LIMITS.maxTokenChars + 1)), 'TRAMITE_ERR_MODI_REST_MALFORMED');
    const many = Object.fromEntries(Array.from({ length: DEFAULT_MODI_REST_LIMITS.maxHeaders + 1 }, (_, i) => [`x-h${i}`, 'v']));
    await expectRefused(verifyModiRestMessage({ headers: many, body: BODY }, FULL, policy()), 'TRAMITE_ERR_MODI_REST_MALFORMED', 'headers');
  });
});

describe('refusalProblem', () => {
  const err = (code: TramiteCode) => new ModiRestError(code, 'Authorization', 'x');
  it('answers a request refusal 400 InteroperabilityInvalidRequest as problem+json, with a generic detail', () => {
    const a = refusalProblem(err('TRAMITE_ERR_MODI_REST_DIGEST'), { direction: 'request' });
    expect(a).toMatchObject({
      status: 400,
      contentType: 'application/problem+json',
      body: { status: 400, title: 'InteroperabilityInvalidRequest' },
    });
    expect(a.body.code).toBeUndefined();
    expect(refusalProblem(err('TRAMITE_ERR_CERT_UNTRUSTED'), { direction: 'request' }).body.detail).toBe(a.body.detail);
  });
  it('answers a replay 409, a bad response 502, and discloses the code only when asked', () => {
    expect(refusalProblem(err('TRAMITE_ERR_MODI_REST_REPLAY'), { direction: 'request' }).status).toBe(409);
    expect(refusalProblem(err('TRAMITE_ERR_MODI_REST_REPLAY'), { direction: 'response' }).status).toBe(502);
    expect(refusalProblem(err('TRAMITE_ERR_MODI_REST_SIGNATURE'), { direction: 'response', disclose: true }).body).toMatchObject({
      status: 502,
      title: 'InteroperabilityInvalidResponse',
      code: 'TRAMITE_ERR_MODI_REST_SIGNATURE',
    });
  });
});
