/**
 * The PDND tracing ledger on both of the adapter SDK's engines: the SQLite file a one-host node keeps in
 * its data dir, and a schema of the log's PostgreSQL, where every node process counts into one ledger
 * and one process at a time runs the upload schedule.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AdapterStoreOpener } from '../../adapters/sdk/store/adapter-store.js';
import { PostgresAdapterStore } from '../../adapters/sdk/store/postgres-adapter-store.js';
import { sqliteStoreOpener } from '../../adapters/sdk/store/sqlite-adapter-store.js';
import { TracingLedger } from '../../src/pdnd/tracing-ledger.js';
import { dropDatabase, freshDatabase } from '../../test-support/postgres-server.js';
import { postgresUrl } from '../log/log-fixtures.js';

let db: Promise<string> | undefined;
afterAll(async () => {
  const url = await db?.catch(() => undefined);
  if (url) await dropDatabase(url);
});

let schemas = 0;
/** A new, empty place for a ledger: a temp folder, or a new schema; `open` twice is two processes' views of it. */
async function place(kind: 'sqlite' | 'postgres'): Promise<AdapterStoreOpener> {
  if (kind === 'sqlite') return sqliteStoreOpener(mkdtempSync(join(tmpdir(), 'tramite-tracing-')));
  const url = await (db ??= freshDatabase(postgresUrl()));
  const schema = `node_pdnd_tracing_${++schemas}`;
  return (_name, migrations, opts) => PostgresAdapterStore.open({ url, schema }, migrations, opts);
}

const TENANT = 'tenant-comune';
const at = (iso: string) => new Date(iso);

describe.each(['sqlite', 'postgres'] as const)('TracingLedger on %s', (kind) => {
  it('counts, lists and tracks uploads the same way', async () => {
    const ledger = new TracingLedger(await place(kind));
    await ledger.opened();
    for (let i = 0; i < 3; i++)
      await ledger.record({ tenant: TENANT, at: at('2026-12-01T08:00:00Z'), purposeId: 'p', status: 200, voucherJti: 'jti-a' });
    await ledger.record({ tenant: TENANT, at: at('2026-12-01T09:00:00Z'), purposeId: 'p', status: 404, voucherJti: 'jti-a' });
    await ledger.record({ tenant: 'tenant-other', at: at('2026-12-02T09:00:00Z'), purposeId: 'q', status: 200, voucherJti: 'jti-b' });
    expect(await ledger.csv(TENANT, '2026-12-01')).toBe(
      'date,purpose_id,status,token_id,requests_count\n2026-12-01,p,200,jti-a,3\n2026-12-01,p,404,jti-a,1\n',
    );
    expect(await ledger.tenants('2026-12-02')).toEqual(['tenant-other']);
    expect((await ledger.pendingDays('2026-12-03')).map((d) => [d.tenant, d.date, d.requests])).toEqual([
      [TENANT, '2026-12-01', 4],
      ['tenant-other', '2026-12-02', 1],
    ]);

    const step = { tenant: TENANT, date: '2026-12-01', attempts: 1, lastError: undefined };
    await ledger.setUpload({ ...step, state: 'uploaded', tracingId: 't-1', uploadedRequests: 4 }, at('2026-12-02T02:00:00Z'));
    expect(await ledger.awaitingVerdict(['COMPLETED'], 12)).toMatchObject([{ tracingId: 't-1', polls: 0 }]);
    await ledger.setVerdict(TENANT, '2026-12-01', { pdndState: 'PENDING', problems: [] }, at('2026-12-02T02:10:00Z'));
    expect(await ledger.awaitingVerdict(['COMPLETED'], 12)).toMatchObject([{ pdndState: 'PENDING', polls: 1 }]);
    await ledger.setVerdict(TENANT, '2026-12-01', { pdndState: 'COMPLETED', problems: [] }, at('2026-12-02T02:20:00Z'));
    expect(await ledger.awaitingVerdict(['COMPLETED'], 12)).toEqual([]);
    expect((await ledger.pendingDays('2026-12-03')).map((d) => d.tenant)).toEqual(['tenant-other']);
    // A late record: the uploaded day is due again.
    await ledger.record({ tenant: TENANT, at: at('2026-12-01T23:59:59Z'), purposeId: 'p', status: 200, voucherJti: 'jti-late' });
    expect((await ledger.days({ date: '2026-12-01' }))[0]).toMatchObject({ requests: 5, grownSinceUpload: true });
    await ledger.setUpload({ ...step, state: 'failed', tracingId: undefined, lastError: 'down' }, at('2026-12-02T03:00:00Z'));
    expect(await ledger.uploads({ state: 'failed' })).toMatchObject([{ tenant: TENANT, date: '2026-12-01', lastError: 'down' }]);
    expect(await ledger.summary('2026-12-03')).toEqual({ pending: 1, failed: 1, rejected: 0 });
    await ledger.close();
  });
});

describe('TracingLedger on postgres, shared', () => {
  // (Two SQLite stores on one file in ONE process would wait on each other's lock synchronously: that is
  // two processes' case, and a node on the SQLite log is one process.)
  it('two processes count into one ledger, and one at a time holds the upload schedule', async () => {
    const open = await place('postgres');
    const [a, b] = [new TracingLedger(open), new TracingLedger(open)];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).record({ tenant: TENANT, at: at('2026-12-01T08:00:00Z'), purposeId: 'p', status: 200, voucherJti: 'jti-a' }),
      ),
    );
    expect(await b.rows(TENANT, '2026-12-01')).toMatchObject([{ count: 20 }]);
    expect((await a.days())[0]).toMatchObject({ requests: 20 });
    expect(await a.takeSchedule(60_000)).toBe(true);
    expect(await b.takeSchedule(60_000)).toBe(false);
    expect(await a.takeSchedule(60_000)).toBe(true); // renewed by its holder
    await Promise.all([a.close(), b.close()]);
  });
});
