import type { StaffMember } from '../core/staff-member.js';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { TramiteError } from '../core/errors.js';
import {
  outboundKey,
  type MessageKey,
  type MessageListQuery,
  type MessageRecord,
  type MessageStatus,
  type MessageStore,
  type StateChange,
} from '../core/message-record.js';
import { signCheckpoint, checkpointStatement, type CheckpointSigner } from './checkpoint.js';
import { verifyChain, type ChainVerifyOptions, type ChainVerifyReport } from './chain-verifier.js';
import type { LogEntryInput, LogRecord } from './log-entry.js';
import type { RestExchange } from '../core/rest-exchange.js';
import { restExchangeEntries } from './rest-exchange-entries.js';
import type { Checkpoint, LogStore, MessageRow } from './log-store.js';
import { relatedMessages, relatedQuery, type RelatedMessage } from './related-messages.js';

export interface CheckpointPolicy {
  readonly signer: CheckpointSigner;
  /** Sign the chain head after this many new records… */
  readonly everyRecords: number;
  /** …or after this many seconds, whichever comes first (when there is anything new). */
  readonly everySeconds: number;
  /** Obtains an RFC 3161 token over the checkpoint statement, when a TSA is configured. */
  readonly timestamp?: (statement: Uint8Array) => Promise<Uint8Array>;
}

/** What an operator did that changes no message (MessageLog.recordOperatorAction). */
export interface OperatorAction {
  readonly by: StaffMember;
  /** What was done, in kebab-case: `alarm-acknowledged`, `purge-requested`… */
  readonly action: string;
  /** What it was done to: an alarm's id, a message id, a time range. */
  readonly target: string;
  /** Its facts: plain JSON. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface MessageLogOptions {
  readonly store: LogStore;
  /** The node's PdD code: names the signer of checkpoints. */
  readonly node: string;
  readonly clock: Clock;
  readonly logger?: Logger;
  readonly checkpoints?: CheckpointPolicy;
  /** Drop envelope bytes and payloads older than this many days (digests stay); checked hourly. */
  readonly retentionDays?: number;
  /** Told of every append and every refused one: the node's metrics. */
  readonly observer?: LogAppendObserver;
}

/** What an observer of the log's writes hears (the metrics count them). */
export interface LogAppendObserver {
  appended(records: number): void;
  appendFailed(): void;
}

const RETENTION_INTERVAL_MS = 3_600_000;

/** The TSA's last answer: up (a token came back) or down (with why), and when. */
export interface TsaStatus {
  readonly state: 'up' | 'down';
  readonly at: string;
  readonly reason?: string;
}

/** Facts that go into the hash-chained record; payloads stay out (they are in the envelope bytes). */
function chainDetail(fields: Partial<MessageRecord>): Record<string, unknown> {
  const {
    payload: _p,
    replyPayload: _r,
    id: _i,
    direction: _d,
    from: _f,
    to: _t,
    service: _s,
    action: _a,
    refId: _ref,
    conversationId: _c,
    ...detail
  } = fields;
  return JSON.parse(JSON.stringify(detail)) as Record<string, unknown>;
}

/**
 * The message log: the node's durable outbox and the auditors' tamper-evident record. Every envelope
 * sent or received, every receipt and every change of state is one hash-chained record; a projection
 * keeps each message's current state for queries; signed checkpoints of the chain head (optionally
 * time-stamped by a TSA) make rewriting and truncation detectable.
 */
export class MessageLog implements MessageStore {
  private sinceCheckpoint = 0;
  private checkpointRun: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private tokenPurgeTimer: NodeJS.Timeout | undefined;
  /** The token purge running, if one is: the next hour's waits for it rather than run beside it. */
  private tokenPurge: Promise<number> | undefined;
  private closing = false;
  /** Per message, the settling of its latest change (see oneChangeAtATime). */
  private readonly changing = new Map<string, Promise<void>>();

  /** The TSA's last answer to a checkpoint (only with a TSA configured): what readiness reports. */
  private tsa: TsaStatus | undefined;

