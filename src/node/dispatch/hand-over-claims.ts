import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AdapterStore, AdapterStoreOpener } from '../../../adapters/sdk/store/adapter-store.js';

/**
 * How long a claim holds a message's hand-over: beyond the hand-over's own bound (backOfficeTimeoutMs,
 * 10 s) and the time its outcome may take to be recorded (RECORD_HAND_OVER_WITHIN_MS, 15 s). A process
 * that dies holding one leaves it to lapse: the message is handed over again this long after, at most.
 */
export const HAND_OVER_CLAIM_TTL_MS = 30_000;

/** One attempt's hold on a message's hand-over, until it is released or lapses. */
export interface HandOverClaim {
  release(): Promise<void>;
}

/**
 * Who hands a message to its back office now: one attempt at a time per message, across every process
 * sharing the log. The queue cannot promise it alone: a job queued again while its first run still hands
 * the message over — Redis restarted without the job and reconciliation queued it anew, or the job's lock
 * lapsed while its process was stalled — runs beside it, and both would read RECEIVED and hand it over.
 * The attempt takes the claim before it reads the message, and releases it once the outcome is recorded,
 * so a second attempt either waits or reads what the first recorded.
 */
export interface HandOverClaims {
  /** Holds `key` for HAND_OVER_CLAIM_TTL_MS; undefined when another attempt holds it. */
  take(key: string): Promise<HandOverClaim | undefined>;
  close(): Promise<void>;
}

/** Claims of a node whose log only one process works (SQLite): the queue's job and a first attempt, or two jobs, in this process. */
export class InProcessHandOverClaims implements HandOverClaims {
  private readonly held = new Set<string>();

  take(key: string): Promise<HandOverClaim | undefined> {
    if (this.held.has(key)) return Promise.resolve(undefined);
    this.held.add(key);
    return Promise.resolve({
      release: () => {
        this.held.delete(key);
        return Promise.resolve();
      },
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const MIGRATIONS = [
  `CREATE TABLE hand_over_claims (
     message_key TEXT PRIMARY KEY,
     holder TEXT NOT NULL,
     expires_at_ms BIGINT NOT NULL)`,
];

/** Taken when nobody holds it or its holder's time is up; never from a live holder. */
const TAKE = `INSERT INTO hand_over_claims (message_key, holder, expires_at_ms) VALUES (?, ?, ?)
  ON CONFLICT (message_key) DO UPDATE SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms
  WHERE hand_over_claims.expires_at_ms < ?
  RETURNING holder`;

/**
 * Claims shared by the processes of a node whose log is in PostgreSQL: a row per message being handed
 * over, in the node's store (schema `node_hand_over_claims`). The clocks of the processes agree within a
 * second or two (NTP), far inside the claim's time. Like any lease it is not a fence: a holder frozen past
 * its time (a VM paused for 30 s) may still hand over once after another took the claim — the back office
 * then sees the same Idempotency-Key twice.
 */
export class SharedHandOverClaims implements HandOverClaims {
  /** This process (a restarted pid is a new holder), and a serial per claim: two attempts of one process are two holders. */
  private readonly holderPrefix = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private serial = 0;

  private constructor(
    private readonly store: AdapterStore,
    private readonly now: () => number,
  ) {}

  static async open(openStore: AdapterStoreOpener, now: () => number = Date.now): Promise<SharedHandOverClaims> {
    // Commits not waiting for the disk: a crash of PostgreSQL itself (not a restart, which flushes) can lose a
    // live claim, and a job may then hand the message over beside its holder — the same Idempotency-Key twice.
    // Two flushes per hand-over would cost more than that rare repeat.
    return new SharedHandOverClaims(await openStore('hand-over-claims', MIGRATIONS, { durability: 'normal' }), now);
  }

  async take(key: string): Promise<HandOverClaim | undefined> {
    const holder = `${this.holderPrefix}:${++this.serial}`;
    const now = this.now();
    const row = await this.store.get(TAKE, [key, holder, now + HAND_OVER_CLAIM_TTL_MS, now]);
    if (!row) return undefined;
    return {
      release: async () => {
        await this.store.run('DELETE FROM hand_over_claims WHERE message_key = ? AND holder = ?', [key, holder]);
      },
    };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
