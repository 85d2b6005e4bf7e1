import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ConfigFile, ConfigFileService } from '../config/config-types.js';
import { TramiteError } from '../core/errors.js';
import { Agent, request } from 'undici';
import { createDevPki, createDevTlsCertificate, devCaFiles, devTlsFiles } from '../crypto/dev-pki.js';
import { hashToken } from '../core/token-hash.js';
import { freePort } from '../daemons/free-port.js';
import {
  DEMO_REST,
  demoPartyPdnd,
  demoPdndSettings,
  demoRestServices,
  hasDemoPdnd,
  writeDemoPdndRegistry,
  type DemoPdnd,
} from './demo-rest-federation.js';
import { DEMO_COMPETENCE, demoCompetenceServices, writeDemoCompetence } from './demo-competence.js';

/** One node of the demo federation, as written to disk. */
export interface DemoNode {
  readonly name: string;
  readonly dir: string;
  readonly configFile: string;
  /** https://127.0.0.1:PORT, or http:// when the federation was written with plainHttp. */
  readonly baseUrl: string;
  /** The CA of the node's TLS certificate (its dev CA): what a client of baseUrl trusts. */
  readonly caFile: string;
  readonly logFile: string;
  /** The node's message log (SQLite). */
  readonly messageLog: string;
  /** Back-office token of each hosted party (plain: the demo is their back office). */
  readonly tokens: Readonly<Record<string, string>>;
  /** The auditor API token. */
  readonly auditorToken: string;
  /** The operator token: GET /health's details. */
  readonly operatorToken: string;
}

/** The adapters each demo party runs: AOO with protocollo, the registries' simulators, a Comune's registry clients. */
function demoAdapters(code: string, backOfficeUrl: (party: string) => string): Array<{ use: string; options: Record<string, unknown> }> {
  const adapters: Array<{ use: string; options: Record<string, unknown> }> = [];
  if (DEMO_AOO[code])
    adapters.push({
      use: 'protocollo',
      options: {
        aoo: DEMO_AOO[code],
        listen: { host: '127.0.0.1', port: 0 },
        backOffice: { url: backOfficeUrl(code).replace('/inbox/', '/protocollo/') },
      },
    });
  if (code === 'SPC/INA') adapters.push({ use: 'ina-simulator', options: {} });
  // The bulk demo sends 1,000 queries: the simulator skips its per-request XSD check (tens of ms each).
  if (code === 'SPC/AgenziaEntrate') adapters.push({ use: 'siatel-simulator', options: { clockFactor: DEMO_SIATEL_CLOCK_FACTOR } });
  if (code === DEMO_REGISTRY_COMUNE.party) {
    adapters.push({
      use: 'ina-saia',
      options: {
        comune: { codice: DEMO_REGISTRY_COMUNE.belfiore },
        ina: { party: 'SPC/INA', service: 'ComunicazioneINA' },
        listen: { host: '127.0.0.1', port: 0 },
      },
    });
    adapters.push({
      use: 'siatel',
      options: {
        siatel: { party: 'SPC/AgenziaEntrate', service: 'InterrogazioneSIATEL' },
        listen: { host: '127.0.0.1', port: 0 },
        clockFactor: DEMO_SIATEL_CLOCK_FACTOR,
      },
    });
  }
  return adapters;
}

/** The adapters GET /health lists in its details (the operator's view). */
async function healthAdapters(
  node: Pick<DemoNode, 'baseUrl' | 'operatorToken'>,
): Promise<Array<{ party: string; adapter: string; detail?: string }>> {
  const res = await request(`${node.baseUrl}/health`, { headers: { authorization: `Bearer ${node.operatorToken}` } });
  const health = (await res.body.json()) as { adapters?: Array<{ party: string; adapter: string; detail?: string }> };
  return health.adapters ?? [];
}

