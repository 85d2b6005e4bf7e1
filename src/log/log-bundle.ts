import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { TramiteError } from '../core/errors.js';
import { isRestKind, sha256Hex, type LogRecord } from './log-entry.js';
import type { Checkpoint, LogStore } from './log-store.js';
import { LoopShare } from './loop-share.js';

export const BUNDLE_FORMAT = 'tramite-log-bundle';

export interface BundleManifest {
  readonly format: typeof BUNDLE_FORMAT;
  readonly version: 1;
  readonly node: string;
  readonly exportedAt: string;
  readonly from: string;
  readonly to: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** prev_hash of the first record: where this segment hangs on the chain. */
  readonly startPrevHash: string;
  readonly headHash: string;
  readonly recordCount: number;
  readonly checkpointCount: number;
  /** SHA-256 of every other file of the bundle, by relative path. */
  readonly files: Readonly<Record<string, string>>;
}

/** A bundle in memory: what is written to disk, or served by the auditor API as one JSON document. */
export interface BundleContent {
  readonly manifest: BundleManifest;
  readonly records: readonly LogRecord[];
  readonly checkpoints: readonly Checkpoint[];
  /** Trust anchors (PEM) the auditor may use to check envelope and checkpoint signers. */
  readonly trustPem: string;
  /** The TSA's trust anchors (PEM), when checkpoints carry time-stamps; may be empty. */
  readonly tsaTrustPem: string;
}

/**
 * Collects the records whose time falls in [from, to] and the checkpoints inside that segment. With
 * `maxRecords`, a range holding more is refused before anything is read: a bundle is built in memory.
 */
export async function collectBundle(
  store: LogStore,
  opts: { from: string; to: string; node: string; trustPem: string; tsaTrustPem: string; now: Date; maxRecords?: number },
): Promise<BundleContent> {
  const range = await store.seqRangeForTime(opts.from, opts.to);
  if (!range) throw new TramiteError('TRAMITE_ERR_NOT_FOUND', `the log holds no record between ${opts.from} and ${opts.to}`);
  const count = range.last - range.first + 1;
  if (opts.maxRecords !== undefined && count > opts.maxRecords)
    throw new TramiteError(
      'TRAMITE_ERR_EXPORT_TOO_LARGE',
      `the range ${opts.from}..${opts.to} holds ${count} records (${range.first}–${range.last}), more than the ${opts.maxRecords} of one export (log.maxExportRecords): export a narrower range`,
    );
  const records: LogRecord[] = [];
  // Reading a large range from SQLite does no real I/O: the loop gets its turns as during a verification.
  const loop = new LoopShare();
  for await (const r of store.range(range.first, range.last)) {
    records.push(r);
    await loop.turn();
  }
  const checkpoints = await store.checkpoints(range.first, range.last);
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    version: 1,
    node: opts.node,
    exportedAt: opts.now.toISOString(),
    from: opts.from,
    to: opts.to,
    firstSeq: range.first,
    lastSeq: range.last,
    startPrevHash: records[0]!.prevHash,
    headHash: records[records.length - 1]!.hash,
    recordCount: records.length,
    checkpointCount: checkpoints.length,
    files: {},
  };
  return { manifest, records, checkpoints, trustPem: opts.trustPem, tsaTrustPem: opts.tsaTrustPem };
}

/** Where a record's bytes go in a bundle folder: a SOAP envelope as .xml, a REST record's HTTP message as .http. */
const envelopeFile = (r: LogRecord) => `envelopes/${r.seq}.${isRestKind(r.kind) ? 'http' : 'xml'}`;
const recordLine = (r: LogRecord) => JSON.stringify({ ...r, envelope: undefined, envelopeFile: r.envelope ? envelopeFile(r) : undefined });
const checkpointLine = (c: Checkpoint) =>
  JSON.stringify({ ...c, tsaToken: c.tsaToken ? Buffer.from(c.tsaToken).toString('base64') : undefined });

/**
 * Writes a bundle as a folder an auditor can read with any tool: manifest.json, records.jsonl,
 * checkpoints.jsonl, envelopes/<seq>.xml (byte for byte as logged; <seq>.http for a REST request or response), certificates/trust.pem.
 * The folder must not exist yet, or be empty.
 */
export function writeBundleDir(dir: string, b: BundleContent): BundleManifest {
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
    throw new TramiteError('TRAMITE_ERR_CONFIG_INVALID', `${dir} exists and is not an empty folder: choose a new path for the bundle`);
  }
  mkdirSync(join(dir, 'envelopes'), { recursive: true });
  mkdirSync(join(dir, 'certificates'), { recursive: true });
  const files: Record<string, string> = {};
  const put = (name: string, data: string | Uint8Array) => {
    writeFileSync(join(dir, name), data);
    files[name] = sha256Hex(data);
  };
  for (const r of b.records) if (r.envelope) put(envelopeFile(r), r.envelope);
  put('records.jsonl', b.records.map(recordLine).join('\n') + '\n');
  put('checkpoints.jsonl', b.checkpoints.map(checkpointLine).join('\n') + (b.checkpoints.length ? '\n' : ''));
  put('certificates/trust.pem', b.trustPem);
  if (b.tsaTrustPem) put('certificates/tsa.pem', b.tsaTrustPem);
  const manifest = { ...b.manifest, files };
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** The single-document form, in pieces: one per record, so that a builder can let the event loop in between. */
function* bundleJsonParts(b: BundleContent): Generator<string> {
  yield `{"manifest":${JSON.stringify(b.manifest)},"records":[`;
  let first = true;
  for (const r of b.records) {
    yield `${first ? '' : ','}${JSON.stringify({ ...r, envelope: r.envelope ? Buffer.from(r.envelope).toString('base64') : undefined })}`;
    first = false;
  }
  yield `],"checkpoints":${JSON.stringify(b.checkpoints.map((c) => JSON.parse(checkpointLine(c)) as unknown))}`;
  yield `,"trustPem":${JSON.stringify(b.trustPem)},"tsaTrustPem":${JSON.stringify(b.tsaTrustPem)}}`;
}

