import type { NodeConfig } from '../config/config-types.js';
import { staffTokenEntries } from '../core/staff-member.js';
import type { RegistryVersion } from '../node/registry/live-registry.js';

/**
 * The registry as GET /api/v1/registry shows it (schemas/api-registry.schema.json): who is hosted, the
 * peers and services, the staff tokens' names — never a key, a token, a hash or a secret.
 */
export function registryView(config: NodeConfig, version: RegistryVersion): Record<string, unknown> {
  return {
    version,
    parties: config.parties.map((p) => ({
      code: p.code,
      certificate: p.identity.certificate.fingerprint256,
      ...(p.backOffice ? { backOffice: p.backOffice.url } : {}),
      ...(p.notify ? { notify: p.notify.url } : {}),
      adapters: (p.adapters ?? []).map((a) => ({ use: a.use, services: [...(a.services ?? [])] })),
    })),
    peers: config.peers.map((p) => ({ name: p.name, url: p.url, parties: [...p.parties] })),
    services: config.services.map((s) => ({
      provider: s.provider,
      name: s.name,
      ...(s.tipo !== undefined ? { tipo: s.tipo } : {}),
      profile: s.profile,
      envelope: s.envelope,
      ...(s.actions ? { actions: [...s.actions] } : {}),
      ...(s.consumers ? { consumers: [...s.consumers] } : {}),
      ...(s.correlatedService !== undefined ? { correlatedService: s.correlatedService } : {}),
    })),
    staff: {
      operators: staffTokenEntries('operator', config.node.operatorTokens).map((e) => e.name),
      auditors: staffTokenEntries('auditor', config.log.auditorTokens).map((e) => e.name),
    },
  };
}
