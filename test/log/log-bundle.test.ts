/**
 * Export bundles: a time range of the log exported by the auditor (folder and single-JSON forms)
 * verifies offline — the node's database closed and deleted — and any alteration of its files is
 * reported: by the manifest's digests (fileProblems) and, located by seq, by the chain and checkpoints.
 *
 * The log is the one of tamper-detection.test.ts (53 records, checkpoints at 10…50, SQLite); the
 * export covers records 12–44, so it holds the checkpoints at 20, 30 and 40. Record 23 is an envelope,
 * 24 a SENDING state change with detail {"status":"SENDING","attempts":1}.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrustStore } from '../../src/crypto/trust-store.js';
import { bundleToJson, bundleToJsonSharing, writeBundleDir, type BundleContent, type BundleManifest } from '../../src/log/log-bundle.js';
import { sha256Hex, type LogRecord } from '../../src/log/log-entry.js';
import { LogAuditor, verifyBundle } from '../../src/node/audit/log-auditor.js';
import {
  fillLog,
  flipByte,
  logPki,
  messageLog,
  newStoreSite,
  NODE,
  sampleEnvelope,
  sampleMessage,
  settleCheckpoints,
  SteppingClock,
  type StoreSite,
} from './log-fixtures.js';

const FIRST = 12;
const LAST = 44;

let work: string;
let site: StoreSite;
/** The pristine bundle folder and single-JSON file; tests tamper with copies. */
let bundleDir: string;
let bundleFile: string;
let bundle: BundleContent;
let manifest: BundleManifest;
let copies = 0;
/** The same range asked for with a cap one record short of it, and with a cap of exactly its size. */
let overCap: unknown;
let atCap: BundleContent;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'tramite-bundle-'));
  site = await newStoreSite('sqlite');
  const store = await site.open();
  const clock = new SteppingClock();
  const log = messageLog(store, { clock, checkpoints: { everyRecords: 10 } });
  await fillLog(log, clock, 18, { settle: true });
  for (let i = 19; i <= 21; i++) {
    const m = sampleMessage(i, clock);
    await log.create(m, sampleEnvelope(m.id));
  }
  await settleCheckpoints(log);
  const [from, to] = [(await store.record(FIRST))!.time, (await store.record(LAST))!.time];

  const auditor = new LogAuditor(store, NODE, TrustStore.fromPem(logPki().caPem));
  bundle = await auditor.exportBundle(from, to, new Date('2031-04-01T00:00:00.000Z'));
  overCap = await auditor.exportBundle(from, to, new Date(), { maxRecords: LAST - FIRST }).catch((err: unknown) => err);
  atCap = await auditor.exportBundle(from, to, new Date(), { maxRecords: LAST - FIRST + 1 });
  bundleDir = join(work, 'bundle');
  manifest = writeBundleDir(bundleDir, bundle);
  bundleFile = join(work, 'bundle.json');
  writeFileSync(bundleFile, bundleToJson(bundle));

  // Offline from here on: the node's log is closed and gone.
  await log.close();
  await site.dispose();
  expect(existsSync(site.location)).toBe(false);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A fresh copy of the pristine bundle folder (or JSON file), to tamper with. */
function copyOf(path: string): string {
  const copy = join(work, `copy-${++copies}`);
  cpSync(path, copy, { recursive: true });
  return copy;
}

const recordLines = (dir: string) => readFileSync(join(dir, 'records.jsonl'), 'utf8').split('\n').filter(Boolean);
const writeLines = (dir: string, file: string, lines: string[]) => writeFileSync(join(dir, file), lines.map((l) => `${l}\n`).join(''));
const where = (r: { issues: readonly { seq: number; kind: string }[] }) => r.issues.map((i) => `${i.seq}:${i.kind}`);

