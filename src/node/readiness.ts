import type { NodeHealth } from './node-health.js';
import type { TsaStatus } from '../log/message-log.js';

/** One thing the node needs to serve, and whether it has it. */
export interface Dependency {
  /** `redis`, `log`, `tsa`, or `adapter <party> <id>`. */
  readonly name: string;
  readonly state: 'up' | 'down';
  readonly reason?: string;
}

/** GET /health/ready: ready only when every dependency is up and the node is not stopping. */
export interface Readiness {
  readonly ready: boolean;
  readonly stopping: boolean;
  readonly dependencies: readonly Dependency[];
}

/**
 * Whether the node can serve now, dependency by dependency: the queues' Redis and the message log (from
 * health's probes), each adapter (an adapter down means its party's messages cannot be handed over), and
 * the TSA when one is configured (checkpoints would go without time-stamps). A load balancer takes a node
 * out while any is down; the operator sees which and why.
 */
export function readiness(
  health: NodeHealth,
  stopping: boolean,
  adapters: ReadonlyArray<{
    readonly party: string;
    readonly adapter: string;
    readonly status: 'up' | 'degraded' | 'down';
    readonly detail?: string;
  }>,
  tsa: { readonly configured: boolean; readonly status: TsaStatus | undefined },
): Readiness {
  const dependencies: Dependency[] = [
    health.queue.state === 'down'
      ? { name: 'redis', state: 'down', reason: health.queue.reason ?? `down since ${health.queue.since}` }
      : { name: 'redis', state: 'up' },
    health.log.state === 'down'
      ? { name: 'log', state: 'down', reason: health.log.reason ?? 'cannot be read' }
      : { name: 'log', state: 'up' },
    // A degraded adapter still serves (it says why in its detail); only one that is down keeps its party's messages waiting.
    ...adapters.map((a): Dependency =>
      a.status === 'down'
        ? { name: `adapter ${a.party} ${a.adapter}`, state: 'down', reason: a.detail ?? 'down' }
        : { name: `adapter ${a.party} ${a.adapter}`, state: 'up' },
    ),
    ...(tsa.configured
      ? [
          tsa.status?.state === 'down'
            ? { name: 'tsa', state: 'down' as const, reason: `${tsa.status.reason ?? 'no time-stamp'} (at ${tsa.status.at})` }
            : { name: 'tsa', state: 'up' as const },
        ]
      : []),
  ];
  return { ready: !stopping && dependencies.every((d) => d.state === 'up'), stopping, dependencies };
}
