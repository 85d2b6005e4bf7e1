import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigFilePartyPdnd, ConfigFilePdnd, ConfigFileRestApi, ConfigFileRestService } from '../config/config-types.js';

/**
 * The REST half of the demo federation (issue 16): a Regione REST API (`anagrafe` v1, the demo's
 * DemoRestApi behind the Regione's node) that the Comune calls through both nodes with ID_AUTH_REST_02
 * + INTEGRITY_REST_01 and a PDND voucher, and the PDND registry the simulator serves. Each party's PDND
 * keys are generated here, the private halves into its node's pki/pdnd, the public ones into the registry.
 */
export const DEMO_REST = {
  consumer: 'SPC/ComuneOrtona',
  provider: 'SPC/RegioneAbruzzo',
  api: 'anagrafe',
  version: 'v1',
  audience: 'urn:regione-abruzzo:anagrafe:v1',
  profiles: ['ID_AUTH_REST_02', 'INTEGRITY_REST_01'],
  purposeId: 'purpose-anagrafe-ortona',
  eserviceId: 'es-anagrafe-regione',
  descriptorId: 'es-anagrafe-regione-d1',
  /** Voucher iss and client-assertion aud of the simulated PDND (what the nodes' `pdnd` block names). */
  issuer: 'pdnd-simulator.demo.tramite.local',
  assertionAudience: 'auth.pdnd-simulator.demo.tramite.local/client-assertion',
} as const;

/** Each party's PDND tenant and its two clients: the e-service client (vouchers) and the API-interoperabilità one (tracing). */
const PDND_PARTIES: Readonly<Record<string, { tenantId: string; clientId: string; purposes: string[] }>> = {
  [DEMO_REST.consumer]: { tenantId: 'tenant-comune-ortona', clientId: 'comune-ortona', purposes: [DEMO_REST.purposeId] },
  [DEMO_REST.provider]: { tenantId: 'tenant-regione-abruzzo', clientId: 'regione-abruzzo', purposes: [] },
};

/** Where the simulated PDND runs and what it serves: the registry file and the endpoints the nodes are told. */
export interface DemoPdnd {
  readonly registryFile: string;
  /** Chosen up front, as the nodes' ports are: the nodes' configs name it. */
  readonly port: number;
  readonly url: string;
  readonly issuer: string;
  readonly assertionAudience: string;
}

/** The top-level `pdnd` block of both nodes: the simulator, spoken to as PDND is. */
export function demoPdndSettings(pdnd: DemoPdnd): ConfigFilePdnd {
  return {
    tokenEndpoint: `${pdnd.url}/token.oauth2`,
    assertionAudience: pdnd.assertionAudience,
    issuer: pdnd.issuer,
    jwksUrl: `${pdnd.url}/.well-known/jwks.json`,
    apiUrl: pdnd.url,
    tracingUrl: pdnd.url,
  } as ConfigFilePdnd; // the loader fills in uploadHourUtc
}

/** Whether `party` has PDND clients in the demo. */
export function hasDemoPdnd(party: string): boolean {
  return PDND_PARTIES[party] !== undefined;
}

/** The PDND key files of `party`, relative to its node's directory (the config's keyFile). */
export function demoPdndKeyFiles(party: string): { client: string; api: string } {
  const nome = party.split('/')[1]!;
  return { client: `pki/pdnd/${nome}.client.key.pem`, api: `pki/pdnd/${nome}.api.key.pem` };
}

/** A party's `parties[].pdnd` block. */
export function demoPartyPdnd(party: string): ConfigFilePartyPdnd {
  const p = PDND_PARTIES[party]!;
  const files = demoPdndKeyFiles(party);
  return {
    tenantId: p.tenantId,
    clientId: p.clientId,
    kid: `${p.clientId}-key-1`,
    keyFile: files.client,
    api: { clientId: `${p.clientId}-api`, kid: `${p.clientId}-api-key-1`, keyFile: files.api },
  };
}

/** The REST API both nodes declare: the Regione provides it (upstream: its back office's API), the Comune consumes it. */
export function demoRestServices(upstreamUrl: string): ConfigFileRestService[] {
  return [
    {
      provider: DEMO_REST.provider,
      name: DEMO_REST.api,
      consumers: [DEMO_REST.consumer],
      api: {
        kind: 'rest',
        version: DEMO_REST.version,
        profiles: [...DEMO_REST.profiles],
        audience: DEMO_REST.audience,
        pdnd: {
          purposeId: DEMO_REST.purposeId,
          eserviceId: DEMO_REST.eserviceId,
          producerId: PDND_PARTIES[DEMO_REST.provider]!.tenantId,
          descriptorId: DEMO_REST.descriptorId,
        },
        upstream: { url: upstreamUrl } as ConfigFileRestApi['upstream'],
        // A collaudo setting: refusals name their precise code, so the demo shows why a request was refused.
        disclose: true,
      } as ConfigFileRestApi, // the loader fills in emptyBody, maxBodyBytes, tokenLifetimeSeconds, upstream.timeoutMs
    },
  ];
}

/**
 * Generates each demo party's PDND keys (RSA 2048, as PDND takes): private halves into `nodeDir(party)`'s
 * pki/pdnd (mode 0600), public halves into the simulator's registry, written to `registryFile`.
 */
export function writeDemoPdndRegistry(registryFile: string, nodeDir: (party: string) => string): void {
  const clients: unknown[] = [];
  for (const [party, p] of Object.entries(PDND_PARTIES)) {
    const block = demoPartyPdnd(party);
    const files = demoPdndKeyFiles(party);
    mkdirSync(join(nodeDir(party), 'pki', 'pdnd'), { recursive: true, mode: 0o700 });
    const publicPem = (file: string): string => {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      writeFileSync(join(nodeDir(party), file), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      return publicKey.export({ type: 'spki', format: 'pem' }).toString();
    };
    clients.push({
      client_id: p.clientId,
      tenant_id: p.tenantId,
      keys: [{ kid: block.kid, pem: publicPem(files.client) }],
      purposes: p.purposes,
    });
    clients.push({
      client_id: block.api!.clientId,
      kind: 'api',
      tenant_id: p.tenantId,
      keys: [{ kid: block.api!.kid, pem: publicPem(files.api) }],
    });
  }
  const registry = {
    clients,
    eservices: [
      {
        eservice_id: DEMO_REST.eserviceId,
        producer_id: PDND_PARTIES[DEMO_REST.provider]!.tenantId,
        descriptor_id: DEMO_REST.descriptorId,
        audience: DEMO_REST.audience,
        purposes: [DEMO_REST.purposeId],
        voucher_lifespan: 600,
      },
    ],
  };
  writeFileSync(registryFile, `${JSON.stringify(registry, null, 2)}\n`);
}
