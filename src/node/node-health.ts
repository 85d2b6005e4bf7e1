import { settlesWithin } from '../core/deadline.js';
import { outboundKey } from '../core/message-record.js';
import type { MessageLog } from '../log/message-log.js';
import type { NodeRedis } from '../queue/redis-connection.js';
import type { RedisStatus } from '../queue/redis-monitor.js';
import type { ExpirySummary } from '../crypto/certificate-inventory/expiry-bands.js';
import type { InventoryEntry } from '../crypto/certificate-inventory/inventory-entry.js';
import type { CertificateInventory } from './certificates/certificate-inventory.js';
import type { RevocationCounters } from '../crypto/revocation/revocation-checker.js';

/** How long the message log may take to answer health's probe, ms. */
const LOG_PROBE_TIMEOUT_MS = 1000;

/** What the node can do now: `degraded` when something keeps it from accepting or delivering messages. */
export interface NodeHealth {
  readonly status: 'ok' | 'degraded';
  /** Why it is degraded, one line each; empty when ok. */
  readonly problems: readonly string[];
  readonly queue: RedisStatus & { readonly where: string; readonly embedded: boolean; readonly restarts: number };
  readonly log: { readonly state: 'up' | 'down'; readonly reason?: string };
  /**
   * The certificate inventory: counts, the soonest expiry, and each certificate — without the files
   * they are read from (`tramite certs` shows those on the node's own machine).
   */
  readonly certificates: ExpirySummary & { readonly list: ReadonlyArray<Omit<InventoryEntry, 'source'>> };
  /** Revocation checks since start (only when some trust anchor's policy is not off): `unknownAccepted` counts soft-policy warnings. */
  readonly revocation?: RevocationCounters;
}

/**
 * The node's own parts that every message needs: the queues' Redis (from its monitor, so asking never
 * waits for Redis) and the message log (one bounded read). Adapters serve one party each and are
 * reported apart, in health's details.
 */
export async function nodeHealth(parts: {
  redis: NodeRedis;
  store: MessageLog;
  stopping: boolean;
  certificates: CertificateInventory;
  now: Date;
  revocation?: { readonly counters: RevocationCounters };
}): Promise<NodeHealth> {
  const problems: string[] = [];
  if (parts.stopping) problems.push('the node is stopping');
  const queue = { ...parts.redis.status(), where: parts.redis.where, embedded: parts.redis.embedded };
  if (queue.state === 'down') problems.push(`the delivery queue's Redis is down since ${queue.since}: ${queue.reason ?? 'no answer'}`);
  const log = await probeLog(parts.store);
  if (log.state === 'down') problems.push(`the message log cannot be read: ${log.reason}`);
  // Certificates close to expiry do not degrade the node: it still accepts and delivers, and the log warns.
  const list = parts.certificates.list(parts.now).map(({ source: _source, ...entry }) => entry);
  const certificates = { ...parts.certificates.summary(parts.now), list };
  return {
    status: problems.length === 0 ? 'ok' : 'degraded',
    problems,
    queue,
    log,
    certificates,
    ...(parts.revocation ? { revocation: { ...parts.revocation.counters } } : {}),
  };
}

async function probeLog(store: MessageLog): Promise<NodeHealth['log']> {
  let failure: string | undefined;
  // Any lookup by id does: it reaches the store the way accepting a message does.
  const read = store.get(outboundKey('health-probe')).catch((err: unknown) => {
    failure = (err as Error).message;
  });
  if (!(await settlesWithin(read, LOG_PROBE_TIMEOUT_MS))) return { state: 'down', reason: `no answer within ${LOG_PROBE_TIMEOUT_MS} ms` };
  return failure === undefined ? { state: 'up' } : { state: 'down', reason: failure };
}
