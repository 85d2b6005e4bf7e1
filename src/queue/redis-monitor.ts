import { Redis, type RedisOptions } from 'ioredis';
import { TramiteError } from '../core/errors.js';

/** Whether the queues' Redis answers, as health shows it. */
export interface RedisStatus {
  readonly state: 'up' | 'down';
  /** ISO instant of the last change of state. */
  readonly since: string;
  /** Why it is down, while it is. */
  readonly reason?: string;
  /** Outages since the node started. */
  readonly outages: number;
}

export interface RedisMonitorOptions {
  /** How often Redis is PINGed, ms. */
  readonly intervalMs?: number;
  /** How long a PING may take before it counts as failed, ms. */
  readonly timeoutMs?: number;
}

/** PINGs that must fail in a row before Redis counts as down (a closed connection counts at once). */
const FAILED_PINGS_FOR_DOWN = 2;

/**
 * Watches the queues' Redis, embedded or external, with a connection of its own: a PING every second
 * (a hung server counts as down, not only a closed socket; two failures in a row, so one PING slowed
 * by a busy machine does not), and the connection's own close event for promptness. It never queues
 * a command while Redis is away, so asking it never waits.
 */
export class RedisMonitor {
  private readonly client: Redis;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private current: RedisStatus = { state: 'down', since: new Date().toISOString(), reason: 'not reached yet', outages: 0 };
  /** Bumped by every markDown, so a PING sent before it cannot bring the state back up. */
  private epoch = 0;
  private failedPings = 0;
  private probing = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly recoveredListeners: Array<() => void> = [];
  private readonly downListeners: Array<(reason: string) => void> = [];

  constructor(connection: RedisOptions, opts: RedisMonitorOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.client = new Redis({
      ...connection,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: this.timeoutMs,
      retryStrategy: () => this.intervalMs,
      connectionName: 'tramite:health',
    });
    this.client.on('error', () => undefined); // reported through the state
    this.client.on('close', () => this.markDown('connection to Redis closed'));
    this.client.on('ready', () => void this.probe());
  }

  /** Connects and takes a first reading, so the state is known when this returns. */
  async start(): Promise<void> {
    await this.client.connect().catch(() => undefined);
    await this.probe();
    this.timer = setInterval(() => {
      if (this.probing) return; // a slow PING is still out: one at a time
      this.probing = true;
      void this.probe().finally(() => (this.probing = false));
    }, this.intervalMs);
    this.timer.unref();
  }

  status(): RedisStatus {
    return this.current;
  }

  isUp(): boolean {
    return this.current.state === 'up';
  }

  /** Called each time Redis answers again after an outage (it may have lost jobs meanwhile). */
  onRecovered(listener: () => void): void {
    this.recoveredListeners.push(listener);
  }

  onDown(listener: (reason: string) => void): void {
    this.downListeners.push(listener);
  }

  /** Someone saw Redis go (the supervisor saw the server exit): down now, until a PING answers. */
  markDown(reason: string): void {
    if (this.stopped) return;
    this.epoch++;
    if (this.current.state === 'down') {
      this.current = { ...this.current, reason };
      return;
    }
    this.current = { state: 'down', since: new Date().toISOString(), reason, outages: this.current.outages + 1 };
    for (const l of this.downListeners) l(reason);
  }

  /** PINGs now; true when Redis answered. */
  async probe(): Promise<boolean> {
    const epoch = this.epoch;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.ping(),
        new Promise(
          (_, reject) =>
            (timer = setTimeout(
              () => reject(new TramiteError('TRAMITE_ERR_QUEUE_UNAVAILABLE', `no answer to PING within ${this.timeoutMs} ms`)),
              this.timeoutMs,
            )),
        ),
      ]);
    } catch (err) {
      this.failedPings++;
      if (this.failedPings >= FAILED_PINGS_FOR_DOWN || this.client.status !== 'ready') this.markDown((err as Error).message);
      return false;
    } finally {
      clearTimeout(timer);
    }
    this.failedPings = 0;
    if (epoch !== this.epoch) return false;
    if (this.current.state === 'down') {
      this.current = { state: 'up', since: new Date().toISOString(), outages: this.current.outages };
      for (const l of this.recoveredListeners) l();
    }
    return true;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.client.disconnect();
  }
}