  constructor(private readonly opts: MessageLogOptions) {}

  /** How the last time-stamp request went; undefined before the first, or without a TSA. */
  tsaStatus(): TsaStatus | undefined {
    return this.tsa;
  }

  get store(): LogStore {
    return this.opts.store;
  }

  /** Starts the time-based checkpoints, the retention sweep and the purge of expired replay-filter tokens. */
  start(): void {
    const cp = this.opts.checkpoints;
    if (cp && !this.timer) {
      this.timer = setInterval(() => void this.checkpointIfNew(), cp.everySeconds * 1000);
      this.timer.unref();
    }
    if (this.opts.retentionDays !== undefined && !this.retentionTimer) {
      void this.applyRetention();
      this.retentionTimer = setInterval(() => void this.applyRetention(), RETENTION_INTERVAL_MS);
      this.retentionTimer.unref();
    }
    // Tokens expire whatever the retention: their purge runs on its own timer, with or without retentionDays.
    if (!this.tokenPurgeTimer) {
      void this.purgeExpiredTokens();
      this.tokenPurgeTimer = setInterval(() => void this.purgeExpiredTokens(), RETENTION_INTERVAL_MS);
      this.tokenPurgeTimer.unref();
    }
  }

  /** Deletes the replay filter's expired tokens (LogStore.acceptToken); how many went. */
  purgeExpiredTokens(): Promise<number> {
    this.tokenPurge ??= this.opts.store
      .purgeExpiredTokens(this.opts.clock.now())
      .then((n) => {
        if (n > 0) this.opts.logger?.info({ purged: n }, 'expired replay-filter tokens deleted');
        return n;
      })
      .catch((err: unknown) => {
        // A purge cut short by close() is expected; the next start purges the rest.
        if (!this.closing) this.opts.logger?.error({ err: (err as Error).message }, 'purge of expired tokens failed');
        return 0;
      })
      .finally(() => (this.tokenPurge = undefined));
    return this.tokenPurge;
  }

  /** Drops payloads past the retention period; the chain keeps their digests and still verifies. */
  async applyRetention(): Promise<number> {
    if (this.opts.retentionDays === undefined) return 0;
    const before = new Date(this.opts.clock.now().getTime() - this.opts.retentionDays * 86_400_000).toISOString();
    try {
      const n = await this.opts.store.purgePayloads(before);
      if (n > 0) this.opts.logger?.info({ purged: n, before }, 'retention: envelope payloads dropped, digests kept');
      return n;
    } catch (err) {
      this.opts.logger?.error({ err: (err as Error).message }, 'retention sweep failed');
      return 0;
    }
  }

  async create(rec: MessageRecord, envelope: string): Promise<void> {
    const entry: LogEntryInput = {
      ...this.entryBase(rec),
      time: rec.createdAt,
      kind: 'envelope',
      state: rec.status,
      detail: chainDetail(rec),
      envelope: Buffer.from(envelope, 'utf8'),
    };
    await this.append([entry], {
      op: 'insert',
      id: rec.id,
      direction: rec.direction,
      fields: rec as unknown as Record<string, unknown>,
      envelopeFromEntry: 0,
    });
  }

  /**
   * A ModI REST exchange, once its response was returned or its request refused: its request and its
   * response (HTTP/1.1 bytes) as two chained records and its row in the projection, in ONE append — so
   * it is listed and audited like a message, and is never half in the log.
   */
  async recordRestExchange(x: RestExchange): Promise<void> {
    const { entries, fields } = restExchangeEntries(x, this.opts.clock.now().toISOString());
    await this.append(entries, {
      op: 'insert',
      id: x.id,
      direction: x.direction,
      fields,
      envelopeFromEntry: 0,
      ...(entries.length > 1 ? { replyFromEntry: 1 } : {}),
    });
  }

