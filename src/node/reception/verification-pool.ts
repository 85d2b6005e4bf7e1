import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { TramiteError } from '../../core/errors.js';
import { compiledWorkerScript } from '../../config/package-root.js';
import type { RegistryUpdate, VerifyJob, VerifyOutcome, WorkerSetup } from './verification-protocol.js';

/** Parses and verifies envelopes somewhere other than the caller's event loop. */
export interface EnvelopeVerifier {
  /**
   * Rejects with TRAMITE_ERR_NODE_BUSY at once when `queue` envelopes already wait — unless
   * `mayWait` (a reply to this node's own request: their number is bounded by the delivery queue).
   */
  verify(job: VerifyJob, opts?: { mayWait?: boolean }): Promise<VerifyOutcome>;
}

export interface VerificationPoolOptions {
  /** Worker threads; default the CPU cores minus one, at least 1. */
  readonly workers?: number;
  /** Envelopes that may wait for a free worker before the next is refused as busy. */
  readonly queue: number;
  readonly setup: WorkerSetup;
  readonly log: Logger;
}

interface Pending {
  readonly job: VerifyJob;
  readonly resolve: (outcome: VerifyOutcome) => void;
  readonly reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  current: (Pending & { readonly id: number }) | undefined;
}

/** The worker's entry point: next to this module when compiled; under vitest (sources), the compiled one in dist/. */
function workerScript(): URL {
  const script = compiledWorkerScript(import.meta.url, 'verification-worker.js');
  if (!script)
    throw new TramiteError('TRAMITE_ERR_VERIFIER_UNAVAILABLE', 'the verification worker is not built: run npx tsc -p tsconfig.json');
  return script;
}

/**
 * A small pool of worker threads that parse and verify inbound envelopes (and peers' replies), so
 * that no envelope — however costly to refuse — holds up the event loop that answers /health, the
 * API and every other exchange. Jobs beyond the free workers wait in a bounded queue; past it the
 * node says at once that it is busy instead of queueing without end. A worker that dies is replaced,
 * and the envelope it was verifying is refused.
 */
export class VerificationPool implements EnvelopeVerifier {
  private readonly slots: Slot[] = [];
  private readonly waiting: Pending[] = [];
  private nextId = 0;
  private closing = false;
  private readonly script: URL;
  /** What a worker starts with: the options' setup, then the registry of the last reload. */
  private setup: WorkerSetup;

  private constructor(private readonly opts: VerificationPoolOptions) {
    this.script = workerScript();
    this.setup = opts.setup;
  }

  /**
   * A reloaded registry (version, configuration as configForWorker makes it) for every worker, and for
   * the workers started from now on. A message reaches a worker after every message posted before it, so
   * jobs posted after this call find the version there; workers keep a few older ones for jobs in flight.
   */
  reload(version: number, config: unknown): void {
    this.setup = { ...this.setup, config, registryVersion: version };
    const update: RegistryUpdate = { registry: { version, config } };
    for (const slot of this.slots) slot.worker.postMessage(update);
  }

  static async start(opts: VerificationPoolOptions): Promise<VerificationPool> {
    const pool = new VerificationPool(opts);
    const size = opts.workers ?? Math.max(1, availableParallelism() - 1);
    try {
      await Promise.all(Array.from({ length: size }, () => pool.spawn()));
    } catch (err) {
      await pool.close();
      throw err;
    }
    opts.log.debug({ workers: size, queue: opts.queue }, 'verification workers started');
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  verify(job: VerifyJob, opts: { mayWait?: boolean } = {}): Promise<VerifyOutcome> {
    if (this.closing) return Promise.reject(new TramiteError('TRAMITE_ERR_VERIFIER_UNAVAILABLE', 'the node is stopping'));
    const free = this.slots.find((s) => s.current === undefined);
    if (!free && !opts.mayWait && this.waiting.length >= this.opts.queue) {
      return Promise.reject(
        new TramiteError(
          'TRAMITE_ERR_NODE_BUSY',
          `${this.slots.length} verification workers are busy and ${this.waiting.length} envelopes wait`,
        ),
      );
    }
    return new Promise<VerifyOutcome>((resolve, reject) => {
      const pending = { job, resolve, reject };
      if (free) this.run(free, pending);
      else this.waiting.push(pending);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const stopped = new TramiteError('TRAMITE_ERR_VERIFIER_UNAVAILABLE', 'the node is stopping');
    for (const p of this.waiting.splice(0)) p.reject(stopped);
    await Promise.all(
      this.slots.splice(0).map(async (slot) => {
        slot.current?.reject(stopped);
        await slot.worker.terminate();
      }),
    );
  }

  private run(slot: Slot, pending: Pending): void {
    const id = this.nextId++;
    slot.current = { ...pending, id };
    slot.worker.postMessage({ id, job: pending.job });
  }

  private next(slot: Slot): void {
    slot.current = undefined;
    const pending = this.waiting.shift();
    if (pending) this.run(slot, pending);
  }

  /** Starts one worker and resolves once it has built its registry. */
  private spawn(): Promise<void> {
    return new Promise<void>((ready, failed) => {
      const setup = this.setup;
      const worker = new Worker(this.script, { workerData: setup });
      const slot: Slot = { worker, current: undefined };
      let started = false;
      worker.on('message', (msg: { ready?: true; id?: number; outcome?: VerifyOutcome }) => {
        if (msg.ready) {
          started = true;
          // A reload while it started: it gets that registry before any job.
          if (this.setup !== setup)
            worker.postMessage({
              registry: { version: this.setup.registryVersion ?? 1, config: this.setup.config },
            } satisfies RegistryUpdate);
          this.slots.push(slot);
          ready();
          this.next(slot);
        } else if (slot.current && msg.id === slot.current.id) {
          slot.current.resolve(msg.outcome!);
          this.next(slot);
        }
      });
      worker.on('error', (err) => {
        if (!started)
          failed(
            new TramiteError('TRAMITE_ERR_VERIFIER_UNAVAILABLE', `a verification worker could not start: ${err.message}`, { cause: err }),
          );
        else this.opts.log.error({ code: 'TRAMITE_ERR_VERIFIER_UNAVAILABLE', err: err.message }, 'a verification worker failed');
      });
      worker.on('exit', (exitCode) => {
        if (!started || this.closing) return;
        const index = this.slots.indexOf(slot);
        if (index >= 0) this.slots.splice(index, 1);
        slot.current?.reject(
          new TramiteError(
            'TRAMITE_ERR_VERIFIER_UNAVAILABLE',
            `the verification worker stopped (exit code ${exitCode}) while verifying this envelope`,
          ),
        );
        slot.current = undefined;
        this.spawn().catch((err: Error) =>
          this.opts.log.error(
            { code: 'TRAMITE_ERR_VERIFIER_UNAVAILABLE', err: err.message },
            'a verification worker could not be replaced',
          ),
        );
      });
    });
  }
}
