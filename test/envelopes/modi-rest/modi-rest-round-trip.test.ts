import { describe, expect, it } from 'vitest';
import { bodyDigest } from '../../../envelopes/modi-rest/body-digest.js';
import { buildModiRestRequestHeaders, buildModiRestResponseHeaders } from '../../../envelopes/modi-rest/rest-message-headers.js';
import { verifyModiRestMessage } from '../../../envelopes/modi-rest/rest-message-verify.js';
import type { RestVerifyPolicy } from '../../../envelopes/modi-rest/rest-token-verify.js';
import { auditTokenDigest } from '../../../envelopes/modi-rest/rest-token-claims.js';
import { certificateThumbprint } from '../../../envelopes/modi-rest/jws-signing.js';
import type { ModiRestAlgorithm } from '../../../envelopes/modi-rest/modi-rest-patterns.js';
import { TramiteError } from '../../../src/core/errors.js';
import { SIGNER_EXTENSIONS, issueWithOpenssl } from '../../fixtures/openssl-certs.js';
import { pdndKey, restTestKeys, x509Key, REST_AUDIENCE, restPolicy } from './rest-test-keys.js';

const AUD = REST_AUDIENCE;
const BODY = Buffer.from('{"codiceFiscale":"RSSMRA80A01H501U","richiesta":"residenza"}');
// The keys first: the EC certificate's notBefore is the second openssl issued it.
restTestKeys();
const now = new Date();

const policy = (extra: Partial<RestVerifyPolicy> = {}): RestVerifyPolicy => restPolicy(now, extra);

