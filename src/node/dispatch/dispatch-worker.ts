import { messagesInPages } from '../../core/message-pages.js';
import { AdapterError, type AdapterInstance } from '../../../adapters/sdk/adapter.js';
import { bodyContent, readEnvelope } from '../../../envelopes/envelope.js';
import { TramiteError } from '../../core/errors.js';
import { hasExpired, inboundKey, keyOf, type MessageRecord, type MessageStatus } from '../../core/message-record.js';
import type { RetryPolicy } from '../../queue/retry-policy.js';
import type { AttemptOutcome } from '../../queue/work-queue.js';
import type { BackOfficeHttp } from '../back-office-http/back-office-http.js';
import type { PipelineDeps } from '../pipeline-deps.js';
import type { Registry } from '../registry/registry.js';
import { isTemporaryOutage } from '../temporary-outage.js';
import { isStoreUnavailable } from '../../../adapters/sdk/store/adapter-store.js';
import { deliverToBackOffice, type BackOfficeDelivery } from './back-office-client.js';
import { inboundKeyText, type DispatchItem } from './dispatch-item.js';
import type { HandOverClaims } from './hand-over-claims.js';

/**
 * How long a hand-over the back office took waits for the log to record it (its database restarting)
 * before the hand-over counts as not made: made again, it gives the back office a second copy. Well
 * within the claim's time (HAND_OVER_CLAIM_TTL_MS), with the hand-over's own bound.
 */
const RECORD_HAND_OVER_WITHIN_MS = 15_000;

/** When a hand-over another attempt holds is looked at again (jittered): that attempt has recorded its outcome by then, mostly. */
const CLAIMED_ELSEWHERE_RETRY_MS = 2000;

/** When a hand-over whose claim could not be asked for (the database away) is tried again. */
const CLAIMS_AWAY_RETRY_MS = 5000;

/**
 * An inbound message a failure may still mark: not yet handed over. Conditional, because a sincrono
 * request's inline answer (reception) records DISPATCHED without a claim, and nothing may overwrite it.
 */
const NOT_HANDED_OVER: readonly MessageStatus[] = ['RECEIVED'];

export interface DispatchDeps extends PipelineDeps {
  /** Where hand-overs to back offices are scheduled (the BullMQ dispatch queue). */
  readonly dispatches: { enqueue(item: DispatchItem): Promise<void> };
  /** The first hand-over made at once, the dispatch queue as its safety net (FirstAttempt). */
  readonly immediate?: { start(item: DispatchItem): Promise<void> };
  /** Retry policy of back-office hand-overs. */
  readonly retry: RetryPolicy;
  readonly backOfficeTimeoutMs: number;
  /** The adapters that take a party's messages on the services they serve (before its backOffice URL). */
  readonly adapters: { serving(party: string, service: string): { readonly instance: Pick<AdapterInstance, 'egress'> } | undefined };
  /** The node's client for its parties' own servers. */
  readonly backOffice: BackOfficeHttp;
  /** One hand-over at a time per message, across the processes sharing the log. */
  readonly claims: HandOverClaims;
}

/**
 * The last leg of an inbound message: to the adapter serving its service, else to the party's
 * backOffice URL — queued after the riscontro (oneway, asynchronous), or inline for a sincrono request
 * (whose answer is the reply). With neither, the back office polls the API.
 */
export class DispatchWorker {
  constructor(private readonly deps: DispatchDeps) {}

  /** A message just received and answered (riscontro logged): its first hand-over now, the queue holding retries and recovery. */
  async dispatchNow({ id, from }: { readonly id: string; readonly from: string }): Promise<void> {
    if (!this.deps.immediate) return this.schedule({ id, from });
    await this.deps.immediate.start(this.itemOf({ id, from }));
  }

  /** Oneway and asynchronous requests reach the back office through the dispatch queue, after the riscontro. */
  async schedule({ id, from }: { readonly id: string; readonly from: string }): Promise<void> {
    try {
      await this.deps.dispatches.enqueue(this.itemOf({ id, from }));
    } catch (err) {
      // Kept in the log as RECEIVED: the next start-up reconciliation schedules it.
      this.deps.log.error({ id, err: (err as Error).message }, 'could not queue the dispatch; the message stays RECEIVED in the log');
    }
  }

