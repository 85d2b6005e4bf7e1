import type { StaffMember } from '../../core/staff-member.js';
import { randomUUID } from 'node:crypto';
import type { OutgoingMessage } from '../../../adapters/sdk/adapter.js';
import { parseUntrustedXml } from '../../../envelopes/xml/hardened-xml.js';
import { ApiError } from '../../core/errors.js';
import type { CompetenceResolution } from '../../core/competence.js';
import { keyOf, outboundKey, type MessageRecord } from '../../core/message-record.js';
import { AsyncCorrelation } from '../correlation/async-correlation.js';
import { routeOf } from '../delivery/delivery-route.js';
import type { DeliverySchedule } from '../delivery/delivery-schedule.js';
import { sealMessage } from '../delivery/seal-message.js';
import type { PipelineDeps } from '../pipeline-deps.js';
import type { Registry, ServiceDef } from '../registry/registry.js';
import { findReceived } from './received-lookup.js';
import { resendFailed } from './resend.js';
import { refuseRestExchange } from './rest-exchange-refusal.js';

/**
 * What a back office asks the node to send (the validated body of POST /api/v1/messages): the same
 * message an adapter sends on the bus, plus the sending party.
 */
export interface SendRequest extends OutgoingMessage {
  readonly from: string;
}

/** A message sent by competence: to whoever the competence table names for the role in the Comune. */
export interface SendByRoleRequest extends Omit<SendRequest, 'to'> {
  readonly to: { readonly role: string; readonly comune: string };
}

export interface SubmissionDeps extends PipelineDeps {
  /** Where accepted messages go next: the deliver queue. */
  readonly schedule: DeliverySchedule;
  /** This node's own envelope endpoint, for messages between two parties it hosts. */
  readonly selfUrl: () => string;
}

/**
 * The back-office API's use cases (and the bus client's, for adapters): submit — validate (caller owns
 * the sender, route and service exist, the caller may use it, payload is XML) → envelope → sign →
 * record ACCEPTED → schedule delivery (src/node/delivery) —, answer an asynchronous request, poll
 * (richiesta stato), and an operator's resend.
 */
export class Submission {
  private readonly correlation: AsyncCorrelation;
  /** Inbound requests whose answer is being sent right now: a second answer meanwhile is refused. */
  private readonly answering = new Set<string>();

  constructor(private readonly deps: SubmissionDeps) {
    this.correlation = new AsyncCorrelation(deps.store, deps.registry);
  }

  async submit(request: SendRequest | SendByRoleRequest, callerParties: ReadonlySet<string>): Promise<MessageRecord> {
    // One registry version from the resolution to the sealed envelope, whatever a reload swaps in meanwhile.
    const registry = this.deps.registry.current();
    // Resolved first, so a refusal comes before anything is signed or logged; then exactly as if the party had been named.
    const { req, routing } = this.addressed(request, callerParties, registry);
    const { service } = this.validate(req, callerParties, registry);
    const { correlation, conversationId: conversation } = await this.correlation.outbound(
      {
        from: req.from,
        to: req.to,
        service,
        ...(req.refId !== undefined ? { refId: req.refId } : {}),
        ...(req.conversationId !== undefined ? { conversationId: req.conversationId } : {}),
      },
      registry,
    );
    const hosted = registry.hostedParty(req.from)!;
    const now = this.deps.clock.now();
    const id = service.envelope === 'modi' ? randomUUID() : await this.deps.ids.next(hosted.code.split('/')[1]!);
    // A new asynchronous request opens its conversation: Collaborazione = its own id (e-Gov only).
    const startsConversation =
      service.envelope === 'egov' && service.profile.startsWith('asincrono') && correlation.kind === 'plain' && req.refId === undefined;
    const conversationId = conversation ?? (startsConversation ? id : undefined);
    const expiresAt = req.expiresAt
      ? new Date(req.expiresAt)
      : service.expirySeconds
        ? new Date(now.getTime() + service.expirySeconds * 1000)
        : undefined;
    const record: MessageRecord = {
      id,
      direction: 'out',
      envelopeProfile: service.envelope,
      collaboration: service.profile,
      from: req.from,
      to: req.to,
      service: service.name,
      ...(req.action !== undefined ? { action: req.action } : {}),
      ...(req.refId !== undefined ? { refId: req.refId } : {}),
      ...(conversationId !== undefined ? { conversationId } : {}),
      ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
      confermaRicezione: service.confermaRicezione,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      status: 'ACCEPTED',
      attempts: 0,
      payload: req.payload,
      ...(routing ? { routing } : {}),
    };
    // Accepted only once durably logged: the log is the outbox, the queue only schedules attempts.
    await this.deps.store.create(record, await sealMessage(registry, record, service, now));
    this.deps.log.info(
      {
        id,
        from: req.from,
        to: req.to,
        service: service.name,
        profile: service.profile,
        registryVersion: registry.version,
        ...(routing ? { routing } : {}),
      },
      'message accepted',
    );
    if (correlation.kind === 'answer') {
      await this.deps.store.transition(keyOf(correlation.original), { answer: { at: now.toISOString(), id } });
    }
    await this.deps.schedule.deliverNow(record);
    return record;
  }