describe('export', () => {
  it('refuses a range holding more records than maxRecords before reading it, and takes one of exactly that many', () => {
    expect(overCap).toMatchObject({ code: 'TRAMITE_ERR_EXPORT_TOO_LARGE' });
    expect((overCap as Error).message).toContain(`holds ${LAST - FIRST + 1} records (${FIRST}–${LAST})`);
    expect(atCap.manifest.recordCount).toBe(LAST - FIRST + 1);
  });

  it('builds the single-JSON form sharing the event loop, to the same text', async () => {
    expect(await bundleToJsonSharing(bundle)).toBe(bundleToJson(bundle));
    expect(JSON.parse(bundleToJson(bundle))).toMatchObject({ manifest: { firstSeq: FIRST, lastSeq: LAST }, trustPem: bundle.trustPem });
  });

  it('writes the records, checkpoints, envelopes and trust anchors of the time range', () => {
    expect(manifest).toMatchObject({
      format: 'tramite-log-bundle',
      version: 1,
      node: NODE,
      firstSeq: FIRST,
      lastSeq: LAST,
      recordCount: LAST - FIRST + 1,
      checkpointCount: 3,
    });
    expect(bundle.records.map((r) => r.seq)).toEqual(Array.from({ length: LAST - FIRST + 1 }, (_, i) => FIRST + i));
    expect(bundle.checkpoints.map((c) => c.seq)).toEqual([20, 30, 40]);
    expect(manifest.startPrevHash).toBe(bundle.records[0]!.prevHash);
    expect(manifest.headHash).toBe(bundle.records[bundle.records.length - 1]!.hash);

    const withEnvelope = bundle.records.filter((r) => r.envelope);
    expect(readdirSync(join(bundleDir, 'envelopes')).sort()).toEqual(withEnvelope.map((r) => `${r.seq}.xml`).sort());
    for (const r of withEnvelope) {
      const file = readFileSync(join(bundleDir, 'envelopes', `${r.seq}.xml`));
      expect(file.equals(Buffer.from(r.envelope!))).toBe(true); // byte for byte as logged
      expect(manifest.files[`envelopes/${r.seq}.xml`]).toBe(sha256Hex(file));
    }
    expect(readFileSync(join(bundleDir, 'certificates', 'trust.pem'), 'utf8')).toContain(logPki().caPem.trim());
    expect(Object.keys(manifest.files).sort()).toEqual(
      ['certificates/trust.pem', 'checkpoints.jsonl', 'records.jsonl', ...withEnvelope.map((r) => `envelopes/${r.seq}.xml`)].sort(),
    );
    expect(() => writeBundleDir(bundleDir, bundle)).toThrow(/exists and is not an empty folder/);
  });
});

describe('offline verification of an untouched bundle', () => {
  it('the folder verifies, checkpoint signers checked against the bundle’s own trust anchors', async () => {
    const report = await verifyBundle(bundleDir, { signatures: false });
    expect(report).toMatchObject({
      ok: true,
      records: 33,
      firstSeq: FIRST,
      lastSeq: LAST,
      checkpoints: 3,
      uncheckpointed: LAST - 40,
      fileProblems: [],
      firstBad: null,
      signaturesChecked: false,
    });
    expect(report.manifest).toEqual(manifest);
  });

  it('the single-JSON form verifies too', async () => {
    const report = await verifyBundle(bundleFile, { signatures: false });
    expect(report).toMatchObject({
      ok: true,
      records: 33,
      firstSeq: FIRST,
      lastSeq: LAST,
      checkpoints: 3,
      fileProblems: [],
      firstBad: null,
    });
  });

  it('with signature checks on, each logged envelope is re-verified (these sample envelopes are unsigned)', async () => {
    const report = await verifyBundle(bundleDir);
    expect(report.signaturesChecked).toBe(true);
    expect(report.ok).toBe(false);
    expect(report.firstBad).toMatchObject({ seq: FIRST, kind: 'signature' });
    expect(new Set(report.issues.map((i) => i.kind))).toEqual(new Set(['signature']));
  });
});

