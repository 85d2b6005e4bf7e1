import { ApiError, EnvelopeError } from '../../core/errors.js';
import { inboundKey, isRestExchange, outboundKey, type MessageRecord, type MessageStore } from '../../core/message-record.js';
import type { Registry, RegistrySource, ServiceDef } from '../registry/registry.js';

/**
 * Body of the answer to a richiesta stato whose request has no result yet (asincrono asimmetrico).
 * The e-Gov specification leaves the content of that answer to the service; this is the bus's own,
 * in its own namespace, so a consumer's back office can tell "not yet" from a result.
 */
export const PENDING_NS = 'urn:tramite:bus:1';
export function pendingAnswer(refId: string): string {
  return `<tramite:StatoRichiesta xmlns:tramite="${PENDING_NS}" riferimento="${refId.replace(/[<&"]/g, (c) => `&#${c.charCodeAt(0)};`)}" stato="IN_ELABORAZIONE"/>`;
}
export function isPendingAnswer(body: string): boolean {
  return (
    /^\s*<tramite:StatoRichiesta\s[^>]*stato="IN_ELABORAZIONE"[^>]*\/>\s*$/.test(body) && body.includes(`xmlns:tramite="${PENDING_NS}"`)
  );
}

/** What an asynchronous message is, once checked against the messages it refers to. */
export type Correlation =
  | { readonly kind: 'plain' }
  /** Asincrono simmetrico: the provider's answer to `original`, a request this node sent. */
  | { readonly kind: 'answer'; readonly original: MessageRecord }
  /** Asincrono asimmetrico: the consumer's richiesta stato about `original`, a request this node received. */
  | { readonly kind: 'poll'; readonly original: MessageRecord };

/** The facts of a message that correlation looks at. */
export interface CorrelatedFacts {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly service: ServiceDef;
  readonly refId?: string;
  readonly conversationId?: string;
}

/**
 * RiferimentoMessaggio and Collaborazione of the asynchronous profiles, checked against the node's
 * own log: an answer must refer to a request this party sent to that provider on the service whose
 * correlated service it is; a richiesta stato must refer to a request the provider received from
 * that consumer on the same service. The same rules apply to what a back office asks the node to send
 * (refused as 422) and to what arrives from a peer (refused with EGOV_IT_109 / 111 / 104).
 */
export class AsyncCorrelation {
  constructor(
    private readonly store: MessageStore,
    private readonly registry: RegistrySource,
  ) {}

  /** A message received from a peer. */
  async inbound(m: CorrelatedFacts, registry: Registry = this.registry.current()): Promise<Correlation> {
    const kind = this.kindOf(m, registry);
    if (kind === 'plain') return { kind };
    const where = 'IntestazioneMessaggio/Messaggio/RiferimentoMessaggio';
    if (m.refId === undefined) {
      if (kind === 'poll') return { kind: 'plain' }; // an asimmetrico request without reference is the request itself
      throw new EnvelopeError('EGOV_IT_109', where, `EGOV_IT_109 - the answer on ${m.service.name} names no RiferimentoMessaggio`);
    }
    // Answer: we sent the request (out, from the recipient to the sender). Poll: we received it (in),
    // from this very sender — another party's request with that id is not its to ask about.
    const original = await this.store.get(kind === 'answer' ? outboundKey(m.refId) : inboundKey(m.refId, m.from));
    const problem = original ? this.mismatch(kind, m, original, registry) : `no request ${m.refId} of ${m.to}`;
    if (problem) throw new EnvelopeError('EGOV_IT_111', where, `EGOV_IT_111 - RiferimentoMessaggio ${m.refId}: ${problem}`);
    const conversation = original!.conversationId ?? original!.id;
    if (m.conversationId !== undefined && m.conversationId !== conversation) {
      throw new EnvelopeError(
        'EGOV_IT_104',
        'IntestazioneMessaggio/Collaborazione',
        `EGOV_IT_104 - Collaborazione ${m.conversationId} is not the conversation of ${m.refId} (${conversation})`,
      );
    }
    if (kind === 'answer' && original!.answer?.id !== undefined && original!.answer.id !== m.id) {
      throw new EnvelopeError('EGOV_IT_111', where, `EGOV_IT_111 - request ${m.refId} was already answered by ${original!.answer.id}`);
    }
    return { kind, original: original! };
  }

