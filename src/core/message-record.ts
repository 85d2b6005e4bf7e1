import type { StaffMember } from './staff-member.js';
import type { CollaborationProfile } from './service-profile.js';
import type { CompetenceResolution } from './competence.js';

/** How a message travelled: a SOAP envelope (e-Gov busta, ModI SOAP) or a ModI REST exchange (logged by the REST gateway). */
export type EnvelopeProfileName = 'egov' | 'modi' | 'modi-rest';

/** A ModI REST exchange's HTTP facts (envelopeProfile 'modi-rest'); `target` is dropped by retention, like payloads. */
export interface RestFacts {
  readonly version: string;
  readonly method: string;
  /** Path and query as forwarded: may name a person (a codice fiscale in the path), so retention drops it. */
  readonly target?: string;
  /** The status of the response returned to the caller, when there was one. */
  readonly httpStatus?: number;
}

/**
 * Where a message stands. Outbound: ACCEPTED → SENDING → DELIVERED | FAILED.
 * Inbound: RECEIVED → DISPATCHED (the back office has it) | FAILED (refused or not dispatchable).
 */
export type MessageStatus = 'ACCEPTED' | 'SENDING' | 'DELIVERED' | 'FAILED' | 'RECEIVED' | 'DISPATCHED';

/** Every state a message can be in. */
export const MESSAGE_STATUSES: readonly MessageStatus[] = ['ACCEPTED', 'SENDING', 'DELIVERED', 'FAILED', 'RECEIVED', 'DISPATCHED'];

/** The states a message ends in. */
export const FINAL_STATUSES: readonly MessageStatus[] = ['DELIVERED', 'FAILED', 'DISPATCHED'];

/** The states the node still works on: a message in one of them for too long is stuck. */
export const NOT_FINAL_STATUSES: readonly MessageStatus[] = ['ACCEPTED', 'SENDING', 'RECEIVED'];

/** Whether `status` (a message's, or a state label read back from the log) is one a message ends in. */
export function isFinalStatus(status: string): boolean {
  return (FINAL_STATUSES as readonly string[]).includes(status);
}

/** Whether `status` is one the node still works on. */
export function isNotFinalStatus(status: string): boolean {
  return (NOT_FINAL_STATUSES as readonly string[]).includes(status);
}

/** Whether a message's Scadenza has come (at `now` or before): no attempt is made on it any more. */
export function hasExpired(rec: Pick<MessageRecord, 'expiresAt'>, now: Date): boolean {
  return rec.expiresAt !== undefined && Date.parse(rec.expiresAt) <= now.getTime();
}

export interface MessageError {
  readonly code: string;
  readonly message: string;
  readonly posizione?: string;
}

/** What the node knows of one message: header facts and progress. The envelopes live in the log. */
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
  readonly updatedAt: string;
  readonly status: MessageStatus;
  readonly attempts: number;
  /** The request body content (XML); dropped by retention, like the envelope bytes. */
  readonly payload?: string;
  /** Sincrono: the body content of the answer. */
  readonly replyPayload?: string;
  readonly receipt?: { readonly at: string; readonly signer: string };
  /**
   * Asynchronous profiles: the answer to this request. Outbound request: the correlated answer
   * received (simmetrico) or the result a richiesta stato brought back (asimmetrico), its body in
   * `replyPayload`. Inbound request: the answer the back office gave (simmetrico: `id` is the message
   * that carries it back; asimmetrico: kept in `replyPayload` for the consumer's polls).
   */
  readonly answer?: { readonly at: string; readonly id?: string };
  readonly error?: MessageError;
  /** A ModI REST exchange: its HTTP facts. It is final when logged: never resent, answered or polled. */
  readonly rest?: RestFacts;
  /** Sent by role (`to: { role, comune }`): why `to` is the party it is — the rule, the Comune, the table's version. */
  readonly routing?: CompetenceResolution;
}

