import type { MessageListQuery, MessageRecord, MessageStore } from './message-record.js';

/** How many messages a page of a whole-log walk holds: what sits in memory at once. */
export const MESSAGE_PAGE_SIZE = 500;

/**
 * Every message `q` selects, newest first, a page at a time (keyset paging): a walk over a backlog of a
 * hundred thousand messages holds one page in memory, not the backlog.
 */
export async function* messagesInPages(
  store: Pick<MessageStore, 'list'>,
  q: Omit<MessageListQuery, 'olderThan' | 'limit'>,
  pageSize = MESSAGE_PAGE_SIZE,
): AsyncGenerator<MessageRecord[]> {
  let olderThan: MessageListQuery['olderThan'];
  for (;;) {
    const page = await store.list({ ...q, limit: pageSize, ...(olderThan ? { olderThan } : {}) });
    if (page.length > 0) yield page;
    if (page.length < pageSize) return;
    const last = page[page.length - 1]!;
    olderThan = { createdAt: last.createdAt, id: last.id, from: last.from };
  }
}
