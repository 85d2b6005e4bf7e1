/**
 * `tramite pdnd tracing` reads a tracing ledger as the node leaves it: each (tenant, day) with its
 * requests, upload state, PDND's verdict and problems, a day grown since its upload marked; --date
 * narrows, --json gives the same as data; a missing ledger is a usage error, not an empty listing.
 * And the ledger of the previous schema (before uploads recorded what they sent) opens migrated.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { writeDemoFederation } from '../../src/demo/demo-federation.js';
import { nodeStoreOpener } from '../../src/node/node-store-opener.js';
import { TracingLedger } from '../../src/pdnd/tracing-ledger.js';
import { dropDatabase, freshDatabase } from '../../test-support/postgres-server.js';
import { postgresUrl } from '../log/log-fixtures.js';
import { runCli } from '../cli/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tramite-tracing-cli-'));
const file = join(dir, 'pdnd-tracing.sqlite');
const at = new Date('2026-12-02T02:00:00Z');

beforeAll(async () => {
  const ledger = TracingLedger.inFile(file);
  const rec = (tenant: string, iso: string, purposeId = 'purpose-anagrafe') =>
    ledger.record({ tenant, at: new Date(iso), purposeId, status: 200, voucherJti: 'jti-a' });
  await rec('tenant-comune', '2026-11-30T10:00:00Z');
  await rec('tenant-comune', '2026-11-30T11:00:00Z');
  await ledger.setUpload(
    {
      tenant: 'tenant-comune',
      date: '2026-11-30',
      state: 'uploaded',
      attempts: 1,
      tracingId: 't-1',
      lastError: undefined,
      uploadedRequests: 1,
    },
    at,
  );
  await ledger.setVerdict('tenant-comune', '2026-11-30', { pdndState: 'COMPLETED', problems: [] }, at);
  await rec('tenant-comune', '2026-12-01T10:00:00Z', 'bad purpose');
  await ledger.setUpload(
    {
      tenant: 'tenant-comune',
      date: '2026-12-01',
      state: 'uploaded',
      attempts: 2,
      tracingId: 't-2',
      lastError: undefined,
      uploadedRequests: 1,
    },
    at,
  );
  await ledger.setVerdict(
    'tenant-comune',
    '2026-12-01',
    { pdndState: 'ERROR', problems: ['line 2: purpose_id is not an identifier'], state: 'rejected' },
    at,
  );
  await rec('tenant-other', '2026-12-01T10:00:00Z');
  await ledger.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tramite pdnd tracing', () => {
  it('lists each day with its state, PDND verdict and problems', async () => {
    const r = await runCli(['pdnd', 'tracing', '--ledger', file]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      '2026-11-30  tenant-comune  2 requests  uploaded  PDND COMPLETED  tracingId t-1  grown: uploaded again at the next pass',
      '2026-12-01  tenant-comune  1 requests  rejected  PDND ERROR  tracingId t-2  2 attempts',
      '    problem: line 2: purpose_id is not an identifier',
      '2026-12-01  tenant-other  1 requests  not uploaded',
      '',
    ]);
  });

  it('--date and --json: the days of that date as data', async () => {
    const r = await runCli(['pdnd', 'tracing', '--ledger', file, '--date', '2026-12-01', '--json']);
    expect(r.code).toBe(0);
    const { days } = JSON.parse(r.stdout) as { days: Record<string, unknown>[] };
    expect(days).toMatchObject([
      { tenant: 'tenant-comune', date: '2026-12-01', requests: 1, upload: { state: 'rejected', pdndState: 'ERROR', tracingId: 't-2' } },
      { tenant: 'tenant-other', date: '2026-12-01', requests: 1, grownSinceUpload: false },
    ]);
    expect(days[1]!.upload).toBeUndefined();
  });

  it('refuses a ledger that does not exist, and a date that is not one (exit 2)', async () => {
    const missing = await runCli(['pdnd', 'tracing', '--ledger', join(dir, 'nope.sqlite')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no tracing ledger at');
    const badDate = await runCli(['pdnd', 'tracing', '--ledger', file, '--date', '1/12/2026']);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('--date 1/12/2026 is not YYYY-MM-DD');
  });
});

describe('tramite pdnd tracing --config', () => {
  it("finds the node's own ledger: in the log's PostgreSQL when the processes share one, else in the data dir", async () => {
    const { cst } = await writeDemoFederation(join(dir, 'federation'), (p) => `http://127.0.0.1:9/${p}`, { plainHttp: true });
    // On SQLite: no ledger in the data dir yet is a usage error, not an empty listing.
    const none = await runCli(['pdnd', 'tracing', '--config', cst.configFile]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no tracing ledger at');
    const dbUrl = await freshDatabase(postgresUrl());
    try {
      const raw = JSON.parse(readFileSync(cst.configFile, 'utf8')) as { log: Record<string, unknown> };
      raw.log = { ...raw.log, store: 'postgres', postgresUrl: dbUrl };
      writeFileSync(cst.configFile, JSON.stringify(raw));
      // What a node process records, in the store every process shares.
      const ledger = new TracingLedger(nodeStoreOpener(loadConfig(cst.configFile)));
      await ledger.record({ tenant: 'tenant-cst', at: new Date('2026-12-03T09:00:00Z'), purposeId: 'p', status: 200, voucherJti: 'j' });
      await ledger.close();
      const r = await runCli(['pdnd', 'tracing', '--config', cst.configFile]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('2026-12-03  tenant-cst  1 requests  not uploaded\n');
      const both = await runCli(['pdnd', 'tracing', '--config', cst.configFile, '--ledger', file]);
      expect(both.code).toBe(2);
      expect(both.stderr).toContain('name the ledger');
    } finally {
      await dropDatabase(dbUrl);
    }
  });
});

describe('a ledger written before uploads recorded what they sent', () => {
  it('is migrated on opening: its rows kept, the new fields empty, the old upload not taken for a grown day', async () => {
    const { default: Database } = await import('better-sqlite3');
    const old = join(dir, 'v1.sqlite');
    const db = new Database(old);
    db.exec(`CREATE TABLE pdnd_traffic (tenant TEXT NOT NULL, date TEXT NOT NULL, purpose_id TEXT NOT NULL, status INTEGER NOT NULL,
               token_id TEXT NOT NULL, requests_count INTEGER NOT NULL, PRIMARY KEY (tenant, date, purpose_id, status, token_id)) WITHOUT ROWID;
             CREATE TABLE pdnd_tracing_upload (tenant TEXT NOT NULL, date TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
               tracing_id TEXT, last_error TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (tenant, date)) WITHOUT ROWID;
             INSERT INTO pdnd_traffic VALUES ('t', '2026-11-01', 'p', 200, 'j', 4);
             INSERT INTO pdnd_tracing_upload VALUES ('t', '2026-11-01', 'uploaded', 1, 'old-id', NULL, '2026-11-02T02:00:00.000Z');
             PRAGMA user_version = 1;`);
    db.close();
    const ledger = TracingLedger.inFile(old);
    try {
      expect(await ledger.days()).toMatchObject([
        {
          tenant: 't',
          date: '2026-11-01',
          requests: 4,
          grownSinceUpload: false,
          upload: { state: 'uploaded', tracingId: 'old-id', polls: 0, problems: [] },
        },
      ]);
      expect((await ledger.days())[0]!.upload!.uploadedRequests).toBeUndefined();
      expect(await ledger.pendingDays('2026-12-01')).toEqual([]);
    } finally {
      await ledger.close();
    }
  });
});
