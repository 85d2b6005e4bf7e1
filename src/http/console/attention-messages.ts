import type { MessageRecord, MessageStatus } from '../../core/message-record.js';
import type { TramiteNode } from '../../node/tramite-node.js';
import { stuckAfterMs } from '../../node/alarms/stuck-threshold.js';

const NOT_FINAL: readonly MessageStatus[] = ['ACCEPTED', 'SENDING', 'RECEIVED'];
/** At most this many of each kind on the page: a longer list is a search, not a to-do list. */
export const ATTENTION_LIMIT = 200;

export interface AttentionMessages {
  readonly failed: readonly MessageRecord[];
  /** Not final, created more than `stuckAfterMs` ago. */
  readonly stuck: readonly MessageRecord[];
  readonly stuckAfterMs: number;
}

/**
 * The messages an operator should look at: FAILED ones, and those not final for longer than
 * `alarms.stuckAfterSeconds` (the threshold the stuck-message alarm uses too). The keyset cursor
 * starts the stuck ones at the threshold, so the log's index skips every younger message.
 */
export async function attentionMessages(node: TramiteNode, now: Date): Promise<AttentionMessages> {
  const threshold = stuckAfterMs(node.config);
  const before = { createdAt: new Date(now.getTime() - threshold).toISOString(), id: '', from: '' };
  const [failed, ...stuck] = await Promise.all([
    node.store.list({ status: 'FAILED', limit: ATTENTION_LIMIT }),
    ...NOT_FINAL.map((status) => node.store.list({ status, olderThan: before, limit: ATTENTION_LIMIT })),
  ]);
  return {
    failed: failed!,
    stuck: stuck
      .flat()
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .slice(0, ATTENTION_LIMIT),
    stuckAfterMs: threshold,
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