describe('a tampered bundle folder is detected', () => {
  it('an envelope file altered', async () => {
    const dir = copyOf(bundleDir);
    const file = join(dir, 'envelopes', '23.xml');
    writeFileSync(file, flipByte(readFileSync(file)));
    const report = await verifyBundle(dir, { signatures: false });
    expect(report.ok).toBe(false);
    expect(report.fileProblems).toEqual(['envelopes/23.xml does not match its digest in manifest.json']);
    expect(report.firstBad).toMatchObject({ seq: 23, kind: 'digest' });
    expect(where(report)).toEqual(['23:digest']);
  });

  it('an envelope file removed', async () => {
    const dir = copyOf(bundleDir);
    unlinkSync(join(dir, 'envelopes', '23.xml'));
    const report = await verifyBundle(dir, { signatures: false });
    expect(report.ok).toBe(false);
    expect(report.fileProblems).toEqual(['envelopes/23.xml is missing']);
  });

  it('a records.jsonl line altered (one byte, still JSON)', async () => {
    const dir = copyOf(bundleDir);
    const lines = recordLines(dir);
    const i = lines.findIndex((l) => (JSON.parse(l) as LogRecord).seq === 24);
    expect(lines[i]).toContain('"detail":{"status":"SENDING","attempts":1}');
    lines[i] = lines[i]!.replace('"attempts":1', '"attempts":2');
    writeLines(dir, 'records.jsonl', lines);
    const report = await verifyBundle(dir, { signatures: false });
    expect(report.ok).toBe(false);
    expect(report.fileProblems).toEqual(['records.jsonl does not match its digest in manifest.json']);
    expect(report.firstBad).toMatchObject({ seq: 24, kind: 'altered' });
    expect(where(report)).toEqual(['24:altered']);
  });

  it('a records.jsonl line altered and the manifest digest recomputed: the chain still catches it', async () => {
    const dir = copyOf(bundleDir);
    const lines = recordLines(dir);
    const i = lines.findIndex((l) => (JSON.parse(l) as LogRecord).seq === 31);
    lines[i] = JSON.stringify({ ...(JSON.parse(lines[i]!) as LogRecord), to: 'SPC/Altrove' });
    writeLines(dir, 'records.jsonl', lines);
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as BundleManifest;
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({ ...m, files: { ...m.files, 'records.jsonl': sha256Hex(readFileSync(join(dir, 'records.jsonl'))) } }),
    );
    const report = await verifyBundle(dir, { signatures: false });
    expect(report.fileProblems).toEqual([]);
    expect(report.ok).toBe(false);
    expect(report.firstBad).toMatchObject({ seq: 31, kind: 'altered' });
  });

  it('the last record line removed', async () => {
    const dir = copyOf(bundleDir);
    writeLines(dir, 'records.jsonl', recordLines(dir).slice(0, -1));
    const report = await verifyBundle(dir, { signatures: false });
    expect(report.ok).toBe(false);
    expect(report.fileProblems).toEqual(['records.jsonl does not match its digest in manifest.json']);
    expect(report.lastSeq).toBe(LAST - 1);
    // Located at the first record that is gone.
    expect(report.firstBad).toMatchObject({ seq: LAST, kind: 'truncated' });
    expect(report.issues.find((i) => i.kind === 'truncated')!.reason).toMatch(
      new RegExp(`lists records ${FIRST}–${LAST} \\(33\\), the bundle holds 32 ending at ${LAST - 1}`),
    );
    expect(where(report)).toEqual([`${LAST}:truncated`]);
  });

  it('a record line removed in the middle', async () => {
    const dir = copyOf(bundleDir);
    writeLines(
      dir,
      'records.jsonl',
      recordLines(dir).filter((l) => (JSON.parse(l) as LogRecord).seq !== 35),
    );
    const report = await verifyBundle(dir, { signatures: false });
    expect(report.ok).toBe(false);
    expect(report.firstBad).toMatchObject({ seq: 35, kind: 'gap' });
  });

  it('checkpoints.jsonl altered: a head hash, or a signature', async () => {
    for (const [field, seq] of [
      ['headHash', 30],
      ['signature', 40],
    ] as const) {
      const dir = copyOf(bundleDir);
      const lines = readFileSync(join(dir, 'checkpoints.jsonl'), 'utf8').split('\n').filter(Boolean);
      const i = lines.findIndex((l) => (JSON.parse(l) as { seq: number }).seq === seq);
      const cp = JSON.parse(lines[i]!) as Record<string, string>;
      const value =
        field === 'signature'
          ? flipByte(Buffer.from(cp.signature!, 'base64'), 9).toString('base64')
          : flipByte(Buffer.from(cp.headHash!), 3).toString('utf8');
      lines[i] = JSON.stringify({ ...cp, [field]: value });
      writeLines(dir, 'checkpoints.jsonl', lines);
      const report = await verifyBundle(dir, { signatures: false });
      expect(report.ok).toBe(false);
      expect(report.fileProblems).toEqual(['checkpoints.jsonl does not match its digest in manifest.json']);
      expect(report.firstBad).toMatchObject({ seq, kind: 'checkpoint' });
    }
  });

  it('a checkpoint removed from checkpoints.jsonl', async () => {
    const dir = copyOf(bundleDir);
    const lines = readFileSync(join(dir, 'checkpoints.jsonl'), 'utf8').split('\n').filter(Boolean);
    writeLines(dir, 'checkpoints.jsonl', lines.slice(1));
    const report = await verifyBundle(dir, { signatures: false });
    expect(report.ok).toBe(false);
    expect(report.fileProblems).toEqual(['checkpoints.jsonl does not match its digest in manifest.json']);
  });

  it('the manifest’s anchor (startPrevHash) altered', async () => {
    const dir = copyOf(bundleDir);
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as BundleManifest;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...m, startPrevHash: '1'.repeat(64) }));
    const report = await verifyBundle(dir, { signatures: false });
    expect(report.ok).toBe(false);
    expect(report.firstBad).toMatchObject({ seq: FIRST, kind: 'chain' });
  });
});

