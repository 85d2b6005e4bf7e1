/**
 * The REST gateway's federation for tests: the demo's two nodes (CST hosting ComuneOrtona, Regione
 * hosting RegioneAbruzzo) over mutual TLS, a PDND simulator both nodes use, the Regione's REST API
 * (DemoRestApi) behind its node, and four REST APIs declared on both nodes, one per pattern mix.
 */
import { generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { DemoRestApi } from '../../src/demo/demo-rest-api.js';
import type { DemoNode } from '../../src/demo/demo-federation.js';
import { PdndSimulator, type PdndSimulatorEndpoints } from '../../src/pdnd-simulator/pdnd-simulator.js';
import { parseSimulatorRegistry } from '../../src/pdnd-simulator/simulator-registry.js';
import { PdndVoucherClient } from '../../src/pdnd/voucher-client.js';
import { clientOf, patchConfig, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';

export const ORTONA = 'SPC/ComuneOrtona';
export const REGIONE = 'SPC/RegioneAbruzzo';
export const ANAGRAFE_AUDIENCE = 'urn:regione:anagrafe:v1';
export const SANITA_AUDIENCE = 'urn:regione:sanita:v1';

const pair = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
/** PDND keys: each party's e-service client and API-interoperabilità client. */
export const KEYS = { ortona: pair(), ortonaApi: pair(), regione: pair(), regioneApi: pair() };
const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();
const pkcs8 = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }).toString();

export function simulatorRegistry() {
  return parseSimulatorRegistry({
    clients: [
      {
        client_id: 'comune-ortona',
        tenant_id: 'tenant-ortona',
        keys: [{ kid: 'kid-ortona', pem: spki(KEYS.ortona.publicKey) }],
        purposes: ['purpose-anagrafe', 'purpose-anagrafe-storico', 'purpose-sanita', 'purpose-altro'],
      },
      {
        client_id: 'comune-ortona-api',
        kind: 'api',
        tenant_id: 'tenant-ortona',
        keys: [{ kid: 'kid-ortona-api', pem: spki(KEYS.ortonaApi.publicKey) }],
      },
      {
        client_id: 'regione-abruzzo',
        tenant_id: 'tenant-regione',
        keys: [{ kid: 'kid-regione', pem: spki(KEYS.regione.publicKey) }],
        purposes: [],
      },
      {
        client_id: 'regione-abruzzo-api',
        kind: 'api',
        tenant_id: 'tenant-regione',
        keys: [{ kid: 'kid-regione-api', pem: spki(KEYS.regioneApi.publicKey) }],
      },
    ],
    eservices: [
      {
        eservice_id: 'es-anagrafe',
        producer_id: 'tenant-regione',
        descriptor_id: 'd-1',
        audience: ANAGRAFE_AUDIENCE,
        purposes: ['purpose-anagrafe', 'purpose-anagrafe-storico'],
        voucher_lifespan: 600,
      },
      {
        eservice_id: 'es-sanita',
        producer_id: 'tenant-regione',
        descriptor_id: 'd-2',
        audience: SANITA_AUDIENCE,
        purposes: ['purpose-sanita'],
        voucher_lifespan: 600,
      },
      {
        eservice_id: 'es-altro',
        producer_id: 'tenant-altro',
        descriptor_id: 'd-9',
        audience: 'urn:altro:v1',
        purposes: ['purpose-altro'],
        voucher_lifespan: 600,
      },
    ],
  });
}

/** The REST APIs, as both nodes declare them. `viaProxy`: the CST's own URL for anagrafe-via-proxy. */
export function restApis(upstream: string, viaProxy: string) {
  const anagrafe = {
    kind: 'rest',
    profiles: ['ID_AUTH_REST_02', 'INTEGRITY_REST_01'],
    audience: ANAGRAFE_AUDIENCE,
    pdnd: { purposeId: 'purpose-anagrafe', eserviceId: 'es-anagrafe', producerId: 'tenant-regione', descriptorId: 'd-1' },
    upstream: { url: upstream },
    disclose: true,
  };
  return [
    { provider: REGIONE, name: 'anagrafe', consumers: [ORTONA], api: anagrafe },
    // The same API, reached through a proxy that tests tamper with (the CST only).
    { provider: REGIONE, name: 'anagrafe-via-proxy', consumers: [ORTONA], api: { ...anagrafe, url: viaProxy }, cstOnly: true },
    {
      provider: REGIONE,
      name: 'tributi',
      consumers: [ORTONA],
      api: {
        kind: 'rest',
        profiles: ['ID_AUTH_REST_01'],
        audience: 'https://regione.example/tributi/v1',
        upstream: { url: upstream },
        disclose: true,
      },
    },
    {
      provider: REGIONE,
      name: 'catasto',
      consumers: [ORTONA],
      api: {
        kind: 'rest',
        profiles: ['ID_AUTH_REST_02', 'INTEGRITY_REST_01', 'AUDIT_REST_01'],
        audience: 'https://regione.example/catasto/v1',
        upstream: { url: upstream },
        disclose: true,
      },
    },
    {
      provider: REGIONE,
      name: 'sanita',
      consumers: [ORTONA],
      api: {
        kind: 'rest',
        profiles: ['ID_AUTH_REST_01', 'INTEGRITY_REST_02', 'AUDIT_REST_02'],
        audience: SANITA_AUDIENCE,
        pdnd: { purposeId: 'purpose-sanita', eserviceId: 'es-sanita', producerId: 'tenant-regione', providerClientId: 'regione-abruzzo' },
        upstream: { url: upstream },
        disclose: true,
      },
    },
  ];
}

