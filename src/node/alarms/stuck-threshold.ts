import type { NodeConfig } from '../../config/config-types.js';

/**
 * How long a message may stay not final before it counts as stuck (the console's stuck page, the
 * stuck-message alarm): `alarms.stuckAfterSeconds`, in milliseconds.
 */
export function stuckAfterMs(config: Pick<NodeConfig, 'alarms'>): number {
  return config.alarms.stuckAfterSeconds * 1000;
}

/** A service's (or REST API's) own threshold (`services[].stuckAfterSeconds`) when it has one, else stuckAfterMs(config). */
export function stuckAfterMsFor(config: Pick<NodeConfig, 'alarms' | 'services' | 'restServices'>, service: string): number {
  const own = [...config.services, ...config.restServices].find((s) => s.name === service)?.stuckAfterSeconds;
  return own !== undefined ? own * 1000 : stuckAfterMs(config);
}
