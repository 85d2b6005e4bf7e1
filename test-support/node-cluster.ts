/**
 * The scale-out deployment of issue 18, on loopback: the demo's CST node run as N `tramite start`
 * processes (each with its own empty data dir) behind HAProxy, sharing one PostgreSQL message log and
 * one Redis, and the demo's Regione node as their peer (one process, SQLite log, the same Redis under
 * its own key prefix). The balancer listens on the CST's address, so the Regione sends to it and the
 * CST's back offices call it. PostgreSQL and Redis are this harness's own servers, never the suite's
 * shared ones, because the fault tests restart them. Every process is stopped by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { packageRoot } from '../src/config/package-root.js';
import { settlesWithin } from '../src/core/deadline.js';
import { DaemonError } from '../src/core/errors.js';
import { startChildDaemon, type ChildDaemon } from '../src/daemons/child-daemon.js';
import { freePort } from '../src/daemons/free-port.js';
import { findRedisServer } from '../src/daemons/redis-launcher.js';
import { DemoBackOffice } from '../src/demo/demo-back-office.js';
import { adapterUrlOf, writeDemoFederation, type DemoNode } from '../src/demo/demo-federation.js';
import type { ConfigFileJson } from '../src/demo/run-demo.js';
import { startBalancer, type Balancer } from './haproxy-balancer.js';
import { startPostgres, type PostgresServer } from './postgres-server.js';

/** A oneway service with riscontro the Regione sends to a Comune of the CST: the cluster's inbound direction. */
export const INBOUND_SERVICE = { provider: 'SPC/ComuneFrancavillaAlMare', consumer: 'SPC/RegioneAbruzzo', name: 'SegnalazioneRegione' };

export interface ClusterMember {
  readonly name: string;
  readonly port: number;
  readonly configFile: string;
  readonly dataDir: string;
  /** The current process (undefined while stopped). */
  readonly process: ChildProcess | undefined;
}

