import { X509Certificate } from 'node:crypto';
import { TramiteError } from '../../core/errors.js';
import { TrustStore } from '../../crypto/trust-store.js';
import { describeCertificate } from '../../core/certificate-description.js';
import { verifyChain, type ChainVerifyReport, type VerifyIssue } from '../../log/chain-verifier.js';
import { checkpointStatement } from '../../log/checkpoint.js';
import { verifyTimestampToken } from '../../crypto/rfc3161/index.js';
import type { CertificateChainCheck } from '../../crypto/revocation/certificate-chain-check.js';
import { collectBundle, readBundle, type BundleContent } from '../../log/log-bundle.js';
import { isRestKind, type LogRecord } from '../../log/log-entry.js';
import { checkRestRecord } from './rest-record-check.js';
import type { Checkpoint, LogStore, MessageRow, RecordQuery } from '../../log/log-store.js';
import { readEnvelope, verifyEnvelope } from '../../../envelopes/envelope.js';
import { WEAKEST_MODI_PATTERNS } from '../../core/service-profile.js';

/** A record as an auditor lists it: the facts, without the envelope bytes. */
export interface RecordSummary {
  readonly seq: number;
  readonly time: string;
  readonly kind: string;
  readonly messageId: string;
  readonly direction: string;
  readonly from: string;
  readonly to: string;
  readonly service: string;
  readonly action?: string;
  readonly state: string;
  readonly refId?: string;
  readonly conversationId?: string;
  readonly detail?: Readonly<Record<string, unknown>>;
  readonly envelope: 'kept' | 'purged' | 'none';
  readonly hash: string;
}

export interface EnvelopeStatus {
  readonly seq: number;
  readonly kind: string;
  readonly valid: boolean;
  readonly signer?: string;
  readonly code?: string;
  readonly reason?: string;
  /** The bytes as logged: the SOAP envelope, or a REST record's HTTP/1.1 message. */
  readonly xml?: string;
  /** A REST record: ModI tokens re-verified and skipped (vouchers, kid-signed, those of a FAILED exchange). */
  readonly tokens?: { readonly verified: number; readonly skipped: number };
  readonly note?: string;
}

export interface AuditReport extends ChainVerifyReport {
  /** Records after the last checkpoint: consistent with the chain, but vouched for by no signature yet. */
  readonly uncheckpointed: number;
  readonly signaturesChecked: boolean;
  /** Checkpoints whose RFC 3161 time-stamp was verified against the TSA trust given. */
  readonly timestampsVerified: number;
  /** Bundle only: files missing or not matching the manifest. */
  readonly fileProblems?: readonly string[];
  /** With signatures checked: the ModI REST tokens re-verified, and those skipped (no certificate to check them with, or a FAILED exchange's). */
  readonly restTokens?: { readonly verified: number; readonly skipped: number };
}

export function summarise(r: LogRecord): RecordSummary {
  return {
    seq: r.seq,
    time: r.time,
    kind: r.kind,
    messageId: r.messageId,
    direction: r.direction,
    from: r.from,
    to: r.to,
    service: r.service,
    ...(r.action !== undefined ? { action: r.action } : {}),
    state: r.state,
    ...(r.refId !== undefined ? { refId: r.refId } : {}),
    ...(r.conversationId !== undefined ? { conversationId: r.conversationId } : {}),
    ...(r.detail !== undefined ? { detail: r.detail } : {}),
    envelope: r.envelope ? 'kept' : r.envelopeDigest ? 'purged' : 'none',
    hash: r.hash,
  };
}

/**
 * Re-verifies a logged envelope's signature as of the time it was logged: the certificate must have
 * been valid then and chain to the given trust anchors; the Timestamp's freshness is not re-judged.
 */
