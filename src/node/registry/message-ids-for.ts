import type { Clock } from '../../core/clock.js';
import type { LogStore } from '../../log/log-store.js';
import { PostgresLogStore } from '../../log/postgres-log-store.js';
import { MessageIdAllocator } from './message-id-allocator.js';
import type { MessageIds } from './message-ids.js';
import { SharedMessageIdAllocator } from './shared-message-id-allocator.js';

/**
 * The node's id allocator for its log store: processes sharing a PostgreSQL log (and no disk) reserve
 * serials in that database; with the SQLite log, processes on one host lease slots in the data dir.
 */
export function messageIdsFor(store: LogStore, dataDir: string, pdd: string, clock: Clock): MessageIds {
  return store instanceof PostgresLogStore
    ? new SharedMessageIdAllocator(store, pdd, clock)
    : MessageIdAllocator.lease(dataDir, pdd, clock);
}