  /**
   * An operator's action that changes no message — an alarm acknowledged, a purge asked for — as one
   * chained record of kind `operator`: who (`by`), when, what (`action`) on what (`target`, which the
   * record's messageId holds, so `tramite log search --id` finds it), with its facts in the detail.
   */
  async recordOperatorAction(a: OperatorAction): Promise<LogRecord> {
    const time = this.opts.clock.now().toISOString();
    const [record] = await this.append(
      [
        {
          time,
          kind: 'operator',
          messageId: a.target,
          direction: 'in',
          from: `${a.by.role}:${a.by.name}`,
          to: this.opts.node,
          service: 'tramite.operator',
          action: a.action,
          state: 'RECORDED',
          detail: { by: { role: a.by.role, name: a.by.name }, ...(a.detail ? (JSON.parse(JSON.stringify(a.detail)) as object) : {}) },
        },
      ],
      { op: 'none' },
    );
    return record!;
  }

  async transition(key: MessageKey, change: StateChange, replyEnvelope?: string): Promise<MessageRecord> {
    return (await this.oneChangeAtATime(key, () => this.applyTransition(key, change, replyEnvelope)))!;
  }

  async transitionIf(
    key: MessageKey,
    from: readonly MessageStatus[],
    change: StateChange,
    replyEnvelope?: string,
  ): Promise<MessageRecord | undefined> {
    return this.oneChangeAtATime(key, () => this.applyTransition(key, change, replyEnvelope, from));
  }

  /**
   * A change reads the message, then appends what it becomes: two concurrent changes of one message
   * (its riscontro's DELIVERED and its asynchronous answer, say) would each write a state read before the
   * other was logged, and the later append would put the message back. In this process they run one
   * after the other, per message; appends of different messages still commit together.
   */
  private oneChangeAtATime<T>(key: MessageKey, change: () => Promise<T>): Promise<T> {
    const k = `${key.direction} ${key.id} ${key.direction === 'in' ? key.from : ''}`;
    const run = (this.changing.get(k) ?? Promise.resolve()).then(change);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.changing.set(k, settled);
    void settled.then(() => {
      if (this.changing.get(k) === settled) this.changing.delete(k);
    });
    return run;
  }

  /** `onlyFrom`: a conditional change (transitionIf) — undefined when it was not made. */
  private async applyTransition(
    key: MessageKey,
    withActor: StateChange,
    replyEnvelope?: string,
    onlyFrom?: readonly MessageStatus[],
  ): Promise<MessageRecord | undefined> {
    const current = await this.get(key);
    if (!current) throw new TramiteError('TRAMITE_ERR_NOT_FOUND', `no ${describeKey(key)} in the log`);
    // Checked here first (cheap), and again by the store under its lock: another process may move it meanwhile.
    if (onlyFrom && !onlyFrom.includes(current.status)) return undefined;
    const { by, ...change } = withActor;
    const time = this.opts.clock.now().toISOString();
    const next: MessageRecord = { ...current, ...change, updatedAt: time };
    const entry: LogEntryInput = {
      ...this.entryBase(current),
      time,
      kind: replyEnvelope !== undefined ? 'receipt' : 'state',
      state: next.status,
      detail: { ...chainDetail(change), ...(by ? { by: { role: by.role, name: by.name } } : {}) },
      ...(replyEnvelope !== undefined ? { envelope: Buffer.from(replyEnvelope, 'utf8') } : {}),
    };
    const [logged] = await this.append([entry], {
      op: 'update',
      id: key.id,
      direction: key.direction,
      from: current.from,
      fields: { ...change, updatedAt: time },
      ...(replyEnvelope !== undefined ? { replyFromEntry: 0 } : {}),
      ...(onlyFrom ? { onlyFrom } : {}),
    });
    if (onlyFrom && !logged) return undefined; // the store found the message moved on, under its lock
    // A change that sets no state logs the state the row had under the append's lock (another process may have moved it).
    return logged ? { ...next, status: logged.state as MessageRecord['status'] } : next;
  }

  async resealed(id: string, envelope: string, change: StateChange): Promise<MessageRecord> {
    return this.oneChangeAtATime(outboundKey(id), () => this.applyReseal(id, envelope, change));
  }

