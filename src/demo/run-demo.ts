import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request, setGlobalDispatcher } from 'undici';
import { packageRoot } from '../config/package-root.js';
import { TramiteError } from '../core/errors.js';
import { DemoBackOffice } from './demo-back-office.js';
import { demoClientAgent, writeDemoFederation, type DemoNode } from './demo-federation.js';
import { runScenarios, type ExchangeReport, type NodeControl } from './demo-scenarios.js';
import { dovecotMissing } from '../daemons/dovecot/dovecot-server.js';
import { startPecProviderStack, type RunningPecProvider } from '../pec-provider/pec-provider-stack.js';
import { PdndSimulator } from '../pdnd-simulator/pdnd-simulator.js';
import { loadSimulatorRegistry } from '../pdnd-simulator/simulator-registry.js';
import { DemoRestApi } from './demo-rest-api.js';
import type { DemoRestWorld } from './rest-scenarios.js';

/** The demo's PEC world: the Comune's mailbox and a citizen's, at one simulated provider. */
export const DEMO_PEC = {
  party: 'SPC/ComuneFrancavillaAlMare',
  comune: { address: 'protocollo@pec.comune-francavilla.example', password: 'demo-pec-comune' },
  cittadino: { address: 'mario.rossi@pec.cittadini.example', password: 'demo-pec-cittadino' },
  domains: ['pec.comune-francavilla.example', 'pec.cittadini.example'],
} as const;

export interface DemoSummary {
  readonly exchanges: ExchangeReport[];
  /** Each node's message log (SQLite): `tramite log verify --db PATH` checks it. */
  readonly logs: string[];
}

export interface RunningDemo {
  readonly dir: string;
  readonly nodes: { cst: DemoNode; regione: DemoNode };
  readonly backOffice: DemoBackOffice;
  /** Stops one node's process (as an outage would) and starts it again. */
  readonly control: NodeControl;
  /** A node's current process (`tramite start`), for tests that signal it themselves. */
  processOf(name: 'cst' | 'regione'): ChildProcess;
  /** The REST pieces when the demo runs with them: the Regione's REST API (its back office) and the simulated PDND. */
  readonly rest?: DemoRestWorld;
  /** The simulated PEC provider, when the demo runs with PEC; else why not. */
  readonly pec: { readonly provider: RunningPecProvider } | { readonly provider?: undefined; readonly unavailable: string };
  stop(): Promise<void>;
}

/**
 * A node's configuration file as parsed JSON, for callers that patch it before the node starts. Loose on
 * purpose: the node's loader checks it against schemas/config.schema.json when it starts.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- patches reach into nested fields freely; the schema check follows
export type ConfigFileJson = Record<string, any>;

/**
 * Starts the demo federation as a process tree: each node is a child `tramite start` process on
 * 127.0.0.1, and this process hosts the parties' back offices — with `rest`, also the Regione's REST API
 * and the simulated PDND both nodes use.
 */
export async function startDemo(
  dir?: string,
  patchConfig?: (raw: ConfigFileJson) => void,
  opts: { pec?: boolean; plainHttp?: boolean; rest?: boolean; competence?: boolean } = {},
): Promise<RunningDemo> {
  const root = resolve(dir ?? mkdtempSync(join(tmpdir(), 'tramite-demo-')));
  const backOffice = new DemoBackOffice();
  await backOffice.start();
  const restApi = opts.rest ? new DemoRestApi() : undefined;
  await restApi?.start();
  // Mutual TLS between the nodes unless asked otherwise; this process (their back offices' client) trusts their dev CAs.
  const { pdnd, ...nodes } = await writeDemoFederation(root, (party) => backOffice.urlFor(party), {
    plainHttp: opts.plainHttp ?? false,
    ...(restApi ? { rest: { upstreamUrl: restApi.url } } : {}),
    ...(opts.competence ? { competence: true } : {}),
  });
  // In this process, as the back offices are: the nodes talk to it over HTTP exactly as to PDND.
  const simulator = pdnd
    ? new PdndSimulator({
        registry: loadSimulatorRegistry(pdnd.registryFile),
        port: pdnd.port,
        issuer: pdnd.issuer,
        assertionAudience: pdnd.assertionAudience,
        dataDir: join(root, 'pdnd-simulator', 'data'),
      })
    : undefined;
  const pdndEndpoints = await simulator?.start();
  if (!opts.plainHttp) setGlobalDispatcher(demoClientAgent(nodes));
  const missing = opts.pec ? dovecotMissing() : 'not asked for';
  const provider = missing === undefined ? await startDemoPec(root, nodes.cst) : undefined;
  if (patchConfig) {
    for (const n of [nodes.cst, nodes.regione]) {
      const raw = JSON.parse(readFileSync(n.configFile, 'utf8')) as ConfigFileJson;
      patchConfig(raw);
      writeFileSync(n.configFile, JSON.stringify(raw, null, 2));
    }
  }
  const children: Record<'cst' | 'regione', ChildProcess> = { cst: startNodeProcess(nodes.cst), regione: startNodeProcess(nodes.regione) };
  const stop = async () => {
    await Promise.all(Object.values(children).map((c) => stopChild(c)));
    await provider?.stop();
    await simulator?.stop();
    await restApi?.stop();
    await backOffice.stop();
  };
  const control: NodeControl = {
    stopNode: (name, signal = 'SIGTERM') => stopChild(children[name], signal),
    startNode: async (name) => {
      children[name] = startNodeProcess(nodes[name]);
      await waitHealthy(nodes[name], children[name]);
    },
  };
  try {
    await Promise.all((['cst', 'regione'] as const).map((name) => waitHealthy(nodes[name], children[name])));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    dir: root,
    nodes,
    backOffice,
    control,
    processOf: (name) => children[name],
    ...(restApi && simulator && pdndEndpoints ? { rest: { api: restApi, simulator, pdnd: pdndEndpoints } } : {}),
    pec: provider ? { provider } : { unavailable: missing! },
    stop,
  };
}