  /**
   * A back office answers an asynchronous request it received. Simmetrico: the answer travels as a
   * new message to the consumer's correlated service (returned). Asimmetrico: the node keeps it and
   * hands it to the consumer's next richiesta stato (the request itself is returned).
   */
  async answer(
    requestId: string,
    body: { payload: string; action?: string },
    callerParties: ReadonlySet<string>,
    from?: string,
  ): Promise<{ message: MessageRecord; sent: boolean }> {
    const request = await findReceived(this.deps.store, requestId, callerParties, from);
    if (!request) throw new ApiError('TRAMITE_ERR_NOT_FOUND', 404, `no inbound message ${requestId} visible to this caller`);
    refuseRestExchange(request, 'answered');
    const service = this.deps.registry.current().service(request.to, request.service);
    const isRequest =
      request.refId === undefined && (service?.profile === 'asincronoAsimmetrico' || service?.correlatedService !== undefined);
    if (!service || !isRequest)
      throw new ApiError(
        'TRAMITE_ERR_BAD_REQUEST',
        409,
        `message ${requestId} is not an asynchronous request (service ${request.service}, ${request.collaboration}); only those take an answer`,
      );
    const answering = JSON.stringify([request.from, requestId]);
    if (request.answer !== undefined || this.answering.has(answering)) {
      throw new ApiError(
        'TRAMITE_ERR_ALREADY_ANSWERED',
        409,
        `request ${requestId} was already answered${request.answer?.id ? ` by ${request.answer.id}` : ''}`,
      );
    }
    this.answering.add(answering);
    try {
      if (service.correlatedService !== undefined) {
        const message = await this.submit(
          {
            from: request.to,
            to: request.from,
            service: service.correlatedService,
            payload: body.payload,
            refId: requestId,
            ...(body.action !== undefined ? { action: body.action } : {}),
          },
          callerParties,
        );
        return { message, sent: true };
      }
      this.checkPayload(body.payload);
      const message = await this.deps.store.transition(keyOf(request), {
        answer: { at: this.deps.clock.now().toISOString() },
        replyPayload: body.payload,
      });
      this.deps.log.info({ id: requestId }, "answer recorded for the consumer's richiesta stato");
      return { message, sent: false };
    } finally {
      this.answering.delete(answering);
    }
  }

  /** Asincrono asimmetrico: a richiesta stato about a request this party sent (answered synchronously by the provider). */
  async poll(requestId: string, callerParties: ReadonlySet<string>): Promise<MessageRecord> {
    const request = await this.deps.store.get(outboundKey(requestId));
    if (!request || !callerParties.has(request.from))
      throw new ApiError('TRAMITE_ERR_NOT_FOUND', 404, `no outbound message ${requestId} visible to this caller`);
    refuseRestExchange(request, 'polled');
    if (request.collaboration !== 'asincronoAsimmetrico' || request.refId !== undefined) {
      throw new ApiError(
        'TRAMITE_ERR_BAD_REQUEST',
        409,
        `message ${requestId} is not an asincronoAsimmetrico request; only those are polled`,
      );
    }
    return this.submit({ from: request.from, to: request.to, service: request.service, payload: '', refId: requestId }, callerParties);
  }

