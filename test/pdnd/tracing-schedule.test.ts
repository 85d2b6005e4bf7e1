/**
 * The tracing schedule against the in-process PDND simulator, every part on one hand-moved clock (the
 * schedule, the uploader's records, the API voucher client and the simulator): yesterday's file waits for
 * the upload hour, missed days are caught up oldest first, an outage leaves the day `failed` and a later
 * pass (not the next ten-minute one) uploads it, a late record uploads the day again (the simulator marks
 * the older file REPLACED), PDND's asynchronous verdict is polled a bounded number of times, and a file it
 * finds wrong ends `rejected` with its problems. Passes are driven by `runDue(now)`: no timing in asserts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import type { PdndSimulator, PdndSimulatorEndpoints } from '../../src/pdnd-simulator/pdnd-simulator.js';
import { TracingLedger } from '../../src/pdnd/tracing-ledger.js';
import { TracingSchedule, type TracingScheduleOptions } from '../../src/pdnd/tracing-schedule.js';
import { TracingUploader } from '../../src/pdnd/tracing-uploader.js';
import { PdndVoucherClient } from '../../src/pdnd/voucher-client.js';
import { API_CLIENT_ID, PURPOSE, TENANT, apiKey, startSimulator } from './pdnd-fixture.js';

interface World {
  readonly dir: string;
  readonly simulator: PdndSimulator;
  readonly endpoints: PdndSimulatorEndpoints;
  readonly ledger: TracingLedger;
  readonly schedule: TracingSchedule;
  /** Moves the shared clock. */
  at(iso: string): Date;
}

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) {
    await w.schedule.stop();
    await w.ledger.close();
    await w.simulator.stop();
    rmSync(w.dir, { recursive: true, force: true });
  }
});

async function world(
  opts: { processingSeconds?: number; attempts?: number; schedule?: Partial<TracingScheduleOptions> } = {},
): Promise<World> {
  let now = new Date('2026-12-01T12:00:00Z');
  const clock: Clock = { now: () => new Date(now.getTime()) };
  const dir = mkdtempSync(join(tmpdir(), 'tramite-tracing-schedule-'));
  const { simulator, endpoints } = await startSimulator({
    clock,
    ...(opts.processingSeconds !== undefined ? { tracingProcessingSeconds: opts.processingSeconds } : {}),
  });
  const ledger = TracingLedger.inFile(join(dir, 'pdnd-tracing.sqlite'));
  const apiVouchers = new PdndVoucherClient({
    tokenEndpoint: endpoints.tokenEndpoint,
    assertionAudience: endpoints.assertionAudience,
    clientId: API_CLIENT_ID,
    key: { privateKey: apiKey.privateKey, alg: 'RS256', kid: 'kid-comune-api' },
    clock,
  });
  const uploader = new TracingUploader({
    ledger,
    tracingUrl: endpoints.url,
    voucher: async () => (await apiVouchers.requestVoucher({})).token,
    attempts: opts.attempts ?? 2,
    retryDelayMs: 5,
    clock,
  });
  const schedule = new TracingSchedule({ ledger, uploader, clock, uploadHourUtc: 2, ...opts.schedule });
  const w: World = {
    dir,
    simulator,
    endpoints,
    ledger,
    schedule,
    at: (iso) => (now = new Date(iso)),
  };
  worlds.push(w);
  return w;
}

async function record(ledger: TracingLedger, iso: string, opts: { status?: number; purposeId?: string; jti?: string } = {}): Promise<void> {
  await ledger.record({
    tenant: TENANT,
    at: new Date(iso),
    purposeId: opts.purposeId ?? PURPOSE,
    status: opts.status ?? 200,
    voucherJti: opts.jti ?? 'jti-a',
  });
}

