import { messagesInPages } from '../../core/message-pages.js';
import { bodyContent } from '../../../envelopes/envelope.js';
import { describeCertificate } from '../../core/certificate-description.js';
import { DeliveryError, TramiteError } from '../../core/errors.js';
import { hasExpired, outboundKey, type MessageRecord, type MessageStatus } from '../../core/message-record.js';
import type { AttemptOutcome, WorkItem } from '../../queue/work-queue.js';
import { isPendingAnswer } from '../correlation/async-correlation.js';
import type { PeerClient } from '../peer-client/peer-client.js';
import type { PipelineDeps } from '../pipeline-deps.js';
import { checkReply } from '../receipts/reply-check.js';
import type { Registry, ServiceDef } from '../registry/registry.js';
import { routeOf } from './delivery-route.js';
import type { DeliverySchedule } from './delivery-schedule.js';
import { sealMessage } from './seal-message.js';

/** A retry re-signs the envelope when its Timestamp is older than this (peers refuse past 5 minutes). */
const RESEAL_AFTER_MS = 240_000;

export interface DeliveryDeps extends PipelineDeps {
  /** The one client every exchange with a peer goes through. */
  readonly peers: PeerClient;
  /** The deliver queue, for start-up reconciliation. */
  readonly schedule: DeliverySchedule;
  /** This node's own envelope endpoint, for messages between two parties it hosts. */
  readonly selfUrl: () => string;
}

/** What a delivered message records: the peer's receipt, the answer it carried, the reply envelope itself. */
type Delivered = Pick<MessageRecord, 'replyPayload' | 'receipt'> & { replyEnvelope?: string };

/** An outbound message an attempt may still move: not yet DELIVERED nor FAILED. */
const UNSETTLED: readonly MessageStatus[] = ['ACCEPTED', 'SENDING'];

/**
 * The delivery worker, as the deliver queue runs it: take the message from the log → still due? →
 * SENDING (if no other attempt settled it meanwhile) → the envelope to send (re-signed when its
 * Timestamp is stale) → exchange through the peer client → check the reply (receipts) → DELIVERED; a
 * retriable failure is retried by the queue, any other is FAILED with the peer's EGOV_IT code.
 */
export class DeliveryWorker {
  constructor(private readonly deps: DeliveryDeps) {}

  /** One delivery attempt; `signal` cuts its exchange with the peer short (retriable). */
  async attempt(data: WorkItem, attemptNo: number, signal?: AbortSignal): Promise<AttemptOutcome> {
    const id = data.messageId;
    const rec = await this.deps.store.get(outboundKey(id));
    if (!rec || rec.status === 'DELIVERED' || rec.status === 'FAILED') return { kind: 'done' }; // already settled
    const now = this.deps.clock.now();
    if (hasExpired(rec, now)) {
      await this.fail(
        rec,
        new DeliveryError(
          'TRAMITE_ERR_EXPIRED',
          `the message expired at ${rec.expiresAt} before the peer confirmed it (${rec.attempts} attempts)`,
          { retriable: false },
        ),
      );
      return { kind: 'done' };
    }
    // Each attempt runs under the registry current when it starts (docs/operators.md, "Reloading the
    // registry"): a retry goes to the peer's URL as it is now, and a party or service removed meanwhile fails it.
    const registry = this.deps.registry.current();
    const route = routeOf(registry, rec.to, this.deps.selfUrl);
    const service = registry.service(rec.to, rec.service);
    if (!route || !service) {
      await this.fail(
        rec,
        new DeliveryError(
          'TRAMITE_ERR_NO_ROUTE',
          `no route or service for ${rec.to}/${rec.service} in the configuration any more (registry version ${registry.version})`,
          { retriable: false },
        ),
      );
      return { kind: 'done' };
    }
    try {
      // Conditional, as every state this attempt sets: another process's attempt (a job Redis lost and
      // reconciliation queued again) may have settled the message since it was read. First, so that an
      // attempt that stops here has logged nothing — not even an envelope signed again that never left.
      if (!(await this.deps.store.transitionIf(outboundKey(id), UNSETTLED, { status: 'SENDING', attempts: rec.attempts + 1 })))
        return { kind: 'done' };
      const envelope = await this.envelopeForAttempt(rec, service, now, registry);
      const { replyEnvelope, ...outcome } = await this.exchange(rec, service, envelope, route, registry, signal);
      // The polled request shows its answer before the poll shows DELIVERED: whoever waits on the poll
      // and then reads the request finds the answer there.
      if (isPoll(rec) && outcome.replyPayload !== undefined) await this.recordPolledAnswer(rec, outcome.replyPayload);
      // The peer's riscontro is a fact: it is logged over a FAILED another attempt recorded, never twice.
      const delivered = await this.deps.store.transitionIf(
        outboundKey(id),
        [...UNSETTLED, 'FAILED'],
        { status: 'DELIVERED', error: undefined, ...outcome },
        replyEnvelope,
      );
      if (delivered) {
        this.deps.log.info({ id, to: rec.to, attempt: attemptNo, receipt: outcome.receipt !== undefined }, 'message delivered');
      } else {
        // Another attempt delivered it too (a job run twice): every envelope received is kept all the same.
        if (replyEnvelope !== undefined) await this.deps.store.transition(outboundKey(id), {}, replyEnvelope);
        this.deps.log.info({ id, to: rec.to, attempt: attemptNo }, 'message delivered again by a concurrent attempt; its reply kept');
      }
      return { kind: 'done' };
    } catch (err) {
      const e =
        err instanceof TramiteError ? err : new DeliveryError('TRAMITE_ERR_PEER_UNREACHABLE', String(err), { retriable: true, cause: err });
      if (e instanceof DeliveryError && e.retriable) {
        this.deps.log.warn({ id, to: rec.to, attempt: attemptNo, code: e.code, err: e.message }, 'delivery attempt failed; will retry');
        await this.deps.store.transitionIf(outboundKey(id), UNSETTLED, { status: 'SENDING', error: { code: e.code, message: e.message } });
        return { kind: 'retry', error: e };
      }
      await this.fail(rec, e);
      return { kind: 'done' };
    }
  }