describe('a tampered single-JSON bundle is detected', () => {
  type Doc = {
    manifest: BundleManifest;
    records: Array<Omit<LogRecord, 'envelope'> & { envelope?: string }>;
    checkpoints: Array<Record<string, unknown>>;
  };
  const tamper = (change: (doc: Doc) => void): string => {
    const file = copyOf(bundleFile);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Doc;
    change(doc);
    writeFileSync(file, JSON.stringify(doc));
    return file;
  };

  it('a record altered', async () => {
    const file = tamper((doc) => {
      const r = doc.records.find((x) => x.seq === 33)!;
      Object.assign(r, { state: 'FAILED' });
    });
    const report = await verifyBundle(file, { signatures: false });
    expect(report.ok).toBe(false);
    expect(report.firstBad).toMatchObject({ seq: 33, kind: 'altered' });
  });

  it('an envelope altered', async () => {
    const file = tamper((doc) => {
      const r = doc.records.find((x) => x.seq === 23)!;
      r.envelope = flipByte(Buffer.from(r.envelope!, 'base64')).toString('base64');
    });
    expect((await verifyBundle(file, { signatures: false })).firstBad).toMatchObject({ seq: 23, kind: 'digest' });
  });

  it('the last record removed', async () => {
    const file = tamper((doc) => void doc.records.pop());
    const report = await verifyBundle(file, { signatures: false });
    expect(report.ok).toBe(false);
    expect(report.firstBad).toMatchObject({ kind: 'truncated' });
  });

  it('a checkpoint’s head hash altered', async () => {
    const file = tamper((doc) => {
      const cp = doc.checkpoints.find((c) => c.seq === 20)!;
      cp.headHash = 'f'.repeat(64);
    });
    expect((await verifyBundle(file, { signatures: false })).firstBad).toMatchObject({ seq: 20, kind: 'checkpoint' });
  });
});