export function envelopeSignatureProblem(
  r: LogRecord,
  trust: TrustStore,
): { valid: boolean; signer?: string; code?: string; reason?: string } {
  if (!r.envelope) return { valid: false, reason: 'envelope purged by retention' };
  try {
    // Which patterns a ModI service required was judged at reception; here, that the signature holds.
    const opened = verifyEnvelope(readEnvelope(r.envelope), { trust, at: new Date(r.time), skewSeconds: 300 }, WEAKEST_MODI_PATTERNS);
    return { valid: true, signer: describeCertificate(opened.signature.signer) };
  } catch (err) {
    const e = err as TramiteError & { reason?: string; signer?: string };
    return {
      valid: false,
      ...(e.signer ? { signer: e.signer } : {}),
      code: e.code ?? 'ERROR',
      reason: e.reason ? `${e.reason}: ${e.message}` : e.message,
    };
  }
}

type RecordSignatureCheck = { valid: boolean; signer?: string; code?: string; reason?: string } & Partial<
  Pick<EnvelopeStatus, 'tokens' | 'note'>
>;

/** A logged envelope's signature, or a logged REST message's ModI tokens, re-verified as of the record's time. */
export async function recordSignatureProblem(r: LogRecord, trust: TrustStore): Promise<RecordSignatureCheck> {
  if (!isRestKind(r.kind)) return envelopeSignatureProblem(r, trust);
  const { tokensVerified, tokensSkipped, ...check } = await checkRestRecord(r, trust);
  return { ...check, tokens: { verified: tokensVerified, skipped: tokensSkipped } };
}

/** The check verifyChain runs on each kept envelope, counting the REST tokens it re-verified and skipped. */
function countingSignatureCheck(trust: TrustStore): {
  check: (r: LogRecord) => Promise<string | undefined>;
  restTokens: { verified: number; skipped: number };
} {
  const restTokens = { verified: 0, skipped: 0 };
  return {
    restTokens,
    check: async (r) => {
      const result = await recordSignatureProblem(r, trust);
      if (result.tokens) {
        restTokens.verified += result.tokens.verified;
        restTokens.skipped += result.tokens.skipped;
      }
      return result.reason;
    },
  };
}