  /**
   * One hand-over to the back office (its adapter or its URL), as the dispatch queue runs it: under the
   * message's claim, so that no other attempt — another job of the same message, in any process — hands
   * it over meanwhile; the message is read once the claim is held, so it shows what an earlier holder recorded.
   */
  async attempt(item: DispatchItem, attemptNo: number): Promise<AttemptOutcome> {
    // A job queued before dispatches named the sender: start-up reconciliation queues it again, with it.
    if (typeof item.from !== 'string') return { kind: 'done' };
    let claim;
    try {
      claim = await this.deps.claims.take(item.key);
    } catch (err) {
      // The node's own database away: no attempt was made, so none is spent.
      if (isStoreUnavailable(err) || isTemporaryOutage(err)) {
        this.deps.log.warn(
          { id: item.messageId, from: item.from, err: (err as Error).message },
          'could not claim the hand-over now; later',
        );
        return { kind: 'later', delayMs: CLAIMS_AWAY_RETRY_MS };
      }
      this.deps.log.warn(
        { id: item.messageId, from: item.from, attempt: attemptNo, err: (err as Error).message },
        'could not claim the hand-over; will retry',
      );
      return { kind: 'retry', error: err as Error };
    }
    if (!claim) {
      this.deps.log.debug({ id: item.messageId, from: item.from }, 'another attempt is handing the message over; looked at again later');
      return { kind: 'later', delayMs: Math.round(CLAIMED_ELSEWHERE_RETRY_MS * (0.5 + Math.random())) };
    }
    try {
      return await this.attemptClaimed(item, attemptNo);
    } finally {
      await claim
        .release()
        .catch((err: unknown) =>
          this.deps.log.warn({ id: item.messageId, err: (err as Error).message }, 'could not release the hand-over claim; it lapses'),
        );
    }
  }

  private async attemptClaimed(item: DispatchItem, attemptNo: number): Promise<AttemptOutcome> {
    const rec = await this.deps.store.get(inboundKey(item.messageId, item.from));
    if (!rec || rec.status !== 'RECEIVED') return { kind: 'done' };
    if (hasExpired(rec, this.deps.clock.now())) {
      // Its sender set a Scadenza and it has passed: acting on the message now is what the sender ruled out
      // (a sincrono query left RECEIVED by a crash and handed over at the next start would count at SIATEL
      // on that day). It stays in the log, FAILED, saying why.
      const message = `the message expired at ${rec.expiresAt} before its back office took it`;
      this.deps.log.warn({ id: rec.id, from: rec.from, attempt: attemptNo }, message);
      await this.deps.store.transitionIf(keyOf(rec), NOT_HANDED_OVER, {
        status: 'FAILED',
        error: { code: 'TRAMITE_ERR_EXPIRED', message },
      });
      return { kind: 'done' };
    }
    // Each hand-over runs under the registry current when it starts: a back office whose URL changed gets its retries there.
    const registry = this.deps.registry.current();
    if (!this.hasReceiver(rec.to, rec.service, registry)) return { kind: 'done' }; // its back office polls the API
    try {
      const payload = rec.payload ?? (await this.payloadFromEnvelope(rec));
      await this.handOver(
        {
          id: rec.id,
          from: rec.from,
          to: rec.to,
          service: rec.service,
          profile: rec.collaboration,
          payload,
          ...(rec.action !== undefined ? { action: rec.action } : {}),
          ...(rec.refId !== undefined ? { refId: rec.refId } : {}),
          ...(rec.conversationId !== undefined ? { conversationId: rec.conversationId } : {}),
        },
        registry,
      );
    } catch (err) {
      const code = err instanceof TramiteError ? err.code : 'EGOV_IT_300';
      if (err instanceof AdapterError && !err.retriable) {
        this.deps.log.warn({ id: rec.id, code, err: err.message }, 'the adapter refused the message for good');
        await this.deps.store.transitionIf(keyOf(rec), NOT_HANDED_OVER, { status: 'FAILED', error: { code, message: err.message } });
        return { kind: 'done' };
      }
      this.deps.log.warn({ id: rec.id, attempt: attemptNo, code, err: (err as Error).message }, 'back office dispatch failed; will retry');
      await this.deps.store.transitionIf(keyOf(rec), NOT_HANDED_OVER, { error: { code, message: (err as Error).message } });
      return { kind: 'retry', error: err as Error };
    }
    return this.recordHandedOver(rec, attemptNo);
  }

  /**
   * The back office took the message: DISPATCHED — through a short outage of the log too, retried for
   * up to RECORD_HAND_OVER_WITHIN_MS, since an attempt that failed here would be made again. Still not
   * recorded then: the message is handed over again, with the same Idempotency-Key.
   */
  private async recordHandedOver(rec: MessageRecord, attemptNo: number): Promise<AttemptOutcome> {
    const giveUpAt = Date.now() + RECORD_HAND_OVER_WITHIN_MS;
    for (let waitMs = 250; ; waitMs = Math.min(2 * waitMs, 2000)) {
      try {
        await this.deps.store.transition(keyOf(rec), { status: 'DISPATCHED', error: undefined });
        this.deps.log.info({ id: rec.id, from: rec.from, to: rec.to, attempt: attemptNo }, 'message handed over to the back office');
        return { kind: 'done' };
      } catch (err) {
        if (!isTemporaryOutage(err) || Date.now() + waitMs > giveUpAt) {
          this.deps.log.error(
            { id: rec.id, from: rec.from, attempt: attemptNo, err: (err as Error).message },
            'the back office took the message but the log could not record it: it will be handed over again, with the same Idempotency-Key',
          );
          return { kind: 'retry', error: err as Error };
        }
        await new Promise((r) => setTimeout(r, waitMs));
      }
    }
  }

