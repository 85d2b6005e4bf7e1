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
  lastSeenAt: number;
}

export interface ConsoleSessionLimits {
  readonly idleMs: number;
  readonly maxMs: number;
  readonly now: () => number;
}

/**
 * The console's sessions, held in this process's memory: a signed-in session ends after `idleMs`
 * without a request, and after `maxMs` whatever happens. Nothing secret leaves the server but the
 * random id; a restart signs everyone out (sessions are per process until issue 18 shares them).
 */
export class ConsoleSessions {
  private readonly sessions = new Map<string, ConsoleSession>();

  constructor(private readonly limits: ConsoleSessionLimits) {}

  open(member: StaffMember): ConsoleSession {
    this.prune();
    const now = this.limits.now();
    const session: ConsoleSession = {
      id: randomBytes(32).toString('base64url'),
      member,
      csrf: randomBytes(32).toString('base64url'),
      createdAt: now,
      lastSeenAt: now,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, its idle clock restarted; undefined when unknown or expired. */
  find(id: string | undefined): ConsoleSession | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    const now = this.limits.now();
    if (this.expired(session, now)) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastSeenAt = now;
    return session;
  }

  close(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private expired(s: ConsoleSession, now: number): boolean {
    return now - s.lastSeenAt >= this.limits.idleMs || now - s.createdAt >= this.limits.maxMs;
  }

  private prune(): void {
    const now = this.limits.now();
    for (const [id, s] of this.sessions) if (this.expired(s, now)) this.sessions.delete(id);
  }
}
