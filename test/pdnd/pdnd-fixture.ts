/**
 * A PDND simulator on loopback with a registry made here: a Comune's e-service client (its own RSA
 * key, kid `kid-comune-1`, purpose `purpose-anagrafe`), its API interoperabilità client (a second key,
 * for tracing), and the Regione's e-service (audience `urn:regione:anagrafe:v1`).
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { PdndSimulator, type PdndSimulatorEndpoints, type PdndSimulatorOptions } from '../../src/pdnd-simulator/pdnd-simulator.js';
import { parseSimulatorRegistry } from '../../src/pdnd-simulator/simulator-registry.js';
import { PdndVoucherClient, type VoucherClientOptions } from '../../src/pdnd/voucher-client.js';

export const AUDIENCE = 'urn:regione:anagrafe:v1';
export const PURPOSE = 'purpose-anagrafe';
export const OTHER_PURPOSE = 'purpose-tributi';
export const CLIENT_ID = 'c0a1b2c3-comune';
export const API_CLIENT_ID = 'c0a1b2c3-comune-api';
export const TENANT = 'tenant-comune';

const pair = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
export const clientKey = pair();
export const apiKey = pair();
const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();

export function registryJson(lifespan = 600): Record<string, unknown> {
  return {
    clients: [
      {
        client_id: CLIENT_ID,
        tenant_id: TENANT,
        keys: [{ kid: 'kid-comune-1', pem: pem(clientKey.publicKey) }],
        purposes: [PURPOSE, OTHER_PURPOSE],
      },
      { client_id: API_CLIENT_ID, kind: 'api', tenant_id: TENANT, keys: [{ kid: 'kid-comune-api', pem: pem(apiKey.publicKey) }] },
    ],
    eservices: [
      {
        eservice_id: 'es-anagrafe',
        producer_id: 'tenant-regione',
        descriptor_id: 'd-1',
        audience: AUDIENCE,
        purposes: [PURPOSE],
        voucher_lifespan: lifespan,
      },
      {
        eservice_id: 'es-tributi',
        producer_id: 'tenant-regione',
        descriptor_id: 'd-7',
        audience: 'urn:regione:tributi:v1',
        purposes: [OTHER_PURPOSE],
        voucher_lifespan: lifespan,
      },
    ],
  };
}

export async function startSimulator(
  opts: { lifespan?: number } & Partial<PdndSimulatorOptions> = {},
): Promise<{ simulator: PdndSimulator; endpoints: PdndSimulatorEndpoints }> {
  const simulator = new PdndSimulator({ registry: parseSimulatorRegistry(registryJson(opts.lifespan)), ...opts });
  return { simulator, endpoints: await simulator.start() };
}

export function comuneClient(endpoints: PdndSimulatorEndpoints, over: Partial<VoucherClientOptions> = {}): PdndVoucherClient {
  return new PdndVoucherClient({
    tokenEndpoint: endpoints.tokenEndpoint,
    assertionAudience: endpoints.assertionAudience,
    clientId: CLIENT_ID,
    key: { privateKey: clientKey.privateKey, alg: 'RS256', kid: 'kid-comune-1' },
    ...over,
  });
}

export function apiClient(endpoints: PdndSimulatorEndpoints): PdndVoucherClient {
  return new PdndVoucherClient({
    tokenEndpoint: endpoints.tokenEndpoint,
    assertionAudience: endpoints.assertionAudience,
    clientId: API_CLIENT_ID,
    key: { privateKey: apiKey.privateKey, alg: 'RS256', kid: 'kid-comune-api' },
  });
}