/** The single-document form (auditor API): the same content, envelopes in base64. */
export function bundleToJson(b: BundleContent): string {
  return [...bundleJsonParts(b)].join('');
}

/** bundleToJson for a node serving requests: the same text, built sharing the event loop (a range can hold many records). */
export async function bundleToJsonSharing(b: BundleContent): Promise<string> {
  const parts: string[] = [];
  const loop = new LoopShare();
  for (const part of bundleJsonParts(b)) {
    parts.push(part);
    await loop.turn();
  }
  return parts.join('');
}

/** Problems with the bundle's files themselves (missing, altered) found while reading it. */
export interface BundleRead {
  readonly content: BundleContent;
  readonly fileProblems: readonly string[];
}

/** Reads a bundle folder or a single-document JSON bundle, checking each file against the manifest. */
export function readBundle(path: string): BundleRead {
  const fail = (why: string): never => {
    throw new TramiteError('TRAMITE_ERR_LOG_TAMPERED', `${path}: ${why}`);
  };
  if (!existsSync(path)) fail('no such bundle');
  if (statSync(path).isFile()) {
    const doc = parseJson(readFileSync(path, 'utf8'), path) as {
      manifest: BundleManifest;
      records: Array<LogRecord & { envelope?: string }>;
      checkpoints: Array<Checkpoint & { tsaToken?: string }>;
      trustPem: string;
      tsaTrustPem?: string;
    };
    if (doc.manifest?.format !== BUNDLE_FORMAT) fail(`not a ${BUNDLE_FORMAT}`);
    return {
      content: {
        manifest: doc.manifest,
        records: doc.records.map(
          (r) => ({ ...r, ...(r.envelope ? { envelope: new Uint8Array(Buffer.from(r.envelope, 'base64')) } : {}) }) as LogRecord,
        ),
        checkpoints: doc.checkpoints.map(reviveCheckpoint),
        trustPem: doc.trustPem,
        tsaTrustPem: doc.tsaTrustPem ?? '',
      },
      fileProblems: [],
    };
  }
  const manifest = parseJson(readSafe(join(path, 'manifest.json'), fail).toString('utf8'), 'manifest.json') as BundleManifest;
  if (manifest.format !== BUNDLE_FORMAT) fail(`manifest.json is not a ${BUNDLE_FORMAT} manifest`);
  const fileProblems: string[] = [];
  for (const [name, digest] of Object.entries(manifest.files)) {
    const p = join(path, name);
    if (!existsSync(p)) fileProblems.push(`${name} is missing`);
    else if (sha256Hex(readFileSync(p)) !== digest) fileProblems.push(`${name} does not match its digest in manifest.json`);
  }
  const read = (name: string): Buffer | undefined => (existsSync(join(path, name)) ? readFileSync(join(path, name)) : undefined);
  const lines = (data: Buffer | undefined) =>
    data
      ? data
          .toString('utf8')
          .split('\n')
          .filter((l) => l.trim())
      : [];
  const records = lines(read('records.jsonl')).map((line) => {
    const r = parseJson(line, 'records.jsonl') as LogRecord & { envelopeFile?: string };
    const { envelopeFile, ...rest } = r;
    const env = envelopeFile && existsSync(join(path, envelopeFile)) ? readFileSync(join(path, envelopeFile)) : undefined;
    return { ...rest, ...(env ? { envelope: new Uint8Array(env) } : {}) } as LogRecord;
  });
  const checkpoints = lines(read('checkpoints.jsonl')).map((line) =>
    reviveCheckpoint(parseJson(line, 'checkpoints.jsonl') as Checkpoint & { tsaToken?: string }),
  );
  const trustPem = read('certificates/trust.pem')?.toString('utf8') ?? '';
  const tsaTrustPem = read('certificates/tsa.pem')?.toString('utf8') ?? '';
  return { content: { manifest, records, checkpoints, trustPem, tsaTrustPem }, fileProblems };
}

function reviveCheckpoint(c: Omit<Checkpoint, 'tsaToken'> & { tsaToken?: string }): Checkpoint {
  const { tsaToken, ...rest } = c;
  return { ...rest, ...(tsaToken ? { tsaToken: new Uint8Array(Buffer.from(tsaToken, 'base64')) } : {}) };
}

function readSafe(p: string, fail: (why: string) => never): Buffer {
  try {
    return readFileSync(p);
  } catch {
    return fail(`${p} cannot be read`);
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new TramiteError('TRAMITE_ERR_LOG_TAMPERED', `${what} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}
