import type { Registry } from '../registry/registry.js';

/**
 * Where a message to `to` is posted: the peer hosting that party, or this node's own envelope endpoint
 * when the party is hosted here too. Undefined when no one hosts it.
 */
export function routeOf(registry: Registry, to: string, selfUrl: () => string): string | undefined {
  return registry.peerFor(to)?.url ?? (registry.hostedParty(to) ? selfUrl() : undefined);
}
