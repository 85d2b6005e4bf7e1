import type { CollaborationProfile } from '../core/egov-header.js';

export type EnvelopeProfileName = 'egov' | 'modi';

/**
 * Where a message stands. Outbound: ACCEPTED → SENDING → DELIVERED | FAILED.
 * Inbound: RECEIVED → DISPATCHED (the back office has it) | FAILED (refused or not dispatchable).
 */
export type MessageStatus = 'ACCEPTED' | 'SENDING' | 'DELIVERED' | 'FAILED' | 'RECEIVED' | 'DISPATCHED';

export interface MessageError {
  readonly code: string;
  readonly message: string;
  readonly posizione?: string;
}

/** Everything the node knows of one message: header facts, the envelopes, and its progress. */
export interface MessageRecord {
  readonly id: string;
  readonly direction: 'out' | 'in';
  readonly envelopeProfile: EnvelopeProfileName;
  readonly collaboration: CollaborationProfile;
  readonly from: string;
  readonly to: string;
  readonly service: string;
  readonly action?: string;
  readonly refId?: string;
  readonly conversationId?: string;
  readonly expiresAt?: string;
  readonly confermaRicezione: boolean;
  readonly createdAt: string;
  updatedAt: string;
  status: MessageStatus;
  attempts: number;
  /** The signed envelope as sent or received, byte for byte. */
  readonly envelope: string;
  /** The request body content (XML). */
  readonly payload: string;
  /** Outbound: the verified reply envelope (riscontro, or the sincrono answer). Inbound: what the node answered. */
  replyEnvelope?: string;
  /** Sincrono: the body content of the answer. */
  replyPayload?: string;
  receipt?: { readonly at: string; readonly signer: string };
  error?: MessageError;
}

export interface MessageQuery {
  readonly direction?: 'out' | 'in';
  readonly parties?: ReadonlySet<string>;
  readonly status?: MessageStatus;
  readonly limit?: number;
}

/**
 * Where the node keeps its messages. The in-memory store below serves the signed exchange core;
 * the durable message log (SQLite/PostgreSQL, hash-chained) implements this same interface.
 */
export interface MessageStore {
  insert(rec: MessageRecord): void;
  get(id: string, direction: 'out' | 'in'): MessageRecord | undefined;
  update(id: string, direction: 'out' | 'in', patch: Partial<Omit<MessageRecord, 'id' | 'direction'>>): MessageRecord;
  list(q: MessageQuery): MessageRecord[];
}
