import { ApiError } from '../core/errors.js';
import type { MessageQuery, MessageRecord, MessageStore } from './message-record.js';

/** Process-local message store: fast and simple, and lost on restart (the message log replaces it). */
export class InMemoryMessageStore implements MessageStore {
  private readonly records = new Map<string, MessageRecord>();

  insert(rec: MessageRecord): void {
    const key = `${rec.direction}:${rec.id}`;
    if (this.records.has(key)) throw new Error(`message ${key} already stored`);
    this.records.set(key, { ...rec });
  }

  get(id: string, direction: 'out' | 'in'): MessageRecord | undefined {
    const r = this.records.get(`${direction}:${id}`);
    return r ? { ...r } : undefined;
  }

  update(id: string, direction: 'out' | 'in', patch: Partial<Omit<MessageRecord, 'id' | 'direction'>>): MessageRecord {
    const key = `${direction}:${id}`;
    const current = this.records.get(key);
    if (!current) throw new ApiError('TRAMITE_ERR_NOT_FOUND', 404, `no ${direction}bound message ${id}`);
    const next = { ...current, ...patch, updatedAt: new Date().toISOString() };
    this.records.set(key, next);
    return { ...next };
  }

  list(q: MessageQuery): MessageRecord[] {
    const out: MessageRecord[] = [];
    for (const r of this.records.values()) {
      if (q.direction && r.direction !== q.direction) continue;
      if (q.status && r.status !== q.status) continue;
      if (q.parties && !q.parties.has(r.from) && !q.parties.has(r.to)) continue;
      out.push({ ...r });
    }
    out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
    return out.slice(0, q.limit ?? 100);
  }
}