describe('ModI REST request headers, built and verified', () => {
  it.each<[ModiRestAlgorithm, 'rsa' | 'ec']>([
    ['RS256', 'rsa'],
    ['RS512', 'rsa'],
    ['ES256', 'ec'],
  ])('ID_AUTH_REST_02 + INTEGRITY_REST_01 signed with %s verify, with the exact Digest and signed headers', async (alg, kind) => {
    const { pki, ec } = restTestKeys();
    const signer = kind === 'rsa' ? pki.comuneA : ec;
    const built = await buildModiRestRequestHeaders(
      {
        audience: AUD,
        issuer: 'ComuneA',
        subject: 'anagrafe-client',
        now,
        ttlSeconds: 300,
        body: BODY,
        headers: { 'Content-Type': 'application/json' },
      },
      { idAuth: 'ID_AUTH_REST_02', integrity: 'INTEGRITY_REST_01' },
      x509Key(signer, alg),
    );
    expect(built.headers.Digest).toBe(bodyDigest(BODY));
    expect(built.headers.Digest).toMatch(/^SHA-256=[A-Za-z0-9+/]{43}=$/);
    expect(built.headers.Authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);

    const verified = await verifyModiRestMessage(
      { headers: built.headers, body: BODY },
      { idAuth: 'ID_AUTH_REST_02', integrity: 'INTEGRITY_REST_01' },
      policy(),
    );
    expect(verified.patterns).toEqual(['ID_AUTH_REST_02', 'INTEGRITY_REST_01']);
    expect(verified.idAuth!.header.alg).toBe(alg);
    expect(verified.idAuth!.signer!.fingerprint256).toBe(signer.certificate.fingerprint256);
    expect(verified.idAuth!.claims).toMatchObject({ iss: 'ComuneA', sub: 'anagrafe-client', aud: AUD });
    expect(verified.idAuth!.claims.exp - verified.idAuth!.claims.iat).toBe(300);
    expect(verified.integrity!.signedHeaders).toEqual([
      ['digest', built.headers.Digest],
      ['content-type', 'application/json'],
    ]);
    expect(verified.digest).toBe(built.headers.Digest);
  });

  it('x5t#S256 instead of x5c verifies when the certificate is known by thumbprint', async () => {
    const { pki } = restTestKeys();
    const built = await buildModiRestRequestHeaders(
      { audience: AUD, now, ttlSeconds: 60 },
      { idAuth: 'ID_AUTH_REST_01' },
      x509Key(pki.comuneA, 'RS256', 'x5t#S256'),
    );
    const thumb = certificateThumbprint(pki.comuneA.certificate);
    const verified = await verifyModiRestMessage(
      { headers: built.headers, body: new Uint8Array() },
      { idAuth: 'ID_AUTH_REST_01' },
      policy({ certificateByThumbprint: (t) => (t === thumb ? pki.comuneA.certificate : undefined) }),
    );
    expect(verified.idAuth!.header['x5t#S256']).toBe(thumb);
    expect(verified.idAuth!.header.x5c).toBeUndefined();
  });

  it('INTEGRITY_REST_02 with a PDND kid verifies through the kid lookup', async () => {
    const built = await buildModiRestRequestHeaders(
      { audience: AUD, issuer: 'client-uuid', subject: 'client-uuid', now, ttlSeconds: 60, body: BODY },
      { integrity: 'INTEGRITY_REST_02' },
      pdndKey(),
    );
    expect(built.headers.Authorization).toBeUndefined();
    const verified = await verifyModiRestMessage({ headers: built.headers, body: BODY }, { integrity: 'INTEGRITY_REST_02' }, policy());
    expect(verified.patterns).toEqual(['INTEGRITY_REST_02']);
    expect(verified.integrity!.kid).toBe('pdnd-kid-7f3a');
  });

  it('AUDIT_REST_01 carries the audit claims; AUDIT_REST_02 is bound to the voucher by the hex SHA-256 of the token', async () => {
    const { pki } = restTestKeys();
    const audit = { claims: { userID: 'mario.rossi', userLocation: 'PDL-042', LoA: 'substantial' }, purposeId: 'purpose-1' };
    const one = await buildModiRestRequestHeaders(
      { audience: AUD, now, ttlSeconds: 60 },
      { idAuth: 'ID_AUTH_REST_01', audit: { pattern: 'AUDIT_REST_01', ...audit } },
      x509Key(pki.comuneA, 'RS256'),
    );
    const v1 = await verifyModiRestMessage(
      { headers: one.headers, body: new Uint8Array() },
      { idAuth: 'ID_AUTH_REST_01', audit: { pattern: 'AUDIT_REST_01', purposeId: 'purpose-1' } },
      policy(),
    );
    expect(v1.patterns).toEqual(['ID_AUTH_REST_01', 'AUDIT_REST_01']);
    expect(v1.audit!.claims).toMatchObject(audit.claims);

    const two = await buildModiRestRequestHeaders(
      { audience: AUD, now, ttlSeconds: 60 },
      { audit: { pattern: 'AUDIT_REST_02', ...audit } },
      x509Key(pki.comuneA, 'RS256'),
      pdndKey(),
    );
    expect(two.auditDigest).toEqual(auditTokenDigest(two.tokens.trackingEvidence!));
    expect(two.auditDigest!.value).toMatch(/^[0-9a-f]{64}$/);
    const v2 = await verifyModiRestMessage(
      { headers: two.headers, body: new Uint8Array() },
      {
        audit: {
          pattern: 'AUDIT_REST_02',
          purposeId: 'purpose-1',
          voucherDigest: { alg: 'SHA256', value: two.auditDigest!.value.toUpperCase() },
        },
      },
      policy(),
    );
    expect(v2.audit!.claims.dnonce).toBeGreaterThanOrEqual(1e12);
  });

  it('a signed response names the consumer as aud and repeats the request Digest in request_digest', async () => {
    const { pki } = restTestKeys();
    const request = await buildModiRestRequestHeaders(
      { audience: AUD, now, ttlSeconds: 60, body: BODY },
      { integrity: 'INTEGRITY_REST_01' },
      x509Key(pki.comuneA, 'RS256'),
    );
    const answer = Buffer.from('{"residenza":"Roma"}');
    const response = await buildModiRestResponseHeaders(
      {
        audience: 'ComuneA',
        issuer: 'Regione',
        now,
        ttlSeconds: 60,
        body: answer,
        headers: { 'Content-Type': 'application/json; charset=UTF-8' },
      },
      { integrity: 'INTEGRITY_REST_01', requestDigest: request.digest! },
      x509Key(pki.regione, 'RS256'),
    );
    const verified = await verifyModiRestMessage(
      // Media types compare as parsed: charset's case and quoting do not matter.
      { headers: { ...response.headers, 'Content-Type': 'application/json;charset="utf-8"' }, body: answer },
      { integrity: 'INTEGRITY_REST_01', requestDigest: request.digest! },
      policy({ audience: 'ComuneA' }),
    );
    expect(verified.integrity!.claims.request_digest).toBe(request.digest);
  });

  it('an empty body carries no Digest or signature by default', async () => {
    const { pki } = restTestKeys();
    const built = await buildModiRestRequestHeaders(
      { audience: AUD, now, ttlSeconds: 60 },
      { idAuth: 'ID_AUTH_REST_01', integrity: 'INTEGRITY_REST_01' },
      x509Key(pki.comuneA, 'RS256'),
    );
    expect(Object.keys(built.headers)).toEqual(['Authorization']);
    const verified = await verifyModiRestMessage(
      { headers: built.headers, body: new Uint8Array() },
      { idAuth: 'ID_AUTH_REST_01', integrity: 'INTEGRITY_REST_01' },
      policy(),
    );
    expect(verified.patterns).toEqual(['ID_AUTH_REST_01']);
  });

  it('x5c carries the chain in standard base64: a signer under an intermediate CA verifies against the root alone', async () => {
    const { pki } = restTestKeys();
    const intermediate = issueWithOpenssl({
      issuer: pki.ca,
      subject: '/C=IT/O=Tramite/CN=Intermediate CA',
      key: 'rsa',
      extensions: ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign'],
    });
    const leaf = issueWithOpenssl({
      issuer: intermediate,
      subject: '/C=IT/O=SPC/CN=ComuneChain',
      key: 'rsa',
      extensions: SIGNER_EXTENSIONS,
    });
    const at = new Date(Date.now() + 1000);
    const built = await buildModiRestRequestHeaders(
      { audience: AUD, now: at, ttlSeconds: 60 },
      { idAuth: 'ID_AUTH_REST_01' },
      { privateKey: leaf.privateKey, alg: 'RS256', certificates: [leaf.certificate, intermediate.certificate] },
    );
    const header = JSON.parse(Buffer.from(built.tokens.authorization!.split('.')[0]!, 'base64url').toString()) as { x5c: string[] };
    expect(header.x5c).toHaveLength(2);
    for (const c of header.x5c) expect(c).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const verified = await verifyModiRestMessage(
      { headers: built.headers, body: new Uint8Array() },
      { idAuth: 'ID_AUTH_REST_01' },
      policy({ at }),
    );
    expect(verified.idAuth!.chain!.map((c) => c.subject.split('\n').at(-1))).toEqual([
      'CN=ComuneChain',
      'CN=Intermediate CA',
      'CN=Tramite Dev CA',
    ]);
  });

  it("bindSigner's refusal is the verifier's answer (the certificate is bound to a party by configuration)", async () => {
    const { pki } = restTestKeys();
    const built = await buildModiRestRequestHeaders(
      { audience: AUD, now, ttlSeconds: 60 },
      { idAuth: 'ID_AUTH_REST_01' },
      x509Key(pki.regione, 'RS256'),
    );
    const bindSigner = (cert: { fingerprint256: string }) => {
      if (cert.fingerprint256 !== pki.comuneA.certificate.fingerprint256)
        throw new TramiteError('TRAMITE_ERR_FORBIDDEN', 'not the party ComuneA');
    };
    await expect(
      verifyModiRestMessage({ headers: built.headers, body: new Uint8Array() }, { idAuth: 'ID_AUTH_REST_01' }, policy({ bindSigner })),
    ).rejects.toThrow('not the party ComuneA');
  });
});