  private async applyReseal(id: string, envelope: string, change: StateChange): Promise<MessageRecord> {
    const current = await this.get(outboundKey(id));
    if (!current) throw new TramiteError('TRAMITE_ERR_NOT_FOUND', `no outbound message ${id} in the log`);
    const time = this.opts.clock.now().toISOString();
    const next: MessageRecord = { ...current, ...change, updatedAt: time };
    const entry: LogEntryInput = {
      ...this.entryBase(current),
      time,
      kind: 'envelope',
      state: next.status,
      detail: { ...chainDetail(change), resealed: true },
      envelope: Buffer.from(envelope, 'utf8'),
    };
    await this.append([entry], {
      op: 'update',
      id,
      direction: 'out',
      from: current.from,
      fields: { ...change, updatedAt: time },
      envelopeFromEntry: 0,
    });
    return next;
  }

  async get(key: MessageKey): Promise<MessageRecord | undefined> {
    const row = await this.opts.store.message(key);
    return row ? toMessageRecord(row) : undefined;
  }

  async envelopeOf(key: MessageKey): Promise<string | undefined> {
    const row = await this.opts.store.message(key);
    return row?.envelopeSeq ? this.envelopeText(row.envelopeSeq) : undefined;
  }

  async replyEnvelopeOf(key: MessageKey): Promise<string | undefined> {
    const row = await this.opts.store.message(key);
    return row?.replySeq ? this.envelopeText(row.replySeq) : undefined;
  }

  async list(q: MessageListQuery): Promise<MessageRecord[]> {
    const rows = await this.opts.store.messages({
      ...(q.direction ? { direction: q.direction } : {}),
      ...(q.id !== undefined ? { messageId: q.id } : {}),
      ...(q.status ? { state: q.status } : {}),
      ...(q.parties ? { parties: [...q.parties] } : {}),
      ...(q.service !== undefined ? { service: q.service } : {}),
      ...(q.counterparts ? { counterparts: [...q.counterparts] } : {}),
      ...(q.createdFrom !== undefined ? { createdFrom: q.createdFrom } : {}),
      ...(q.createdTo !== undefined ? { createdTo: q.createdTo } : {}),
      ...(q.olderThan ? { olderThan: { createdAt: q.olderThan.createdAt, id: q.olderThan.id, from: q.olderThan.from } } : {}),
      ...(q.limit ? { limit: q.limit } : {}),
    });
    return rows.map(toMessageRecord);
  }

  /**
   * The messages related to one (the console's message detail), each with its relation named: the
   * request it answers or asks about, its answers, the richieste stato about it, the rest of its
   * conversation. Only messages between the same two parties count: an id is unique per sender only.
   */
  async related(key: MessageKey): Promise<RelatedMessage[]> {
    const message = await this.get(key);
    if (!message) throw new TramiteError('TRAMITE_ERR_NOT_FOUND', `no ${describeKey(key)} in the log`);
    const rows = await this.opts.store.relatedMessages(relatedQuery(message));
    return relatedMessages(message, rows.map(toMessageRecord));
  }

  /** Signs the current chain head now (if it moved since the last checkpoint). */
  async checkpointNow(): Promise<Checkpoint | undefined> {
    const run = this.checkpointRun.then(() => this.writeCheckpoint());
    this.checkpointRun = run.catch(() => undefined);
    return run;
  }

  /** Verifies the whole log: chain, checkpoints, and (with `checkEnvelope`) every kept envelope. */
  async verify(opts: ChainVerifyOptions = {}): Promise<ChainVerifyReport> {
    const head = await this.opts.store.head();
    return verifyChain(this.opts.store.range(1, head.seq), await this.opts.store.checkpoints(), opts);
  }

