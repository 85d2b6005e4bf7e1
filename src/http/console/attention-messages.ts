import { NOT_FINAL_STATUSES, type MessageRecord } from '../../core/message-record.js';
import type { TramiteNode } from '../../node/tramite-node.js';
import { stuckAfterMs, stuckAfterMsFor } from '../../node/alarms/stuck-threshold.js';

/** At most this many of each kind on the page: a longer list is a search, not a to-do list. */
export const ATTENTION_LIMIT = 200;

export interface AttentionMessages {
  readonly failed: readonly MessageRecord[];
  /** Not final, created longer ago than its service's threshold (stuckAfterMsFor). */
  readonly stuck: readonly MessageRecord[];
  /** The node's threshold (`alarms.stuckAfterSeconds`). */
  readonly stuckAfterMs: number;
  /** The services with a threshold of their own (`stuckAfterSeconds`), by name: the page says which apply. */
  readonly ownThresholds: ReadonlyMap<string, number>;
}

/**
 * The messages an operator should look at: FAILED ones, and those not final for longer than their
 * service's threshold — `stuckAfterSeconds` of the service when it has one, else
 * `alarms.stuckAfterSeconds` — the thresholds the stuck-message alarm uses too. The keyset cursor
 * starts at the shortest threshold, so the log's index skips every message younger than all of them;
 * each candidate is then held to its own service's threshold.
 */
export async function attentionMessages(node: TramiteNode, now: Date): Promise<AttentionMessages> {
  const config = node.config;
  const threshold = stuckAfterMs(config);
  const ownThresholds = new Map(
    [...config.services, ...config.restServices]
      .filter((s) => s.stuckAfterSeconds !== undefined)
      .map((s) => [s.name, stuckAfterMsFor(config, s.name)] as const),
  );
  const shortest = Math.min(threshold, ...ownThresholds.values());
  const before = { createdAt: new Date(now.getTime() - shortest).toISOString(), id: '', from: '' };
  const [failed, ...stuck] = await Promise.all([
    node.store.list({ status: 'FAILED', limit: ATTENTION_LIMIT }),
    ...NOT_FINAL_STATUSES.map((status) => node.store.list({ status, olderThan: before, limit: ATTENTION_LIMIT })),
  ]);
  return {
    failed: failed!,
    stuck: stuck
      .flat()
      .filter((r) => Date.parse(r.createdAt) < now.getTime() - stuckAfterMsFor(config, r.service))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .slice(0, ATTENTION_LIMIT),
    stuckAfterMs: threshold,
    ownThresholds,
  };
}

export interface ResendOutcome {
  readonly id: string;
  readonly ok: boolean;
  readonly status?: string;
  readonly error?: string;
}

/** Resends each FAILED outbound message named, one after the other, each resend logged with who asked. */
export async function resendMessages(
  node: TramiteNode,
  ids: readonly string[],
  by: Parameters<TramiteNode['outbound']['resend']>[1],
): Promise<ResendOutcome[]> {
  const outcomes: ResendOutcome[] = [];
  for (const id of ids) {
    try {
      const rec = await node.outbound.resend(id, by);
      outcomes.push({ id, ok: true, status: rec.status });
    } catch (err) {
      outcomes.push({ id, ok: false, error: `${(err as { code?: string }).code ?? 'ERROR'}: ${(err as Error).message}` });
    }
  }
  return outcomes;
}
