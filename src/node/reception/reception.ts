import { EnvelopeError, SecurityError, TramiteError } from '../../core/errors.js';
import type { CollaborationProfile } from '../../core/service-profile.js';
import { partyCode } from '../../core/party.js';
import { parseXsdDateTime } from '../../core/xsd-datetime.js';
import { parseUntrustedXml, type XmlLimits } from '../../../envelopes/xml/hardened-xml.js';
import { describeCertificate } from '../../core/certificate-description.js';
import { bodyContent, openedWith, readEnvelope, type OpenedEnvelope } from '../../../envelopes/envelope.js';
import { parseModiAction } from '../../../envelopes/modi/modi-action.js';
import { requireModiPatterns } from '../../../envelopes/modi/modi-patterns.js';
import { DEFAULT_MODI_PATTERNS, type ModiSoapPattern } from '../../core/service-profile.js';
import { deliverToBackOffice, type BackOfficeDelivery } from '../dispatch/back-office-client.js';
import { AdapterError, type AdapterInstance } from '../../../adapters/sdk/adapter.js';
import type { AttemptOutcome, WorkItem } from '../../queue/work-queue.js';
import type { RetryPolicy } from '../../queue/retry-policy.js';
import { buildFaultEnvelope, faultElement } from '../../../envelopes/busta/fault.js';
import { newModiMessageId, sealReply } from '../../../envelopes/busta/reply.js';
import { toEccezione } from '../../../envelopes/busta/eccezione.js';
import { AsyncCorrelation, pendingAnswer, type Correlation } from '../correlation/async-correlation.js';
import { inboundKey, keyOf, type MessageRecord } from '../../core/message-record.js';
import type { PipelineDeps } from '../pipeline-deps.js';
import type { HostedParty, ServiceDef } from '../registry/registry.js';
import { reviveError, reviveSignature } from './verification-protocol.js';
import { bindSignerToParty } from './inbound-verification.js';

export interface InboundReply {
  readonly status: number;
  readonly body: string;
  /** With 503: when the sender may try again (the HTTP Retry-After header). */
  readonly retryAfterSeconds?: number;
}

/** A hand-over to schedule: inbound ids are unique per sender only, so the job names the sender too. */
export interface DispatchItem extends WorkItem {
  readonly from: string;
}

/** What a busy node asks a sender to wait: verification queues drain in about that time. */
const BUSY_RETRY_AFTER_SECONDS = 2;

export interface InboundDeps extends PipelineDeps {
  /** Where hand-overs to back offices are scheduled (the BullMQ dispatch queue). */
  readonly dispatches: { enqueue(item: DispatchItem): Promise<void> };
  /** Retry policy of back-office hand-overs. */
  readonly retry: RetryPolicy;
  readonly backOfficeTimeoutMs: number;
  /** Identifies this node in fault details (IdentificativoPorta). */
  readonly porta: string;
  /** The adapters that take a party's messages on the services they serve (before its backOffice URL). */
  readonly adapters: { serving(party: string, service: string): { readonly instance: Pick<AdapterInstance, 'egress'> } | undefined };
}

/** A request that passed verification and authorisation: who, to whom, what, and how. */
interface AcceptedRequest {
  readonly env: OpenedEnvelope;
  readonly id: string;
  readonly from: string;
  readonly to: HostedParty;
  readonly service: ServiceDef;
  readonly action?: string;
  readonly profile: CollaborationProfile;
  readonly confermaRicezione: boolean;
  readonly refId?: string;
  readonly conversationId?: string;
  readonly expiresAt?: string;
}

/**
 * The receiving side of a node, as its stages:
 * guard/parse → verify (signature, certificate, Timestamp) → authorise (route to a hosted party,
 * known sender bound to the signer, service, action, profile) → expiry → duplicate filter →
 * record → dispatch to the back office → signed reply (riscontro / answer) in the HTTP response.
 * One error handler turns any refusal into the protocol's fault.
 */
export class InboundPipeline {
  private readonly correlation: AsyncCorrelation;
  /** Messages (sender and id) this process is receiving right now (logged, reply not yet signed). */
  private readonly receiving = new Set<string>();