export interface NodeCluster {
  readonly dir: string;
  /** The CST as its clients see it: baseUrl is the balancer's. */
  readonly cst: DemoNode;
  readonly regione: DemoNode;
  readonly members: readonly ClusterMember[];
  readonly backOffice: DemoBackOffice;
  readonly balancer: Balancer;
  readonly postgres: PostgresServer;
  readonly redisUrl: string;
  /** The Regione's process. */
  regioneProcess(): ChildProcess | undefined;
  /** The Redis server's pid (changes when it is restarted). */
  redisPid(): number;
  /** Signals member `i`'s process and waits until it has exited (SIGTERM: the node's own graceful stop). */
  stopMember(i: number, signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts member `i` again and waits until it is ready and the balancer sends to it. */
  startMember(i: number): Promise<void>;
  /**
   * Where member `i`'s adapter of `party` serves its API right now (each process's adapters listen on a
   * port of their own, new at each start): asked of the member itself, not through the balancer.
   */
  adapterUrlAt(i: number, party: string, adapter: string): Promise<string>;
  /** Waits until the balancer sees exactly these members up (by index). */
  balancerSees(up: readonly number[]): Promise<void>;
  /** kill -9 of the Redis server, then the same server again (its append-only file kept: at most a second lost). */
  restartRedis(): Promise<void>;
  stop(): Promise<void>;
}

export interface NodeClusterOptions {
  /** How many CST processes. Default 3. */
  readonly processes?: number;
  /** A further patch of both nodes' configuration (the benchmark's, the fault tests'). */
  readonly patchConfig?: (raw: ConfigFileJson, node: 'cst' | 'regione') => void;
  /**
   * Whether the parties run the demo's adapters (default true): the CST's processes each run
   * Francavilla's protocollo and Ortona's ina-saia and siatel adapters, their state shared in
   * PostgreSQL; the Regione its own. The exchange benchmark leaves them out, to measure the bus alone.
   */
  readonly adapters?: boolean;
}

const READY_WITHIN_MS = 120_000; // a loaded 2-core CI machine starts a node slowly
const STOP_WITHIN_MS = 40_000; // beyond node.shutdownTimeoutSeconds (20 s in the demo)

export async function startNodeCluster(root: string, opts: NodeClusterOptions = {}): Promise<NodeCluster> {
  const count = opts.processes ?? 3;
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    const postgres = await startPostgres();
    cleanups.push(() => postgres.stop());
    const redis = await startRedis(join(root, 'redis'));
    cleanups.push(() => redis.stop());
    const backOffice = new DemoBackOffice();
    await backOffice.start();
    cleanups.push(() => backOffice.stop());
    const { cst, regione } = await writeDemoFederation(root, (party) => backOffice.urlFor(party), { plainHttp: true });
    for (const n of [
      { node: cst, name: 'cst' as const },
      { node: regione, name: 'regione' as const },
    ]) {
      const raw = JSON.parse(readFileSync(n.node.configFile, 'utf8')) as ConfigFileJson;
      clusterConfig(raw, redis.url(), opts.adapters ?? true);
      if (n.name === 'cst') raw['log'] = { ...raw['log'], store: 'postgres', postgresUrl: postgres.url };
      opts.patchConfig?.(raw, n.name);
      writeFileSync(n.node.configFile, `${JSON.stringify(raw, null, 2)}\n`);
    }
    // Each process: its own port and its own empty data dir, everything else as the CST's configuration says.
    const cstRaw = JSON.parse(readFileSync(cst.configFile, 'utf8')) as ConfigFileJson;
    const members: Array<ClusterMember & { process: ChildProcess | undefined }> = [];
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const dataDir = `data-${i + 1}`;
      const configFile = join(cst.dir, `tramite-${i + 1}.json`);
      writeFileSync(
        configFile,
        `${JSON.stringify({ ...cstRaw, node: { ...cstRaw['node'], dataDir, listen: { ...cstRaw['node']['listen'], port } } }, null, 2)}\n`,
      );
      mkdirSync(join(cst.dir, dataDir));
      members.push({ name: `cst-${i + 1}`, port, configFile, dataDir: join(cst.dir, dataDir), process: undefined });
    }
    const balancer = await startBalancer({ port: Number(new URL(cst.baseUrl).port), servers: members });
    cleanups.push(() => balancer.stop());
    const regioneNode = { port: Number(new URL(regione.baseUrl).port), configFile: regione.configFile, dataDir: join(regione.dir, 'data') };
    let regioneProcess: ChildProcess | undefined;
    cleanups.push(async () => {
      await Promise.all([...members.map((m) => stopProcess(m.process, 'SIGTERM')), stopProcess(regioneProcess, 'SIGTERM')]);
    });
    regioneProcess = spawnNode(regioneNode.configFile, join(regione.dir, 'stdout.log'));
    for (const m of members) m.process = spawnNode(m.configFile, join(m.dataDir, '..', `stdout-${m.name}.log`));
    await Promise.all([
      waitReady(regioneNode.port, regioneProcess, regione.dir),
      ...members.map((m) => waitReady(m.port, m.process!, cst.dir)),
    ]);
    const balancerSees = (up: readonly number[]) =>
      until(
        async () => {
          const states = await balancer.serverStates();
          return members.every((m, i) => (states[m.name] === 'UP') === up.includes(i));
        },
        `the balancer to see ${up.map((i) => members[i]!.name).join(', ') || 'no member'} up`,
      );
    await balancerSees(members.map((_, i) => i));
    return {
      dir: root,
      cst,
      regione,
      members,
      backOffice,
      balancer,
      postgres,
      redisUrl: redis.url(),
      regioneProcess: () => regioneProcess,
      redisPid: () => redis.pid(),
      stopMember: async (i, signal) => {
        const m = members[i]!;
        await stopProcess(m.process, signal);
        m.process = undefined;
      },
      startMember: async (i) => {
        const m = members[i]!;
        m.process = spawnNode(m.configFile, join(m.dataDir, '..', `stdout-${m.name}.log`));
        await waitReady(m.port, m.process, cst.dir);
        await until(async () => (await balancer.serverStates())[m.name] === 'UP', `the balancer to send to ${m.name}`);
      },
      adapterUrlAt: (i, party, adapter) =>
        adapterUrlOf({ baseUrl: `http://127.0.0.1:${members[i]!.port}`, operatorToken: cst.operatorToken }, party, adapter),
      balancerSees,
      restartRedis: () => redis.restart(),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * What every node of the cluster runs: the demo's adapters unless left out (their stores are in the
 * CST's PostgreSQL, shared by its processes), no abuse limits, the shared Redis.
 */
function clusterConfig(raw: ConfigFileJson, redisUrl: string, adapters: boolean): void {
  if (!adapters) for (const p of raw['parties'] as ConfigFileJson[]) delete p['adapters'];
  raw['node']['http'] = { ...raw['node']['http'], rateLimits: { api: { max: 10_000_000 }, envelope: { max: 10_000_000 } } };
  // Retries that outlast a restart of PostgreSQL or of every process on a slow machine (the demo's give up after ~80 s),
  // at most 5 s apart: the tests wait for delivery after a fault, not for a backoff grown to minutes during it.
  raw['queue'] = {
    ...raw['queue'],
    redisUrl,
    reconcileEverySeconds: 2,
    retry: { ...raw['queue']['retry'], maxAttempts: 300, maxDelayMs: 5_000 },
  };
  (raw['services'] as ConfigFileJson[]).push({
    provider: INBOUND_SERVICE.provider,
    name: INBOUND_SERVICE.name,
    tipo: 'SPC',
    profile: 'oneway',
    envelope: 'egov',
    confermaRicezione: true,
    inoltro: 'EGOV_IT_ALPIUUNAVOLTA',
    consumers: [INBOUND_SERVICE.consumer],
  });
}

function spawnNode(configFile: string, outFile: string): ChildProcess {
  const cli = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
  const out = openSync(outFile, 'a');
  // The harness's own servers, never one the environment names (the suite's shared Redis or PostgreSQL).
  const env = { ...process.env };
  delete env['TRAMITE_REDIS_URL'];
  delete env['TRAMITE_LOG_POSTGRES_URL'];
  return spawn(process.execPath, [cli, 'start', '--config', configFile], { stdio: ['ignore', out, out], env });
}

async function waitReady(port: number, child: ChildProcess, dir: string): Promise<void> {
  await until(async () => {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new DaemonError(
        'TRAMITE_ERR_DAEMON_START',
        `a node on port ${port} exited (${child.exitCode ?? child.signalCode}); see ${dir}`,
      );
    try {
      const res = await request(`http://127.0.0.1:${port}/health/ready`);
      await res.body.dump();
      return res.statusCode === 200;
    } catch {
      return false; // not listening yet
    }
  }, `the node on port ${port} to be ready (see ${dir})`);
}

async function stopProcess(child: ChildProcess | undefined, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  if (await settlesWithin(exited, STOP_WITHIN_MS)) return;
  child.kill('SIGKILL');
  await exited;
}

async function until(check: () => Promise<boolean>, what: string, withinMs = READY_WITHIN_MS): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new DaemonError('TRAMITE_ERR_DAEMON_START', `gave up waiting for ${what} after ${withinMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The cluster's Redis on a fixed port, with its append-only file (fsynced every second) in `dir`, restartable. */
async function startRedis(dir: string): Promise<{ url(): string; pid(): number; restart(): Promise<void>; stop(): Promise<void> }> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const launch = (): Promise<ChildDaemon> =>
    startChildDaemon({
      name: 'redis-server',
      command: () => ({
        command: findRedisServer({ install: false }),
        args: [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--appendonly',
          'yes',
          '--appendfsync',
          'everysec',
          '--save',
          '',
        ],
        ready: { kind: 'port', port },
      }),
    });
  let server = await launch();
  return {
    url: () => `redis://127.0.0.1:${port}`,
    pid: () => server.pid,
    restart: async () => {
      server.kill('SIGKILL');
      await server.exited;
      await server.stop();
      server = await launch();
    },
    stop: () => server.stop(),
  };
}
