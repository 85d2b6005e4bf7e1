/**
 * Voucher verification on erogazione against the simulator's JWKS over loopback: a good voucher;
 * refusals for another audience, another purpose, expired, alg none and HS256 (the public key as
 * secret); an unknown kid after the simulator rotated its key costs ONE JWKS refetch, and further
 * unknown kids none (rate limit). Then the voucher in the wire package's verification: INTEGRITY_REST_02
 * and AUDIT_REST_02 with keys looked up by kid at the simulator, the audit token bound to the voucher.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModiRestRequestHeaders } from '../../envelopes/modi-rest/rest-message-headers.js';
import { verifyModiRestMessage } from '../../envelopes/modi-rest/rest-message-verify.js';
import { ModiRestError } from '../../envelopes/modi-rest/modi-rest-error.js';
import { fixedClock } from '../../src/core/clock.js';
import type { PdndSimulator, PdndSimulatorEndpoints } from '../../src/pdnd-simulator/pdnd-simulator.js';
import { PdndClientKeys } from '../../src/pdnd/client-key-lookup.js';
import { JwksCache } from '../../src/pdnd/jwks-cache.js';
import { VoucherCache } from '../../src/pdnd/voucher-cache.js';
import { type VoucherPolicy, verifyVoucher, verifyVoucherHeader, voucherAuditExpectation } from '../../src/pdnd/voucher-verifier.js';
import { AUDIENCE, CLIENT_ID, PURPOSE, apiClient, clientKey, comuneClient, startSimulator } from './pdnd-fixture.js';

let simulator: PdndSimulator;
let endpoints: PdndSimulatorEndpoints;
let jwks: JwksCache;
let policy: VoucherPolicy;
beforeAll(async () => {
  ({ simulator, endpoints } = await startSimulator({ lifespan: 300 }));
  jwks = new JwksCache({ url: endpoints.jwksUrl, minRefetchIntervalSeconds: 30 });
  policy = {
    keys: jwks,
    issuer: endpoints.issuer,
    audience: AUDIENCE,
    purposes: [PURPOSE],
    eserviceId: 'es-anagrafe',
    producerId: 'tenant-regione',
  };
});
afterAll(() => simulator.stop());

const voucher = async () => (await comuneClient(endpoints).requestVoucher({ purposeId: PURPOSE })).token;

async function code(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModiRestError);
  expect((err as ModiRestError).position).toBe('Authorization');
  return (err as ModiRestError).code;
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('verifyVoucher', () => {
  it('accepts a voucher of the simulator and returns it typed', async () => {
    const token = await voucher();
    const v = await verifyVoucherHeader({ authorization: [`Bearer ${token}`] }, policy);
    expect(v).toMatchObject({ clientId: CLIENT_ID, purposeId: PURPOSE, consumerId: 'tenant-comune', digest: undefined });
    expect(v.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a voucher for another audience, another purpose, another issuer, or another e-service', async () => {
    const token = await voucher();
    expect(await code(verifyVoucher(token, { ...policy, audience: 'urn:regione:tributi:v1' }))).toBe('TRAMITE_ERR_MODI_REST_AUDIENCE');
    expect(await code(verifyVoucher(token, { ...policy, purposes: ['purpose-tributi'] }))).toBe('TRAMITE_ERR_PDND_VOUCHER_PURPOSE');
    expect(await code(verifyVoucher(token, { ...policy, issuer: 'interop.pagopa.it' }))).toBe('TRAMITE_ERR_PDND_VOUCHER_ISSUER');
    expect(await code(verifyVoucher(token, { ...policy, eserviceId: 'es-other' }))).toBe('TRAMITE_ERR_PDND_VOUCHER_PURPOSE');
  });

  it('refuses an expired voucher (beyond the skew) and one not yet valid', async () => {
    const token = await voucher();
    const later = fixedClock(new Date(Date.now() + 400_000));
    expect(await code(verifyVoucher(token, { ...policy, clock: later }))).toBe('TRAMITE_ERR_MODI_REST_EXPIRED');
    const earlier = fixedClock(new Date(Date.now() - 120_000));
    expect(await code(verifyVoucher(token, { ...policy, clock: earlier }))).toBe('TRAMITE_ERR_MODI_REST_NOT_YET_VALID');
  });

  it('refuses alg none and HS256 signed with the public key as secret, and a changed payload', async () => {
    const token = await voucher();
    const [h, p] = token.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    const none = `${b64({ ...header, alg: 'none' })}.${p}.`;
    expect(await code(verifyVoucher(none, policy))).toBe('TRAMITE_ERR_MODI_REST_ALG');
    const pem = (await jwks.keyFor(header.kid as string))!.export({ type: 'spki', format: 'pem' });
    const hsInput = `${b64({ ...header, alg: 'HS256' })}.${p}`;
    const hs = `${hsInput}.${createHmac('sha256', pem).update(hsInput).digest('base64url')}`;
    expect(await code(verifyVoucher(hs, policy))).toBe('TRAMITE_ERR_MODI_REST_ALG');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${b64({ ...claims, purposeId: 'purpose-other' })}.${token.split('.')[2]}`;
    expect(await code(verifyVoucher(forged, { ...policy, purposes: ['purpose-other'] }))).toBe('TRAMITE_ERR_MODI_REST_SIGNATURE');
  });

  it('after a key rotation, an unknown kid costs one JWKS refetch; further unknown kids none until the interval passes', async () => {
    let offsetMs = 0;
    const clock = { now: () => new Date(Date.now() + offsetMs) };
    const cache = new JwksCache({ url: endpoints.jwksUrl, minRefetchIntervalSeconds: 30, clock });
    const p = { ...policy, keys: cache };
    await verifyVoucher(await voucher(), p);
    expect(cache.fetches).toBe(1);
    const oldVoucher = await voucher();
    simulator.rotateSigningKey();
    // Within the interval the new kid is refused without asking PDND again ...
    const fresh0 = await voucher();
    expect(await code(verifyVoucher(fresh0, p))).toBe('TRAMITE_ERR_MODI_REST_KID_UNKNOWN');
    expect(cache.fetches).toBe(1);
    // ... after it, one refetch finds it, shared by concurrent verifiers.
    offsetMs = 31_000;
    const fresh = await voucher();
    await Promise.all([verifyVoucher(fresh, p), verifyVoucher(fresh, p), verifyVoucher(fresh, p)]);
    expect(cache.fetches).toBe(2);
    // The old key stays published for a while: vouchers issued before the rotation still verify.
    await verifyVoucher(oldVoucher, p);
    const [h, rest] = [fresh.split('.')[0]!, fresh.split('.').slice(1).join('.')];
    const madeUp = `${b64({ ...JSON.parse(Buffer.from(h, 'base64url').toString()), kid: 'kid-made-up' })}.${rest}`;
    expect(await code(verifyVoucher(madeUp, p))).toBe('TRAMITE_ERR_MODI_REST_KID_UNKNOWN');
    expect(await code(verifyVoucher(madeUp, p))).toBe('TRAMITE_ERR_MODI_REST_KID_UNKNOWN');
    expect(cache.fetches).toBe(2);
  });
});

describe('a voucher with the wire package (INTEGRITY_REST_02 + AUDIT_REST_02)', () => {
  it('verifies the request with the client key found by kid at PDND and the audit token bound to the voucher digest', async () => {
    const body = Buffer.from('{"codiceFiscale":"RSSMRA80A01H501U"}');
    const pdndKey = { privateKey: clientKey.privateKey, alg: 'RS256' as const, kid: 'kid-comune-1' };
    const built = await buildModiRestRequestHeaders(
      {
        audience: AUDIENCE,
        issuer: CLIENT_ID,
        subject: CLIENT_ID,
        now: new Date(),
        ttlSeconds: 60,
        body,
        headers: { 'Content-Type': 'application/json' },
      },
      {
        integrity: 'INTEGRITY_REST_02',
        audit: { pattern: 'AUDIT_REST_02', claims: { userID: 'op1', userLocation: 'ufficio', LoA: 'substantial' }, purposeId: PURPOSE },
      },
      pdndKey,
    );
    const cache = new VoucherCache({ source: comuneClient(endpoints) });
    const issued = await cache.get(PURPOSE, built.auditDigest!);
    const headers = { ...built.headers, Authorization: `Bearer ${issued.token}` };

    const v = await verifyVoucherHeader(headers, { ...policy, keys: new JwksCache({ url: endpoints.jwksUrl }) });
    const providerApi = new VoucherCache({ source: apiClient(endpoints) });
    const keys = new PdndClientKeys({ apiUrl: endpoints.url, voucher: async () => (await providerApi.get(undefined)).token });
    const checked = await verifyModiRestMessage(
      { headers, body },
      { integrity: 'INTEGRITY_REST_02', audit: voucherAuditExpectation(v, 'AUDIT_REST_02') },
      { at: new Date(), skewSeconds: 60, audience: AUDIENCE, keyByKid: (kid) => keys.keyByKid(kid) },
    );
    expect(checked.patterns).toEqual(['INTEGRITY_REST_02', 'AUDIT_REST_02']);

    // A voucher bound to another audit token does not bind this one.
    const other = await cache.get(PURPOSE, { alg: 'SHA256', value: '00'.repeat(32) });
    const v2 = await verifyVoucher(other.token, { ...policy, keys: new JwksCache({ url: endpoints.jwksUrl }) });
    await expect(
      verifyModiRestMessage(
        { headers, body },
        { integrity: 'INTEGRITY_REST_02', audit: voucherAuditExpectation(v2, 'AUDIT_REST_02') },
        { at: new Date(), skewSeconds: 60, audience: AUDIENCE, keyByKid: (kid) => keys.keyByKid(kid) },
      ),
    ).rejects.toMatchObject({ code: 'TRAMITE_ERR_MODI_REST_BINDING' });
    expect(await keys.keyByKid('kid-nobody')).toBeUndefined();
    cache.close();
    providerApi.close();
  });
});
