import { DEFAULT_MODI_PATTERNS } from '../../core/service-profile.js';
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { ApiError, DeliveryError, TramiteError } from '../../core/errors.js';
import { readBoundedBody, ResponseTooLargeError } from '../../core/bounded-body.js';
import { isEgovCode } from '../../core/error-codes.js';
import { NS } from '../../../envelopes/xml/namespaces.js';
import { partyCode } from '../../core/party.js';
import { walkElements } from '../../../envelopes/xml/dom-navigation.js';
import { parseUntrustedXml, type XmlLimits } from '../../../envelopes/xml/hardened-xml.js';
import { describeCertificate } from '../../core/certificate-description.js';
import { bodyContent, openedWith, readEnvelope, readPlainFault, type OpenedEnvelope, type ReadEnvelope } from '../../../envelopes/envelope.js';
import { reviveError, reviveSignature, type VerifyOutcome } from '../reception/verification-protocol.js';
import type { SoapFault } from '../../../envelopes/soap/soap-envelope.js';
import { sealRequest } from '../../../envelopes/busta/request.js';
import type { OutgoingMessage } from '../../../adapters/sdk/adapter.js';
import { AsyncCorrelation, isPendingAnswer } from '../correlation/async-correlation.js';
import type { AttemptOutcome, WorkItem } from '../../queue/work-queue.js';
import { servicePolicy, type RetryPolicy } from '../../queue/retry-policy.js';
import { keyOf, outboundKey, type MessageRecord } from '../../core/message-record.js';
import type { PipelineDeps } from '../pipeline-deps.js';
import { findReceived } from './received-lookup.js';
import type { ServiceDef } from '../registry/registry.js';

/**
 * What a back office asks the node to send (the validated body of POST /api/v1/messages): the same
 * message an adapter sends on the bus, plus the sending party.
 */
export interface SendRequest extends OutgoingMessage {
  readonly from: string;
}

/** A retry re-signs the envelope when its Timestamp is older than this (peers refuse past 5 minutes). */
const RESEAL_AFTER_MS = 240_000;

export interface OutboundDeps extends PipelineDeps {
  /** Where delivery attempts are scheduled (the BullMQ deliver queue). */
  readonly deliveries: { enqueue(data: WorkItem): Promise<void> };
  /** The node-wide retry policy; a service's own `retry` fields override it. */
  readonly retry: RetryPolicy;
  /** This node's own envelope endpoint, for messages between two parties it hosts. */
  readonly selfUrl: () => string;
  readonly httpTimeoutMs: number;
}

/**
 * The sending side, as its stages: validate (caller owns the sender, route and service exist, the
 * caller may use it, payload is XML) → envelope → sign → record ACCEPTED; then deliver: POST to
 * the peer → verify the signed reply (riscontro, ricevuta or sincrono answer) → DELIVERED, or
 * FAILED with the peer's EGOV_IT code.
 */
export class OutboundPipeline {
  private readonly correlation: AsyncCorrelation;
  /** Inbound requests whose answer is being sent right now: a second answer meanwhile is refused. */
  private readonly answering = new Set<string>();

  constructor(private readonly deps: OutboundDeps) {
    this.correlation = new AsyncCorrelation(deps.store, deps.registry);
  }

