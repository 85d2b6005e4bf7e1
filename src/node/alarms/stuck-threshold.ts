import type { NodeConfig } from '../../config/config-types.js';

/**
 * How long a message may stay not final before it counts as stuck (the console's stuck page, the
 * stuck-message alarm): `alarms.stuckAfterSeconds`, in milliseconds.
 */
export function stuckAfterMs(config: Pick<NodeConfig, 'alarms'>): number {
  return config.alarms.stuckAfterSeconds * 1000;
}
