/**
 * The simulator's token endpoint over real HTTP: a good client assertion gets a voucher with PDND's
 * claims (checked here, and its signature by openssl, an implementation other than jose); bad ones
 * get PDND's OAuth2 refusals. The registry is refused at load with the field named.
 */
import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/core/clock.js';
import { ConfigError } from '../../src/core/errors.js';
import type { PdndSimulator, PdndSimulatorEndpoints } from '../../src/pdnd-simulator/pdnd-simulator.js';
import { parseSimulatorRegistry } from '../../src/pdnd-simulator/simulator-registry.js';
import { PdndTokenError } from '../../src/pdnd/pdnd-token-error.js';
import { AUDIENCE, CLIENT_ID, PURPOSE, TENANT, clientKey, comuneClient, registryJson, startSimulator } from '../pdnd/pdnd-fixture.js';

let simulator: PdndSimulator;
let endpoints: PdndSimulatorEndpoints;
const dir = mkdtempSync(join(tmpdir(), 'tramite-pdnd-sim-'));
beforeAll(async () => ({ simulator, endpoints } = await startSimulator({ lifespan: 300 })));
afterAll(async () => {
  await simulator.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function refusal(p: Promise<unknown>): Promise<PdndTokenError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PdndTokenError);
  return err as PdndTokenError;
}

describe('PDND simulator: token endpoint', () => {
  it('issues an RS256 at+jwt voucher with the claims PDND puts in it, the assertion digest copied', async () => {
    const digest = { alg: 'SHA256' as const, value: 'ab'.repeat(32) };
    const v = await comuneClient(endpoints).requestVoucher({ purposeId: PURPOSE, digest });
    const header = decodeProtectedHeader(v.token);
    expect(header).toMatchObject({ alg: 'RS256', typ: 'at+jwt', kid: simulator.keys.current.kid });
    const c = decodeJwt(v.token);
    expect(c).toMatchObject({
      iss: endpoints.issuer,
      sub: CLIENT_ID,
      client_id: CLIENT_ID,
      aud: AUDIENCE,
      purposeId: PURPOSE,
      consumerId: TENANT,
      producerId: 'tenant-regione',
      eserviceId: 'es-anagrafe',
      descriptorId: 'd-1',
      digest,
    });
    expect(c.nbf).toBe(c.iat);
    expect(c.exp! - c.iat!).toBe(300);
    expect(v.jti).toBe(c.jti);
    expect(v.expiresAt.getTime()).toBe(c.exp! * 1000);
  });

  it('differential: the voucher signature verifies under openssl dgst -verify with the JWKS key, and not once a byte changes', async () => {
    const v = await comuneClient(endpoints).requestVoucher({ purposeId: PURPOSE });
    const kid = decodeProtectedHeader(v.token).kid;
    const jwks = (await (await request(endpoints.jwksUrl)).body.json()) as { keys: { kid: string }[] };
    const jwk = jwks.keys.find((k) => k.kid === kid)!;
    writeFileSync(join(dir, 'pub.pem'), createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }));
    const [h, p, s] = v.token.split('.') as [string, string, string];
    writeFileSync(join(dir, 'sig'), Buffer.from(s, 'base64url'));
    const verify = (input: string) => {
      writeFileSync(join(dir, 'input'), input);
      try {
        execFileSync('openssl', ['dgst', '-sha256', '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig'), join(dir, 'input')], {
          stdio: 'pipe',
        });
        return true;
      } catch {
        return false;
      }
    };
    expect(verify(`${h}.${p}`)).toBe(true);
    expect(verify(`${h}.${p.slice(0, -2)}${p.endsWith('A') ? 'B' : 'A'}${p.slice(-1)}`)).toBe(false);
  });

  it('refuses a client assertion with a kid not registered for the client: 400 invalid_client', async () => {
    const err = await refusal(
      comuneClient(endpoints, { key: { privateKey: clientKey.privateKey, alg: 'RS256', kid: 'kid-other' } }).requestVoucher({
        purposeId: PURPOSE,
      }),
    );
    expect([err.status, err.oauthError, err.code]).toEqual([400, 'invalid_client', 'TRAMITE_ERR_PDND_TOKEN_REQUEST']);
    expect(err.message).toContain(endpoints.tokenEndpoint);
  });

  it('refuses an assertion signed by another key under the registered kid: invalid_client', async () => {
    const { privateKey } = await import('node:crypto').then((c) => c.generateKeyPairSync('rsa', { modulusLength: 2048 }));
    const err = await refusal(
      comuneClient(endpoints, { key: { privateKey, alg: 'RS256', kid: 'kid-comune-1' } }).requestVoucher({ purposeId: PURPOSE }),
    );
    expect([err.status, err.oauthError]).toEqual([400, 'invalid_client']);
  });

  it('refuses the wrong aud (with https://, as integrators often send it): invalid_client', async () => {
    const err = await refusal(
      comuneClient(endpoints, { assertionAudience: `https://${endpoints.assertionAudience}` }).requestVoucher({ purposeId: PURPOSE }),
    );
    expect([err.status, err.oauthError]).toEqual([400, 'invalid_client']);
    expect(err.message).toContain('Unexpected client assertion audience');
  });

  it('refuses an expired assertion: invalid_grant', async () => {
    const past = fixedClock(new Date(Date.now() - 3600_000));
    const err = await refusal(comuneClient(endpoints, { clock: past }).requestVoucher({ purposeId: PURPOSE }));
    expect([err.status, err.oauthError]).toEqual([400, 'invalid_grant']);
  });

  it('refuses a purpose the client has no agreement for: invalid_grant', async () => {
    const err = await refusal(comuneClient(endpoints).requestVoucher({ purposeId: 'purpose-unknown' }));
    expect([err.status, err.oauthError]).toEqual([400, 'invalid_grant']);
  });

  it('answers a bad form as PDND does: invalid_request with the JSON body, and a replayed assertion invalid_grant', async () => {
    const assertion = await comuneClient(endpoints).clientAssertion({ purposeId: PURPOSE });
    const post = async (form: Record<string, string>) => {
      const res = await request(endpoints.tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      });
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
    };
    const base = {
      client_id: CLIENT_ID,
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    };
    const wrongType = await post({ ...base, client_assertion_type: 'jwt' });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body).toMatchObject({ error: 'invalid_request', status: 400, errors: [{ code: '015-0008' }] });
    expect((await post(base)).status).toBe(200);
    expect((await post(base)).body).toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses a body over its bound with 413', async () => {
    const res = await request(endpoints.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'client_assertion=' + 'a'.repeat(70 * 1024),
    });
    expect(res.statusCode).toBe(413);
    await res.body.dump();
  });
});

describe('PDND simulator: registry', () => {
  it('names the field that is wrong', () => {
    const bad = registryJson() as { clients: Record<string, unknown>[] };
    delete bad.clients[0]!.tenant_id;
    bad.clients[1]!.colour = 'blue';
    let err: unknown;
    try {
      parseSimulatorRegistry(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('/clients/0: missing field tenant_id');
    expect((err as Error).message).toContain('/clients/1: unknown field colour');
  });

  it('refuses a purpose that belongs to no e-service', () => {
    const bad = registryJson() as { clients: { purposes?: string[] }[] };
    bad.clients[0]!.purposes!.push('purpose-nowhere');
    expect(() => parseSimulatorRegistry(bad)).toThrow(/purpose-nowhere belongs to no e-service/);
  });
});