  async submit(req: SendRequest, callerParties: ReadonlySet<string>): Promise<MessageRecord> {
    const { service } = this.validate(req, callerParties);
    const { correlation, conversationId: conversation } = await this.correlation.outbound({
      from: req.from,
      to: req.to,
      service,
      ...(req.refId !== undefined ? { refId: req.refId } : {}),
      ...(req.conversationId !== undefined ? { conversationId: req.conversationId } : {}),
    });
    const hosted = this.deps.registry.hostedParty(req.from)!;
    const now = this.deps.clock.now();
    const id = service.envelope === 'modi' ? randomUUID() : await this.deps.ids.next(hosted.code.split('/')[1]!);
    // A new asynchronous request opens its conversation: Collaborazione = its own id (e-Gov only).
    const startsConversation = service.envelope === 'egov' && service.profile.startsWith('asincrono') && correlation.kind === 'plain' && req.refId === undefined;
    const conversationId = conversation ?? (startsConversation ? id : undefined);
    const expiresAt = req.expiresAt ? new Date(req.expiresAt) : service.expirySeconds ? new Date(now.getTime() + service.expirySeconds * 1000) : undefined;
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
    };
    // Accepted only once durably logged: the log is the outbox, the queue only schedules attempts.
    await this.deps.store.create(record, this.seal(record, service, now));
    this.deps.log.info({ id, from: req.from, to: req.to, service: service.name, profile: service.profile }, 'message accepted');
    if (correlation.kind === 'answer') {
      await this.deps.store.transition(keyOf(correlation.original), { answer: { at: now.toISOString(), id } });
    }
    await this.schedule(record);
    return record;
  }

  /**
   * A back office answers an asynchronous request it received. Simmetrico: the answer travels as a
   * new message to the consumer's correlated service (returned). Asimmetrico: the node keeps it and
   * hands it to the consumer's next richiesta stato (the request itself is returned).
   */
  async answer(requestId: string, body: { payload: string; action?: string }, callerParties: ReadonlySet<string>, from?: string): Promise<{ message: MessageRecord; sent: boolean }> {
    const request = await findReceived(this.deps.store, requestId, callerParties, from);
    if (!request) throw new ApiError('TRAMITE_ERR_NOT_FOUND', 404, `no inbound message ${requestId} visible to this caller`);
    const service = this.deps.registry.service(request.to, request.service);
    const isRequest = request.refId === undefined && (service?.profile === 'asincronoAsimmetrico' || service?.correlatedService !== undefined);
    if (!service || !isRequest) throw new ApiError('TRAMITE_ERR_BAD_REQUEST', 409, `message ${requestId} is not an asynchronous request (service ${request.service}, ${request.collaboration}); only those take an answer`);
    const answering = JSON.stringify([request.from, requestId]);
    if (request.answer !== undefined || this.answering.has(answering)) {
      throw new ApiError('TRAMITE_ERR_ALREADY_ANSWERED', 409, `request ${requestId} was already answered${request.answer?.id ? ` by ${request.answer.id}` : ''}`);
    }
    this.answering.add(answering);
    try {
      if (service.correlatedService !== undefined) {
        const message = await this.submit(
          { from: request.to, to: request.from, service: service.correlatedService, payload: body.payload, refId: requestId, ...(body.action !== undefined ? { action: body.action } : {}) },
          callerParties,
        );
        return { message, sent: true };
      }
      this.checkPayload(body.payload);
      const message = await this.deps.store.transition(keyOf(request), { answer: { at: this.deps.clock.now().toISOString() }, replyPayload: body.payload });
      this.deps.log.info({ id: requestId }, 'answer recorded for the consumer\'s richiesta stato');
      return { message, sent: false };
    } finally {
      this.answering.delete(answering);
    }
  }

  /** Asincrono asimmetrico: a richiesta stato about a request this party sent (answered synchronously by the provider). */
  async poll(requestId: string, callerParties: ReadonlySet<string>): Promise<MessageRecord> {
    const request = await this.deps.store.get(outboundKey(requestId));
    if (!request || !callerParties.has(request.from)) throw new ApiError('TRAMITE_ERR_NOT_FOUND', 404, `no outbound message ${requestId} visible to this caller`);
    if (request.collaboration !== 'asincronoAsimmetrico' || request.refId !== undefined) {
      throw new ApiError('TRAMITE_ERR_BAD_REQUEST', 409, `message ${requestId} is not an asincronoAsimmetrico request; only those are polled`);
    }
    return this.submit({ from: request.from, to: request.to, service: request.service, payload: '', refId: requestId }, callerParties);
  }

  /**
   * Start-up reconciliation: every message the log holds as accepted but not yet delivered is
   * scheduled again. Job id = message id, so one already queued is not doubled.
   */
  async reconcile(): Promise<number> {
    const pending = await this.deps.store.list({ direction: 'out', status: 'ACCEPTED', limit: 100_000 });
    const sending = await this.deps.store.list({ direction: 'out', status: 'SENDING', limit: 100_000 });
    for (const rec of [...pending, ...sending]) await this.schedule(rec);
    if (pending.length + sending.length > 0) this.deps.log.debug({ messages: pending.length + sending.length }, 'undelivered messages scheduled (again)');
    return pending.length + sending.length;
  }

  /** An operator's resend of a FAILED message: a new attempt, same id. */
  async resend(id: string, callerParties?: ReadonlySet<string>): Promise<MessageRecord> {
    const rec = await this.deps.store.get(outboundKey(id));
    if (!rec || (callerParties && !callerParties.has(rec.from))) throw new ApiError('TRAMITE_ERR_NOT_FOUND', 404, `no outbound message ${id} visible to this caller`);
    if (rec.status !== 'FAILED') throw new ApiError('TRAMITE_ERR_NOT_RESENDABLE', 409, `message ${id} is ${rec.status}; only a FAILED message can be resent`);
    const next = await this.deps.store.transition(outboundKey(id), { status: 'ACCEPTED', error: undefined });
    this.deps.log.info({ id }, 'message resent by an operator');
    await this.schedule(next);
    return next;
  }

  /** One delivery attempt, as the deliver queue runs it. */
  async attempt(data: WorkItem, attemptNo: number): Promise<AttemptOutcome> {
    const id = data.messageId;
    const rec = await this.deps.store.get(outboundKey(id));
    if (!rec || rec.status === 'DELIVERED' || rec.status === 'FAILED') return { kind: 'done' }; // already settled
    const now = this.deps.clock.now();
    if (rec.expiresAt && Date.parse(rec.expiresAt) <= now.getTime()) {
      await this.fail(rec, new DeliveryError('TRAMITE_ERR_EXPIRED', `the message expired at ${rec.expiresAt} before the peer confirmed it (${rec.attempts} attempts)`, { retriable: false }));
      return { kind: 'done' };
    }
    const route = this.routeOf(rec.to);
    const service = this.deps.registry.service(rec.to, rec.service);
    if (!route || !service) {
      await this.fail(rec, new DeliveryError('TRAMITE_ERR_NO_ROUTE', `no route or service for ${rec.to}/${rec.service} in the configuration any more`, { retriable: false }));
      return { kind: 'done' };
    }
    try {
      const envelope = await this.envelopeForAttempt(rec, service, now);
      await this.deps.store.transition(outboundKey(id), { status: 'SENDING', attempts: rec.attempts + 1 });
      const { replyEnvelope, ...outcome } = await this.exchange(rec, service, envelope, route);
      await this.deps.store.transition(outboundKey(id), { status: 'DELIVERED', error: undefined, ...outcome }, replyEnvelope);
      this.deps.log.info({ id, to: rec.to, attempt: attemptNo, receipt: outcome.receipt !== undefined }, 'message delivered');
      if (isPoll(rec) && outcome.replyPayload !== undefined) await this.recordPolledAnswer(rec, outcome.replyPayload);
      return { kind: 'done' };
    } catch (err) {
      const e = err instanceof TramiteError ? err : new DeliveryError('TRAMITE_ERR_PEER_UNREACHABLE', String(err), { retriable: true, cause: err });
      if (e instanceof DeliveryError && e.retriable) {
        this.deps.log.warn({ id, to: rec.to, attempt: attemptNo, code: e.code, err: e.message }, 'delivery attempt failed; will retry');
        await this.deps.store.transition(outboundKey(id), { status: 'SENDING', error: { code: e.code, message: e.message } });
        return { kind: 'retry', error: e };
      }
      await this.fail(rec, e);
      return { kind: 'done' };
    }
  }

  /** A richiesta stato brought the result back: the polled request shows it from now on. */
  private async recordPolledAnswer(poll: MessageRecord, body: string): Promise<void> {
    if (isPendingAnswer(body)) return;
    const original = await this.deps.store.get(outboundKey(poll.refId!));
    if (!original || original.answer !== undefined) return;
    await this.deps.store.transition(outboundKey(original.id), { answer: { at: this.deps.clock.now().toISOString(), id: poll.id }, replyPayload: body });
  }

  /** The queue gave up: attempts exhausted (or the Scadenza came first). */
  async exhausted(data: WorkItem, attempts: number, lastError: Error): Promise<void> {
    const rec = await this.deps.store.get(outboundKey(data.messageId));
    if (!rec || rec.status === 'DELIVERED' || rec.status === 'FAILED') return;
    const expired = rec.expiresAt !== undefined && Date.parse(rec.expiresAt) <= this.deps.clock.now().getTime();
    await this.fail(
      rec,
      new DeliveryError(expired ? 'TRAMITE_ERR_EXPIRED' : 'TRAMITE_ERR_RETRIES_EXHAUSTED', `not delivered after ${attempts} attempts: ${lastError.message}`, { retriable: false }),
    );
  }

  private async fail(rec: MessageRecord, e: TramiteError): Promise<void> {
    const eccezione = e instanceof DeliveryError ? e.eccezioni[0] : undefined;
    this.deps.log.warn({ id: rec.id, to: rec.to, code: e.code, err: e.message }, 'message not delivered');
    await this.deps.store.transition(outboundKey(rec.id), { status: 'FAILED', error: { code: e.code, message: e.message, ...(eccezione ? { posizione: eccezione.posizione } : {}) } });
  }

  private async schedule(rec: MessageRecord): Promise<void> {
    const service = this.deps.registry.service(rec.to, rec.service);
    const retry = servicePolicy(this.deps.retry, service?.retry);
    try {
      await this.deps.deliveries.enqueue({ key: rec.id, messageId: rec.id, retry, ...(rec.expiresAt ? { expiresAt: rec.expiresAt } : {}) });
    } catch (err) {
      // The message is safe in the log as ACCEPTED; the next start-up reconciliation schedules it.
      this.deps.log.error({ id: rec.id, err: (err as Error).message }, 'could not queue the message; it stays ACCEPTED in the log');
    }
  }

  /**
   * The envelope to send now: the logged one while its Timestamp is fresh enough for the peer
   * (which refuses a Created older than 5 minutes); otherwise the same message signed again and
   * logged whole, so the log always holds what went on the wire.
   */
  private async envelopeForAttempt(rec: MessageRecord, service: ServiceDef, now: Date): Promise<string> {
    const logged = await this.deps.store.envelopeOf(outboundKey(rec.id));
    const created = logged ? /<wsu:Created>([^<]+)<\/wsu:Created>/.exec(logged)?.[1] : undefined;
    if (logged && created && now.getTime() - Date.parse(created) < RESEAL_AFTER_MS) return logged;
    if (rec.payload === undefined) throw new DeliveryError('TRAMITE_ERR_EXPIRED', 'the payload was dropped by retention: the message cannot be signed again', { retriable: false });
    const envelope = this.seal(rec, service, now);
    await this.deps.store.resealed(rec.id, envelope, {});
    return envelope;
  }

  private seal(rec: MessageRecord, service: ServiceDef, sealedAt: Date): string {
    const hosted = this.deps.registry.hostedParty(rec.from);
    if (!hosted) throw new DeliveryError('TRAMITE_ERR_NO_ROUTE', `${rec.from} is no longer hosted by this node`, { retriable: false });
    return sealRequest(
      {
        id: rec.id,
        now: new Date(rec.createdAt),
        sealedAt,
        from: rec.from,
        to: rec.to,
        service,
        payload: rec.payload ?? '',
        ...(rec.action !== undefined ? { action: rec.action } : {}),
        ...(rec.refId !== undefined ? { refId: rec.refId } : {}),
        ...(rec.conversationId !== undefined ? { conversationId: rec.conversationId } : {}),
        ...(rec.expiresAt ? { expiresAt: new Date(rec.expiresAt) } : {}),
      },
      hosted.identity,
    );
  }

  private routeOf(to: string): string | undefined {
    const reg = this.deps.registry;
    return reg.peerFor(to)?.url ?? (reg.hostedParty(to) ? this.deps.selfUrl() : undefined);
  }

  private validate(req: SendRequest, callerParties: ReadonlySet<string>): { service: ServiceDef } {
    const reg = this.deps.registry;
    if (!callerParties.has(req.from)) throw new ApiError('TRAMITE_ERR_FORBIDDEN', 403, `this token may not send as ${req.from}`);
    if (!reg.hostedParty(req.from)) throw new ApiError('TRAMITE_ERR_FORBIDDEN', 403, `${req.from} is not hosted by this node`);
    if (!this.routeOf(req.to)) throw new ApiError('TRAMITE_ERR_NO_ROUTE', 422, `no peer hosts ${req.to}`);
    const service = reg.service(req.to, req.service, req.serviceTipo);
    if (!service) throw new ApiError('TRAMITE_ERR_NO_ROUTE', 422, `${req.to} offers no service ${req.service} in the configuration`);
    if (req.action !== undefined && service.actions && !service.actions.includes(req.action)) {
      throw new ApiError('TRAMITE_ERR_BAD_REQUEST', 400, `service ${service.name} has no action ${req.action}; allowed: ${service.actions.join(', ')}`);
    }
    if (service.consumers && !service.consumers.includes(req.from)) throw new ApiError('TRAMITE_ERR_FORBIDDEN', 403, `${req.from} may not use service ${service.name}`);
    if (req.expiresAt !== undefined && !(Date.parse(req.expiresAt) > this.deps.clock.now().getTime())) throw new ApiError('TRAMITE_ERR_BAD_REQUEST', 400, 'expiresAt must be a date-time in the future');
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

  private async exchange(rec: MessageRecord, service: ServiceDef, envelope: string, url: string): Promise<Pick<MessageRecord, 'replyPayload' | 'receipt'> & { replyEnvelope?: string }> {
    let status: number;
    let text: string;
    let bytes: Buffer;
    try {
      const res = await request(url, {
        method: 'POST',
        body: envelope,
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${rec.service}"` },
        headersTimeout: this.deps.httpTimeoutMs,
        bodyTimeout: this.deps.httpTimeoutMs,
      });
      status = res.statusCode;
      // A reply is an envelope: no larger than the envelopes this node accepts.
      bytes = await readBoundedBody(res.body, { maxBytes: this.deps.limits.maxBytes, source: `peer at ${url}`, declaredLength: res.headers['content-length'] });
      text = bytes.toString('utf8');
    } catch (cause) {
      if (cause instanceof ResponseTooLargeError) throw new DeliveryError(cause.code, cause.message, { retriable: true, cause });
      throw new DeliveryError('TRAMITE_ERR_PEER_UNREACHABLE', `peer at ${url} could not be reached: ${(cause as Error).message}`, { retriable: true, cause });
    }
    // A busy peer (its verification queue is full) took nothing: try again later, whatever its body says.
    if (status === 503) throw new DeliveryError('TRAMITE_ERR_PEER_UNREACHABLE', `peer at ${url} is busy (HTTP 503)`, { retriable: true });
    const wantsReply = rec.confermaRicezione || rec.collaboration !== 'oneway';
    if (!text.trim()) {
      if (status >= 200 && status < 300 && !wantsReply) return {};
      // 202 without a body: the peer has the message but its reply is not signed yet (another copy is
      // being processed, or its process died mid-way): the next attempt gets the reply.
      const pending = status === 202;
      throw new DeliveryError(status >= 500 || pending ? 'TRAMITE_ERR_PEER_UNREACHABLE' : 'TRAMITE_ERR_RECEIPT_INVALID', `peer answered HTTP ${status} without the ${wantsReply ? 'signed reply' : 'envelope'} expected${pending ? ' (reply pending)' : ''}`, { retriable: status >= 500 || pending });
    }
    let reply: ReadEnvelope;
    try {
      // From the bytes, so that a reply in a declared single-byte encoding reads (and is logged) right.
      reply = readEnvelope(bytes, this.deps.limits);
    } catch (cause) {
      const fault = plainFault(text, this.deps.limits);
      if (fault) throw refusalFrom({ fault }, status);
      throw new DeliveryError('TRAMITE_ERR_RECEIPT_INVALID', `peer answered HTTP ${status} with no readable envelope: ${(cause as Error).message}`, { retriable: status >= 500, cause });
    }
    if (reply.fault) throw refusalFrom(reply, status);
    if (status < 200 || status >= 300) throw new DeliveryError('TRAMITE_ERR_PEER_UNREACHABLE', `peer answered HTTP ${status}`, { retriable: true });
    const opened = await this.verifyReply(reply, reply.text, rec, service);
    const eccezioni = opened.egov?.eccezioni ?? [];
    if (eccezioni.some((e) => e.rilevanza === 'GRAVE')) throw refusalFrom(opened, status);
    const at = this.deps.clock.now().toISOString();
    return {
      // The decoded text (its declaration, if any, says UTF-8): the same document, as the log stores text.
      replyEnvelope: reply.text,
      receipt: { at, signer: describeCertificate(opened.signature.signer) },
      ...(rec.collaboration === 'sincrono' || isPoll(rec) ? { replyPayload: bodyContent(opened) } : {}),
    };
  }

  /**
   * The reply must be signed by the party the message went to, must answer this very message, and
   * (modi) must satisfy the service's patterns, as the request did.
   * Its signature is checked in a verification worker, over the same text `reply` was read from.
   */
  private async verifyReply(reply: ReadEnvelope, text: string, rec: MessageRecord, service: ServiceDef): Promise<OpenedEnvelope> {
    let outcome: VerifyOutcome;
    try {
      // A reply answers this node's own request: their number is bounded by the delivery queue, so it may wait.
      outcome = await this.deps.verifier.verify({ envelope: text, at: this.deps.clock.now().getTime(), party: rec.to, modiPatterns: service.modiPatterns ?? DEFAULT_MODI_PATTERNS }, { mayWait: true });
    } catch (cause) {
      throw new DeliveryError('TRAMITE_ERR_VERIFIER_UNAVAILABLE', `the peer's reply could not be verified now: ${(cause as Error).message}`, { retriable: true, cause });
    }
    if (!outcome.ok) {
      const cause = reviveError(outcome.error);
      throw new DeliveryError('TRAMITE_ERR_RECEIPT_INVALID', `the peer's reply failed verification: ${cause.message}`, { retriable: false, cause });
    }
    const opened = openedWith(reply, reviveSignature(outcome.signature));
    const bad = (why: string): never => {
      throw new DeliveryError('TRAMITE_ERR_RECEIPT_INVALID', `the peer's reply ${why}`, { retriable: false });
    };
    if (opened.profile === 'egov') {
      const h = opened.egov!;
      if (partyCode(h.mittente[0]!) !== rec.to || partyCode(h.destinatario) !== rec.from) bad('has Mittente/Destinatario that do not mirror the request');
      if (h.messaggio.riferimentoMessaggio !== rec.id) bad(`refers to ${h.messaggio.riferimentoMessaggio ?? 'no message'}, not to ${rec.id}`);
      if (rec.confermaRicezione && rec.collaboration === 'oneway' && !h.riscontri.some((r) => r.identificatore === rec.id)) bad(`carries no riscontro for ${rec.id}`);
    } else if (opened.addressing!.relatesTo !== rec.id) {
      bad(`relates to ${opened.addressing!.relatesTo ?? 'no message'}, not to ${rec.id}`);
    }
    return opened;
  }
}