function checkpointSignerCheck(trust: TrustStore | undefined) {
  if (!trust) return undefined;
  return (pem: string, at: Date): string | undefined => {
    try {
      trust.validateSigner(new X509Certificate(pem), at);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  };
}

/**
 * Verifies the RFC 3161 token of each checkpoint that has one, against the TSA trust anchors;
 * a checkpoint without a token is not an issue (the TSA is optional), a bad token is.
 */
async function checkTimestamps(
  checkpoints: readonly Checkpoint[],
  tsaTrust: readonly string[] | undefined,
  revocation?: CertificateChainCheck,
): Promise<{ verified: number; issues: VerifyIssue[] }> {
  const issues: VerifyIssue[] = [];
  let verified = 0;
  if (!tsaTrust?.length) return { verified, issues };
  for (const cp of checkpoints) {
    if (!cp.tsaToken) continue;
    try {
      const ts = await verifyTimestampToken(cp.tsaToken, checkpointStatement(cp), {
        trustedCerts: [...tsaTrust],
        ...(revocation ? { revocation } : {}),
      });
      // The token must not predate the statement it stamps (minus a little clock skew).
      if (ts.genTime.getTime() + 60_000 < new Date(cp.time).getTime())
        throw new TramiteError(
          'TRAMITE_ERR_LOG_TAMPERED',
          `time-stamped at ${ts.genTime.toISOString()}, before the checkpoint's own time ${cp.time}`,
        );
      verified += 1;
    } catch (err) {
      issues.push({
        seq: cp.seq,
        kind: 'checkpoint',
        reason: `the time-stamp of checkpoint ${cp.seq} does not verify: ${(err as Error).message}`,
      });
    }
  }
  return { verified, issues };
}

function mergeIssues(report: ChainVerifyReport, extra: readonly VerifyIssue[]): ChainVerifyReport {
  if (extra.length === 0) return report;
  const issues = [...report.issues, ...extra].sort((a, b) => a.seq - b.seq);
  return { ...report, issues, firstBad: issues[0] ?? null, ok: false };
}

function withTail(
  report: ChainVerifyReport,
  checkpointSeqs: readonly number[],
  signaturesChecked: boolean,
  timestampsVerified: number,
  fileProblems?: readonly string[],
  restTokens?: { verified: number; skipped: number },
): AuditReport {
  const lastCp = checkpointSeqs.length ? Math.max(...checkpointSeqs) : 0;
  const uncheckpointed = report.lastSeq === null ? 0 : Math.max(0, report.lastSeq - Math.max(lastCp, (report.firstSeq ?? 1) - 1));
  const problems = fileProblems ?? [];
  return {
    ...report,
    ok: report.ok && problems.length === 0,
    uncheckpointed,
    signaturesChecked,
    timestampsVerified,
    ...(fileProblems ? { fileProblems } : {}),
    ...(restTokens && restTokens.verified + restTokens.skipped > 0 ? { restTokens } : {}),
  };
}

/** What auditors do with a node's log: search, show, verify, export — read-only. */
export class LogAuditor {
  constructor(
    private readonly store: LogStore,
    private readonly node: string,
    private readonly trust: TrustStore | undefined,
    /** PEM texts the auditor trusts for checkpoint time-stamps (the TSA's CA). */
    private readonly tsaTrust?: readonly string[],
    /** The TSA certificate's revocation status, by the node's policy (absent: not checked). */
    private readonly revocation?: CertificateChainCheck,
    /** Told of each verification's outcome (the node's alarm board); its failure never fails the verification. */
    private readonly onVerified?: (report: AuditReport) => Promise<void>,
  ) {}

  async search(q: RecordQuery & { fromTime?: string; toTime?: string }): Promise<RecordSummary[]> {
    return (await this.store.searchRecords(q)).map(summarise);
  }

  async show(id: string): Promise<{ messages: MessageRow[]; history: RecordSummary[]; envelopes: EnvelopeStatus[] } | undefined> {
    const history = await this.store.recordsOf(id);
    if (history.length === 0) return undefined;
    // Inbound ids are unique per sender only: every message with this id, whoever sent it.
    const messages = await this.store.messages({ messageId: id, limit: 1000 });
    const envelopes = await Promise.all(
      history
        .filter((r) => r.envelope || r.envelopeDigest)
        .map(async (r): Promise<EnvelopeStatus> => {
          const xml = r.envelope ? Buffer.from(r.envelope).toString('utf8') : undefined;
          const sig = this.trust
            ? await recordSignatureProblem(r, this.trust)
            : { valid: false, reason: 'not checked: no trust anchors given' };
          return { seq: r.seq, kind: r.kind, ...sig, ...(xml ? { xml } : {}) };
        }),
    );
    return { messages, history: history.map(summarise), envelopes };
  }

  /** Chain, checkpoints and — with trust anchors — every kept envelope's signature. */
  async verify(opts: { signatures?: boolean; onRecord?: (seq: number) => void } = {}): Promise<AuditReport> {
    const head = await this.store.head();
    const checkpoints = await this.store.checkpoints();
    const trust = this.trust;
    const checkSigs = (opts.signatures ?? true) && trust !== undefined;
    const signerCheck = checkpointSignerCheck(trust);
    const sigs = checkSigs ? countingSignatureCheck(trust!) : undefined;
    const report = await verifyChain(this.store.range(1, head.seq), checkpoints, {
      ...(sigs ? { checkEnvelope: sigs.check } : {}),
      ...(signerCheck ? { trustCheckpointSigner: signerCheck } : {}),
      ...(opts.onRecord ? { onRecord: opts.onRecord } : {}),
    });
    const ts = await checkTimestamps(checkpoints, this.tsaTrust, this.revocation);
    const result = withTail(
      mergeIssues(report, ts.issues),
      checkpoints.map((c) => c.seq),
      checkSigs,
      ts.verified,
      undefined,
      sigs?.restTokens,
    );
    await this.onVerified?.(result).catch(() => undefined);
    return result;
  }

  async headSeq(): Promise<number> {
    return (await this.store.head()).seq;
  }

  /** With `maxRecords`, a range holding more records is refused (TRAMITE_ERR_EXPORT_TOO_LARGE) before it is read. */
  async exportBundle(from: string, to: string, now: Date, opts: { maxRecords?: number } = {}): Promise<BundleContent> {
    const trustPem = this.trust ? this.trust.anchors.map((c) => c.toString()).join('') : '';
    return collectBundle(this.store, {
      from,
      to,
      node: this.node,
      trustPem,
      tsaTrustPem: (this.tsaTrust ?? []).join(''),
      now,
      ...(opts.maxRecords !== undefined ? { maxRecords: opts.maxRecords } : {}),
    });
  }
}

/**
 * Verifies an export bundle offline: its files against the manifest, its segment of the chain, the
 * checkpoints inside it (signature, and signer against the bundle's own trust anchors or `extraTrust`),
 * and each envelope's signature as of its logging time.
 */
export async function verifyBundle(
  path: string,
  opts: {
    signatures?: boolean;
    extraTrustPem?: readonly string[];
    extraTsaTrustPem?: readonly string[];
    onRecord?: (seq: number) => void;
  } = {},
): Promise<AuditReport & { manifest: BundleContent['manifest'] }> {
  const { content, fileProblems } = readBundle(path);
  const pems = [content.trustPem, ...(opts.extraTrustPem ?? [])].filter((p) => p.includes('BEGIN CERTIFICATE'));
  const trust = pems.length ? TrustStore.fromPem(pems) : undefined;
  const checkSigs = (opts.signatures ?? true) && trust !== undefined;
  const signerCheck = checkpointSignerCheck(trust);
  const sigs = checkSigs ? countingSignatureCheck(trust!) : undefined;
  async function* records() {
    yield* content.records;
  }
  const report = await verifyChain(records(), content.checkpoints, {
    startSeq: content.manifest.firstSeq,
    startPrevHash: content.manifest.startPrevHash,
    ...(sigs ? { checkEnvelope: sigs.check } : {}),
    ...(signerCheck ? { trustCheckpointSigner: signerCheck } : {}),
    ...(opts.onRecord ? { onRecord: opts.onRecord } : {}),
  });
  const issues = [...report.issues];
  if (report.lastSeq !== content.manifest.lastSeq || report.records !== content.manifest.recordCount) {
    issues.push({
      seq: (report.lastSeq ?? content.manifest.firstSeq - 1) + 1,
      kind: 'truncated',
      reason: `the manifest lists records ${content.manifest.firstSeq}–${content.manifest.lastSeq} (${content.manifest.recordCount}), the bundle holds ${report.records} ending at ${report.lastSeq ?? 'nothing'}`,
    });
  } else if (report.headHash !== null && report.headHash !== content.manifest.headHash) {
    issues.push({ seq: report.lastSeq!, kind: 'chain', reason: 'the last record does not end with the head hash the manifest names' });
  }
  issues.sort((a, b) => a.seq - b.seq);
  const ts = await checkTimestamps(
    content.checkpoints,
    [content.tsaTrustPem, ...(opts.extraTsaTrustPem ?? [])].filter((p) => p.includes('BEGIN CERTIFICATE')),
  );
  const merged = mergeIssues({ ...report, issues, firstBad: issues[0] ?? null, ok: issues.length === 0 }, ts.issues);
  return {
    ...withTail(
      merged,
      content.checkpoints.map((c) => c.seq),
      checkSigs,
      ts.verified,
      fileProblems,
      sigs?.restTokens,
    ),
    manifest: content.manifest,
  };
}