export interface RestFederation extends InProcessFederation {
  readonly simulator: PdndSimulator;
  readonly pdnd: PdndSimulatorEndpoints;
  readonly api: DemoRestApi;
}

/** Starts it all; `viaProxy` is where the CST sends anagrafe-via-proxy (a proxy the test runs). */
export async function startRestFederation(name: string, viaProxy: () => string): Promise<RestFederation> {
  const simulator = new PdndSimulator({ registry: simulatorRegistry() });
  const pdnd = await simulator.start();
  const api = new DemoRestApi();
  await api.start();
  const federation = await startFederation(
    name,
    (nodes) => {
      for (const [side, node] of [
        ['cst', nodes.cst],
        ['regione', nodes.regione],
      ] as const) {
        const keyDir = join(node.dir, 'pdnd');
        mkdirSync(keyDir, { recursive: true });
        const write = (file: string, key: KeyObject) => writeFileSync(join(keyDir, file), pkcs8(key), { mode: 0o600 });
        write('client.pem', side === 'cst' ? KEYS.ortona.privateKey : KEYS.regione.privateKey);
        write('api.pem', side === 'cst' ? KEYS.ortonaApi.privateKey : KEYS.regioneApi.privateKey);
        patchConfig(node, (raw) => {
          raw.pdnd = {
            tokenEndpoint: pdnd.tokenEndpoint,
            assertionAudience: pdnd.assertionAudience,
            issuer: pdnd.issuer,
            jwksUrl: pdnd.jwksUrl,
            apiUrl: pdnd.url,
            tracingUrl: pdnd.url,
          };
          const party = raw.parties.find((p: { code: string }) => p.code === (side === 'cst' ? ORTONA : REGIONE));
          party.pdnd =
            side === 'cst'
              ? {
                  tenantId: 'tenant-ortona',
                  clientId: 'comune-ortona',
                  kid: 'kid-ortona',
                  keyFile: 'pdnd/client.pem',
                  api: { clientId: 'comune-ortona-api', kid: 'kid-ortona-api', keyFile: 'pdnd/api.pem' },
                }
              : {
                  tenantId: 'tenant-regione',
                  clientId: 'regione-abruzzo',
                  kid: 'kid-regione',
                  keyFile: 'pdnd/client.pem',
                  api: { clientId: 'regione-abruzzo-api', kid: 'kid-regione-api', keyFile: 'pdnd/api.pem' },
                };
          for (const { cstOnly, ...service } of restApis(api.url, viaProxy())) if (side === 'cst' || !cstOnly) raw.services.push(service);
        });
      }
    },
    { tls: true },
  );
  return {
    ...federation,
    simulator,
    pdnd,
    api,
    close: async () => {
      await federation.close();
      await api.stop();
      await simulator.stop();
    },
  };
}

/** A back office's call through its node's gateway (`/rest/out/…`), as `party`. */
export async function callRest(
  node: DemoNode,
  party: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  opts: { body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; json: () => any }> {
  const dispatcher = clientOf(node);
  const res = await request(`${node.baseUrl}${path}`, {
    ...(dispatcher ? { dispatcher } : {}),
    method,
    headers: { authorization: `Bearer ${node.tokens[party]}`, ...opts.headers },
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

/** A request straight to a node's `/rest/in/…`, as a consumer's own gateway would send it. */
export async function sendRest(
  node: DemoNode,
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string>,
  body?: Uint8Array,
): Promise<{ status: number; json: () => any; headers: Record<string, string | string[] | undefined> }> {
  const dispatcher = clientOf(node);
  const res = await request(`${node.baseUrl}${path}`, {
    ...(dispatcher ? { dispatcher } : {}),
    method,
    headers,
    ...(body !== undefined && body.length > 0 ? { body } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: () => JSON.parse(text) };
}

/** The Comune's own X.509 key and certificate (the CST's dev PKI). */
export function ortonaIdentity(cst: DemoNode): { privateKey: string; certificate: X509Certificate } {
  return {
    privateKey: readFileSync(join(cst.dir, 'pki', 'ComuneOrtona.key.pem'), 'utf8'),
    certificate: new X509Certificate(readFileSync(join(cst.dir, 'pki', 'ComuneOrtona.cert.pem'))),
  };
}

/** A voucher for the Comune's client, straight from the simulator (as a consumer's gateway would get it). */
export async function ortonaVoucher(
  pdnd: PdndSimulatorEndpoints,
  purposeId: string,
  digest?: { alg: 'SHA256'; value: string },
): Promise<string> {
  const client = new PdndVoucherClient({
    tokenEndpoint: pdnd.tokenEndpoint,
    assertionAudience: pdnd.assertionAudience,
    clientId: 'comune-ortona',
    key: { privateKey: KEYS.ortona.privateKey, alg: 'RS256', kid: 'kid-ortona' },
  });
  return (await client.requestVoucher({ purposeId, ...(digest ? { digest } : {}) })).token;
}