  /** The queue gave up: attempts exhausted (or the Scadenza came first). */
  async exhausted(data: WorkItem, attempts: number, lastError: Error): Promise<void> {
    const rec = await this.deps.store.get(outboundKey(data.messageId));
    if (!rec || rec.status === 'DELIVERED' || rec.status === 'FAILED') return;
    const expired = hasExpired(rec, this.deps.clock.now());
    await this.fail(
      rec,
      new DeliveryError(
        expired ? 'TRAMITE_ERR_EXPIRED' : 'TRAMITE_ERR_RETRIES_EXHAUSTED',
        `not delivered after ${attempts} attempts: ${lastError.message}`,
        { retriable: false },
      ),
    );
  }

  /**
   * Reconciliation: every message the log holds as accepted but not yet delivered is scheduled again, a
   * page at a time. Job id = message id, so one already queued is not doubled. `unchangedForMs` leaves
   * out messages changed more recently (the periodic run's, while first attempts are made outside the
   * queue: a message just accepted may not have its safety-net job yet, and a job queued for it now
   * would run beside its first attempt).
   */
  async reconcile({ unchangedForMs = 0 }: { readonly unchangedForMs?: number } = {}): Promise<number> {
    let scheduled = 0;
    const before = this.deps.clock.now().getTime() - unchangedForMs;
    for (const status of ['ACCEPTED', 'SENDING'] as const)
      for await (const page of messagesInPages(this.deps.store, { direction: 'out', status }))
        for (const rec of page) {
          if (unchangedForMs > 0 && Date.parse(rec.updatedAt) > before) continue;
          await this.deps.schedule.schedule(rec);
          scheduled += 1;
        }
    if (scheduled > 0) this.deps.log.debug({ messages: scheduled }, 'undelivered messages scheduled (again)');
    return scheduled;
  }

  /** A richiesta stato brought the result back: the polled request shows it from now on. */
  private async recordPolledAnswer(poll: MessageRecord, body: string): Promise<void> {
    if (isPendingAnswer(body)) return;
    const original = await this.deps.store.get(outboundKey(poll.refId!));
    if (!original || original.answer !== undefined) return;
    await this.deps.store.transition(outboundKey(original.id), {
      answer: { at: this.deps.clock.now().toISOString(), id: poll.id },
      replyPayload: body,
    });
  }

  private async fail(rec: MessageRecord, e: TramiteError): Promise<void> {
    const eccezione = e instanceof DeliveryError ? e.eccezioni[0] : undefined;
    this.deps.log.warn({ id: rec.id, to: rec.to, code: e.code, err: e.message }, 'message not delivered');
    await this.deps.store.transitionIf(outboundKey(rec.id), UNSETTLED, {
      status: 'FAILED',
      error: { code: e.code, message: e.message, ...(eccezione ? { posizione: eccezione.posizione } : {}) },
    });
  }

  /**
   * The envelope to send now: the logged one while its Timestamp is fresh enough for the peer
   * (which refuses a Created older than 5 minutes); otherwise the same message signed again and
   * logged whole, so the log always holds what went on the wire.
   */
  private async envelopeForAttempt(rec: MessageRecord, service: ServiceDef, now: Date, registry: Registry): Promise<string> {
    const logged = await this.deps.store.envelopeOf(outboundKey(rec.id));
    const created = logged ? /<wsu:Created>([^<]+)<\/wsu:Created>/.exec(logged)?.[1] : undefined;
    if (logged && created && now.getTime() - Date.parse(created) < RESEAL_AFTER_MS) return logged;
    if (rec.payload === undefined)
      throw new DeliveryError('TRAMITE_ERR_EXPIRED', 'the payload was dropped by retention: the message cannot be signed again', {
        retriable: false,
      });
    const envelope = await sealMessage(registry, rec, service, now);
    await this.deps.store.resealed(rec.id, envelope, {});
    return envelope;
  }

  /** The exchange with the peer, and what it leaves in the log: the receipt, and the answer when one came. */
  private async exchange(
    rec: MessageRecord,
    service: ServiceDef,
    envelope: string,
    url: string,
    registry: Registry,
    signal?: AbortSignal,
  ): Promise<Delivered> {
    const expectsReply = rec.confermaRicezione || rec.collaboration !== 'oneway';
    const reply = await this.deps.peers.exchange(url, envelope, {
      soapAction: rec.service,
      expectsReply,
      limits: this.deps.limits,
      ...(signal ? { signal } : {}),
    });
    if (!reply) return {};
    const opened = await checkReply(reply.envelope, rec, service, { ...this.deps, registryVersion: registry.version }, reply.status);
    return {
      // The decoded text (its declaration, if any, says UTF-8): the same document, as the log stores text.
      replyEnvelope: reply.envelope.text,
      receipt: { at: this.deps.clock.now().toISOString(), signer: describeCertificate(opened.signature.signer) },
      ...(rec.collaboration === 'sincrono' || isPoll(rec) ? { replyPayload: bodyContent(opened) } : {}),
    };
  }
}

/** A richiesta stato (asincrono asimmetrico): it refers to the request it asks about, and is answered synchronously. */
function isPoll(rec: MessageRecord): boolean {
  return rec.collaboration === 'asincronoAsimmetrico' && rec.refId !== undefined;
}