/** A richiesta stato (asincrono asimmetrico): it refers to the request it asks about, and is answered synchronously. */
function isPoll(rec: MessageRecord): boolean {
  return rec.collaboration === 'asincronoAsimmetrico' && rec.refId !== undefined;
}

function plainFault(text: string, limits: XmlLimits): SoapFault | undefined {
  try {
    return readPlainFault(text, limits);
  } catch {
    return undefined;
  }
}

/** A refusal from the peer: the precise EGOV_IT code from ListaEccezioni or the Fault detail. Final. */
function refusalFrom(reply: Pick<ReadEnvelope, 'egov' | 'fault'>, status: number): DeliveryError {
  const fromList = reply.egov?.eccezioni.find((e) => e.rilevanza === 'GRAVE') ?? reply.egov?.eccezioni[0];
  let code = fromList?.codiceEccezione;
  const posizione = fromList?.posizione ?? '';
  let description = reply.fault?.string ?? '';
  const detail = reply.fault?.detail;
  if (detail) {
    for (const el of walkElements(detail)) {
      if (el.namespaceURI === NS.egovException && (el.localName === 'EccezioneBusta' || el.localName === 'EccezioneProcessamento')) {
        code ??= el.getAttribute('codiceEccezione') ?? undefined;
        description = el.getAttribute('descrizioneEccezione') ?? description;
      }
    }
  }
  code ??= /^(EGOV_IT_\d{3})/.exec(reply.fault?.string ?? '')?.[1];
  const finalCode = code && isEgovCode(code) ? code : 'TRAMITE_ERR_PEER_REFUSED';
  return new DeliveryError(finalCode, `peer refused the message (HTTP ${status}): ${description || finalCode}`, {
    retriable: false,
    eccezioni: [{ codiceEccezione: finalCode, posizione }],
  });
}