/** A ModI REST exchange, which the SOAP-only operations (resend, answer, poll, delivery) never take. */
export function isRestExchange(rec: Pick<MessageRecord, 'envelopeProfile'>): boolean {
  return rec.envelopeProfile === 'modi-rest';
}

/** A change of a message's state; the status stays as it is when not given. */
export type StateChange = Partial<Pick<MessageRecord, 'status' | 'attempts' | 'replyPayload' | 'receipt' | 'answer' | 'error'>> & {
  /** The operator whose action this change is (a resend): logged with the change, not kept on the message. */
  readonly by?: StaffMember;
};

/**
 * Which message a lookup means. Outbound ids are this node's own, unique; an inbound id is unique only
 * per sender — another party can send the same id, by accident or to read or block the first sender's
 * message — so an inbound message is named by its sender too (Mittente, or wsa:From for ModI).
 */
export type MessageKey = OutboundKey | InboundKey;
export interface OutboundKey {
  readonly direction: 'out';
  readonly id: string;
}
export interface InboundKey {
  readonly direction: 'in';
  readonly id: string;
  readonly from: string;
}

export function outboundKey(id: string): OutboundKey {
  return { direction: 'out', id };
}

export function inboundKey(id: string, from: string): InboundKey {
  return { direction: 'in', id, from };
}

/** The key of a message the node holds. */
export function keyOf(rec: Pick<MessageRecord, 'id' | 'direction' | 'from'>): MessageKey {
  return rec.direction === 'out' ? outboundKey(rec.id) : inboundKey(rec.id, rec.from);
}

export interface MessageListQuery {
  readonly direction?: 'out' | 'in';
  /** Messages with this id (inbound: one per sender). */
  readonly id?: string;
  readonly parties?: ReadonlySet<string>;
  readonly status?: MessageStatus;
  /** Only messages of this service. */
  readonly service?: string;
  /** Messages whose other side is one of these parties (`to` of an outbound one, `from` of an inbound one): a peer node's parties. */
  readonly counterparts?: ReadonlySet<string>;
  /** Created at or after this instant (ISO). */
  readonly createdFrom?: string;
  /** Created before this instant (ISO). */
  readonly createdTo?: string;
  /** Keyset paging: only messages listed after this one (the last of the previous page; newest first). */
  readonly olderThan?: Pick<MessageRecord, 'createdAt' | 'id' | 'from'>;
  readonly limit?: number;
}

/**
 * Where the node keeps its messages: the message log. Each call resolves once the change is durably
 * recorded — an outbound message is answered 202 only after `create` resolved.
 */
export interface MessageStore {
  /** A new message with its signed envelope, byte for byte. */
  create(rec: MessageRecord, envelope: string): Promise<void>;
  /** A change of state; `replyEnvelope` is the riscontro/answer received (out) or sent (in). */
  transition(key: MessageKey, change: StateChange, replyEnvelope?: string): Promise<MessageRecord>;
  /**
   * The same change, made only while the message is in one of the states `from` — as it is when the
   * change is logged, under the log's lock, whichever process sharing the log moved it last. Otherwise
   * nothing is logged and the answer is undefined: another attempt settled the message meanwhile (a
   * retry's SENDING must not put a DELIVERED message back, nor a late failure mark a DISPATCHED one).
   */
  transitionIf(
    key: MessageKey,
    from: readonly MessageStatus[],
    change: StateChange,
    replyEnvelope?: string,
  ): Promise<MessageRecord | undefined>;
  /** A request envelope signed again (same id, fresh Timestamp) for a retry: logged whole, as sent. */
  resealed(id: string, envelope: string, change: StateChange): Promise<MessageRecord>;
  get(key: MessageKey): Promise<MessageRecord | undefined>;
  envelopeOf(key: MessageKey): Promise<string | undefined>;
  replyEnvelopeOf(key: MessageKey): Promise<string | undefined>;
  list(q: MessageListQuery): Promise<MessageRecord[]>;
}
