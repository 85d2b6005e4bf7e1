/**
 * Wrong bearer tokens on /health, /metrics and the auditor API are limited per address, as sign-in is:
 * past FAILED_TOKEN_CHECKS_PER_MINUTE wrong ones, 429 + Retry-After; the right token, or none where none is
 * needed, still gets through (only wrong tokens count).
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAILED_TOKEN_CHECKS_PER_MINUTE } from '../../src/http/failed-token-limit.js';
import { startDevNode, type DevNode } from './dev-node.js';

let dev: DevNode;

beforeAll(async () => {
  dev = await startDevNode(['SPC/ComuneA']);
});

afterAll(async () => {
  await dev?.running.close();
});

async function get(path: string, token?: string): Promise<{ status: number; retryAfter: string | undefined }> {
  const res = await request(`${dev.running.baseUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  await res.body.dump();
  return { status: res.statusCode, retryAfter: res.headers['retry-after'] as string | undefined };
}

describe('failed token checks', () => {
  it.each([
    ['/api/v1/audit/records', () => dev.staff.auditor, 200],
    ['/health', () => dev.staff.operator, 200],
    ['/metrics', () => dev.staff.operator, 200],
  ] as const)('%s: the wrong tokens past the limit get 429 with Retry-After; the right token still passes', async (path, right, ok) => {
    for (let i = 0; i < FAILED_TOKEN_CHECKS_PER_MINUTE; i++) expect((await get(path, `wrong-${i}`)).status).toBe(401);
    const refused = await get(path, 'wrong-again');
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect((await get(path, right())).status).toBe(ok);
  });

  it('a request without a token is not a failed check: /health answers its status', async () => {
    expect((await get('/health')).status).not.toBe(429);
  });
});
