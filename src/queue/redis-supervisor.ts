import type { Logger } from 'pino';
import { Deadline, settlesWithin } from '../core/deadline.js';
import { EmbeddedRedis } from '../daemons/redis-launcher.js';
import type { RedisMonitor } from './redis-monitor.js';

/** First wait before starting a dead redis-server again, ms; doubled after each failed start. */
const FIRST_RESTART_DELAY_MS = 1000;
/** Longest wait between two starts of a redis-server that keeps failing, ms. */
const MAX_RESTART_DELAY_MS = 30_000;
/** A node process that does not own the server gives its owner this long to restart it first, ms. */
const NOT_OWNER_EXTRA_DELAY_MS = 3000;

/**
 * Keeps the node's private redis-server running: when it dies, it is started again on the same
 * socket and folder, so it replays its append-only file. The wait before a start grows while starts
 * fail (a crash loop must not spin), and the monitor counts Redis down from the moment the server
 * exits until it answers again — the node reconciles the log with the queues then (see TramiteNode).
 */
export class RedisSupervisor {
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private restarting: Promise<void> | undefined;
  private restarts = 0;

  constructor(
    private server: EmbeddedRedis,
    private readonly dataDir: string,
    private readonly monitor: RedisMonitor,
    private readonly log: Pick<Logger, 'info' | 'warn' | 'error'>,
  ) {
    this.watch();
  }

  /** Starts of a dead server so far. */
  get restartCount(): number {
    return this.restarts;
  }

  private watch(): void {
    const server = this.server;
    void server.exited().then((how) => {
      if (this.stopping || server !== this.server) return;
      this.monitor.markDown(`the node's redis-server exited (${how}); restarting it`);
      this.log.error(
        { code: 'TRAMITE_ERR_QUEUE_UNAVAILABLE', how },
        "the node's redis-server exited; restarting it with its append-only file",
      );
      this.schedule(FIRST_RESTART_DELAY_MS + (server.owned ? 0 : NOT_OWNER_EXTRA_DELAY_MS));
    });
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.restarting = this.restart(delayMs);
    }, delayMs);
  }

  private async restart(lastDelayMs: number): Promise<void> {
    if (this.stopping) return;
    try {
      // Adopts the server instead if another process of this node restarted it meanwhile.
      const server = await EmbeddedRedis.start(this.dataDir);
      if (this.stopping) {
        await server.stop(Deadline.in(1000));
        return;
      }
      this.server = server;
      this.restarts++;
      this.watch();
      this.log.info({ pid: server.pid, restarts: this.restarts }, "the node's redis-server is running again");
      await this.monitor.probe();
    } catch (err) {
      const next = Math.min(lastDelayMs * 2, MAX_RESTART_DELAY_MS);
      this.monitor.markDown(`the node's redis-server cannot be started again: ${(err as Error).message}`);
      this.log.error(
        { code: 'TRAMITE_ERR_QUEUE_UNAVAILABLE', err: (err as Error).message, retryInMs: next },
        "the node's redis-server cannot be started again; trying later",
      );
      this.schedule(next);
    }
  }

  /** Stops supervising, then stops the server within `deadline`. */
  async stop(deadline: Deadline): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    // A start under way finishes first (and stops what it started), so no server outlives the node.
    if (this.restarting) await settlesWithin(this.restarting, deadline.capped(6000));
    await this.server.stop(deadline);
  }
}
