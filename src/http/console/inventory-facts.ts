import type { MessageCount } from '../../log/log-store.js';
import type { TramiteNode } from '../../node/tramite-node.js';

export interface PeerFacts {
  readonly name: string;
  readonly url: string;
  readonly parties: readonly string[];
  /** Messages to the peer's parties: not final, and FAILED (all time, from the log's grouped counts). */
  readonly pending: number;
  readonly failed: number;
  readonly delivered: number;
}

export interface InventoryFacts {
  readonly peers: readonly PeerFacts[];
  readonly services: ReadonlyArray<{ readonly provider: string; readonly name: string; readonly kind: string; readonly hosted: boolean }>;
  readonly parties: ReadonlyArray<{ readonly code: string; readonly backOffice: string | undefined }>;
  readonly adapters: Awaited<ReturnType<TramiteNode['adapters']['health']>>;
  readonly certificates: ReturnType<TramiteNode['certificates']['list']>;
}

function peerFacts(node: TramiteNode, counts: readonly MessageCount[]): PeerFacts[] {
  return node.registry.config.peers.map((p) => {
    const mine = counts.filter((c) => c.direction === 'out' && p.parties.includes(c.to));
    const sum = (pick: (state: string) => boolean) => mine.filter((c) => pick(c.state)).reduce((n, c) => n + c.count, 0);
    return {
      name: p.name,
      url: p.url,
      parties: p.parties,
      pending: sum((s) => s === 'ACCEPTED' || s === 'SENDING'),
      failed: sum((s) => s === 'FAILED'),
      delivered: sum((s) => s === 'DELIVERED'),
    };
  });
}

/** Peers, services, parties, adapters with their health, and every certificate with its days to expiry. */
export async function inventoryFacts(node: TramiteNode, now: Date): Promise<InventoryFacts> {
  const [counts, adapters] = await Promise.all([node.store.store.messageCounts(), node.adapters.health()]);
  const hosted = (code: string) => node.registry.hostedParty(code) !== undefined;
  return {
    peers: peerFacts(node, counts),
    services: [
      ...node.registry.config.services.map((s) => ({
        provider: s.provider,
        name: s.name,
        kind: `${s.profile} · ${s.envelope}`,
        hosted: hosted(s.provider),
      })),
      ...node.config.restServices.map((s) => ({
        provider: s.provider,
        name: s.name,
        kind: `REST ${s.api.version}`,
        hosted: hosted(s.provider),
      })),
    ],
    parties: node.registry.config.parties.map((p) => ({ code: p.code, backOffice: p.backOffice?.url })),
    adapters,
    certificates: [...node.certificates.list(now)].sort((a, b) => a.daysToExpiry - b.daysToExpiry),
  };
}