  /**
   * The back office never took the message within the attempts: FAILED, kept in the log — under the
   * message's claim, so that a hand-over another job is making now is not marked failed meanwhile (that
   * job records its own outcome; the message is left to it).
   */
  async exhausted(item: DispatchItem, attempts: number, lastError: Error): Promise<void> {
    if (typeof item.from !== 'string') return;
    const claim = await this.deps.claims.take(item.key);
    if (!claim) return;
    try {
      const rec = await this.deps.store.get(inboundKey(item.messageId, item.from));
      if (!rec || rec.status !== 'RECEIVED') return;
      await this.deps.store.transitionIf(keyOf(rec), NOT_HANDED_OVER, {
        status: 'FAILED',
        error: {
          code: 'TRAMITE_ERR_RETRIES_EXHAUSTED',
          message: `the back office did not take it after ${attempts} attempts: ${lastError.message}`,
        },
      });
    } finally {
      await claim.release().catch(() => undefined); // it lapses
    }
  }

  /**
   * Reconciliation: every received-but-undispatched message is dispatched again; `unchangedForMs` leaves
   * out those changed more recently (as DeliveryWorker.reconcile: one just received may not have its
   * safety-net job yet, and a job queued now would hand it over beside its first hand-over).
   */
  async reconcile({ unchangedForMs = 0 }: { readonly unchangedForMs?: number } = {}): Promise<number> {
    // Richieste stato are answered by the node itself, never handed to a back office.
    let scheduled = 0;
    const before = this.deps.clock.now().getTime() - unchangedForMs;
    for await (const page of messagesInPages(this.deps.store, { direction: 'in', status: 'RECEIVED' }))
      for (const r of page) {
        if (unchangedForMs > 0 && Date.parse(r.updatedAt) > before) continue;
        if (!this.hasReceiver(r.to, r.service) || (r.collaboration === 'asincronoAsimmetrico' && r.refId !== undefined)) continue;
        await this.schedule(r);
        scheduled += 1;
      }
    if (scheduled > 0) this.deps.log.debug({ messages: scheduled }, 'undispatched messages scheduled (again)');
    return scheduled;
  }

  private itemOf({ id, from }: { readonly id: string; readonly from: string }): DispatchItem {
    return { key: inboundKeyText({ id, from }), messageId: id, from, retry: this.deps.retry };
  }

  /** Whether anything takes `party`'s messages on `service` (an adapter, or a backOffice URL); else they wait for the API. */
  hasReceiver(party: string, service: string, registry: Registry = this.deps.registry.current()): boolean {
    return this.deps.adapters.serving(party, service) !== undefined || registry.hostedParty(party)?.backOffice !== undefined;
  }

  /** Hands a message over: to the adapter serving its service, else to the party's backOffice URL. Returns a sincrono reply. */
  async handOver(msg: BackOfficeDelivery, registry: Registry = this.deps.registry.current()): Promise<string | undefined> {
    const adapter = this.deps.adapters.serving(msg.to, msg.service);
    if (adapter) {
      const outcome = await adapter.instance.egress(
        { ...msg, profile: msg.profile as MessageRecord['collaboration'] },
        AbortSignal.timeout(this.deps.backOfficeTimeoutMs),
      );
      return outcome.kind === 'reply' ? outcome.payload : undefined;
    }
    const url = registry.hostedParty(msg.to)?.backOffice?.url;
    if (!url) throw new TramiteError('TRAMITE_ERR_NO_ROUTE', `party ${msg.to} has no adapter for ${msg.service} and no back office`);
    return deliverToBackOffice(url, msg, this.deps.backOfficeTimeoutMs, this.deps.limits.maxBytes, this.deps.backOffice);
  }

  /** Retention dropped the projected payload: the Body of the logged envelope still has it. */
  private async payloadFromEnvelope(rec: MessageRecord): Promise<string> {
    const xml = await this.deps.store.envelopeOf(keyOf(rec));
    if (!xml)
      throw new TramiteError('TRAMITE_ERR_NOT_FOUND', `message ${rec.id} from ${rec.from}: payload and envelope are gone (retention)`);
    return bodyContent(readEnvelope(xml, this.deps.limits));
  }
}