  constructor(private readonly deps: InboundDeps) {
    this.correlation = new AsyncCorrelation(deps.store, deps.registry);
  }

  async process(bytes: Uint8Array): Promise<InboundReply> {
    const claimed: { id?: string } = {};
    let opened: OpenedEnvelope | undefined;
    let accepted: AcceptedRequest | undefined;
    try {
      opened = await this.open(bytes, claimed);
      accepted = this.authorise(opened);
      const duplicate = await this.answerDuplicate(accepted);
      if (duplicate) return duplicate;
      this.checkExpiry(accepted);
      const correlation = await this.correlation.inbound({
        id: accepted.id,
        from: accepted.from,
        to: accepted.to.code,
        service: accepted.service,
        ...(accepted.refId !== undefined ? { refId: accepted.refId } : {}),
        ...(accepted.conversationId !== undefined ? { conversationId: accepted.conversationId } : {}),
      });
      return await this.receive(accepted, correlation);
    } catch (err) {
      if (err instanceof TramiteError && err.code === 'TRAMITE_ERR_NODE_BUSY') return this.busy(err);
      return this.refuse(err, claimed.id, opened, accepted);
    }
  }

  /**
   * Parse and verify in a verification worker (the CPU-heavy part: off the event loop), then read
   * the same bytes again here for the stages that follow. The parse is deterministic, so the
   * elements read here are the ones whose signature the worker checked; and what is parsed on the
   * event loop is by now authenticated and within the limits.
   */
  private async open(bytes: Uint8Array, claimed: { id?: string }): Promise<OpenedEnvelope> {
    const outcome = await this.deps.verifier.verify({ envelope: bytes, at: this.deps.clock.now().getTime() });
    if (!outcome.ok) {
      if (outcome.messageId !== undefined) claimed.id = outcome.messageId;
      throw reviveError(outcome.error);
    }
    return openedWith(readEnvelope(bytes, this.deps.limits), reviveSignature(outcome.signature));
  }

  /** No worker is free and the queue is full: say so at once (503, Retry-After) rather than queue without end. */
  private busy(err: TramiteError): InboundReply {
    this.deps.log.warn({ code: err.code, err: err.message }, 'envelope turned away: the node is busy');
    const fault = faultElement(
      { contestoCodifica: 'ErroreProcessamentoMessaggioSPCoop', codiceEccezione: 'EGOV_IT_300', rilevanza: 'GRAVE', posizione: 'Processamento', message: err.message, reason: err.code },
      { now: this.deps.clock.now(), porta: this.deps.porta },
    );
    return { status: 503, body: buildFaultEnvelope(fault), retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS };
  }

  /**
   * At most once: a message taken already is answered as the first time (its original riscontro or
   * answer), and nothing new reaches the back office. While the first copy is still being processed
   * there is no reply yet: 202, and the sender's next retry gets the original. A duplicate is the same
   * sender's id only: another party's message with that id is a message of its own, so it can neither
   * read the first sender's reply nor stop the first sender's message.
   */
  private async answerDuplicate(req: AcceptedRequest): Promise<InboundReply | undefined> {
    const key = inboundKey(req.id, req.from);
    const first = await this.deps.store.get(key);
    if (!first) return undefined;
    const original = await this.deps.store.replyEnvelopeOf(key);
    if (original) {
      this.deps.log.info({ id: req.id, from: req.from }, 'duplicate envelope answered with its original reply');
      return { status: first.status === 'FAILED' ? 500 : 200, body: original };
    }
    if (!this.receiving.has(inboundKeyText(key)) && first.status === 'RECEIVED') return this.completeInterruptedReceipt(req, first);
    return { status: 202, body: '' };
  }

