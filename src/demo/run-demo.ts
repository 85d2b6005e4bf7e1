import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { packageRoot } from '../config/package-root.js';
import { DemoBackOffice } from './demo-back-office.js';
import { writeDemoFederation, type DemoNode } from './demo-federation.js';
import { runScenarios, type ExchangeReport, type NodeControl } from './demo-scenarios.js';

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
  stop(): Promise<void>;
}


/**
 * Starts the demo federation as a process tree: each node is a child `tramite start` process on
 * 127.0.0.1, and this process hosts the parties' back offices.
 */
export async function startDemo(dir?: string, patchConfig?: (raw: Record<string, any>) => void): Promise<RunningDemo> {
  const root = resolve(dir ?? mkdtempSync(join(tmpdir(), 'tramite-demo-')));
  const backOffice = new DemoBackOffice();
  await backOffice.start();
  const nodes = await writeDemoFederation(root, (party) => backOffice.urlFor(party));
  if (patchConfig) {
    for (const n of [nodes.cst, nodes.regione]) {
      const raw = JSON.parse(readFileSync(n.configFile, 'utf8')) as Record<string, any>;
      patchConfig(raw);
      writeFileSync(n.configFile, JSON.stringify(raw, null, 2));
    }
  }
  const children: Record<'cst' | 'regione', ChildProcess> = { cst: startNodeProcess(nodes.cst), regione: startNodeProcess(nodes.regione) };
  const stop = async () => {
    await Promise.all(Object.values(children).map((c) => stopChild(c)));
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
  return { dir: root, nodes, backOffice, control, stop };
}

export async function runDemoOnce(dir?: string): Promise<DemoSummary> {
  const demo = await startDemo(dir);
  try {
    const exchanges = await runScenarios(demo.nodes, demo.backOffice, demo.control);
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
  const until = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`node ${n.name} exited with code ${child.exitCode}; see ${join(n.dir, 'stdout.log')}`);
    try {
      const res = await request(`${n.baseUrl}/health`);
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`node ${n.name} did not become healthy within 20 s; see ${join(n.dir, 'stdout.log')}`);
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
