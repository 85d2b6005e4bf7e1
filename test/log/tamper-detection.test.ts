/**
 * Tamper evidence, on both stores: a log of 53 records with signed checkpoints at 10, 20, 30, 40, 50 is
 * altered with raw SQL — as someone with write access to the database but not the node's key would —
 * and MessageLog.verify() and LogAuditor.verify must both detect it and point at the exact record.
 *
 * The log (fillLog, 18 messages, then 3 more created): message i is outbound (envelope, SENDING,
 * DELIVERED + receipt) unless i % 4 = 0 (inbound: envelope, DISPATCHED). So record 23 is message 9's
 * envelope, 24 its SENDING (detail {"status":"SENDING","attempts":1}), 25 its receipt; 51–53 come after
 * the last checkpoint.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TrustStore } from '../../src/crypto/trust-store.js';
import type { ChainVerifyReport, IssueKind } from '../../src/log/chain-verifier.js';
import { signCheckpoint } from '../../src/log/checkpoint.js';
import { canonicalRecord, chainHash, type LogRecord } from '../../src/log/log-entry.js';
import type { LogStore } from '../../src/log/log-store.js';
import type { MessageLog } from '../../src/log/message-log.js';
import { LogAuditor } from '../../src/node/audit/log-auditor.js';
import {
  collect,
  dropFileDatabase,
  fillLog,
  flipByte,
  logPki,
  messageLog,
  newStoreSite,
  NODE,
  overwriteRecord,
  rawSql,
  roguePki,
  sampleEnvelope,
  sampleMessage,
  settleCheckpoints,
  SteppingClock,
  STORE_KINDS,
  type RawSql,
  type StoreKind,
  type StoreSite,
} from './log-fixtures.js';

const CHECKPOINTS = [10, 20, 30, 40, 50];
const RECORDS = 53;

afterAll(() => dropFileDatabase());

describe.each(STORE_KINDS)('%s log: tampering is detected and located', (kind: StoreKind) => {
  let site: StoreSite;
  let store: LogStore;
  let log: MessageLog;
  let sql: RawSql;
  let auditor: LogAuditor;

  beforeEach(async () => {
    site = await newStoreSite(kind);
    store = await site.open();
    const clock = new SteppingClock();
    log = messageLog(store, { clock, checkpoints: { everyRecords: 10 } });
    await fillLog(log, clock, 18, { settle: true });
    for (let i = 19; i <= 21; i++) {
      const m = sampleMessage(i, clock);
      await log.create(m, sampleEnvelope(m.id));
    }
    await settleCheckpoints(log);
    sql = rawSql(store);
    auditor = new LogAuditor(store, NODE, TrustStore.fromPem(logPki().caPem));
  });

  afterEach(async () => {
    await store.close();
    await site.dispose();
  });

  /** Both verifiers find the log bad, and put the first problem at `seq`, of `kind`. */
  async function expectFirstBad(seq: number, kind: IssueKind, reason?: RegExp): Promise<ChainVerifyReport> {
    const report = await log.verify();
    expect(report.ok, JSON.stringify(report.issues)).toBe(false);
    expect(report.firstBad).toMatchObject({ seq, kind });
    if (reason) expect(report.firstBad!.reason).toMatch(reason);
    const audit = await auditor.verify({ signatures: false });
    expect(audit.ok).toBe(false);
    expect(audit.firstBad).toEqual(report.firstBad);
    return report;
  }
  const where = (report: ChainVerifyReport) => report.issues.map((i) => `${i.seq}:${i.kind}`);
  const rawRecord = async (seq: number) =>
    (
      await sql.all<{ state: string; detail: string | null; envelope: Uint8Array | null }>(
        'SELECT state, detail, envelope FROM log_records WHERE seq = ?',
        [seq],
      )
    )[0]!;

  it('the untouched log verifies, and the auditor counts the records after the last checkpoint', async () => {
    expect((await store.checkpoints()).map((c) => c.seq)).toEqual(CHECKPOINTS);
    expect(await log.verify()).toMatchObject({ ok: true, records: RECORDS, checkpoints: 5, firstBad: null, issues: [] });
    expect(await auditor.verify({ signatures: false })).toMatchObject({
      ok: true,
      records: RECORDS,
      uncheckpointed: 3,
      signaturesChecked: false,
    });
  });

  it.each([
    ['state', 24],
    ['from_party', 23],
    ['time', 31],
    ['message_id', 50],
    ['kind', 1],
  ])('(a) one byte of a record’s %s (record %i)', async (column, seq) => {
    const [row] = await sql.all<{ v: string }>(`SELECT ${column} AS v FROM log_records WHERE seq = ?`, [seq]);
    await sql.run(`UPDATE log_records SET ${column} = ? WHERE seq = ?`, [flipByte(Buffer.from(row!.v)).toString('utf8'), seq]);
    const report = await expectFirstBad(seq, 'altered');
    // The hashes still link: nothing but that record is reported.
    expect(where(report)).toEqual([`${seq}:altered`]);
  });

  it('(a) a record’s envelope digest replaced', async () => {
    await sql.run('UPDATE log_records SET envelope_digest = ? WHERE seq = ?', ['ab'.repeat(32), 25]);
    const report = await expectFirstBad(25, 'altered');
    expect(where(report)).toEqual(['25:altered', '25:digest']);
  });

  it('(b) one byte of a record’s envelope', async () => {
    const { envelope } = await rawRecord(23);
    await sql.run('UPDATE log_records SET envelope = ? WHERE seq = ?', [flipByte(envelope!), 23]);
    const report = await expectFirstBad(23, 'digest', /envelope kept in record 23/);
    expect(where(report)).toEqual(['23:digest']);
  });

  it('(b) a receipt’s envelope swapped for another message’s', async () => {
    const { envelope } = await rawRecord(3);
    await sql.run('UPDATE log_records SET envelope = ? WHERE seq = ?', [envelope, 25]);
    expect(where(await expectFirstBad(25, 'digest'))).toEqual(['25:digest']);
  });

  it('(c) one byte of a record’s detail JSON (still valid JSON)', async () => {
    const { detail } = await rawRecord(24);
    expect(detail).toBe('{"status":"SENDING","attempts":1}');
    await sql.run('UPDATE log_records SET detail = ? WHERE seq = ?', [detail!.replace('1', '2'), 24]);
    expect(where(await expectFirstBad(24, 'altered'))).toEqual(['24:altered']);
  });

  it('(c) a detail JSON made unparseable by one byte', async () => {
    const { detail } = await rawRecord(24);
    // '{' (0x7b) → 'z' (0x7a): the stored text is no longer JSON. The verifier must report the record, not crash.
    await sql.run('UPDATE log_records SET detail = ? WHERE seq = ?', [flipByte(Buffer.from(detail!), 0).toString('utf8'), 24]);
    expect(where(await expectFirstBad(24, 'altered'))).toEqual(['24:altered']);
  });

  it('(c) a detail added to a record that had none', async () => {
    const [{ n }] = (await sql.all<{ n: number | string }>('SELECT COUNT(*) AS n FROM log_records WHERE detail IS NULL')) as [
      { n: number | string },
    ];
    expect(Number(n)).toBe(0); // MessageLog always writes a detail; make one disappear instead
    await sql.run('UPDATE log_records SET detail = NULL WHERE seq = ?', [37]);
    expect(where(await expectFirstBad(37, 'altered'))).toEqual(['37:altered']);
  });

  it('(d) a record deleted in the middle', async () => {
    await sql.run('DELETE FROM log_records WHERE seq = ?', [27]);
    const report = await expectFirstBad(27, 'gap', /records 27 are missing/);
    expect(where(report)).toEqual(['27:gap', '28:chain']);
  });

  it('(d) a run of records deleted, across a checkpoint', async () => {
    await sql.run('DELETE FROM log_records WHERE seq >= ? AND seq <= ?', [28, 33]);
    const report = await expectFirstBad(28, 'gap', /records 28–33 are missing/);
    expect(where(report)).toEqual(['28:gap', '34:chain']);
  });

  it('(e) the tail truncated past the last checkpoint', async () => {
    await sql.run('DELETE FROM log_records WHERE seq > ?', [45]);
    const report = await expectFirstBad(
      46,
      'truncated',
      /records 46–50 are missing from the tail: checkpoint 50 .* but the log ends at 45/,
    );
    expect(where(report)).toEqual(['46:truncated']);
  });

  it('(e) the tail truncated past two checkpoints: located at the first missing record, once', async () => {
    await sql.run('DELETE FROM log_records WHERE seq > ?', [35]);
    expect(where(await expectFirstBad(36, 'truncated', /records 36–50 are missing/))).toEqual(['36:truncated']);
  });

  it('(f) the contents of two records swapped, seq numbers kept', async () => {
    const [a, b] = [(await store.record(21))!, (await store.record(24))!];
    await overwriteRecord(sql, 21, b);
    await overwriteRecord(sql, 24, a);
    const report = await expectFirstBad(21, 'chain');
    expect(where(report)).toEqual(['21:chain', '21:altered', '22:chain', '24:chain', '24:altered', '25:chain']);
  });

  it('(f) two adjacent records swapped', async () => {
    const [a, b] = [(await store.record(44))!, (await store.record(45))!];
    await overwriteRecord(sql, 44, b);
    await overwriteRecord(sql, 45, a);
    expect((await expectFirstBad(44, 'chain')).firstBad!.reason).toMatch(/prev_hash of record 44/);
  });

  /** Rewrites records from `k` on: `change` applied to record k, every hash from k on recomputed. */
  async function rewriteFrom(k: number, change: (r: LogRecord) => LogRecord): Promise<LogRecord[]> {
    let prev = (await store.record(k - 1))!.hash;
    const rewritten: LogRecord[] = [];
    for (const original of await collect(store.range(k, RECORDS))) {
      const content = original.seq === k ? change(original) : original;
      const hash = chainHash(prev, canonicalRecord(content));
      const r = { ...content, prevHash: prev, hash };
      await overwriteRecord(sql, r.seq, r);
      rewritten.push(r);
      prev = hash;
    }
    return rewritten;
  }

  it('(g) the chain rewritten from record k on with recomputed hashes: caught by the next checkpoint', async () => {
    await rewriteFrom(23, (r) => ({ ...r, to: 'SPC/Altrove' }));
    const report = await expectFirstBad(30, 'checkpoint', /checkpoint 30 .* vouches for hash .*the chain was rewritten/);
    // The chain itself is consistent: only the checkpoints give the rewrite away.
    expect(where(report)).toEqual(['30:checkpoint', '40:checkpoint', '50:checkpoint']);
  });

  it('(g) the chain rewritten after the last checkpoint only is not caught, but the auditor reports it as unvouched', async () => {
    // The limit of checkpoints: records 51–53 are not vouched for yet (MessageLog.close() seals them).
    await rewriteFrom(52, (r) => ({ ...r, state: 'FAILED' }));
    expect((await log.verify()).ok).toBe(true);
    expect(await auditor.verify({ signatures: false })).toMatchObject({ ok: true, uncheckpointed: 3 });
  });

  it('(g) a rewritten chain with checkpoints re-signed by a key the auditor does not trust', async () => {
    const rewritten = await rewriteFrom(23, (r) => ({ ...r, state: 'FAILED' }));
    for (const seq of [30, 40, 50]) {
      const head = rewritten.find((r) => r.seq === seq)!;
      const forged = await signCheckpoint(head, NODE, new Date(), roguePki().signer);
      await sql.run('UPDATE checkpoints SET head_hash = ?, time = ?, signer_cert = ?, signature = ? WHERE seq = ?', [
        forged.headHash,
        forged.time,
        forged.signerCert,
        forged.signature,
        seq,
      ]);
    }
    // The forged checkpoints are validly signed: only trust in the signer exposes them.
    const audit = await auditor.verify({ signatures: false });
    expect(audit.ok).toBe(false);
    expect(audit.firstBad).toMatchObject({ seq: 30, kind: 'checkpoint' });
    expect(audit.firstBad!.reason).toMatch(/signed by a certificate the auditor does not trust/);
    expect(audit.issues.map((i) => `${i.seq}:${i.kind}`)).toEqual(['30:checkpoint', '40:checkpoint', '50:checkpoint']);
    const trust = TrustStore.fromPem(logPki().caPem);
    const viaLog = await log.verify({
      trustCheckpointSigner: (pem, at) => {
        try {
          trust.validateSigner(new X509Certificate(pem), at);
          return undefined;
        } catch (err) {
          return (err as Error).message;
        }
      },
    });
    expect(viaLog.firstBad).toMatchObject({ seq: 30, kind: 'checkpoint' });
  });

  it('(h) a checkpoint’s head hash altered', async () => {
    const [cp] = await store.checkpoints(30, 30);
    await sql.run('UPDATE checkpoints SET head_hash = ? WHERE seq = ?', [flipByte(Buffer.from(cp!.headHash), 5).toString('utf8'), 30]);
    const report = await expectFirstBad(30, 'checkpoint');
    // It no longer names the chain's hash, and its signature no longer covers it.
    expect(report.issues.map((i) => i.reason)).toEqual([
      expect.stringMatching(/vouches for hash/),
      expect.stringMatching(/invalid signature/),
    ]);
  });

  it('(h) a checkpoint’s signature altered', async () => {
    const [cp] = await store.checkpoints(40, 40);
    const sig = Buffer.from(cp!.signature, 'base64');
    await sql.run('UPDATE checkpoints SET signature = ? WHERE seq = ?', [flipByte(sig, 17).toString('base64'), 40]);
    const report = await expectFirstBad(40, 'checkpoint', /checkpoint 40 .* has an invalid signature/);
    expect(where(report)).toEqual(['40:checkpoint']);
  });

  it('(h) a checkpoint’s time or node altered', async () => {
    await sql.run('UPDATE checkpoints SET time = ? WHERE seq = ?', ['2030-01-01T00:00:00.000Z', 20]);
    await sql.run('UPDATE checkpoints SET node = ? WHERE seq = ?', ['SPC/AltroNodo', 40]);
    expect(where(await expectFirstBad(20, 'checkpoint', /invalid signature/))).toEqual(['20:checkpoint', '40:checkpoint']);
  });

  it('(h) a checkpoint’s signer certificate replaced', async () => {
    await sql.run('UPDATE checkpoints SET signer_cert = ? WHERE seq = ?', [roguePki().signer.certPem, 10]);
    expect(where(await expectFirstBad(10, 'checkpoint', /invalid signature/))).toEqual(['10:checkpoint']);
  });
});
