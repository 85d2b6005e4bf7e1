/**
 * The rules an adversarial review of the verifier asked for (issue 16's review, findings 2–8): each
 * test fails on the verifier as it was before them.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { CompactSign, type CompactJWSHeaderParameters } from 'jose';
import { describe, expect, it } from 'vitest';
import { buildModiRestRequestHeaders, buildModiRestResponseHeaders } from '../../../envelopes/modi-rest/rest-message-headers.js';
import { verifyModiRestMessage, type RestExpectation } from '../../../envelopes/modi-rest/rest-message-verify.js';
import { verifyRestToken, type JtiReplayFilter, type RestVerifyPolicy } from '../../../envelopes/modi-rest/rest-token-verify.js';
import { joseHeaderFor, type RestSigningKey } from '../../../envelopes/modi-rest/jws-signing.js';
import { auditTokenDigest } from '../../../envelopes/modi-rest/rest-token-claims.js';
import { pdndKey, restTestKeys, x509Key, REST_AUDIENCE, restPolicy, expectModiRefused as expectRefused } from './rest-test-keys.js';

const AUD = REST_AUDIENCE;
const BODY = Buffer.from('{"codiceFiscale":"RSSMRA80A01H501U"}');
restTestKeys();
const now = new Date();
const NOW_S = Math.floor(now.getTime() / 1000);
const FULL: RestExpectation = { idAuth: 'ID_AUTH_REST_02', integrity: 'INTEGRITY_REST_01' };

const policy = (extra: Partial<RestVerifyPolicy> = {}): RestVerifyPolicy => restPolicy(now, extra);

/** An in-memory replay filter that records what it was asked. */
function memoryReplay(): JtiReplayFilter & { calls: Array<{ namespace: string; jti: string; until: Date }> } {
  const seen = new Set<string>();
  const calls: Array<{ namespace: string; jti: string; until: Date }> = [];
  return {
    calls,
    accept(namespace, jti, until) {
      calls.push({ namespace, jti, until });
      const key = `${namespace}|${jti}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    },
  };
}

/** A token with exactly these claims and header members, signed by `key`. */
async function token(claims: Record<string, unknown> | string, key: RestSigningKey, header: Partial<CompactJWSHeaderParameters> = {}) {
  const merged = { ...joseHeaderFor(key), ...header };
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete (merged as Record<string, unknown>)[name];
  return new CompactSign(Buffer.from(typeof claims === 'string' ? claims : JSON.stringify(claims)))
    .setProtectedHeader(merged as CompactJWSHeaderParameters)
    .sign(key.privateKey as KeyObject); // the tests' keys are in memory
}

const base = (extra: Record<string, unknown> = {}) => ({ aud: AUD, iat: NOW_S, exp: NOW_S + 60, jti: `j-${Math.random()}`, ...extra });

const comuneA = () => x509Key(restTestKeys().pki.comuneA, 'RS256');

describe('one message id (finding 2)', () => {
  it('a request whose two tokens share their jti (the builder given spec.jti) is accepted once, and refused as a replay after', async () => {
    const replay = memoryReplay();
    const built = await buildModiRestRequestHeaders(
      { audience: AUD, now, ttlSeconds: 60, jti: 'msg-0001', body: BODY, headers: { 'Content-Type': 'application/json' } },
      { idAuth: 'ID_AUTH_REST_02', integrity: 'INTEGRITY_REST_01' },
      comuneA(),
    );
    const verified = await verifyModiRestMessage({ headers: built.headers, body: BODY }, FULL, policy({ replay }));
    expect(verified.patterns).toEqual(['ID_AUTH_REST_02', 'INTEGRITY_REST_01']);
    expect(replay.calls.map((c) => c.jti)).toEqual(['msg-0001']);
    await expectRefused(
      verifyModiRestMessage({ headers: built.headers, body: BODY }, FULL, policy({ replay })),
      'TRAMITE_ERR_MODI_REST_REPLAY',
      'Authorization',
    );
  });

  it('an integrity token taken from an earlier message is still refused beside a fresh Authorization', async () => {
    const replay = memoryReplay();
    const spec = { audience: AUD, now, ttlSeconds: 60, body: BODY };
    const first = await buildModiRestRequestHeaders(spec, { idAuth: 'ID_AUTH_REST_02', integrity: 'INTEGRITY_REST_01' }, comuneA());
    await verifyModiRestMessage({ headers: first.headers, body: BODY }, FULL, policy({ replay }));
    const fresh = await buildModiRestRequestHeaders(spec, { idAuth: 'ID_AUTH_REST_02' }, comuneA());
    const spliced = { ...fresh.headers, Digest: first.digest!, 'Agid-JWT-Signature': first.tokens.signature! };
    await expectRefused(
      verifyModiRestMessage({ headers: spliced, body: BODY }, FULL, policy({ replay })),
      'TRAMITE_ERR_MODI_REST_REPLAY',
      'Agid-JWT-Signature',
    );
  });
});

describe('signers and binding (findings 3 and 8)', () => {
  it('ID_AUTH_REST_01/02 signed by a kid alone is refused even where keyByKid is configured, before the key is looked up', async () => {
    for (const idAuth of ['ID_AUTH_REST_01', 'ID_AUTH_REST_02'] as const) {
      const built = await buildModiRestRequestHeaders({ audience: AUD, now, ttlSeconds: 60 }, { idAuth }, pdndKey());
      const looked: string[] = [];
      const keyByKid = (kid: string) => {
        looked.push(kid);
        return restTestKeys().pdnd.publicKey;
      };
      await expectRefused(
        verifyModiRestMessage({ headers: built.headers, body: new Uint8Array() }, { idAuth }, policy({ keyByKid })),
        'TRAMITE_ERR_MODI_REST_CERT_MISSING',
        'Authorization',
      );
      expect(looked).toEqual([]);
    }
  });

  it('an Agid-JWT-Signature signed by another certificate than the Authorization token is refused', async () => {
    const { pki } = restTestKeys();
    const spec = { audience: AUD, now, ttlSeconds: 60, body: BODY };
    const byA = await buildModiRestRequestHeaders(spec, { idAuth: 'ID_AUTH_REST_02' }, comuneA());
    const byB = await buildModiRestRequestHeaders(spec, { integrity: 'INTEGRITY_REST_01' }, x509Key(pki.regione, 'RS256'));
    await expectRefused(
      verifyModiRestMessage({ headers: { ...byA.headers, ...byB.headers }, body: BODY }, FULL, policy()),
      'TRAMITE_ERR_MODI_REST_BINDING',
      'Agid-JWT-Signature',
    );
  });

  it('bindKid ties a PDND kid to the claims it may sign for, and sees the verified claims', async () => {
    const built = await buildModiRestRequestHeaders(
      { audience: AUD, now, ttlSeconds: 60, body: BODY, issuer: 'client-X', subject: 'client-X' },
      { integrity: 'INTEGRITY_REST_02' },
      pdndKey(),
    );
    const message = { headers: built.headers, body: BODY };
    const seen: Array<[string, unknown]> = [];
    const bindKid = (client: string) => (kid: string, claims: { iss?: string }) => {
      seen.push([kid, claims.iss]);
      if (claims.iss !== client) throw new Error(`kid ${kid} is not a key of ${client}`);
    };
    await verifyModiRestMessage(message, { integrity: 'INTEGRITY_REST_02' }, policy({ bindKid: bindKid('client-X') }));
    expect(seen).toEqual([[restTestKeys().pdnd.kid, 'client-X']]);
    const err = await expectRefused(
      verifyModiRestMessage(message, { integrity: 'INTEGRITY_REST_02' }, policy({ bindKid: bindKid('client-Y') })),
      'TRAMITE_ERR_MODI_REST_BINDING',
      'Agid-JWT-Signature',
    );
    expect(err.message).toContain('is not a key of client-Y');
  });

  it('bindSigner is asked only once the signature verified, and its plain Error becomes a ModiRestError', async () => {
    const asked: X509Certificate[] = [];
    const refuseAll = (signer: X509Certificate) => {
      asked.push(signer);
      throw new Error('not the expected party');
    };
    const good = await token(base(), comuneA());
    const [h, p, s] = good.split('.');
    const forged = `${h}.${p}.${s!.startsWith('A') ? 'B' : 'A'}${s!.slice(1)}`;
    await expectRefused(verifyRestToken(forged, 'Authorization', policy({ bindSigner: refuseAll })), 'TRAMITE_ERR_MODI_REST_SIGNATURE');
    expect(asked).toHaveLength(0);
    const err = await expectRefused(
      verifyRestToken(good, 'Authorization', policy({ bindSigner: refuseAll })),
      'TRAMITE_ERR_MODI_REST_BINDING',
      'Authorization',
    );
    expect(err.message).toBe('not the expected party');
    expect(err.signer).toContain('ComuneA');
    expect(asked).toHaveLength(1);
  });
});

describe('token lifetime (finding 4)', () => {
  it.each([
    ['exp = 1e300', { exp: 1e300 }],
    ['exp 100 years ahead', { exp: NOW_S + 100 * 365 * 86_400 }],
    ['exp an hour and a second after iat', { exp: NOW_S + 3601 }],
    ['exp before iat (within the skew of now)', { exp: NOW_S - 1 }],
    ['exp equal to iat, nbf after it', { exp: NOW_S + 1, iat: NOW_S + 1, nbf: NOW_S + 2 }],
    ['nbf after exp (both within the skew of now)', { exp: NOW_S + 3, nbf: NOW_S + 4 }],
  ])('%s is refused as malformed', async (_name, times) => {
    const replay = memoryReplay();
    const jws = await token(base(times), comuneA());
    await expectRefused(
      verifyRestToken(jws, 'Authorization', policy({ replay }), { filterReplay: true }),
      'TRAMITE_ERR_MODI_REST_MALFORMED',
    );
    expect(replay.calls).toHaveLength(0);
  });

  it('maxLifetimeSeconds is policy: a longer window passes when the API allows it, and the jti is kept no longer than exp + skew', async () => {
    const replay = memoryReplay();
    const jws = await token(base({ exp: NOW_S + 7200 }), comuneA());
    await verifyRestToken(jws, 'Authorization', policy({ replay, maxLifetimeSeconds: 7200 }), { filterReplay: true });
    expect(replay.calls[0]!.until.getTime()).toBe((NOW_S + 7200 + 5) * 1000);
  });

  it('without maxAgeSeconds a live verifier refuses an iat older than 300 s; "unbounded" is the offline choice', async () => {
    const jws = await token(base({ iat: NOW_S - 1000, exp: NOW_S + 60 }), comuneA());
    const { maxAgeSeconds: _omitted, ...live } = policy();
    await expectRefused(verifyRestToken(jws, 'Authorization', live), 'TRAMITE_ERR_MODI_REST_EXPIRED');
    const offline = await verifyRestToken(jws, 'Authorization', { ...live, maxAgeSeconds: 'unbounded' });
    expect(offline.claims.iat).toBe(NOW_S - 1000);
  });
});

describe('empty bodies and the response binding (finding 5)', () => {
  it('a response expected to repeat the request Digest is refused when it comes unsigned with an empty body', async () => {
    const expectation: RestExpectation = { integrity: 'INTEGRITY_REST_01', requestDigest: 'SHA-256=this-request' };
    await expectRefused(
      verifyModiRestMessage({ headers: {}, body: new Uint8Array() }, expectation, policy()),
      'TRAMITE_ERR_MODI_REST_BINDING',
      'Agid-JWT-Signature',
    );
    await expectRefused(
      verifyModiRestMessage({ headers: {}, body: new Uint8Array() }, { ...expectation, emptyBody: 'optional' }, policy()),
      'TRAMITE_ERR_MODI_REST_BINDING',
    );
  });

  it("'optional' takes an empty body with both a Digest and a signature or neither; 'require' wants both; 'refuse' neither", async () => {
    const { pki } = restTestKeys();
    const signed = await buildModiRestResponseHeaders(
      { audience: AUD, now, ttlSeconds: 60, signEmptyBody: true },
      { integrity: 'INTEGRITY_REST_01', requestDigest: 'SHA-256=this-request' },
      x509Key(pki.regione, 'RS256'),
    );
    const empty = new Uint8Array();
    const expectation = (emptyBody: 'refuse' | 'optional' | 'require'): RestExpectation => ({
      integrity: 'INTEGRITY_REST_01',
      requestDigest: 'SHA-256=this-request',
      emptyBody,
    });
    expect((await verifyModiRestMessage({ headers: signed.headers, body: empty }, expectation('optional'), policy())).patterns).toEqual([
      'INTEGRITY_REST_01',
    ]);
    expect((await verifyModiRestMessage({ headers: signed.headers, body: empty }, expectation('require'), policy())).patterns).toEqual([
      'INTEGRITY_REST_01',
    ]);
    await expectRefused(
      verifyModiRestMessage({ headers: signed.headers, body: empty }, expectation('refuse'), policy()),
      'TRAMITE_ERR_MODI_REST_DIGEST',
    );
    const unsigned = { headers: {}, body: empty };
    expect((await verifyModiRestMessage(unsigned, { integrity: 'INTEGRITY_REST_01', emptyBody: 'optional' }, policy())).patterns).toEqual(
      [],
    );
    await expectRefused(
      verifyModiRestMessage(unsigned, { integrity: 'INTEGRITY_REST_01', emptyBody: 'require' }, policy()),
      'TRAMITE_ERR_MODI_REST_MALFORMED',
      'Agid-JWT-Signature',
    );
    const digestOnly = { headers: { Digest: signed.digest! }, body: empty };
    await expectRefused(
      verifyModiRestMessage(digestOnly, { integrity: 'INTEGRITY_REST_01', emptyBody: 'optional' }, policy()),
      'TRAMITE_ERR_MODI_REST_MALFORMED',
      'Agid-JWT-Signature',
    );
  });
});

describe('audit claims (finding 6)', () => {
  const claims = (extra: Record<string, unknown>) =>
    base({
      userID: 'mario.rossi',
      userLocation: 'PDL-042',
      LoA: 'substantial',
      purposeId: 'purpose-1',
      dnonce: 1_234_567_890_123,
      ...extra,
    });
  const verifyAudit = async (jws: string) =>
    verifyModiRestMessage(
      { headers: { 'Agid-JWT-TrackingEvidence': jws }, body: new Uint8Array() },
      { audit: { pattern: 'AUDIT_REST_02', purposeId: 'purpose-1', voucherDigest: auditTokenDigest(jws) } },
      policy(),
    );

  it('a well-formed AUDIT_REST_02 token verifies (the control)', async () => {
    expect((await verifyAudit(await token(claims({}), pdndKey()))).patterns).toEqual(['AUDIT_REST_02']);
  });

  it.each<[string, Record<string, unknown>]>([
    ['userID null', { userID: null }],
    ['userLocation an object', { userLocation: {} }],
    ['LoA false', { LoA: false }],
    ['userID blank', { userID: '  ' }],
    ['dnonce negative', { dnonce: -1 }],
    ['dnonce of 3 digits', { dnonce: 123 }],
    ['dnonce of 14 digits', { dnonce: 12_345_678_901_234 }],
    ['dnonce a string', { dnonce: '1234567890123' }],
    ['no purposeId', { purposeId: undefined }],
    ['purposeId a number', { purposeId: 7 }],
    ['no jti', { jti: undefined }],
  ])('%s is refused as malformed', async (_name, extra) => {
    await expectRefused(verifyAudit(await token(claims(extra), pdndKey())), 'TRAMITE_ERR_MODI_REST_MALFORMED', 'Agid-JWT-TrackingEvidence');
  });
});

describe('typ (finding 7)', () => {
  it('a token without typ, or with another typ, is refused; typ is a media type, so "jwt" is JWT', async () => {
    await expectRefused(
      verifyRestToken(await token(base(), comuneA(), { typ: undefined }), 'Authorization', policy()),
      'TRAMITE_ERR_MODI_REST_MALFORMED',
    );
    await expectRefused(
      verifyRestToken(await token(base(), comuneA(), { typ: 'JOSE' }), 'Authorization', policy()),
      'TRAMITE_ERR_MODI_REST_MALFORMED',
    );
    await verifyRestToken(await token(base(), comuneA(), { typ: 'jwt' }), 'Authorization', policy());
  });

  it("typ: 'optional' accepts a peer that omits typ, never another value", async () => {
    await verifyRestToken(await token(base(), comuneA(), { typ: undefined }), 'Authorization', policy({ typ: 'optional' }));
    await expectRefused(
      verifyRestToken(await token(base(), comuneA(), { typ: 'at+jwt' }), 'Authorization', policy({ typ: 'optional' })),
      'TRAMITE_ERR_MODI_REST_MALFORMED',
    );
  });
});

describe('claim nesting (finding 8)', () => {
  // Written as text: JSON.stringify itself overflows on the deepest of these.
  const nested = (levels: number) => `${JSON.stringify(base()).slice(0, -1)},"d":${'['.repeat(levels)}"leaf"${']'.repeat(levels)}}`;

  it('claims nested deeper than 32 levels are refused as malformed; 32 levels verify', async () => {
    // The payload object is level 1: d holds 31 more.
    await verifyRestToken(await token(nested(31), comuneA()), 'Authorization', policy());
    await expectRefused(verifyRestToken(await token(nested(32), comuneA()), 'Authorization', policy()), 'TRAMITE_ERR_MODI_REST_MALFORMED');
    await expectRefused(
      verifyRestToken(await token(nested(9000), comuneA()), 'Authorization', policy()),
      'TRAMITE_ERR_MODI_REST_MALFORMED',
    );
  });
});

describe("signing (the review's sound checks)", () => {
  it('a P-256 key asked to sign ES384 or ES512 is refused with a typed error, not a DOMException', async () => {
    const { ec } = restTestKeys();
    for (const alg of ['ES384', 'ES512'] as const) {
      const err = await buildModiRestRequestHeaders(
        { audience: AUD, now, ttlSeconds: 60 },
        { idAuth: 'ID_AUTH_REST_01' },
        x509Key(ec, alg),
      ).catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('TRAMITE_ERR_KEY_INVALID');
    }
    await buildModiRestRequestHeaders({ audience: AUD, now, ttlSeconds: 60 }, { idAuth: 'ID_AUTH_REST_01' }, x509Key(ec, 'ES256'));
  });
});