  /** Stops the timer and seals the tail with a last checkpoint. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    if (this.tokenPurgeTimer) clearInterval(this.tokenPurgeTimer);
    this.timer = this.retentionTimer = this.tokenPurgeTimer = undefined;
    this.closing = true;
    if (this.opts.checkpoints)
      await this.checkpointNow().catch((err: unknown) =>
        this.opts.logger?.error({ err: (err as Error).message }, 'final checkpoint failed'),
      );
    await this.checkpointRun;
    await this.opts.store.close();
  }

  private entryBase(rec: Pick<MessageRecord, 'id' | 'direction' | 'from' | 'to' | 'service' | 'action' | 'refId' | 'conversationId'>) {
    return {
      messageId: rec.id,
      direction: rec.direction,
      from: rec.from,
      to: rec.to,
      service: rec.service,
      ...(rec.action !== undefined ? { action: rec.action } : {}),
      ...(rec.refId !== undefined ? { refId: rec.refId } : {}),
      ...(rec.conversationId !== undefined ? { conversationId: rec.conversationId } : {}),
    };
  }

  private async append(entries: LogEntryInput[], projection: Parameters<LogStore['append']>[1]): Promise<LogRecord[]> {
    let records: LogRecord[];
    try {
      records = await this.opts.store.append(entries, projection);
    } catch (cause) {
      this.opts.observer?.appendFailed();
      if (cause instanceof TramiteError) throw cause;
      throw new TramiteError(
        'TRAMITE_ERR_LOG_UNAVAILABLE',
        `the message log (${this.opts.store.location}) refused the write: ${(cause as Error).message}`,
        { cause },
      );
    }
    // records, not entries: a conditional change the store found moved past appended none.
    this.opts.observer?.appended(records.length);
    const cp = this.opts.checkpoints;
    if (!cp) return records;
    this.sinceCheckpoint += records.length;
    if (this.sinceCheckpoint >= cp.everyRecords)
      void this.checkpointNow().catch((err: unknown) => this.opts.logger?.error({ err: (err as Error).message }, 'checkpoint failed'));
    return records;
  }

  private async checkpointIfNew(): Promise<void> {
    await this.checkpointNow().catch((err: unknown) => this.opts.logger?.error({ err: (err as Error).message }, 'checkpoint failed'));
  }

  private async writeCheckpoint(): Promise<Checkpoint | undefined> {
    const policy = this.opts.checkpoints;
    if (!policy) return undefined;
    this.sinceCheckpoint = 0;
    // Several processes sharing a log: only the current writer signs (the others' records are in its next head).
    if (!(await this.opts.store.checkpointWriter())) return undefined;
    const head = await this.opts.store.head();
    const [last] = (await this.opts.store.checkpoints(head.seq, head.seq)).slice(-1);
    if (head.seq === 0 || last) return last;
    const signed = await signCheckpoint(head, this.opts.node, this.opts.clock.now(), policy.signer);
    let tsaToken: Uint8Array | undefined;
    if (policy.timestamp) {
      try {
        tsaToken = await policy.timestamp(checkpointStatement(signed));
        this.tsa = { state: 'up', at: this.opts.clock.now().toISOString() };
      } catch (err) {
        this.tsa = { state: 'down', at: this.opts.clock.now().toISOString(), reason: (err as Error).message };
        // The signed checkpoint still protects the chain; the missing time-stamp is reported.
        this.opts.logger?.warn(
          { code: 'TRAMITE_ERR_TSA', err: (err as Error).message, seq: head.seq },
          'checkpoint kept without a TSA time-stamp',
        );
      }
    }
    const cp: Checkpoint = { ...signed, ...(tsaToken ? { tsaToken } : {}) };
    await this.opts.store.addCheckpoint(cp);
    this.opts.logger?.info({ seq: cp.seq, headHash: cp.headHash, tsa: tsaToken !== undefined }, 'log checkpoint signed');
    return cp;
  }

  private async envelopeText(seq: number): Promise<string | undefined> {
    const r = await this.opts.store.record(seq);
    return r?.envelope ? Buffer.from(r.envelope).toString('utf8') : undefined;
  }
}

function describeKey(key: MessageKey): string {
  return key.direction === 'out' ? `outbound message ${key.id}` : `inbound message ${key.id} from ${key.from}`;
}

function toMessageRecord(row: MessageRow): MessageRecord {
  return { ...(row.fields as unknown as MessageRecord), status: row.state as MessageRecord['status'], updatedAt: row.updatedAt };
}
