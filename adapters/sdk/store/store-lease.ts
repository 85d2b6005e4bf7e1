import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isUniqueViolation, type AdapterStore, type StoreQueries } from './adapter-store.js';

/** What a lease needs of time: the clocks of the processes sharing a store agree within a second or two (NTP). */
export interface LeaseClock {
  now(): Date;
}

const TABLE = `CREATE TABLE IF NOT EXISTS store_leases (
  name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at_ms BIGINT NOT NULL)`;

/** Taken when free, expired, or already ours (a renewal); never from a live holder. */
const TAKE = `INSERT INTO store_leases (name, holder, expires_at_ms) VALUES (?, ?, ?)
  ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms
  WHERE store_leases.holder = excluded.holder OR store_leases.expires_at_ms < ?
  RETURNING holder`;

/**
 * A named lease in an adapter store: one holder at a time across every process sharing the store, for
 * work only one may do (reading a mailbox, running a bulk job). The holder renews it well before it
 * runs out; a holder that dies leaves it to expire, and another takes it over then.
 *
 * A lease is not a fence: a holder paused past its expiry (a long GC, a frozen VM) may still act once
 * before its next renewal says it lost. Work whose doubling would matter checks `heldIn(tx)` inside the
 * transaction that commits it.
 */
export class StoreLease {
  /** Who holds it when this process does: host, pid and a random part (a restarted pid is a new holder). */
  readonly holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private tableReady: Promise<unknown> | undefined;

  constructor(
    private readonly store: AdapterStore,
    readonly name: string,
    private readonly ttlMs: number,
    private readonly clock: LeaseClock = { now: () => new Date() },
  ) {}

  /** Takes (or renews) the lease: true when this process holds it for the next `ttlMs`. */
  async acquire(): Promise<boolean> {
    // Two processes creating it at once: PostgreSQL may refuse the second's catalogue row; the table is there either way.
    await (this.tableReady ??= this.store.run(TABLE).catch((err: unknown) => {
      if (!isUniqueViolation(err)) {
        this.tableReady = undefined;
        throw err;
      }
    }));
    const now = this.clock.now().getTime();
    const row = await this.store.get(TAKE, [this.name, this.holder, now + this.ttlMs, now]);
    return row !== undefined;
  }

  /** Whether this process holds the lease now, read inside the caller's transaction. */
  async heldIn(tx: StoreQueries): Promise<boolean> {
    const row = await tx.get('SELECT 1 AS held FROM store_leases WHERE name = ? AND holder = ? AND expires_at_ms > ?', [
      this.name,
      this.holder,
      this.clock.now().getTime(),
    ]);
    return row !== undefined;
  }

  /** Gives the lease up at once (a clean stop), so the next holder need not wait for it to expire. */
  async release(): Promise<void> {
    if (!this.tableReady) return;
    await this.store.run('DELETE FROM store_leases WHERE name = ? AND holder = ?', [this.name, this.holder]);
  }
}
