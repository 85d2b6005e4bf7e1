import { canonicalRecord, chainHash, GENESIS_HASH, isRestKind, sha256Hex, type LogRecord } from './log-entry.js';
import { checkpointSignatureValid } from './checkpoint.js';
import type { Checkpoint } from './log-store.js';
import { LoopShare } from './loop-share.js';

export type IssueKind = 'gap' | 'order' | 'chain' | 'altered' | 'digest' | 'signature' | 'checkpoint' | 'truncated';

/** One thing wrong with the log, located by sequence number. */
export interface VerifyIssue {
  readonly seq: number;
  readonly kind: IssueKind;
  readonly reason: string;
}

export interface ChainVerifyReport {
  readonly ok: boolean;
  readonly records: number;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly headHash: string | null;
  readonly checkpoints: number;
  readonly envelopesChecked: number;
  readonly envelopesPurged: number;
  /** The problem with the lowest sequence number: where an auditor starts. */
  readonly firstBad: VerifyIssue | null;
  readonly issues: readonly VerifyIssue[];
}

export interface ChainVerifyOptions {
  /** Where the segment starts: seq 1 after the genesis hash for a whole log; an export's anchor otherwise. */
  readonly startSeq?: number;
  readonly startPrevHash?: string;
  /** Re-verifies a logged envelope's signature (as of its record's time); returns the problem, if any (a REST record's check is asynchronous). */
  readonly checkEnvelope?: (record: LogRecord) => string | undefined | Promise<string | undefined>;
  /** Whether the certificate that signed a checkpoint is one the auditor trusts; every checkpoint by default. */
  readonly trustCheckpointSigner?: (certPem: string, at: Date) => string | undefined;
  readonly onRecord?: (seq: number) => void;
  /** Stop listing issues after this many (the first one is always kept). */
  readonly maxIssues?: number;
}

/**
 * Walks a log segment in sequence order and checks: no gap or reordering, each record's prev_hash is
 * its predecessor's hash, each hash matches the record's canonical content, each kept envelope
 * matches its digest (and, if asked, its signature), and each checkpoint is validly signed and names
 * the very hash the chain has at its sequence — which is what exposes a rewritten chain — and does
 * not vouch for records that are no longer there (truncation).
 */
export async function verifyChain(
  records: AsyncIterable<LogRecord>,
  checkpoints: readonly Checkpoint[],
  opts: ChainVerifyOptions = {},
): Promise<ChainVerifyReport> {
  const issues: VerifyIssue[] = [];
  const maxIssues = opts.maxIssues ?? 100;
  const report = (issue: VerifyIssue) => {
    if (issues.length < maxIssues) issues.push(issue);
  };
  const checkpointAt = new Map(checkpoints.map((c) => [c.seq, c]));
  let expected = opts.startSeq ?? 1;
  let prev = opts.startPrevHash ?? GENESIS_HASH;
  let count = 0;
  let firstSeq: number | null = null;
  let lastSeq: number | null = null;
  let envelopesChecked = 0;
  let envelopesPurged = 0;
  // A signature re-check per record is CPU work: the walk gives the event loop a turn every slice.
  const loop = new LoopShare();

  for await (const r of records) {
    count += 1;
    firstSeq ??= r.seq;
    if (r.seq > expected)
      report({
        seq: expected,
        kind: 'gap',
        reason: `records ${expected}${r.seq - 1 > expected ? `–${r.seq - 1}` : ''} are missing (the next record present is ${r.seq})`,
      });
    else if (r.seq < expected) report({ seq: r.seq, kind: 'order', reason: `record ${r.seq} appears after record ${expected - 1}` });
    if (r.prevHash !== prev)
      report({
        seq: r.seq,
        kind: 'chain',
        reason: `prev_hash of record ${r.seq} is not the hash of the record before it (records removed, inserted or swapped)`,
      });
    const recomputed = chainHash(r.prevHash, canonicalRecord(r));
    if (recomputed !== r.hash)
      report({
        seq: r.seq,
        kind: 'altered',
        reason: `record ${r.seq} (${r.kind} of ${r.messageId}) does not match its hash: its content was changed`,
      });
    if (r.envelope) {
      if (sha256Hex(r.envelope) !== r.envelopeDigest) {
        report({ seq: r.seq, kind: 'digest', reason: `the envelope kept in record ${r.seq} does not match its digest: it was changed` });
      } else if (opts.checkEnvelope) {
        const problem = await opts.checkEnvelope(r);
        envelopesChecked += 1;
        if (problem)
          report({
            seq: r.seq,
            kind: 'signature',
            reason: `the ${isRestKind(r.kind) ? 'HTTP message' : 'envelope'} of record ${r.seq} no longer verifies: ${problem}`,
          });
      }
    } else if (r.envelopeDigest) {
      envelopesPurged += 1;
    }
    const cp = checkpointAt.get(r.seq);
    if (cp && cp.headHash !== r.hash) {
      report({
        seq: r.seq,
        kind: 'checkpoint',
        reason: `checkpoint ${cp.seq} of ${cp.time} vouches for hash ${cp.headHash.slice(0, 16)}…, the log has ${r.hash.slice(0, 16)}…: the chain was rewritten`,
      });
    }
    prev = r.hash;
    lastSeq = r.seq;
    expected = Math.max(expected, r.seq) + 1;
    opts.onRecord?.(r.seq);
    await loop.turn();
  }

  for (const cp of checkpoints) {
    await loop.turn();
    if (!checkpointSignatureValid(cp))
      report({ seq: cp.seq, kind: 'checkpoint', reason: `checkpoint ${cp.seq} of ${cp.time} has an invalid signature: it was altered` });
    else {
      const distrust = opts.trustCheckpointSigner?.(cp.signerCert, new Date(cp.time));
      if (distrust)
        report({
          seq: cp.seq,
          kind: 'checkpoint',
          reason: `checkpoint ${cp.seq} is signed by a certificate the auditor does not trust: ${distrust}`,
        });
    }
  }
  // Truncation is located at the first record that is gone, vouched for by the latest checkpoint.
  const beyond = checkpoints.filter((cp) => lastSeq === null || cp.seq > lastSeq);
  if (beyond.length > 0) {
    const latest = beyond.reduce((a, b) => (b.seq > a.seq ? b : a));
    const firstMissing = (lastSeq ?? (opts.startSeq ?? 1) - 1) + 1;
    report({
      seq: firstMissing,
      kind: 'truncated',
      reason: `records ${firstMissing}–${latest.seq} are missing from the tail: checkpoint ${latest.seq} of ${latest.time} vouches for records up to ${latest.seq}, but the log ends at ${lastSeq ?? 'nothing'}`,
    });
  }

  issues.sort((a, b) => a.seq - b.seq);
  return {
    ok: issues.length === 0,
    records: count,
    firstSeq,
    lastSeq,
    headHash: lastSeq === null ? null : prev,
    checkpoints: checkpoints.length,
    envelopesChecked,
    envelopesPurged,
    firstBad: issues[0] ?? null,
    issues,
  };
}
