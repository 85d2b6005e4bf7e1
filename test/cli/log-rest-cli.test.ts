/**
 * `tramite log verify` and `log show` (the built CLI, as an auditor runs it) over a SQLite log holding
 * REST exchanges: intact, it says how many ModI tokens it re-verified and skipped; with a logged body
 * rewritten and the chain re-sealed, it exits 1 naming the record and the Digest.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RestExchange } from '../../src/core/rest-exchange.js';
import { canonicalRecord, chainHash, sha256Hex } from '../../src/log/log-entry.js';
import { MessageLog } from '../../src/log/message-log.js';
import { SqliteLogStore } from '../../src/log/sqlite-log-store.js';
import { getTestPki } from '../fixtures/test-pki.js';
import { collect, NODE, overwriteRecord, rawSql, SteppingClock } from '../log/log-fixtures.js';
import { inboundExchange, outboundExchange } from '../log/rest-exchange-fixtures.js';
import { runCli } from './run-cli.js';

let dir: string;
let db: string;
let ca: string;
let out: RestExchange;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-log-rest-cli-'));
  db = join(dir, 'log.sqlite');
  ca = join(dir, 'ca.pem');
  writeFileSync(ca, getTestPki().ca.certPem);
  const clock = new SteppingClock(new Date(Date.now() - 60_000));
  const log = new MessageLog({ store: new SqliteLogStore(db), node: NODE, clock });
  out = await outboundExchange({ createdAt: clock.now() });
  await log.recordRestExchange(out);
  await log.recordRestExchange(await inboundExchange({ createdAt: clock.now() }));
  await log.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tramite log over REST exchanges', () => {
  it('verify: intact, with the ModI tokens re-verified and skipped', async () => {
    const res = await runCli(['log', 'verify', '--db', db, '--trust', ca]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^intact: 4 records .*, 4 envelope signatures re-verified, 8 ModI REST tokens re-verified \(2 skipped/);
  });

  it('show: each HTTP message with its tokens, as logged', async () => {
    const res = await runCli(['log', 'show', out.id, '--db', db, '--trust', ca]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/HTTP message of record 1 \(rest-request\): ModI tokens valid, 3 verified, 0 skipped, signed by .*ComuneA/);
    expect(res.stdout).toContain('POST /rest/Anagrafe/v1/residenti?cf=RSSMRA80A01H501U HTTP/1.1');
  });

  it('verify: a body rewritten with the chain re-sealed is named by its record and its Digest (exit 1)', async () => {
    const store = new SqliteLogStore(db);
    try {
      const records = await collect(store.range(1, (await store.head()).seq));
      let prev = records[0]!.prevHash;
      for (const r of records) {
        const bytes =
          r.seq === 1 ? Buffer.from(Buffer.from(r.envelope!).toString('latin1').replace('residenza', 'decesso!!'), 'latin1') : undefined;
        const base = { ...r, ...(bytes ? { envelope: bytes, envelopeDigest: sha256Hex(bytes) } : {}), prevHash: prev };
        prev = chainHash(prev, canonicalRecord(base));
        await overwriteRecord(rawSql(store), r.seq, { ...base, hash: prev });
      }
    } finally {
      await store.close();
    }
    expect((await runCli(['log', 'verify', '--db', db, '--no-signatures'])).code).toBe(0);
    const res = await runCli(['log', 'verify', '--db', db, '--trust', ca]);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(
      /^NOT intact: first bad record 1: the HTTP message of record 1 no longer verifies: Digest: Digest does not match/,
    );
  });
});
