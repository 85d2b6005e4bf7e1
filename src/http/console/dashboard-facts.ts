import type { Registry } from 'prom-client';
import type { MessageCount } from '../../log/log-store.js';
import type { TramiteNode } from '../../node/tramite-node.js';
import { isFinalStatus } from '../../core/message-record.js';

export interface StateCount {
  readonly direction: 'in' | 'out';
  readonly state: string;
  readonly count: number;
}

export interface LatencySummary {
  /** Messages delivered since the process started (the histogram's count). */
  readonly count: number;
  readonly meanSeconds: number | undefined;
  /** Upper bounds of the buckets holding the median and the 95th percentile (the histogram's resolution). */
  readonly p50Seconds: number | undefined;
  readonly p95Seconds: number | undefined;
}

export interface QueueFacts {
  readonly queue: string;
  readonly up: boolean;
  readonly waiting?: number;
  readonly delayed?: number;
  readonly failed?: number;
  readonly oldestWaitingSeconds?: number;
}

export interface DashboardFacts {
  /** All time, per direction and state (LogStore.messageCounts). */
  readonly states: readonly StateCount[];
  /** Created in the last hour and in the last day, per direction and state: what is happening now, not since the start. */
  readonly lastHour: readonly StateCount[];
  readonly lastDay: readonly StateCount[];
  readonly latency: LatencySummary;
  readonly queues: readonly QueueFacts[];
  /** The oldest message not yet final, if any. */
  readonly oldestNonFinal: { readonly createdAt: string; readonly state: string; readonly direction: 'in' | 'out' } | undefined;
}

/** What the dashboard shows, gathered from the log's grouped counts and the node's own metrics registry. */
export async function dashboardFacts(node: TramiteNode, now: Date): Promise<DashboardFacts> {
  const since = (ms: number): string => new Date(now.getTime() - ms).toISOString();
  const [counts, hour, day] = await Promise.all([
    node.store.store.messageCounts(),
    node.store.store.messageCounts({ since: since(3_600_000) }),
    node.store.store.messageCounts({ since: since(86_400_000) }),
  ]);
  return {
    states: statesOf(counts),
    lastHour: statesOf(hour),
    lastDay: statesOf(day),
    oldestNonFinal: oldestNonFinalOf(counts),
    latency: await latencyOf(node.metrics.registry),
    queues: await queuesOf(node.metrics.registry),
  };
}

export function statesOf(counts: readonly MessageCount[]): StateCount[] {
  const sums = new Map<string, StateCount>();
  for (const c of counts) {
    const k = `${c.direction} ${c.state}`;
    sums.set(k, { direction: c.direction, state: c.state, count: (sums.get(k)?.count ?? 0) + c.count });
  }
  return [...sums.values()].sort((a, b) => a.direction.localeCompare(b.direction) || a.state.localeCompare(b.state));
}

function oldestNonFinalOf(counts: readonly MessageCount[]): DashboardFacts['oldestNonFinal'] {
  let oldest: DashboardFacts['oldestNonFinal'];
  for (const c of counts)
    if (!isFinalStatus(c.state) && (!oldest || c.oldestCreatedAt < oldest.createdAt))
      oldest = { createdAt: c.oldestCreatedAt, state: c.state, direction: c.direction };
  return oldest;
}

interface MetricValue {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly metricName?: string;
}

async function valuesOf(registry: Registry, name: string): Promise<readonly MetricValue[] | undefined> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return undefined;
  return (await metric.get()).values as readonly MetricValue[];
}

/** The end-to-end latency histogram (tramite_delivery_latency_seconds), all services together. */
export async function latencyOf(registry: Registry): Promise<LatencySummary> {
  const values = (await valuesOf(registry, 'tramite_delivery_latency_seconds')) ?? [];
  const buckets = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const v of values) {
    if (v.metricName?.endsWith('_bucket')) {
      const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + v.value);
    } else if (v.metricName?.endsWith('_count')) count += v.value;
    else if (v.metricName?.endsWith('_sum')) sum += v.value;
  }
  const quantile = (q: number): number | undefined => {
    if (count === 0) return undefined;
    for (const [le, n] of [...buckets].sort((a, b) => a[0] - b[0])) if (n >= q * count) return le;
    return undefined;
  };
  return { count, meanSeconds: count ? sum / count : undefined, p50Seconds: quantile(0.5), p95Seconds: quantile(0.95) };
}

/** The queues' depths as the metrics read them from Redis (absent while Redis does not answer). */
export async function queuesOf(registry: Registry): Promise<QueueFacts[]> {
  const up = (await valuesOf(registry, 'tramite_queue_up')) ?? [];
  const byQueue = async (name: string): Promise<Map<string, number>> =>
    new Map(((await valuesOf(registry, name)) ?? []).map((v) => [String(v.labels.queue), v.value]));
  const [waiting, delayed, failed, oldest] = await Promise.all([
    byQueue('tramite_queue_waiting_jobs'),
    byQueue('tramite_queue_delayed_jobs'),
    byQueue('tramite_queue_failed_jobs'),
    byQueue('tramite_queue_oldest_waiting_job_age_seconds'),
  ]);
  return up.map((u) => {
    const q = String(u.labels.queue);
    return u.value === 1
      ? {
          queue: q,
          up: true,
          waiting: waiting.get(q) ?? 0,
          delayed: delayed.get(q) ?? 0,
          failed: failed.get(q) ?? 0,
          oldestWaitingSeconds: oldest.get(q) ?? 0,
        }
      : { queue: q, up: false };
  });
}
