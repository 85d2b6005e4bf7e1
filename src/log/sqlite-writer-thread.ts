import { Worker } from 'node:worker_threads';
import { compiledWorkerScript } from '../config/package-root.js';
import { TramiteError } from '../core/errors.js';
import type { ErrorCode } from '../core/error-codes.js';
import type { TokenItem } from './accepted-token.js';
import type { ItemOutcome } from './group-commit.js';
import type { LogRecord } from './log-entry.js';
import type { AppendItem } from './sqlite-log-writer.js';

/** To the writer thread: a group of appends or of acceptToken calls to commit, a window of expired tokens to purge, or the end. */
export type WriterRequest =
  | { readonly kind: 'commit'; readonly id: number; readonly group: readonly AppendItem[] }
  | { readonly kind: 'accept-tokens'; readonly id: number; readonly group: readonly TokenItem[] }
  | { readonly kind: 'purge-tokens'; readonly id: number; readonly nowMs: number; readonly limit: number }
  | { readonly kind: 'close' };
type Refusal = { readonly ok: false; readonly error: { code: string; message: string } };
/** From it: per append, its records (per token, whether it was taken) or why it was refused; the rows purged; or why the whole request failed. */
export type WriterReply =
  | { readonly id: number; readonly outcomes: ReadonlyArray<{ readonly ok: true; readonly records: LogRecord[] } | Refusal> }
  | { readonly id: number; readonly taken: ReadonlyArray<{ readonly ok: true; readonly taken: boolean } | Refusal> }
  | { readonly id: number; readonly purged: number }
  | { readonly id: number; readonly failed: { code: string; message: string } };

/** The worker's entry point: next to this module when compiled; under vitest (sources), the compiled one in dist/. */
function workerScript(): URL {
  const script = compiledWorkerScript(import.meta.url, 'sqlite-writer-worker.js');
  if (!script) throw new TramiteError('TRAMITE_ERR_LOG_UNAVAILABLE', 'the log writer is not built: run npx tsc -p tsconfig.json');
  return script;
}

const asError = (e: { code: string; message: string }) => new TramiteError(e.code as ErrorCode, e.message);
const unexpected = (reply: WriterReply) =>
  new TramiteError('TRAMITE_ERR_INTERNAL', `the log writer thread answered request ${reply.id} with a reply of another kind`);

/**
 * The node's side of the SQLite log's writer thread: commits a group there and waits, the event loop
 * free meanwhile (so the next group gathers while this one is fsynced). A thread that dies fails the
 * group in flight, and the next group starts a new one.
 */
export class SqliteWriterThread {
  /** The running thread and the groups sent to it: a thread that dies fails its own groups, no other's. */
  private current: { readonly worker: Worker; readonly waiting: Map<number, Waiter> } | undefined;
  private nextId = 0;
  private closed = false;

  constructor(private readonly location: string) {}

  async commit(group: readonly AppendItem[]): Promise<Array<ItemOutcome<LogRecord[]>>> {
    const reply = await this.request((id) => ({ kind: 'commit', id, group }));
    if (!('outcomes' in reply)) throw unexpected(reply);
    return reply.outcomes.map((o) => (o.ok ? { ok: true, value: o.records } : { ok: false, error: asError(o.error) }));
  }

  /** Commits a group of acceptToken calls: per call, whether its token was taken. */
  async acceptTokens(group: readonly TokenItem[]): Promise<Array<ItemOutcome<boolean>>> {
    const reply = await this.request((id) => ({ kind: 'accept-tokens', id, group }));
    if (!('taken' in reply)) throw unexpected(reply);
    return reply.taken.map((o) => (o.ok ? { ok: true, value: o.taken } : { ok: false, error: asError(o.error) }));
  }

  /** Deletes at most `limit` tokens expired at `nowMs`, in one transaction; how many went. */
  async purgeTokens(nowMs: number, limit: number): Promise<number> {
    const reply = await this.request((id) => ({ kind: 'purge-tokens', id, nowMs, limit }));
    if (!('purged' in reply)) throw unexpected(reply);
    return reply.purged;
  }

  /** Sends the request made with its id, and waits for the reply to it. */
  private async request(make: (id: number) => WriterRequest): Promise<WriterReply> {
    // After close() nothing is written: a late write is refused, not committed by a thread nobody closes.
    if (this.closed) throw new TramiteError('TRAMITE_ERR_LOG_UNAVAILABLE', 'the message log is closed');
    const { worker, waiting } = this.started();
    const id = ++this.nextId;
    const reply = await new Promise<WriterReply>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.ref(); // a write in flight keeps the process up until it is durable
      worker.postMessage(make(id));
    });
    if ('failed' in reply) throw asError(reply.failed);
    return reply;
  }

  /** Closes the thread's connection once the groups sent are committed; no thread starts after it. */
  async close(): Promise<void> {
    this.closed = true;
    const running = this.current;
    if (!running) return;
    this.current = undefined;
    const exited = new Promise<void>((r) => running.worker.once('exit', () => r()));
    running.worker.ref(); // the close is awaited: the thread keeps the process up until its connection is closed
    running.worker.postMessage({ kind: 'close' } satisfies WriterRequest);
    await exited;
  }

  private started(): { readonly worker: Worker; readonly waiting: Map<number, Waiter> } {
    if (this.current) return this.current;
    const worker = new Worker(workerScript(), { workerData: { location: this.location } });
    const waiting = new Map<number, Waiter>();
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      const w = waiting.get(reply.id);
      waiting.delete(reply.id);
      if (waiting.size === 0) worker.unref();
      w?.resolve(reply);
    });
    const dead = (why: string) => {
      if (this.current?.worker === worker) this.current = undefined;
      for (const w of waiting.values()) w.reject(new TramiteError('TRAMITE_ERR_LOG_UNAVAILABLE', `the message log's writer thread ${why}`));
      waiting.clear();
    };
    worker.on('error', (err) => dead(`failed: ${err.message}`));
    worker.on('exit', (code) => dead(`exited (${code})`));
    this.current = { worker, waiting };
    return this.current;
  }
}

interface Waiter {
  readonly resolve: (r: WriterReply) => void;
  readonly reject: (e: unknown) => void;
}
