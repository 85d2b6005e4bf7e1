import { MESSAGE_STATUSES, type MessageListQuery, type MessageRecord, type MessageStatus } from '../../core/message-record.js';
import type { Registry } from '../../node/registry/registry.js';

export const PAGE_SIZE = 50;

/** The search form's fields as the page sends them (every one optional; empty means "any"). */
export interface SearchForm {
  readonly party?: string;
  /** A peer node's name: its parties are the other side. */
  readonly peer?: string;
  readonly service?: string;
  readonly state?: MessageStatus;
  readonly direction?: 'in' | 'out';
  /** ISO instants (the form's datetime-local, read as UTC): from inclusive, to exclusive. */
  readonly createdFrom?: string;
  readonly createdTo?: string;
  readonly id?: string;
}

/** Where the next page starts: the last message of this one (keyset paging, newest first). */
export type SearchCursor = Pick<MessageRecord, 'createdAt' | 'id' | 'from'>;

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, 300) : undefined);

/** datetime-local ("2026-12-06T21:30") or a full ISO instant, as ISO (UTC); undefined when empty or not a time. */
function instant(v: unknown): string | undefined {
  const s = text(v);
  if (!s) return undefined;
  const d = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(s) ? s : `${s}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** The form as a query string carries it, with anything unknown or malformed left out. */
export function readSearchForm(q: Readonly<Record<string, unknown>>): SearchForm {
  const state = text(q.state);
  const direction = text(q.direction);
  const fields: Record<string, string | undefined> = {
    party: text(q.party),
    peer: text(q.peer),
    service: text(q.service),
    state: state && (MESSAGE_STATUSES as readonly string[]).includes(state) ? state : undefined,
    direction: direction === 'in' || direction === 'out' ? direction : undefined,
    createdFrom: instant(q.createdFrom),
    createdTo: instant(q.createdTo),
    id: text(q.id),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as SearchForm;
}

export function encodeCursor(c: SearchCursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.id, c.from]), 'utf8').toString('base64url');
}

export function decodeCursor(v: unknown): SearchCursor | undefined {
  if (typeof v !== 'string' || v.length > 2000) return undefined;
  try {
    const [createdAt, id, from] = JSON.parse(Buffer.from(v, 'base64url').toString('utf8')) as unknown[];
    return typeof createdAt === 'string' && typeof id === 'string' && typeof from === 'string' ? { createdAt, id, from } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * THE mapping from the search form to the log's query, in one place: every filter goes to the log's
 * SQL, so a page is full whenever more rows exist, and the keyset cursor alone says where it starts.
 */
export function listQueryOf(form: SearchForm, registry: Registry, cursor?: SearchCursor): MessageListQuery {
  return {
    ...(form.direction ? { direction: form.direction } : {}),
    ...(form.id ? { id: form.id } : {}),
    ...(form.party ? { parties: new Set([form.party]) } : {}),
    ...(form.state ? { status: form.state } : {}),
    ...(form.service ? { service: form.service } : {}),
    ...(form.peer ? { counterparts: peerParties(form.peer, registry) } : {}),
    ...(form.createdFrom ? { createdFrom: form.createdFrom } : {}),
    ...(form.createdTo ? { createdTo: form.createdTo } : {}),
    ...(cursor ? { olderThan: cursor } : {}),
    limit: PAGE_SIZE,
  };
}

/** A peer's parties, by the peer's name (empty when no such peer: nothing matches). */
export function peerParties(peer: string, registry: Registry): ReadonlySet<string> {
  return new Set(registry.config.peers.find((p) => p.name === peer)?.parties ?? []);
}
