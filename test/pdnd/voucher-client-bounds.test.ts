/**
 * The voucher client and the JWKS cache against endpoints that misbehave, on real loopback sockets:
 * one that never answers (bounded by timeoutMs), one that answers too much (bounded by the body
 * limit), one that answers 200 with something else than a token response, and none at all. Each
 * failure is typed with its stable code and names the endpoint.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TramiteError } from '../../src/core/errors.js';
import { JwksCache } from '../../src/pdnd/jwks-cache.js';
import { PdndTokenError } from '../../src/pdnd/pdnd-token-error.js';
import { PdndVoucherClient } from '../../src/pdnd/voucher-client.js';
import { CLIENT_ID, PURPOSE, clientKey } from './pdnd-fixture.js';

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/hang') return; // never answers
    if (req.url === '/huge') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'x'.repeat(200_000), token_type: 'Bearer', expires_in: 60 }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ hello: 'world' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const client = (path: string, over: { timeoutMs?: number; maxResponseBytes?: number } = {}) =>
  new PdndVoucherClient({
    tokenEndpoint: `${base}${path}`,
    assertionAudience: 'auth.example/client-assertion',
    clientId: CLIENT_ID,
    key: { privateKey: clientKey.privateKey, alg: 'RS256', kid: 'kid-comune-1' },
    ...over,
  });

async function failure(p: Promise<unknown>): Promise<TramiteError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TramiteError);
  return err as TramiteError;
}

describe('PdndVoucherClient bounds', () => {
  it('gives up on a token endpoint that does not answer within timeoutMs', async () => {
    const err = await failure(client('/hang', { timeoutMs: 300 }).requestVoucher({ purposeId: PURPOSE }));
    expect(err).toBeInstanceOf(PdndTokenError);
    expect(err.code).toBe('TRAMITE_ERR_PDND_TOKEN_REQUEST');
    expect(err.message).toContain(`${base}/hang`);
    // The request was cut by its own deadline, not by the server or the test's timeout.
    expect((err.cause as Error).name).toMatch(/Timeout|Abort/);
  });

  it('refuses an answer larger than maxResponseBytes', async () => {
    const err = await failure(client('/huge', { maxResponseBytes: 16 * 1024 }).requestVoucher({ purposeId: PURPOSE }));
    expect(err.code).toBe('TRAMITE_ERR_PDND_TOKEN_REQUEST');
    expect(String((err.cause as Error).message)).toContain('larger than the 16384 bytes');
  });

  it('refuses a 200 that is not a token response, and an unreachable endpoint', async () => {
    expect((await failure(client('/other').requestVoucher({ purposeId: PURPOSE }))).message).toContain('not {access_token');
    const gone = new PdndVoucherClient({
      tokenEndpoint: 'http://127.0.0.1:1/token.oauth2',
      assertionAudience: 'a',
      clientId: CLIENT_ID,
      key: { privateKey: clientKey.privateKey, alg: 'RS256', kid: 'k' },
    });
    expect((await failure(gone.requestVoucher({ purposeId: PURPOSE }))).code).toBe('TRAMITE_ERR_PDND_TOKEN_REQUEST');
  });

  it('refuses a key that is not RS256 with a kid', () => {
    expect(
      () =>
        new PdndVoucherClient({
          tokenEndpoint: base,
          assertionAudience: 'a',
          clientId: CLIENT_ID,
          key: { privateKey: clientKey.privateKey, alg: 'RS512', kid: 'k' },
        }),
    ).toThrow(TramiteError);
  });
});

describe('JwksCache failures', () => {
  it('is TRAMITE_ERR_PDND_JWKS when the JWKS is not a JWK set or cannot be fetched in time', async () => {
    expect((await failure(new JwksCache({ url: `${base}/other` }).keyFor('k'))).code).toBe('TRAMITE_ERR_PDND_JWKS');
    expect((await failure(new JwksCache({ url: `${base}/hang`, timeoutMs: 300 }).keyFor('k'))).code).toBe('TRAMITE_ERR_PDND_JWKS');
  });
});