  /**
   * What a back office asks to send. Returns the conversation the message belongs to (a new
   * asynchronous request starts its own: Collaborazione = its own id).
   */
  async outbound(
    m: Omit<CorrelatedFacts, 'id'>,
    registry: Registry = this.registry.current(),
  ): Promise<{ correlation: Correlation; conversationId?: string }> {
    const kind = this.kindOf(m, registry);
    if (kind === 'plain' || (kind === 'poll' && m.refId === undefined))
      return { correlation: { kind: 'plain' }, ...(m.conversationId ? { conversationId: m.conversationId } : {}) };
    if (m.refId === undefined)
      throw new ApiError(
        'TRAMITE_ERR_BAD_REQUEST',
        422,
        `${m.service.name} carries answers: give refId, the id of the request it answers (or use POST /api/v1/messages/{id}/answer)`,
      );
    // Answer: the request came in to us, from the party the answer goes to. Poll: we sent the request.
    const original = await this.store.get(kind === 'answer' ? inboundKey(m.refId, m.to) : outboundKey(m.refId));
    const problem = original ? this.mismatch(kind, m, original, registry) : `no request ${m.refId}`;
    if (problem) throw new ApiError('TRAMITE_ERR_BAD_REQUEST', 422, `refId ${m.refId}: ${problem}`);
    const conversation = original!.conversationId ?? original!.id;
    if (m.conversationId !== undefined && m.conversationId !== conversation)
      throw new ApiError('TRAMITE_ERR_BAD_REQUEST', 422, `conversationId must be ${conversation}, the conversation of ${m.refId}`);
    if (kind === 'answer' && original!.answer !== undefined)
      throw new ApiError(
        'TRAMITE_ERR_ALREADY_ANSWERED',
        409,
        `request ${m.refId} was already answered${original!.answer.id ? ` by ${original!.answer.id}` : ''}`,
      );
    return { correlation: { kind, original: original! }, conversationId: conversation };
  }

  /** Answer: a simmetrico service that receives answers. Poll: an asimmetrico service (a reference makes it a richiesta stato). */
  private kindOf(m: Pick<CorrelatedFacts, 'from' | 'service'>, registry: Registry): Correlation['kind'] {
    if (m.service.profile === 'asincronoAsimmetrico') return 'poll';
    if (registry.requestServiceAnsweredBy(m.service, m.from)) return 'answer';
    return 'plain';
  }

  /**
   * Why `original` is not the request `m` refers to, or undefined (the same on the sending and the
   * receiving side). Answer: original went from m.to to m.from on the request service. Poll: original
   * went from m.from to m.to on m's own service.
   */
  private mismatch(
    kind: 'answer' | 'poll',
    m: Pick<CorrelatedFacts, 'from' | 'to' | 'service'>,
    original: MessageRecord,
    registry: Registry,
  ): string | undefined {
    if (isRestExchange(original)) return 'it is a ModI REST exchange, answered in its own HTTP call';
    const [consumer, provider] = kind === 'answer' ? [m.to, m.from] : [m.from, m.to];
    if (original.from !== consumer || original.to !== provider)
      return `it is a message from ${original.from} to ${original.to}, not from ${consumer} to ${provider}`;
    const service = kind === 'answer' ? registry.requestServiceAnsweredBy(m.service, m.from)!.name : m.service.name;
    if (original.service !== service) return `it is a message of service ${original.service}, not ${service}`;
    if (original.refId !== undefined && kind === 'poll') return 'it is itself a richiesta stato, not a request';
    return undefined;
  }
}