/** Where an adapter of `party` serves its API (the first address in its /health detail). */
export async function adapterUrlOf(node: Pick<DemoNode, 'baseUrl' | 'operatorToken'>, party: string, adapter: string): Promise<string> {
  const url = (await healthAdapters(node)).find((a) => a.party === party && a.adapter === adapter)?.detail?.split(/[ ,]/)[0];
  if (!url || !/^https?:\/\//.test(url))
    throw new TramiteError('TRAMITE_ERR_DEMO_FAILED', `${party} runs no ${adapter} adapter with an API at ${node.baseUrl}`);
  return url;
}

/**
 * Where a party's protocollo adapter serves its back-office API: it listens on any free port (no port
 * chosen in advance can be taken meanwhile by another socket), and /health tells which.
 */
export async function protocolloUrlOf(node: Pick<DemoNode, 'baseUrl' | 'operatorToken'>, party: string): Promise<string> {
  // The detail lists the back-office API first, then the SOAP interfaces when the AOO has them.
  const url = (await healthAdapters(node)).find((a) => a.party === party && a.adapter === 'protocollo')?.detail?.split(' ')[0];
  if (!url) throw new TramiteError('TRAMITE_ERR_DEMO_FAILED', `${party} runs no protocollo adapter at ${node.baseUrl}`);
  return url;
}

/** The AOO of each party that runs the protocollo adapter in the demo (IPA-style codes, invented). */
export const DEMO_AOO: Readonly<
  Record<string, { codiceAmministrazione: string; codiceAOO: string; codiceRegistro: string; denominazione: string }>
> = {
  'SPC/ComuneFrancavillaAlMare': {
    codiceAmministrazione: 'c_d763',
    codiceAOO: 'AOO_FRANCAVILLA',
    codiceRegistro: 'PROT',
    denominazione: 'Comune di Francavilla al Mare',
  },
  'SPC/RegioneAbruzzo': {
    codiceAmministrazione: 'r_abruzz',
    codiceAOO: 'AOO_GIUNTA',
    codiceRegistro: 'RG',
    denominazione: 'Regione Abruzzo',
  },
};

export const CST = { name: 'cst-chieti', soggetto: 'CSTChieti', parties: ['SPC/ComuneFrancavillaAlMare', 'SPC/ComuneOrtona'] } as const;
/** The Regione node also hosts, for the demo, the national registries' parties with their simulators. */
export const REGIONE = {
  name: 'regione-abruzzo',
  soggetto: 'RegioneAbruzzo',
  parties: ['SPC/RegioneAbruzzo', 'SPC/INA', 'SPC/AgenziaEntrate'],
} as const;

/** The demo's SIATEL clock runs this many times faster (4 hours a second): the limits logic is the same. */
export const DEMO_SIATEL_CLOCK_FACTOR = 14_400;

/** The Comune that talks to the national registries in the demo, and its Belfiore code. */
export const DEMO_REGISTRY_COMUNE = { party: 'SPC/ComuneOrtona', belfiore: 'G141' } as const;

const COMUNI = [...CST.parties];

/** The services of the federation. `cstOnly` ones are in the CST's registry but no longer offered. */
/** A sincrono service every Comune may call: answered in the same exchange, no riscontro, retried freely. */
function sincronoForComuni(provider: string, name: string, envelope: 'egov' | 'modi'): ConfigFileService {
  return {
    provider,
    name,
    tipo: 'SPC',
    profile: 'sincrono',
    envelope,
    confermaRicezione: false,
    inoltro: 'EGOV_IT_PIUDIUNAVOLTA',
    consumers: COMUNI,
  };
}

const SERVICES: Array<ConfigFileService & { cstOnly?: boolean }> = [
  {
    provider: 'SPC/RegioneAbruzzo',
    name: 'ComunicazioneVariazione',
    tipo: 'SPC',
    actions: ['Notifica'],
    profile: 'oneway',
    envelope: 'egov',
    confermaRicezione: true,
    inoltro: 'EGOV_IT_ALPIUUNAVOLTA',
    expirySeconds: 86400,
    consumers: COMUNI,
  },
  sincronoForComuni('SPC/RegioneAbruzzo', 'VerificaResidenza', 'egov'),
  sincronoForComuni('SPC/RegioneAbruzzo', 'ConsultaAnagrafe', 'modi'),
  {
    provider: 'SPC/ComuneFrancavillaAlMare',
    name: 'AvvisoScadenza',
    tipo: 'SPC',
    profile: 'oneway',
    envelope: 'egov',
    confermaRicezione: false,
    inoltro: 'EGOV_IT_PIUDIUNAVOLTA',
  },
  // Asincrono simmetrico: the Regione answers a Comune's request later, on the Comune's EsitoPratica.
  {
    provider: 'SPC/RegioneAbruzzo',
    name: 'RichiestaContributo',
    tipo: 'SPC',
    profile: 'asincronoSimmetrico',
    correlatedService: 'EsitoPratica',
    envelope: 'egov',
    confermaRicezione: false,
    inoltro: 'EGOV_IT_PIUDIUNAVOLTA',
    consumers: COMUNI,
  },
  ...COMUNI.map((c): ConfigFileService => ({
    provider: c,
    name: 'EsitoPratica',
    tipo: 'SPC',
    profile: 'asincronoSimmetrico',
    envelope: 'egov',
    confermaRicezione: false,
    inoltro: 'EGOV_IT_PIUDIUNAVOLTA',
    consumers: ['SPC/RegioneAbruzzo'],
  })),
  // Asincrono asimmetrico: the Comune asks, then polls (richiesta stato) until the result is there.
  {
    provider: 'SPC/RegioneAbruzzo',
    name: 'CertificatoStorico',
    tipo: 'SPC',
    profile: 'asincronoAsimmetrico',
    envelope: 'egov',
    confermaRicezione: false,
    inoltro: 'EGOV_IT_PIUDIUNAVOLTA',
    consumers: COMUNI,
  },
  {
    provider: 'SPC/RegioneAbruzzo',
    name: 'CertificatoStoricoModI',
    tipo: 'SPC',
    profile: 'asincronoAsimmetrico',
    envelope: 'modi',
    confermaRicezione: false,
    inoltro: 'EGOV_IT_PIUDIUNAVOLTA',
    consumers: COMUNI,
  },
  // Protocollo interoperabile between the two AOO: each provides the service (inoltro one way, answers the other).
  ...Object.keys(DEMO_AOO).map((p): ConfigFileService => ({
    provider: p,
    name: 'ProtocolloInteroperabile',
    tipo: 'SPC',
    actions: ['MessaggioInoltro', 'ConfermaRicezione', 'NotificaEccezione', 'AnnullamentoProtocollazione'],
    profile: 'oneway',
    envelope: 'egov',
    confermaRicezione: true,
    inoltro: 'EGOV_IT_ALPIUUNAVOLTA',
    consumers: Object.keys(DEMO_AOO).filter((o) => o !== p),
  })),
  // The national registries (simulated): INA-SAIA communications and SIATEL queries, both sincrono.
  sincronoForComuni('SPC/INA', 'ComunicazioneINA', 'egov'),
  sincronoForComuni('SPC/AgenziaEntrate', 'InterrogazioneSIATEL', 'egov'),
  {
    provider: 'SPC/RegioneAbruzzo',
    name: 'ServizioDismesso',
    tipo: 'SPC',
    profile: 'oneway',
    envelope: 'egov',
    confermaRicezione: true,
    inoltro: 'EGOV_IT_ALPIUUNAVOLTA',
    cstOnly: true,
  },
];

/**
 * Writes a two-node federation under `root`: a CST node hosting two Comuni and a Regione node,
 * each with its own dev CA, trusting the other's CA for the other's parties only, and back
 * offices at `backOfficeUrl(party)`. With `rest`, also the REST pieces (demo-rest-federation.ts): the
 * Regione's `anagrafe` API (upstream `rest.upstreamUrl`), PDND settings, the parties' PDND clients and
 * keys, and the registry of the simulated PDND (`pdnd`, to start at its port). With `competence`, also
 * routing by competence (demo-competence.ts): the CST's portal, the Provincia, a Comune on the Regione's
 * node, their PraticaSUAP service and the CST's competence table.
 */
export async function writeDemoFederation(
  root: string,
  backOfficeUrl: (party: string) => string,
  opts: { readonly plainHttp?: boolean; readonly rest?: { readonly upstreamUrl: string }; readonly competence?: boolean } = {},
): Promise<{ cst: DemoNode; regione: DemoNode; pdnd?: DemoPdnd }> {
  // The node configs name each other's URLs (and the simulated PDND's), so ports are chosen up front.
  const [cstPort, regPort] = [await freePort(), await freePort()];
  let pdnd: DemoPdnd | undefined;
  if (opts.rest) {
    const port = await freePort();
    const registryFile = join(root, 'pdnd-simulator', 'registry.json');
    mkdirSync(join(root, 'pdnd-simulator'), { recursive: true });
    const nodeOf = (party: string) => join(root, (CST.parties as readonly string[]).includes(party) ? CST.name : REGIONE.name);
    writeDemoPdndRegistry(registryFile, nodeOf);
    pdnd = {
      registryFile,
      port,
      url: `http://127.0.0.1:${port}`,
      issuer: DEMO_REST.issuer,
      assertionAudience: DEMO_REST.assertionAudience,
    };
  }
  // With competence, the portal and the Provincia on the CST, and a Comune hosted by the Regione's node (demo-competence.ts).
  const cst = { ...CST, parties: [...CST.parties, ...(opts.competence ? DEMO_COMPETENCE.parties.cst : [])] };
  const regione = { ...REGIONE, parties: [...REGIONE.parties, ...(opts.competence ? DEMO_COMPETENCE.parties.regione : [])] };
  const spec = [
    { ...cst, port: cstPort, peer: { ...regione, port: regPort } },
    { ...regione, port: regPort, peer: { ...cst, port: cstPort } },
  ];
  for (const s of spec) {
    createDevPki({ dir: join(root, s.name, 'pki'), parties: [...s.parties] });
    if (!opts.plainHttp) createDevTlsCertificate({ dir: join(root, s.name, 'pki'), commonName: s.name, hosts: ['127.0.0.1'] });
  }
  // Over TLS each node knows the other by its TLS certificate (mutual TLS), pinned by fingerprint.
  const tlsFingerprint = (name: string): string =>
    new X509Certificate(readFileSync(devTlsFiles(join(root, name, 'pki')).certFile)).fingerprint256;
  const scheme = opts.plainHttp ? 'http' : 'https';
  const nodes = spec.map((s) => {
    const dir = join(root, s.name);
    mkdirSync(dir, { recursive: true });
    const tokens: Record<string, string> = {};
    const auditorToken = randomBytes(24).toString('base64url');
    const operatorToken = randomBytes(24).toString('base64url');
    const config: ConfigFile = {
      node: {
        name: s.name,
        soggetto: s.soggetto,
        pdd: `${s.soggetto}SPCoopIT`,
        dataDir: 'data',
        listen: opts.plainHttp
          ? { host: '127.0.0.1', port: s.port, plainHttp: true }
          : {
              host: '127.0.0.1',
              port: s.port,
              plainHttp: false,
              tls: {
                certFile: 'pki/tls.cert.pem',
                keyFile: 'pki/tls.key.pem',
                clientCaFiles: [relative(dir, join(root, s.peer.name, 'pki', 'ca.cert.pem'))],
                requestCert: true,
                requireClientCert: false,
              },
            },
        limits: {} as ConfigFile['node']['limits'], // the loader fills in the defaults (docs/security.md)
        http: {} as ConfigFile['node']['http'], // the loader fills in the defaults
        verification: { queue: 32 },
        clockSkewSeconds: 5,
        timestampMaxAgeSeconds: 300,
        shutdownTimeoutSeconds: 20,
        operatorTokens: [hashToken(operatorToken)],
        metrics: { public: false },
        console: {} as ConfigFile['node']['console'], // the loader fills in the defaults
        // A local federation of simulators and demo back offices: development nodes.
        development: true,
      },
      trust: { caFiles: ['pki/ca.cert.pem'] },
      parties: s.parties.map((code) => {
        const token = randomBytes(24).toString('base64url');
        tokens[code] = token;
        const nome = code.split('/')[1]!;
        return {
          code,
          keyFile: `pki/${nome}.key.pem`,
          certFile: `pki/${nome}.cert.pem`,
          apiTokens: [hashToken(token)],
          backOffice: { url: backOfficeUrl(code) },
          ...(demoAdapters(code, backOfficeUrl).length > 0 ? { adapters: demoAdapters(code, backOfficeUrl) } : {}),
          ...(pdnd && hasDemoPdnd(code) ? { pdnd: demoPartyPdnd(code) } : {}),
        };
      }),
      peers: [
        {
          name: s.peer.name,
          url: `${scheme}://127.0.0.1:${s.peer.port}/tramite/envelope`,
          parties: [...s.peer.parties],
          caFile: relative(dir, join(root, s.peer.name, 'pki', 'ca.cert.pem')),
          ...(opts.plainHttp
            ? {}
            : {
                tls: {
                  caFile: relative(dir, join(root, s.peer.name, 'pki', 'ca.cert.pem')),
                  clientCertificates: [{ fingerprint256: tlsFingerprint(s.peer.name) }],
                },
              }),
        },
      ],
      log: {
        store: 'sqlite',
        sqliteFile: 'message-log.sqlite',
        maxExportRecords: 100_000,
        checkpointEveryRecords: 100,
        checkpointEverySeconds: 60,
        auditorTokens: [hashToken(auditorToken)],
      },
      // Short retries: the demo shows a peer coming back within seconds, not minutes.
      queue: { concurrency: 8, reconcileEverySeconds: 60, retry: { initialDelayMs: 250, factor: 2, maxDelayMs: 2000, maxAttempts: 40 } },
      alarms: {} as ConfigFile['alarms'], // defaults filled in by the loader
      services: [
        ...SERVICES.filter((svc) => !(svc.cstOnly && s.name === REGIONE.name)).map(({ cstOnly: _drop, ...svc }) => svc),
        ...(opts.rest ? demoRestServices(opts.rest.upstreamUrl) : []),
        ...(opts.competence ? demoCompetenceServices() : []),
      ],
      ...(pdnd ? { pdnd: demoPdndSettings(pdnd) } : {}),
      ...(opts.competence && s.name === CST.name ? { competence: writeDemoCompetence(dir) } : {}),
    };
    const configFile = join(dir, 'tramite.json');
    writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
    return {
      name: s.name,
      dir,
      configFile,
      baseUrl: `${scheme}://127.0.0.1:${s.port}`,
      caFile: devCaFiles(join(dir, 'pki')).certFile,
      logFile: join(dir, 'data', 'tramite.log'),
      messageLog: join(dir, 'data', 'message-log.sqlite'),
      tokens,
      auditorToken,
      operatorToken,
    };
  });
  return { cst: nodes[0]!, regione: nodes[1]!, ...(pdnd ? { pdnd } : {}) };
}

/**
 * A dispatcher for the demo's own clients (its back offices, the checks): it trusts the nodes' dev CAs
 * for their https:// base URLs, and nothing else; plain http (adapters' APIs) is unaffected.
 */
export function demoClientAgent(nodes: { cst: DemoNode; regione: DemoNode }): Agent {
  return new Agent({ connect: { ca: [nodes.cst, nodes.regione].map((n) => readFileSync(n.caFile, 'utf8')) } });
}
