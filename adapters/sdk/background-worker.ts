/**
 * The loop behind an adapter's background work (reading a mailbox, scanning a folder, telling a back
 * office outcomes): passes that never overlap, run at start, on `wake()`, after `intervalMs`, at once
 * again while a pass says a backlog is left, or after the delay a pass asks for; a pass that throws is
 * logged and the loop goes on. `stop()` lets the pass in flight finish for a grace period, then aborts
 * its signal and waits for it; `drain()` waits until nothing is running or due at once.
 */
import type { AdapterLogger } from './adapter.js';

/** What a pass says about the next one. */
export type PassOutcome =
  /** Work is left (a backlog): run again at once. */
  | 'more'
  /** Nothing left: the next pass comes after `intervalMs`, or on `wake()`. */
  | 'idle'
  /** Try again after this delay (an external system was down), unless woken earlier. */
  | { readonly retryInMs: number };

export interface WorkerPass {
  /** Aborted when stop's grace period is over: cut slow I/O. */
  readonly signal: AbortSignal;
  /** True once stop() was called: finish the item in hand, start no new one. */
  stopping(): boolean;
}

export interface BackgroundWorkerOptions {
  /** Names the loop in log lines. */
  readonly name: string;
  readonly log: AdapterLogger;
  readonly pass: (pass: WorkerPass) => Promise<PassOutcome | void>;
  /** Time between passes when nothing wakes the worker; without it, passes run only when woken or asked. */
  readonly intervalMs?: number;
}

export class BackgroundWorker {
  private started = false;
  private stopRequested = false;
  private timer: NodeJS.Timeout | undefined;
  private dueAt: number | undefined;
  private inFlight: Promise<void> | undefined;
  private again = false;
  private abort = new AbortController();
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly opts: BackgroundWorkerOptions) {}

  get running(): boolean {
    return this.started && !this.stopRequested;
  }

  /** Starts the loop with a pass at once; harmless when already started. */
  start(): void {
    if (this.running) return;
    this.started = true;
    this.stopRequested = false;
    this.abort = new AbortController();
    this.wake();
  }

  /** Something changed: run a pass soon (one more after the pass in flight, if there is one). */
  wake(): void {
    this.runIn(0);
  }

  /** Runs a pass within `ms` at the latest (an earlier one stays). */
  runIn(ms: number): void {
    if (!this.running) return;
    if (this.inFlight) {
      if (ms <= 0) this.again = true;
      else this.schedule(ms);
      return;
    }
    this.schedule(ms);
  }

  /** Resolves when no pass is running and none is due at once (timers for later passes may remain). */
  drain(): Promise<void> {
    if (!this.inFlight && !this.again && !(this.dueAt !== undefined && this.dueAt <= Date.now())) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops the loop: no new pass; the one in flight gets `graceMs` (Infinity: as long as it takes), then
   * its signal is aborted and it is waited for. Resolves true when it finished within the grace.
   * Harmless twice or before start.
   */
  async stop(graceMs = 1000): Promise<boolean> {
    if (!this.started) return true;
    this.stopRequested = true;
    this.again = false;
    this.clearTimer();
    const flight = this.inFlight;
    let finished = true;
    if (flight && graceMs === Number.POSITIVE_INFINITY) await flight;
    else if (flight) {
      let grace: NodeJS.Timeout | undefined;
      finished = await Promise.race([
        flight.then(() => true),
        new Promise<boolean>((resolve) => (grace = setTimeout(() => resolve(false), graceMs))),
      ]);
      clearTimeout(grace);
      if (!finished) {
        this.abort.abort();
        await flight;
      }
    }
    this.started = false;
    this.releaseIdle();
    return finished;
  }

  private schedule(ms: number): void {
    const at = Date.now() + Math.max(0, ms);
    if (this.dueAt !== undefined && this.dueAt <= at) return;
    this.clearTimer();
    this.dueAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = this.dueAt = undefined;
        this.runPass();
      },
      Math.max(0, ms),
    );
    // Background work never keeps the process alive on its own: stop() is what ends it.
    this.timer.unref();
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = this.dueAt = undefined;
  }

  private runPass(): void {
    if (!this.running) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.again = false;
    const pass: WorkerPass = { signal: this.abort.signal, stopping: () => this.stopRequested };
    this.inFlight = this.opts
      .pass(pass)
      .catch((err: unknown): PassOutcome => {
        this.opts.log.error({ err: err instanceof Error ? err.message : String(err) }, `${this.opts.name}: pass failed`);
        return 'idle';
      })
      .then((outcome) => {
        this.inFlight = undefined;
        if (!this.running) return;
        if (outcome === 'more' || this.again) this.schedule(0);
        else if (typeof outcome === 'object') this.schedule(outcome.retryInMs);
        else if (this.opts.intervalMs !== undefined) this.schedule(this.opts.intervalMs);
      })
      .finally(() => {
        if (!this.inFlight && !(this.dueAt !== undefined && this.dueAt <= Date.now())) this.releaseIdle();
      });
  }

  private releaseIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