  /** A resend of a FAILED message: a new attempt, same id — by a party's back office (`parties`) or an operator (`by`). */
  resend(id: string, caller: { readonly parties?: ReadonlySet<string>; readonly by?: StaffMember } = {}): Promise<MessageRecord> {
    return resendFailed({ store: this.deps.store, log: this.deps.log, schedule: (rec) => this.deps.schedule.schedule(rec) }, id, caller);
  }

  /** A message sent by role with its destination resolved by the competence table (config `competence`); any other as it is. */
  private addressed(
    req: SendRequest | SendByRoleRequest,
    callerParties: ReadonlySet<string>,
    registry: Registry,
  ): { req: SendRequest; routing?: CompetenceResolution } {
    if (typeof req.to === 'string') return { req: req as SendRequest };
    if (!callerParties.has(req.from)) throw new ApiError('TRAMITE_ERR_FORBIDDEN', 403, `this token may not send as ${req.from}`);
    const competence = registry.competence;
    if (!competence)
      throw new ApiError('TRAMITE_ERR_NO_COMPETENCE_TABLE', 422, 'this node has no competence table: name the destination party in "to"');
    if (!competence.senders.includes(req.from))
      throw new ApiError(
        'TRAMITE_ERR_FORBIDDEN',
        403,
        `${req.from} may not send by role — the node's competence.senders does not list it; name the destination party in "to"`,
      );
    const found = competence.table.resolve(req.to.role, req.to.comune);
    if ('refusal' in found) throw new ApiError(found.refusal.code, 422, found.refusal.message);
    return { req: { ...req, to: found.resolution.party }, routing: found.resolution };
  }

  private validate(req: SendRequest, callerParties: ReadonlySet<string>, reg: Registry): { service: ServiceDef } {
    if (!callerParties.has(req.from)) throw new ApiError('TRAMITE_ERR_FORBIDDEN', 403, `this token may not send as ${req.from}`);
    if (!reg.hostedParty(req.from)) throw new ApiError('TRAMITE_ERR_FORBIDDEN', 403, `${req.from} is not hosted by this node`);
    if (!routeOf(reg, req.to, this.deps.selfUrl)) throw new ApiError('TRAMITE_ERR_NO_ROUTE', 422, `no peer hosts ${req.to}`);
    const service = reg.service(req.to, req.service, req.serviceTipo);
    if (!service) throw new ApiError('TRAMITE_ERR_NO_ROUTE', 422, `${req.to} offers no service ${req.service} in the configuration`);
    if (req.action !== undefined && service.actions && !service.actions.includes(req.action)) {
      throw new ApiError(
        'TRAMITE_ERR_BAD_REQUEST',
        400,
        `service ${service.name} has no action ${req.action}; allowed: ${service.actions.join(', ')}`,
      );
    }
    if (service.consumers && !service.consumers.includes(req.from))
      throw new ApiError('TRAMITE_ERR_FORBIDDEN', 403, `${req.from} may not use service ${service.name}`);
    if (req.expiresAt !== undefined && !(Date.parse(req.expiresAt) > this.deps.clock.now().getTime()))
      throw new ApiError('TRAMITE_ERR_BAD_REQUEST', 400, 'expiresAt must be a date-time in the future');
    this.checkPayload(req.payload);
    return { service };
  }

  private checkPayload(payload: string): void {
    try {
      parseUntrustedXml(`<payload>${payload}</payload>`, this.deps.limits);
    } catch (cause) {
      throw new ApiError('TRAMITE_ERR_BAD_REQUEST', 400, `payload is not well-formed XML content: ${(cause as Error).message}`, { cause });
    }
  }
}