describe('TracingSchedule', () => {
  it("uploads yesterday's file once the upload hour has come, not before, and leaves it alone afterwards", async () => {
    const w = await world();
    await record(w.ledger, '2026-12-01T08:00:00Z');
    await record(w.ledger, '2026-12-01T09:00:00Z', { status: 404 });
    await record(w.ledger, '2026-12-02T00:30:00Z'); // today: never uploaded today

    const early = await w.schedule.runDue(w.at('2026-12-02T01:59:59Z'));
    expect(early).toMatchObject({ skipped: false, cutoff: '2026-12-01', uploads: [], verdicts: [] });
    expect(await w.ledger.upload(TENANT, '2026-12-01')).toBeUndefined();
    expect(await w.schedule.health()).toEqual({ pending: 0, failed: 0, rejected: 0 });

    const due = await w.schedule.runDue(w.at('2026-12-02T02:00:00Z'));
    expect(due.uploads.map((u) => [u.date, u.state])).toEqual([['2026-12-01', 'uploaded']]);
    const upload = (await w.ledger.upload(TENANT, '2026-12-01'))!;
    expect(upload).toMatchObject({ state: 'uploaded', uploadedRequests: 2, pdndState: 'COMPLETED', polls: 1 });
    expect(w.simulator.tracings.list(TENANT)).toMatchObject([
      { tracingId: upload.tracingId, date: '2026-12-01', rows: 2, state: 'COMPLETED' },
    ]);
    expect(await w.ledger.upload(TENANT, '2026-12-02')).toBeUndefined();
    expect(await w.schedule.health()).toEqual({
      lastUploaded: { tenant: TENANT, date: '2026-12-01', tracingId: upload.tracingId, pdndState: 'COMPLETED' },
      pending: 0,
      failed: 0,
      rejected: 0,
    });

    const later = await w.schedule.runDue(w.at('2026-12-02T03:00:00Z'));
    expect(later).toMatchObject({ uploads: [], verdicts: [] });
    expect(w.simulator.tracings.list(TENANT)).toHaveLength(1);
  });

  it('catches up three days missed during downtime, oldest first, without waiting for the hour; yesterday waits for it', async () => {
    const w = await world();
    for (const day of ['2026-11-29', '2026-11-27', '2026-11-28', '2026-11-30']) await record(w.ledger, `${day}T10:00:00Z`);
    w.at('2026-11-30T01:00:00Z');
    expect((await w.ledger.pendingDays('2026-12-01')).map((d) => d.date)).toEqual(['2026-11-27', '2026-11-28', '2026-11-29', '2026-11-30']);

    const pass = await w.schedule.runDue(w.at('2026-12-01T01:00:00Z'));
    expect(pass.uploads.map((u) => [u.date, u.state])).toEqual([
      ['2026-11-27', 'uploaded'],
      ['2026-11-28', 'uploaded'],
      ['2026-11-29', 'uploaded'],
    ]);
    expect(w.simulator.tracings.list(TENANT).map((t) => t.date)).toEqual(['2026-11-27', '2026-11-28', '2026-11-29']);
    expect(await w.ledger.upload(TENANT, '2026-11-30')).toBeUndefined();

    const afterHour = await w.schedule.runDue(w.at('2026-12-01T02:10:00Z'));
    expect(afterHour.uploads.map((u) => u.date)).toEqual(['2026-11-30']);
    expect((await w.ledger.uploads({ state: 'uploaded' })).map((u) => u.date)).toEqual([
      '2026-11-27',
      '2026-11-28',
      '2026-11-29',
      '2026-11-30',
    ]);
  });

  it('an outage leaves the day failed and stops the pass; the next pass uploads the others, a pass an hour later the failed day', async () => {
    const w = await world({ attempts: 2 });
    await record(w.ledger, '2026-11-30T10:00:00Z');
    await record(w.ledger, '2026-12-01T10:00:00Z');
    w.simulator.failNextUploads(2);

    const outage = await w.schedule.runDue(w.at('2026-12-02T02:00:00Z'));
    expect(outage.uploads).toHaveLength(1);
    expect(outage.uploads[0]).toMatchObject({ date: '2026-11-30', state: 'failed', attempts: 2 });
    expect(outage.uploads[0]!.lastError).toContain('HTTP 503');
    // The pass stopped there: the next day was not tried against a service that is down.
    expect(await w.ledger.upload(TENANT, '2026-12-01')).toBeUndefined();
    expect(await w.schedule.health()).toMatchObject({ pending: 1, failed: 1, rejected: 0 });

    const tenMinutes = await w.schedule.runDue(w.at('2026-12-02T02:10:00Z'));
    expect(tenMinutes.uploads.map((u) => [u.date, u.state])).toEqual([['2026-12-01', 'uploaded']]);
    expect(await w.ledger.upload(TENANT, '2026-11-30')).toMatchObject({ state: 'failed' });

    const hourLater = await w.schedule.runDue(w.at('2026-12-02T03:00:00Z'));
    expect(hourLater.uploads.map((u) => [u.date, u.state, u.attempts])).toEqual([['2026-11-30', 'uploaded', 1]]);
    expect(await w.schedule.health()).toMatchObject({ pending: 0, failed: 0, rejected: 0 });
  });

  it('an upload cut short by a restart (left uploading) is due again', async () => {
    const w = await world();
    await record(w.ledger, '2026-12-01T10:00:00Z');
    await w.ledger.setUpload(
      { tenant: TENANT, date: '2026-12-01', state: 'uploading', attempts: 1, tracingId: undefined, lastError: undefined },
      new Date(),
    );
    const pass = await w.schedule.runDue(w.at('2026-12-02T02:00:00Z'));
    expect(pass.uploads.map((u) => [u.date, u.state])).toEqual([['2026-12-01', 'uploaded']]);
  });

  it('a record for a day already uploaded uploads the day again, and PDND replaces the older file', async () => {
    const w = await world();
    await record(w.ledger, '2026-12-01T10:00:00Z');
    await w.schedule.runDue(w.at('2026-12-02T02:00:00Z'));
    const first = (await w.ledger.upload(TENANT, '2026-12-01'))!;
    expect(first).toMatchObject({ state: 'uploaded', uploadedRequests: 1 });

    // A request that began before midnight, recorded after the upload.
    await record(w.ledger, '2026-12-01T23:59:59Z', { jti: 'jti-late' });
    expect((await w.ledger.days({ date: '2026-12-01' }))[0]).toMatchObject({ requests: 2, grownSinceUpload: true });
    expect((await w.schedule.health()).pending).toBe(1);

    const again = await w.schedule.runDue(w.at('2026-12-02T02:10:00Z'));
    expect(again.uploads.map((u) => [u.date, u.state])).toEqual([['2026-12-01', 'uploaded']]);
    const second = (await w.ledger.upload(TENANT, '2026-12-01'))!;
    expect(second).toMatchObject({ uploadedRequests: 2, pdndState: 'COMPLETED' });
    expect(second.tracingId).not.toBe(first.tracingId);
    expect(w.simulator.tracings.get(first.tracingId!)?.state).toBe('REPLACED');
    expect(w.simulator.tracings.get(second.tracingId!)).toMatchObject({ state: 'COMPLETED', rows: 2 });

    expect((await w.schedule.runDue(w.at('2026-12-02T02:20:00Z'))).uploads).toEqual([]);
  });

  it("polls PDND's verdict on a file it processes asynchronously until it is final, then stops asking", async () => {
    const w = await world({ processingSeconds: 900 });
    await record(w.ledger, '2026-12-01T10:00:00Z');
    const pass = await w.schedule.runDue(w.at('2026-12-02T02:00:00Z'));
    expect(pass.verdicts.map((v) => [v.state, v.pdndState, v.polls])).toEqual([['uploaded', 'PENDING', 1]]);
    expect((await w.schedule.runDue(w.at('2026-12-02T02:10:00Z'))).verdicts.map((v) => v.pdndState)).toEqual(['PENDING']);
    const done = await w.schedule.runDue(w.at('2026-12-02T02:20:00Z'));
    expect(done.verdicts.map((v) => [v.state, v.pdndState, v.polls])).toEqual([['uploaded', 'COMPLETED', 3]]);
    expect((await w.schedule.runDue(w.at('2026-12-02T02:30:00Z'))).verdicts).toEqual([]);
  });

  it('stops asking after maxPolls, the last state read left visible', async () => {
    const w = await world({ processingSeconds: 86_400, schedule: { maxPolls: 2 } });
    await record(w.ledger, '2026-12-01T10:00:00Z');
    await w.schedule.runDue(w.at('2026-12-02T02:00:00Z'));
    await w.schedule.runDue(w.at('2026-12-02T02:10:00Z'));
    expect((await w.schedule.runDue(w.at('2026-12-02T02:20:00Z'))).verdicts).toEqual([]);
    expect(await w.ledger.upload(TENANT, '2026-12-01')).toMatchObject({ state: 'uploaded', pdndState: 'PENDING', polls: 2 });
  });

  it('a file PDND finds wrong after processing it ends rejected with its problems, and is not uploaded again', async () => {
    const w = await world({ processingSeconds: 60 });
    await record(w.ledger, '2026-12-01T10:00:00Z', { purposeId: 'purpose with spaces' });
    const pass = await w.schedule.runDue(w.at('2026-12-02T02:00:00Z'));
    expect(pass.uploads.map((u) => u.state)).toEqual(['uploaded']);
    const verdict = await w.schedule.runDue(w.at('2026-12-02T02:10:00Z'));
    expect(verdict.verdicts).toHaveLength(1);
    const rejected = (await w.ledger.upload(TENANT, '2026-12-01'))!;
    expect(rejected).toMatchObject({ state: 'rejected', pdndState: 'ERROR' });
    expect(rejected.problems).toEqual(['line 2: purpose_id is not an identifier']);
    expect(await w.schedule.health()).toMatchObject({ rejected: 1, pending: 0 });
    const after = await w.schedule.runDue(w.at('2026-12-03T02:10:00Z'));
    expect(after).toMatchObject({ uploads: [], verdicts: [] });
  });

  it('a file refused at upload gets its problems from PDND in the same pass', async () => {
    const w = await world();
    await record(w.ledger, '2026-12-01T10:00:00Z', { status: 99 });
    await w.schedule.runDue(w.at('2026-12-02T02:00:00Z'));
    expect(await w.ledger.upload(TENANT, '2026-12-01')).toMatchObject({
      state: 'rejected',
      pdndState: 'ERROR',
      problems: ['line 2: status 99 is not an HTTP status'],
    });
  });

  it('runs one pass at a time: a pass asked for during another does nothing', async () => {
    const w = await world();
    await record(w.ledger, '2026-12-01T10:00:00Z');
    const now = w.at('2026-12-02T02:00:00Z');
    const [first, second] = await Promise.all([w.schedule.runDue(now), w.schedule.runDue(now)]);
    expect(first.uploads).toHaveLength(1);
    expect(second).toMatchObject({ skipped: true, uploads: [], verdicts: [] });
    expect(w.simulator.tracings.list(TENANT)).toHaveLength(1);
  });

  it('start() runs a pass at once (catch-up after a restart); stop() waits for the upload in flight', async () => {
    const w = await world();
    await record(w.ledger, '2026-12-01T10:00:00Z');
    w.at('2026-12-02T02:00:00Z');
    w.schedule.start();
    await w.schedule.stop();
    expect(await w.ledger.upload(TENANT, '2026-12-01')).toMatchObject({ state: 'uploaded' });
  });

  it('stop() does not wait for ever on an upload that hangs: it gives up after stopTimeoutMs and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tramite-tracing-hang-'));
    const ledger = TracingLedger.inFile(join(dir, 'pdnd-tracing.sqlite'));
    try {
      await record(ledger, '2026-12-01T10:00:00Z');
      const warnings: string[] = [];
      const log = { info: () => undefined, error: () => undefined, warn: (...args: unknown[]) => void warnings.push(String(args.at(-1))) };
      const hanging = new TracingUploader({
        ledger,
        tracingUrl: 'http://127.0.0.1:9',
        voucher: () => new Promise<string>(() => undefined),
      });
      const schedule = new TracingSchedule({
        ledger,
        uploader: hanging,
        clock: { now: () => new Date('2026-12-02T03:00:00Z') },
        stopTimeoutMs: 20,
        log: log as unknown as TracingScheduleOptions['log'],
      });
      schedule.start();
      await schedule.stop();
      expect(warnings).toEqual([expect.stringContaining('stopped without waiting')]);
      await expect.poll(async () => (await ledger.upload(TENANT, '2026-12-01'))?.state).toBe('uploading');
    } finally {
      await ledger.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an upload hour that is not an hour', () => {
    const ledger = {} as TracingLedger;
    expect(() => new TracingSchedule({ ledger, uploader: {} as TracingUploader, uploadHourUtc: 24 })).toThrow(/not an hour/);
  });
});