  /**
   * The first copy was logged but its process died before signing the riscontro: nobody else will
   * sign it, so the node does now, for the retry (else every retry would get "in progress" forever).
   * Sincrono answers and richieste stato are not re-created here: the sender's retry stays pending.
   */
  private async completeInterruptedReceipt(req: AcceptedRequest, first: MessageRecord): Promise<InboundReply> {
    const isPoll = first.collaboration === 'asincronoAsimmetrico' && first.refId !== undefined;
    if (first.collaboration === 'sincrono' || isPoll) return { status: 202, body: '' };
    const wantsAck = first.confermaRicezione || first.collaboration !== 'oneway';
    if (!wantsAck) return { status: 202, body: '' };
    const body = sealReply(req.env, { id: await this.replyId(req.env.profile, req.to.code), now: this.deps.clock.now(), riscontro: true, ...replyPatterns(req) }, req.to.identity);
    await this.deps.store.transition(keyOf(first), {}, body);
    this.deps.log.warn({ id: req.id, from: req.from }, 'riscontro of an interrupted reception signed for the retry');
    if (this.hasReceiver(req.to.code, req.service.name)) await this.scheduleDispatch(first);
    return { status: 200, body };
  }

  private authorise(env: OpenedEnvelope): AcceptedRequest {
    const reg = this.deps.registry;
    let id: string, from: string, to: string, tipo: string, servizio: string;
    let action: string | undefined, profile: CollaborationProfile | undefined, refId: string | undefined, conversationId: string | undefined;
    let confermaRicezione = false;
    let expiresAt: string | undefined;
    if (env.profile === 'egov') {
      const h = env.egov!;
      ({ identificatore: id } = h.messaggio);
      from = partyCode(h.mittente[0]!);
      to = partyCode(h.destinatario);
      if (!h.servizio) throw new EnvelopeError('EGOV_IT_105', 'IntestazioneMessaggio/Servizio', 'EGOV_IT_105 - a busta without Servizio (busta di servizio) is not routed to a back office');
      ({ tipo, nome: servizio } = h.servizio);
      action = h.azione;
      profile = h.profiloCollaborazione?.profile;
      refId = h.messaggio.riferimentoMessaggio;
      conversationId = h.collaborazione;
      confermaRicezione = h.profiloTrasmissione?.confermaRicezione ?? false;
      expiresAt = h.messaggio.scadenza;
    } else {
      const a = env.addressing!;
      // The node's message id and duplicate-filter key: required whatever the service's ID_AUTH pattern.
      if (!a.messageId) throw new EnvelopeError('EGOV_IT_107', 'Header/MessageID', 'EGOV_IT_107 - wsa:MessageID missing: the node identifies every ModI message by it');
      id = a.messageId;
      from = a.from ?? '';
      to = a.to ?? '';
      const svc = parseModiAction(a.action ?? '');
      if (!svc) throw new EnvelopeError('EGOV_IT_105', 'Header/Action', `EGOV_IT_105 - wsa:Action "${a.action ?? ''}" names no bus service`);
      ({ tipo, servizio, azione: action } = svc);
      refId = a.relatesTo;
    }
    const hosted = reg.hostedParty(to);
    if (!hosted) throw new EnvelopeError('EGOV_IT_102', env.profile === 'egov' ? 'IntestazioneMessaggio/Destinatario' : 'Header/To', `EGOV_IT_102 - party ${to} is not hosted by this node`);
    // Checked in the verification worker already; again here, on the values this stage goes on with.
    bindSignerToParty(reg, env.profile, env.signature.signer, from);
    const service = reg.service(to, servizio, tipo);
    if (!service) throw new EnvelopeError('EGOV_IT_105', 'IntestazioneMessaggio/Servizio', `EGOV_IT_105 - ${to} offers no service ${tipo}/${servizio}`);
    if (env.profile === 'modi') {
      // What the service declares, and no weaker: e.g. a Body-unsigned envelope on an INTEGRITY_SOAP_01 service.
      requireModiPatterns(env.modi!, service.modiPatterns ?? DEFAULT_MODI_PATTERNS, describeCertificate(env.signature.signer));
    }
    if (action !== undefined && service.actions && !service.actions.includes(action)) {
      throw new EnvelopeError('EGOV_IT_106', 'IntestazioneMessaggio/Azione', `EGOV_IT_106 - service ${servizio} has no action ${action}`);
    }
    if (service.consumers && !service.consumers.includes(from)) {
      throw new EnvelopeError('EGOV_IT_201', 'IntestazioneMessaggio/Mittente', `EGOV_IT_201 - ${from} may not use service ${servizio}`);
    }
    if (env.profile === 'modi') {
      profile = service.profile;
      confermaRicezione = service.confermaRicezione;
    } else if (profile !== service.profile) {
      throw new EnvelopeError('EGOV_IT_103', 'IntestazioneMessaggio/ProfiloCollaborazione', `EGOV_IT_103 - service ${servizio} is ${service.profile}, the busta says ${profile ?? 'nothing'}`);
    } else {
      const correlato = env.egov!.profiloCollaborazione?.servizioCorrelato;
      if (correlato !== undefined && correlato !== service.correlatedService) {
        throw new EnvelopeError('EGOV_IT_103', 'IntestazioneMessaggio/ProfiloCollaborazione', `EGOV_IT_103 - servizioCorrelato "${correlato}" is not the correlated service of ${servizio} (${service.correlatedService ?? 'none'})`);
      }
    }
    return {
      env,
      id,
      from,
      to: hosted,
      service,
      profile: profile!,
      confermaRicezione,
      ...(action !== undefined ? { action } : {}),
      ...(refId !== undefined ? { refId } : {}),
      ...(conversationId !== undefined ? { conversationId } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    };
  }

  private checkExpiry(req: AcceptedRequest): void {
    if (req.expiresAt === undefined) return;
    const at = parseXsdDateTime(req.expiresAt)!;
    if (at.getTime() < this.deps.clock.now().getTime()) {
      throw new EnvelopeError('EGOV_IT_301', 'IntestazioneMessaggio/Messaggio/Scadenza', `EGOV_IT_301 - the message expired at ${req.expiresAt}`, { contesto: 'processamento' });
    }
  }

  private async receive(req: AcceptedRequest, correlation: Correlation): Promise<InboundReply> {
    const now = this.deps.clock.now();
    const payload = bodyContent(req.env);
    const record: MessageRecord = {
      id: req.id,
      direction: 'in',
      envelopeProfile: req.env.profile,
      collaboration: req.profile,
      from: req.from,
      to: req.to.code,
      service: req.service.name,
      ...(req.action !== undefined ? { action: req.action } : {}),
      ...(req.refId !== undefined ? { refId: req.refId } : {}),
      ...(req.conversationId !== undefined ? { conversationId: req.conversationId } : {}),
      ...(req.expiresAt !== undefined ? { expiresAt: req.expiresAt } : {}),
      confermaRicezione: req.confermaRicezione,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      status: 'RECEIVED',
      attempts: 1,
      payload,
      receipt: { at: now.toISOString(), signer: describeCertificate(req.env.signature.signer) },
    };
    try {
      // The decoded text, not the bytes as UTF-8: an envelope in a declared single-byte encoding is logged
      // as the same document (its declaration rewritten to UTF-8), so its signature verifies from the log.
      await this.deps.store.create(record, req.env.text);
    } catch (err) {
      // Two copies raced past the duplicate check: the one logged first wins, this one is a duplicate.
      const duplicate = await this.answerDuplicate(req);
      if (duplicate) return duplicate;
      throw err;
    }
    const receiving = inboundKeyText(record);
    this.receiving.add(receiving);
    try {
      return await this.reply(req, correlation, payload);
    } finally {
      this.receiving.delete(receiving);
    }
  }

  /** The signed reply to a request just logged (riscontro, ricevuta, sincrono answer, stato), and its hand-over. */
  private async reply(req: AcceptedRequest, correlation: Correlation, payload: string): Promise<InboundReply> {
    this.deps.log.info({ id: req.id, from: req.from, to: req.to.code, service: req.service.name, profile: req.profile }, 'envelope received and verified');

    const key = inboundKey(req.id, req.from);
    let reply: InboundReply;
    if (correlation.kind === 'poll') {
      // Richiesta stato: the node answers from its log, with the result the back office recorded or "not yet".
      const original = (await this.deps.store.get(keyOf(correlation.original))) ?? correlation.original;
      const answer = original.answer !== undefined && original.replyPayload !== undefined ? original.replyPayload : pendingAnswer(original.id);
      reply = { status: 200, body: sealReply(req.env, { id: await this.replyId(req.env.profile, req.to.code), now: this.deps.clock.now(), payload: answer, ...replyPatterns(req) }, req.to.identity) };
      await this.deps.store.transition(key, { status: 'DISPATCHED', replyPayload: answer }, reply.body);
    } else if (req.profile === 'sincrono') {
      // A back office or adapter often answers with a whole document: its XML declaration cannot be Body content.
      const answer = (await this.dispatch(req, payload))?.replace(/^\s*<\?xml[^>]*\?>\s*/, '');
      if (answer === undefined || !isWellFormedContent(answer, this.deps.limits)) {
        throw new TramiteError('TRAMITE_ERR_PEER_REFUSED', `the back office of ${req.to.code} gave no well-formed XML answer`);
      }
      reply = { status: 200, body: sealReply(req.env, { id: await this.replyId(req.env.profile, req.to.code), now: this.deps.clock.now(), payload: answer, ...replyPatterns(req) }, req.to.identity) };
      await this.deps.store.transition(key, { status: 'DISPATCHED', replyPayload: answer }, reply.body);
    } else {
      // A riscontro / ricevuta acknowledges receipt by the node: it is signed once the message is kept,
      // and the back office gets the message right after.
      const wantsAck = req.confermaRicezione || req.profile !== 'oneway';
      reply = wantsAck
        ? { status: 200, body: sealReply(req.env, { id: await this.replyId(req.env.profile, req.to.code), now: this.deps.clock.now(), riscontro: true, ...replyPatterns(req) }, req.to.identity) }
        : { status: 202, body: '' };
      if (reply.body) await this.deps.store.transition(key, {}, reply.body);
      if (correlation.kind === 'answer') {
        // The consumer's own request now shows its answer (GET /api/v1/messages/{request id}).
        await this.deps.store.transition(keyOf(correlation.original), { answer: { at: this.deps.clock.now().toISOString(), id: req.id }, replyPayload: payload });
      }
      if (this.hasReceiver(req.to.code, req.service.name)) await this.scheduleDispatch(req); // otherwise the back office polls the API
    }
    return reply;
  }

  /** Oneway and asynchronous requests reach the back office through the dispatch queue, after the riscontro. */
  private async scheduleDispatch({ id, from }: { readonly id: string; readonly from: string }): Promise<void> {
    try {
      await this.deps.dispatches.enqueue({ key: inboundKeyText({ id, from }), messageId: id, from, retry: this.deps.retry });
    } catch (err) {
      // Kept in the log as RECEIVED: the next start-up reconciliation schedules it.
      this.deps.log.error({ id, err: (err as Error).message }, 'could not queue the dispatch; the message stays RECEIVED in the log');
    }
  }

  /** One hand-over to the back office (its adapter or its URL), as the dispatch queue runs it. */
  async dispatchAttempt(item: DispatchItem, attemptNo: number): Promise<AttemptOutcome> {
    // A job queued before dispatches named the sender: start-up reconciliation queues it again, with it.
    if (typeof item.from !== 'string') return { kind: 'done' };
    const rec = await this.deps.store.get(inboundKey(item.messageId, item.from));
    if (!rec || rec.status !== 'RECEIVED') return { kind: 'done' };
    if (!this.hasReceiver(rec.to, rec.service)) return { kind: 'done' }; // its back office polls the API
    try {
      const payload = rec.payload ?? (await this.payloadFromEnvelope(rec));
      await this.handOver({
        id: rec.id,
        from: rec.from,
        to: rec.to,
        service: rec.service,
        profile: rec.collaboration,
        payload,
        ...(rec.action !== undefined ? { action: rec.action } : {}),
        ...(rec.refId !== undefined ? { refId: rec.refId } : {}),
        ...(rec.conversationId !== undefined ? { conversationId: rec.conversationId } : {}),
      });
      await this.deps.store.transition(keyOf(rec), { status: 'DISPATCHED', error: undefined });
      return { kind: 'done' };
    } catch (err) {
      const code = err instanceof TramiteError ? err.code : 'EGOV_IT_300';
      if (err instanceof AdapterError && !err.retriable) {
        this.deps.log.warn({ id: rec.id, code, err: err.message }, 'the adapter refused the message for good');
        await this.deps.store.transition(keyOf(rec), { status: 'FAILED', error: { code, message: err.message } });
        return { kind: 'done' };
      }
      this.deps.log.warn({ id: rec.id, attempt: attemptNo, code, err: (err as Error).message }, 'back office dispatch failed; will retry');
      await this.deps.store.transition(keyOf(rec), { error: { code, message: (err as Error).message } });
      return { kind: 'retry', error: err as Error };
    }
  }

  /** Whether anything takes `party`'s messages on `service` (an adapter, or a backOffice URL); else they wait for the API. */
  private hasReceiver(party: string, service: string): boolean {
    return this.deps.adapters.serving(party, service) !== undefined || this.deps.registry.hostedParty(party)?.backOffice !== undefined;
  }

  /** Hands a message over: to the adapter serving its service, else to the party's backOffice URL. Returns a sincrono reply. */
  private async handOver(msg: BackOfficeDelivery): Promise<string | undefined> {
    const adapter = this.deps.adapters.serving(msg.to, msg.service);
    if (adapter) {
      const outcome = await adapter.instance.egress({ ...msg, profile: msg.profile as MessageRecord['collaboration'] }, AbortSignal.timeout(this.deps.backOfficeTimeoutMs));
      return outcome.kind === 'reply' ? outcome.payload : undefined;
    }
    const url = this.deps.registry.hostedParty(msg.to)?.backOffice?.url;
    if (!url) throw new TramiteError('TRAMITE_ERR_NO_ROUTE', `party ${msg.to} has no adapter for ${msg.service} and no back office`);
    return deliverToBackOffice(url, msg, this.deps.backOfficeTimeoutMs, this.deps.limits.maxBytes);
  }

  /** The back office never took the message within the attempts: FAILED, kept in the log. */
  async dispatchExhausted(item: DispatchItem, attempts: number, lastError: Error): Promise<void> {
    if (typeof item.from !== 'string') return;
    const rec = await this.deps.store.get(inboundKey(item.messageId, item.from));
    if (!rec || rec.status !== 'RECEIVED') return;
    await this.deps.store.transition(keyOf(rec), { status: 'FAILED', error: { code: 'TRAMITE_ERR_RETRIES_EXHAUSTED', message: `the back office did not take it after ${attempts} attempts: ${lastError.message}` } });
  }

  /** Start-up reconciliation: every received-but-undispatched message is dispatched again. */
  async reconcile(): Promise<number> {
    // Richieste stato are answered by the node itself, never handed to a back office.
    const pending = (await this.deps.store.list({ direction: 'in', status: 'RECEIVED', limit: 100_000 })).filter(
      (r) => this.hasReceiver(r.to, r.service) && !(r.collaboration === 'asincronoAsimmetrico' && r.refId !== undefined),
    );
    for (const r of pending) await this.scheduleDispatch(r);
    if (pending.length > 0) this.deps.log.debug({ messages: pending.length }, 'undispatched messages scheduled (again)');
    return pending.length;
  }

  /** Retention dropped the projected payload: the Body of the logged envelope still has it. */
  private async payloadFromEnvelope(rec: MessageRecord): Promise<string> {
    const xml = await this.deps.store.envelopeOf(keyOf(rec));
    if (!xml) throw new TramiteError('TRAMITE_ERR_NOT_FOUND', `message ${rec.id} from ${rec.from}: payload and envelope are gone (retention)`);
    return bodyContent(readEnvelope(xml, this.deps.limits));
  }

  /** A sincrono request goes to the back office inline: its answer is the reply. */
  private async dispatch(req: AcceptedRequest, payload: string): Promise<string | undefined> {
    if (!this.hasReceiver(req.to.code, req.service.name)) throw new TramiteError('TRAMITE_ERR_NO_ROUTE', `party ${req.to.code} has no back office to answer a sincrono request`);
    return this.handOver({
      id: req.id,
      from: req.from,
      to: req.to.code,
      service: req.service.name,
      profile: req.profile,
      payload,
      ...(req.action !== undefined ? { action: req.action } : {}),
      ...(req.refId !== undefined ? { refId: req.refId } : {}),
      ...(req.conversationId !== undefined ? { conversationId: req.conversationId } : {}),
    });
  }

  /** A reply's own id: a new UUID for modi, an e-Gov id of the replying party for egov. */
  private replyId(profile: 'egov' | 'modi', replier: string): Promise<string> {
    return profile === 'modi' ? Promise.resolve(newModiMessageId()) : this.deps.ids.next(replier.split('/')[1]!);
  }

  /**
   * Turns a refusal into the protocol's answer. Before the request is trusted: a plain SOAP Fault.
   * After (the sender is verified and the recipient is hosted here): the Fault travels in a reply
   * busta signed by the recipient, with the same code in ListaEccezioni.
   */
  private async refuse(err: unknown, claimedId: string | undefined, opened: OpenedEnvelope | undefined, accepted: AcceptedRequest | undefined): Promise<InboundReply> {
    const ecc = toEccezione(err);
    const now = this.deps.clock.now();
    const level = err instanceof EnvelopeError || err instanceof SecurityError ? 'warn' : 'error';
    this.deps.log[level](
      { code: ecc.codiceEccezione, reason: ecc.reason, posizione: ecc.posizione, id: accepted?.id ?? opened?.egov?.messaggio.identificatore ?? opened?.addressing?.messageId ?? claimedId, err: (err as Error).message },
      'envelope refused',
    );
    const fault = faultElement(ecc, { now, porta: this.deps.porta });
    const recipient = opened && this.deps.registry.hostedParty(opened.profile === 'egov' ? partyCode(opened.egov!.destinatario) : opened.addressing!.to ?? '');
    if (opened && recipient) {
      try {
        const replyId = await this.replyId(opened.profile, recipient.code);
        const body = sealReply(opened, { id: replyId, now, eccezioni: [ecc] }, recipient.identity, fault);
        const key = accepted && inboundKey(accepted.id, accepted.from);
        if (key && (await this.deps.store.get(key))) {
          await this.deps.store.transition(key, { status: 'FAILED', error: { code: ecc.codiceEccezione, message: ecc.message, posizione: ecc.posizione } }, body);
        }
        return { status: 500, body };
      } catch (signErr) {
        this.deps.log.error({ err: (signErr as Error).message }, 'could not sign the error reply; answering with a plain fault');
      }
    }
    return { status: 500, body: buildFaultEnvelope(fault) };
  }
}

/**
 * A ModI reply follows its request's service: without INTEGRITY_SOAP_01, riscontro and answer go with
 * the Body unsigned, as the consumer's side of the same agreement expects. (Refusals keep the default
 * and sign their Fault: the service may not be known yet.)
 */
function replyPatterns(req: AcceptedRequest): { modiPatterns?: readonly ModiSoapPattern[] } {
  return req.env.profile === 'modi' && req.service.modiPatterns ? { modiPatterns: req.service.modiPatterns } : {};
}

/** One string per inbound message (sender and id): the receiving set's entries and dispatch job keys. */
function inboundKeyText(key: { readonly id: string; readonly from: string }): string {
  return JSON.stringify([key.from, key.id]);
}

/** The back office's answer becomes a signed Body: it must be well-formed XML content. */
function isWellFormedContent(xml: string, limits: XmlLimits): boolean {
  try {
    parseUntrustedXml(`<answer>${xml}</answer>`, limits);
    return true;
  } catch {
    return false;
  }
}
