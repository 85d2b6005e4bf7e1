import { randomBytes } from 'node:crypto';
import type { StaffMember } from '../../core/staff-member.js';

/** One signed-in member of staff: who, the CSRF token of their forms, and the times that bound the session. */
export interface ConsoleSession {
  /** 32 random bytes, base64url: the cookie's value. */
  readonly id: string;
  readonly member: StaffMember;
  /** 32 random bytes, base64url: every POST form carries it (console-csrf.ts). */
  readonly csrf: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
}

/** Where sessions are kept: this process's memory, or the shared PostgreSQL log's database (PostgresConsoleSessions). */
export interface ConsoleSessionStore {
  add(s: ConsoleSession): Promise<void>;
  get(id: string): Promise<ConsoleSession | undefined>;
  /** Restarts the idle clock (never back). */
  touch(id: string, at: number): Promise<void>;
  remove(id: string): Promise<void>;
  /** Drops the sessions last seen at or before `lastSeenUpTo`, or created at or before `createdUpTo`. */
  removeExpired(lastSeenUpTo: number, createdUpTo: number): Promise<void>;
}

export interface ConsoleSessionLimits {
  readonly idleMs: number;
  readonly maxMs: number;
  readonly now: () => number;
  /**
   * A request restarts the idle clock in the store only if it was last restarted this long ago (default 0:
   * every request). A shared store is spared a write per page: idle sessions then end up to this much early.
   */
  readonly touchEveryMs?: number;
}

/** Sessions in this process's memory: what a node alone on its SQLite log uses. */
export class MemorySessionStore implements ConsoleSessionStore {
  private readonly sessions = new Map<string, ConsoleSession>();

  async add(s: ConsoleSession): Promise<void> {
    this.sessions.set(s.id, s);
  }
  async get(id: string): Promise<ConsoleSession | undefined> {
    return this.sessions.get(id);
  }
  async touch(id: string, at: number): Promise<void> {
    const s = this.sessions.get(id);
    if (s && at > s.lastSeenAt) this.sessions.set(id, { ...s, lastSeenAt: at });
  }
  async remove(id: string): Promise<void> {
    this.sessions.delete(id);
  }
  async removeExpired(lastSeenUpTo: number, createdUpTo: number): Promise<void> {
    for (const [id, s] of this.sessions) if (s.lastSeenAt <= lastSeenUpTo || s.createdAt <= createdUpTo) this.sessions.delete(id);
  }
  get size(): number {
    return this.sessions.size;
  }
}

/**
 * The console's sessions: a signed-in session ends after `idleMs` without a request, and after `maxMs`
 * whatever happens. Nothing secret leaves the server but the random id. Kept in this process's memory
 * by default (a restart signs everyone out); in the shared PostgreSQL database when the log is there,
 * so behind a load balancer any process knows a session made on another.
 */
export class ConsoleSessions {
  constructor(
    private readonly limits: ConsoleSessionLimits,
    private readonly store: ConsoleSessionStore = new MemorySessionStore(),
  ) {}

  async open(member: StaffMember): Promise<ConsoleSession> {
    const now = this.limits.now();
    await this.store.removeExpired(now - this.limits.idleMs, now - this.limits.maxMs);
    const session: ConsoleSession = {
      id: randomBytes(32).toString('base64url'),
      member,
      csrf: randomBytes(32).toString('base64url'),
      createdAt: now,
      lastSeenAt: now,
    };
    await this.store.add(session);
    return session;
  }

  /** The live session with this id, its idle clock restarted; undefined when unknown or expired. */
  async find(id: string | undefined): Promise<ConsoleSession | undefined> {
    if (!id) return undefined;
    const session = await this.store.get(id);
    if (!session) return undefined;
    const now = this.limits.now();
    if (this.expired(session, now)) {
      await this.store.remove(id);
      return undefined;
    }
    if (now - session.lastSeenAt >= (this.limits.touchEveryMs ?? 0)) await this.store.touch(id, now);
    return { ...session, lastSeenAt: now };
  }

  async close(id: string | undefined): Promise<void> {
    if (id) await this.store.remove(id);
  }

  private expired(s: ConsoleSession, now: number): boolean {
    return now - s.lastSeenAt >= this.limits.idleMs || now - s.createdAt >= this.limits.maxMs;
  }
}