/**
 * Starts the simulated PEC provider (a private Dovecot for the mailboxes, SMTP in front) and gives the
 * Comune a PEC adapter on it, with the services its back office uses (InvioPEC; RicevutaPEC and
 * MessaggioPEC come back to it). Receipts that time out (12/24 h) are shortened to seconds.
 */
async function startDemoPec(root: string, cst: DemoNode): Promise<RunningPecProvider> {
  const provider = await startPecProviderStack({
    dir: join(root, 'pec-provider'),
    domains: DEMO_PEC.domains,
    mailboxes: [DEMO_PEC.comune, DEMO_PEC.cittadino],
    timeouts: { warnAfterMs: 5_000, failAfterMs: 10_000 },
  });
  const passwordFile = join(cst.dir, 'pec.password');
  writeFileSync(passwordFile, DEMO_PEC.comune.password, { mode: 0o600 });
  const raw = JSON.parse(readFileSync(cst.configFile, 'utf8')) as Record<string, unknown>;
  const party = (raw['parties'] as Array<Record<string, unknown>>).find((p) => p['code'] === DEMO_PEC.party)!;
  party['adapters'] = [
    ...((party['adapters'] as unknown[] | undefined) ?? []),
    {
      use: 'pec',
      options: {
        address: DEMO_PEC.comune.address,
        smtp: { host: provider.smtp.host, port: provider.smtp.port, user: DEMO_PEC.comune.address, passwordFile },
        imap: { host: provider.imap.host, port: provider.imap.port, requireTLS: false, user: DEMO_PEC.comune.address, passwordFile },
        tls: { caFile: provider.smtpTlsCertFile },
        providerCaFiles: [provider.caCertFile],
        pollMs: 250,
      },
    },
  ];
  for (const name of ['InvioPEC', 'RicevutaPEC', 'MessaggioPEC'])
    (raw['services'] as unknown[]).push({ provider: DEMO_PEC.party, name, profile: 'oneway', consumers: [DEMO_PEC.party] });
  writeFileSync(cst.configFile, JSON.stringify(raw, null, 2));
  return provider;
}

export async function runDemoOnce(dir?: string): Promise<DemoSummary> {
  const demo = await startDemo(dir, undefined, { pec: true, rest: true, competence: true });
  try {
    const exchanges = await runScenarios(demo.nodes, demo.backOffice, demo.control, demo.pec, demo.rest);
    return { exchanges, logs: [demo.nodes.cst.messageLog, demo.nodes.regione.messageLog] };
  } finally {
    await demo.stop();
  }
}

function startNodeProcess(n: DemoNode): ChildProcess {
  // The compiled CLI, also when this module runs from its TypeScript source (tests).
  const cli = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
  const out = openSync(join(n.dir, 'stdout.log'), 'a');
  return spawn(process.execPath, [cli, 'start', '--config', n.configFile], { stdio: ['ignore', out, out], env: { ...process.env } });
}

async function waitHealthy(n: DemoNode, child: ChildProcess): Promise<void> {
  const until = Date.now() + 60_000; // generous: a loaded CI machine starts a node (and its Redis) slowly
  for (;;) {
    if (child.exitCode !== null)
      throw new TramiteError(
        'TRAMITE_ERR_DEMO_FAILED',
        `node ${n.name} exited with code ${child.exitCode}; see ${join(n.dir, 'stdout.log')}`,
      );
    try {
      const res = await request(`${n.baseUrl}/health`);
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until)
      throw new TramiteError(
        'TRAMITE_ERR_DEMO_FAILED',
        `node ${n.name} did not become healthy within 60 s; see ${join(n.dir, 'stdout.log')}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopChild(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolveStop) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill(signal);
  });
}
