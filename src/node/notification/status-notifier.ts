import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import { TramiteError } from '../../core/errors.js';
import type { MessageKey, MessageRecord, MessageStatus, MessageStore, StateChange } from '../../core/message-record.js';
import { ForwardingStore } from '../forwarding-store.js';
import type { RetryPolicy } from '../../queue/retry-policy.js';
import type { AttemptOutcome, WorkItem } from '../../queue/work-queue.js';
import type { BackOfficeHttp } from '../back-office-http/back-office-http.js';
import type { RegistrySource } from '../registry/registry.js';

/** The body of a status webhook: one change of state of one message. */
export interface StatusEvent {
  readonly event: 'message.status';
  readonly id: string;
  readonly direction: 'out' | 'in';
  readonly from: string;
  readonly to: string;
  readonly service: string;
  readonly status: MessageStatus;
  readonly previousStatus: MessageStatus | null;
  readonly at: string;
  readonly attempts: number;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly receipt: { readonly at: string; readonly signer: string } | null;
}

/** A webhook's answer is not read, only drained; more than this and the connection is dropped. */
const WEBHOOK_ANSWER_MAX_BYTES = 64 * 1024;

export interface NotifyItem extends WorkItem {
  /** The hosted party whose back office is told. */
  readonly party: string;
  readonly body: StatusEvent;
}

/**
 * Signs a webhook body: HMAC-SHA256 over `<timestamp>.<body>` with the party's shared secret, so a
 * receiver can check both origin and freshness (and refuse a replayed notification).
 */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Tells back offices about each change of state of their messages: every change the node records
 * becomes a notify job (job key = message, direction and the instant of the change), POSTed
 * HMAC-signed to the party's webhook and retried until it is taken.
 */
export class StatusNotifier {
  constructor(
    private readonly deps: {
      registry: RegistrySource;
      log: Logger;
      retry: RetryPolicy;
      queue: { enqueue(item: NotifyItem): Promise<void> };
      timeoutMs: number;
      http: BackOfficeHttp;
      /** Told of each failed attempt (the metrics count them). */
      failures?: { webhookFailed(party: string): void };
    },
  ) {}

  async changed(rec: MessageRecord, previous: MessageStatus | null): Promise<void> {
    if (previous === rec.status) return;
    const party = rec.direction === 'out' ? rec.from : rec.to;
    if (!this.deps.registry.current().hostedParty(party)?.notify) return;
    const body: StatusEvent = {
      event: 'message.status',
      id: rec.id,
      direction: rec.direction,
      from: rec.from,
      to: rec.to,
      service: rec.service,
      status: rec.status,
      previousStatus: previous,
      at: rec.updatedAt,
      attempts: rec.attempts,
      error: rec.error ? { code: rec.error.code, message: rec.error.message } : null,
      receipt: rec.receipt ?? null,
    };
    try {
      await this.deps.queue.enqueue({
        key: `${rec.direction}|${rec.from}|${rec.id}|${rec.status}|${rec.updatedAt}`,
        messageId: rec.id,
        retry: this.deps.retry,
        party,
        body,
      });
    } catch (err) {
      this.deps.log.error({ id: rec.id, err: (err as Error).message }, 'could not queue a status notification');
    }
  }

  async attempt(item: NotifyItem, attemptNo: number): Promise<AttemptOutcome> {
    const notify = this.deps.registry.current().hostedParty(item.party)?.notify;
    if (!notify) return { kind: 'done' };
    const body = JSON.stringify(item.body);
    const timestamp = String(Math.floor(Date.now() / 1000));
    try {
      const res = await this.deps.http.post({
        url: notify.url,
        source: `webhook at ${notify.url}`,
        body,
        headers: {
          'content-type': 'application/json',
          'x-tramite-event-id': Buffer.from(item.key).toString('base64url'),
          'x-tramite-timestamp': timestamp,
          'x-tramite-signature': signWebhook(notify.secret, timestamp, body),
        },
        timeoutMs: this.deps.timeoutMs,
        maxAnswerBytes: WEBHOOK_ANSWER_MAX_BYTES,
        discardAnswer: true,
      });
      if (res.status >= 200 && res.status < 300) return { kind: 'done' };
      throw new TramiteError('TRAMITE_ERR_WEBHOOK_FAILED', `webhook answered HTTP ${res.status}`);
    } catch (err) {
      this.deps.failures?.webhookFailed(item.party);
      this.deps.log.warn(
        { id: item.messageId, party: item.party, attempt: attemptNo, err: (err as Error).message },
        'status notification failed; will retry',
      );
      return { kind: 'retry', error: err as Error };
    }
  }

  async exhausted(item: NotifyItem, attempts: number, lastError: Error): Promise<void> {
    this.deps.log.error(
      { id: item.messageId, party: item.party, status: item.body.status, attempts, err: lastError.message },
      'status notification given up',
    );
  }
}

/** The message store as the pipelines see it: every recorded change of state also notifies. */
export class NotifyingStore extends ForwardingStore {
  constructor(
    inner: MessageStore,
    private readonly notifier: StatusNotifier,
  ) {
    super(inner);
  }

  override async create(rec: MessageRecord, envelope: string): Promise<void> {
    await this.inner.create(rec, envelope);
    await this.notifier.changed(rec, null);
  }

  protected override async changing<T extends MessageRecord | undefined>(
    key: MessageKey,
    change: StateChange,
    make: () => Promise<T>,
  ): Promise<T> {
    const before = change.status !== undefined ? ((await this.inner.get(key))?.status ?? null) : null;
    const next = await make();
    // A conditional change not made (the message had moved on) changed nothing: nothing to notify.
    if (next && change.status !== undefined) await this.notifier.changed(next, before);
    return next;
  }
}
