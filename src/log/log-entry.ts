import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * What a log record says happened: the envelope itself, a receipt/reply, or a change of state; for a
 * ModI REST exchange, its request and its response, each kept as an HTTP/1.1 message (http-message-bytes.ts);
 * or an operator's action that changes no message (an alarm acknowledged, a purge asked for).
 */
export type LogKind = 'envelope' | 'receipt' | 'state' | 'rest-request' | 'rest-response' | 'operator';

/** The kinds whose bytes are a logged HTTP message rather than a SOAP envelope. */
export function isRestKind(kind: string): kind is 'rest-request' | 'rest-response' {
  return kind === 'rest-request' || kind === 'rest-response';
}

/** One fact to append. Envelope bytes are kept whole so signatures can be re-verified years later. */
export interface LogEntryInput {
  readonly time: string;
  readonly kind: LogKind;
  readonly messageId: string;
  readonly direction: 'in' | 'out';
  readonly refId?: string;
  readonly conversationId?: string;
  readonly from: string;
  readonly to: string;
  readonly service: string;
  readonly action?: string;
  readonly state: string;
  /** Facts of the change (attempts, error, receipt signer, profile…): plain JSON. */
  readonly detail?: Readonly<Record<string, unknown>>;
  readonly envelope?: Uint8Array;
}

/** A record as stored: the input, its place in the chain, and the chain's hashes. */
export interface LogRecord extends Omit<LogEntryInput, 'envelope'> {
  readonly seq: number;
  /** SHA-256 (hex) of the envelope bytes; stays when the bytes are purged. */
  readonly envelopeDigest?: string;
  /** The bytes, unless none were logged or retention purged them. */
  readonly envelope?: Uint8Array;
  readonly prevHash: string;
  readonly hash: string;
}

/** The hash that precedes the first record. */
export const GENESIS_HASH = '0'.repeat(64);

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The canonical form a record's hash covers: every field but the envelope bytes (their digest stands
 * in, so purging payloads keeps the chain verifiable), as RFC 8785 JSON (sorted keys, no spaces).
 */
export function canonicalRecord(r: Omit<LogRecord, 'hash' | 'prevHash' | 'envelope'>): string {
  return canonicalize({
    seq: r.seq,
    time: r.time,
    kind: r.kind,
    messageId: r.messageId,
    direction: r.direction,
    refId: r.refId ?? null,
    conversationId: r.conversationId ?? null,
    from: r.from,
    to: r.to,
    service: r.service,
    action: r.action ?? null,
    state: r.state,
    detail: r.detail ?? null,
    envelopeDigest: r.envelopeDigest ?? null,
  })!;
}

/** hash = SHA-256(prev_hash ‖ canonical record), hex. */
export function chainHash(prevHash: string, canonical: string): string {
  return createHash('sha256').update(prevHash).update(canonical).digest('hex');
}

/** Seals inputs into records that continue the chain from (`seq`, `hash`). */
export function chainRecords(inputs: readonly LogEntryInput[], head: { seq: number; hash: string }): LogRecord[] {
  let { seq, hash } = head;
  return inputs.map((input) => {
    seq += 1;
    const { envelope, ...fields } = input;
    const base = { ...fields, seq, ...(envelope ? { envelopeDigest: sha256Hex(envelope) } : {}) };
    const prevHash = hash;
    hash = chainHash(prevHash, canonicalRecord(base));
    return { ...base, ...(envelope ? { envelope } : {}), prevHash, hash };
  });
}
