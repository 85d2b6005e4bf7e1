import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { StaffMember } from '../core/staff-member.js';

/** A console session as the shared store keeps it (the console's ConsoleSession). */
export interface SharedConsoleSession {
  readonly id: string;
  readonly member: StaffMember;
  readonly csrf: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
}

interface SessionRowDb {
  member: string;
  csrf: string;
  created_ms: string;
  last_seen_ms: string;
}

/** The row's key: a copy of the table (a backup, a replica) holds no cookie that signs anyone in. */
const keyOf = (id: string): string => createHash('sha256').update(id, 'utf8').digest('base64url');

/**
 * The console's sign-in sessions in the PostgreSQL log's database (table console_sessions), so that
 * every node process behind a load balancer knows a session made on any of them. One statement each.
 */
export class PostgresConsoleSessions {
  constructor(private readonly pool: pg.Pool) {}

  async add(s: SharedConsoleSession): Promise<void> {
    await this.pool.query('INSERT INTO console_sessions (id_hash, member, csrf, created_ms, last_seen_ms) VALUES ($1, $2, $3, $4, $5)', [
      keyOf(s.id),
      JSON.stringify({ role: s.member.role, name: s.member.name }),
      s.csrf,
      s.createdAt,
      s.lastSeenAt,
    ]);
  }

  async get(id: string): Promise<SharedConsoleSession | undefined> {
    const { rows } = await this.pool.query<SessionRowDb>(
      'SELECT member, csrf, created_ms, last_seen_ms FROM console_sessions WHERE id_hash = $1',
      [keyOf(id)],
    );
    const r = rows[0];
    if (!r) return undefined;
    const member = JSON.parse(r.member) as StaffMember;
    return {
      id,
      member: { role: member.role, name: member.name },
      csrf: r.csrf,
      createdAt: Number(r.created_ms),
      lastSeenAt: Number(r.last_seen_ms),
    };
  }

  /** Never moves the idle clock back: two processes touching at once keep the later time. */
  async touch(id: string, at: number): Promise<void> {
    await this.pool.query('UPDATE console_sessions SET last_seen_ms = GREATEST(last_seen_ms, $2) WHERE id_hash = $1', [keyOf(id), at]);
  }

  async remove(id: string): Promise<void> {
    await this.pool.query('DELETE FROM console_sessions WHERE id_hash = $1', [keyOf(id)]);
  }

  async removeExpired(lastSeenUpTo: number, createdUpTo: number): Promise<void> {
    await this.pool.query('DELETE FROM console_sessions WHERE last_seen_ms <= $1 OR created_ms <= $2', [lastSeenUpTo, createdUpTo]);
  }
}
