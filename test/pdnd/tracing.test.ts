/**
 * PDND tracing: the ledger counts each day's traffic per tenant and gives the CSV in the manual's
 * columns; the uploader sends it to the simulator with an API interoperabilità voucher, retries when
 * the tracing service fails, and the state is visible in the ledger and at the simulator. The ledger
 * survives reopening (a SQLite file).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PdndSimulator, PdndSimulatorEndpoints } from '../../src/pdnd-simulator/pdnd-simulator.js';
import { TracingLedger } from '../../src/pdnd/tracing-ledger.js';
import { TracingUploader } from '../../src/pdnd/tracing-uploader.js';
import { VoucherCache } from '../../src/pdnd/voucher-cache.js';
import { PURPOSE, TENANT, apiClient, startSimulator } from './pdnd-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'tramite-pdnd-tracing-'));
let simulator: PdndSimulator;
let endpoints: PdndSimulatorEndpoints;
let ledger: TracingLedger;
let apiVouchers: VoucherCache;
beforeAll(async () => {
  ({ simulator, endpoints } = await startSimulator({ dataDir: join(dir, 'sim') }));
  ledger = TracingLedger.inFile(join(dir, 'ledger.sqlite'));
  apiVouchers = new VoucherCache({ source: apiClient(endpoints) });
});
afterAll(async () => {
  apiVouchers.close();
  await ledger.close();
  await simulator.stop();
  rmSync(dir, { recursive: true, force: true });
});

const DAY = '2026-12-01';
const at = (time: string) => new Date(`${DAY}T${time}Z`);

async function recordDay(l: TracingLedger): Promise<void> {
  for (let i = 0; i < 3; i++) await l.record({ tenant: TENANT, at: at('08:00:00'), purposeId: PURPOSE, status: 200, voucherJti: 'jti-a' });
  await l.record({ tenant: TENANT, at: at('09:00:00'), purposeId: PURPOSE, status: 400, voucherJti: 'jti-a' });
  await l.record({ tenant: TENANT, at: at('23:59:59'), purposeId: PURPOSE, status: 200, voucherJti: 'jti-b' });
  await l.record({ tenant: TENANT, at: new Date('2026-12-02T00:00:00Z'), purposeId: PURPOSE, status: 200, voucherJti: 'jti-b' });
  await l.record({ tenant: 'tenant-other', at: at('10:00:00'), purposeId: PURPOSE, status: 200, voucherJti: 'jti-c' });
}

const upload = (attempts = 5) =>
  new TracingUploader({
    ledger,
    tracingUrl: endpoints.url,
    voucher: async () => (await apiVouchers.get(undefined)).token,
    attempts,
    retryDelayMs: 20,
  });

async function simulatorTracing(id: string): Promise<Record<string, unknown>> {
  const res = await request(`${endpoints.url}/tracings/${id}`, {
    headers: { authorization: `Bearer ${(await apiVouchers.get(undefined)).token}` },
  });
  return (await res.body.json()) as Record<string, unknown>;
}

describe('TracingLedger', () => {
  it('counts per (date, purpose, status, voucher) and tenant, and gives the CSV in the manual column order; durable across reopening', async () => {
    await recordDay(ledger);
    const expected = [
      'date,purpose_id,status,token_id,requests_count',
      `${DAY},${PURPOSE},200,jti-a,3`,
      `${DAY},${PURPOSE},200,jti-b,1`,
      `${DAY},${PURPOSE},400,jti-a,1`,
      '',
    ].join('\n');
    expect(await ledger.csv(TENANT, DAY)).toBe(expected);
    expect(await ledger.tenants(DAY)).toEqual(['tenant-comune', 'tenant-other']);
    const again = TracingLedger.inFile(join(dir, 'ledger.sqlite'));
    expect(await again.csv(TENANT, DAY)).toBe(expected);
    await again.close();
  });
});

describe('TracingUploader', () => {
  it('uploads the day, the state visible in the ledger and at the simulator', async () => {
    const result = await upload().upload(TENANT, DAY);
    expect(result).toMatchObject({ state: 'uploaded', attempts: 1 });
    expect((await ledger.upload(TENANT, DAY))?.tracingId).toBe(result.tracingId);
    expect(await simulatorTracing(result.tracingId!)).toMatchObject({
      tenantId: TENANT,
      date: DAY,
      state: 'COMPLETED',
      rows: 3,
      errors: [],
    });
  });

  it('retries a failed upload: two 503s, then uploaded on the third attempt; the older file is replaced', async () => {
    const first = (await ledger.upload(TENANT, DAY))!.tracingId!;
    simulator.failNextUploads(2);
    const result = await upload().upload(TENANT, DAY);
    expect(result).toMatchObject({ state: 'uploaded', attempts: 3 });
    expect((await simulatorTracing(first)).state).toBe('REPLACED');
    expect((await simulatorTracing(result.tracingId!)).state).toBe('COMPLETED');
  });

  it('gives up after the attempts allowed, the state failed with the last error', async () => {
    simulator.failNextUploads(5);
    const result = await upload(2).upload(TENANT, '2026-12-02');
    expect(result).toMatchObject({ state: 'failed', attempts: 2 });
    expect(result.lastError).toContain('HTTP 503');
    simulator.failNextUploads(0);
  });

  it('the simulator refuses a file whose columns are not the manual columns, and a call without an API voucher', async () => {
    const token = (await apiVouchers.get(undefined)).token;
    const res = await request(`${endpoints.url}/tracings/submit?date=${DAY}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
      body: 'date,purpose,status,token,count\n',
    });
    const body = (await res.body.json()) as { tracingId: string; errors: boolean };
    expect(body.errors).toBe(true);
    const state = await simulatorTracing(body.tracingId);
    expect(state).toMatchObject({ state: 'ERROR' });
    expect(String((state.errors as string[])[0])).toContain('date,purpose_id,status,token_id,requests_count');
    const anonymous = await request(`${endpoints.url}/tracings/submit?date=${DAY}`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: '',
    });
    expect(anonymous.statusCode).toBe(401);
    await anonymous.body.dump();
  });
});

describe('TracingUploader and a file PDND finds wrong', () => {
  it('is rejected, not retried, with the tracingId whose errors PDND lists', async () => {
    const day = '2026-11-30';
    // A row PDND cannot take: a purpose_id that is not an identifier.
    await ledger.record({
      tenant: TENANT,
      at: new Date(`${day}T10:00:00Z`),
      purposeId: 'purpose with spaces',
      status: 200,
      voucherJti: 'jti-z',
    });
    const result = await upload().upload(TENANT, day);
    expect(result).toMatchObject({ state: 'rejected', attempts: 1 });
    expect((await simulatorTracing(result.tracingId!)).state).toBe('ERROR');
  });
});
