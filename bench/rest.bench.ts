/**
 * REST gateway benchmark: calls/s through two node PROCESSES beside the same calls made straight to the API.
 * The demo federation (a CST node hosting ComuneOrtona, a Regione node hosting RegioneAbruzzo, each a
 * `tramite start` child over mutual TLS), a PDND simulator and the Regione's DemoRestApi (both in this
 * process), and one REST API, anagrafe, with ID_AUTH_REST_02 + INTEGRITY_REST_01 and a PDND voucher.
 *
 *   npm run bench:rest                                  # human table
 *   npm run bench:rest -- --json                        # one JSON object on stdout
 *   npm run bench:rest -- --concurrency 32 --seconds 10 --warmup-seconds 2
 *   npm run bench:rest -- --cpu-prof DIR                # V8 CPU profiles of both nodes, summarised
 *
 * For GET /residenti/{cf} and POST /residenti/{cf}/certificati (a ~2 KB JSON body), in the same run:
 *   direct   — the back office calls DemoRestApi's URL itself (plain HTTP, kept-alive connections);
 *   gateway  — back office → CST /rest/out/… (HTTPS, kept alive) → Regione /rest/in/… (mutual TLS) →
 *              DemoRestApi, and back: signed by the Comune, verified by the Regione, the answer signed by
 *              the Regione and verified by the CST, both sides logging the exchange.
 * Each: a closed loop of --concurrency callers (default 16) for --seconds (default 5) after a warm-up;
 * calls/s, p50/p99 latency, CPU ms per call of each node process (/proc/PID/stat, all threads) and of
 * their redis-servers; every answer's status is checked, failures are counted and make the exit code 1.
 * The voucher comes from the CST's cache after the first call: the simulator's token requests during the
 * timed phases are reported (expected 0). Loopback only; stops its children and removes its temp dir, also
 * on Ctrl-C.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { DemoRestApi } from '../src/demo/demo-rest-api.js';
import { startDemo, type ConfigFileJson, type RunningDemo } from '../src/demo/run-demo.js';
import { PdndSimulator, type PdndSimulatorEndpoints } from '../src/pdnd-simulator/pdnd-simulator.js';
import { parseSimulatorRegistry } from '../src/pdnd-simulator/simulator-registry.js';
import { percentile } from './bench-stats.js';
import { profilingNode, summariseProfiles } from './node-cpu-profiles.js';
import { childrenOf, cpuMsOf } from './proc-stats.js';

interface Args {
  concurrency: number;
  seconds: number;
  warmupSeconds: number;
  json: boolean;
  cpuProf: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { concurrency: 16, seconds: 5, warmupSeconds: 1, json: false, cpuProf: undefined };
  const num = (i: number): number => {
    const v = Number(argv[i]);
    if (!Number.isFinite(v) || v <= 0) usage(`${argv[i - 1]} needs a positive number`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (k === '--json') a.json = true;
    else if (k === '--concurrency') a.concurrency = Math.round(num(++i));
    else if (k === '--seconds') a.seconds = num(++i);
    else if (k === '--warmup-seconds') a.warmupSeconds = num(++i);
    else if (k === '--cpu-prof') a.cpuProf = argv[++i] ?? usage('--cpu-prof needs a directory');
    else usage(`unknown argument ${k}`);
  }
  return a;
}

function usage(why: string): never {
  process.stderr.write(`${why}\nusage: rest.bench.js [--concurrency N] [--seconds S] [--warmup-seconds S] [--cpu-prof DIR] [--json]\n`);
  process.exit(2);
}

const ORTONA = 'SPC/ComuneOrtona';
const REGIONE = 'SPC/RegioneAbruzzo';
const AUDIENCE = 'urn:regione:anagrafe:v1';
const CF = 'RSSMRA85T10A562S';
const PURPOSE = 'purpose-anagrafe';

/** A certificate request of ~2 KB of JSON. */
const POST_BODY = ((): string => {
  const base = { motivo: 'uso amministrativo', bollo: false, destinatario: 'Ufficio Tributi', note: '' };
  return JSON.stringify({ ...base, note: 'n'.repeat(2048 - JSON.stringify(base).length) });
})();

/** The PDND clients of both parties (e-service and API-interoperabilità keys) and the anagrafe e-service. */
const pair = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const KEYS = { ortona: pair(), ortonaApi: pair(), regione: pair(), regioneApi: pair() };
const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();
const pkcs8 = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }).toString();

function simulatorRegistry() {
  const client = (client_id: string, tenant_id: string, kid: string, key: KeyObject, purposes: string[]) => ({
    client_id,
    tenant_id,
    keys: [{ kid, pem: spki(key) }],
    purposes,
  });
  const apiClient = (client_id: string, tenant_id: string, kid: string, key: KeyObject) => ({
    client_id,
    kind: 'api',
    tenant_id,
    keys: [{ kid, pem: spki(key) }],
  });
  return parseSimulatorRegistry({
    clients: [
      client('comune-ortona', 'tenant-ortona', 'kid-ortona', KEYS.ortona.publicKey, [PURPOSE]),
      apiClient('comune-ortona-api', 'tenant-ortona', 'kid-ortona-api', KEYS.ortonaApi.publicKey),
      client('regione-abruzzo', 'tenant-regione', 'kid-regione', KEYS.regione.publicKey, []),
      apiClient('regione-abruzzo-api', 'tenant-regione', 'kid-regione-api', KEYS.regioneApi.publicKey),
    ],
    eservices: [
      {
        eservice_id: 'es-anagrafe',
        producer_id: 'tenant-regione',
        descriptor_id: 'd-1',
        audience: AUDIENCE,
        purposes: [PURPOSE],
        voucher_lifespan: 600,
      },
    ],
  });
}

/**
 * Each node's configuration: no adapters (they carry no part of a REST call), abuse limits out of the
 * load's way, PDND for both parties, and the anagrafe API (the Regione forwards it to DemoRestApi).
 */
function benchConfig(root: string, pdnd: PdndSimulatorEndpoints, upstream: string): (raw: ConfigFileJson) => void {
  return (raw) => {
    for (const p of raw['parties'] as ConfigFileJson[]) delete p['adapters'];
    raw['node']['http'] = { ...raw['node']['http'], rateLimits: { api: { max: 10_000_000 }, envelope: { max: 10_000_000 } } };
    const name = raw['node']['name'] as string;
    const cst = name === 'cst-chieti';
    const keyDir = join(root, name, 'pdnd');
    mkdirSync(keyDir, { recursive: true });
    writeFileSync(join(keyDir, 'client.pem'), pkcs8((cst ? KEYS.ortona : KEYS.regione).privateKey), { mode: 0o600 });
    writeFileSync(join(keyDir, 'api.pem'), pkcs8((cst ? KEYS.ortonaApi : KEYS.regioneApi).privateKey), { mode: 0o600 });
    raw['pdnd'] = {
      tokenEndpoint: pdnd.tokenEndpoint,
      assertionAudience: pdnd.assertionAudience,
      issuer: pdnd.issuer,
      jwksUrl: pdnd.jwksUrl,
      apiUrl: pdnd.url,
      tracingUrl: pdnd.url,
    };
    const party = (raw['parties'] as ConfigFileJson[]).find((p) => p['code'] === (cst ? ORTONA : REGIONE))!;
    const [tenantId, clientId, kid] = cst
      ? ['tenant-ortona', 'comune-ortona', 'kid-ortona']
      : ['tenant-regione', 'regione-abruzzo', 'kid-regione'];
    party['pdnd'] = {
      tenantId,
      clientId,
      kid,
      keyFile: 'pdnd/client.pem',
      api: { clientId: `${clientId}-api`, kid: `${kid}-api`, keyFile: 'pdnd/api.pem' },
    };
    (raw['services'] as ConfigFileJson[]).push({
      provider: REGIONE,
      name: 'anagrafe',
      consumers: [ORTONA],
      api: {
        kind: 'rest',
        profiles: ['ID_AUTH_REST_02', 'INTEGRITY_REST_01'],
        audience: AUDIENCE,
        pdnd: { purposeId: PURPOSE, eserviceId: 'es-anagrafe', producerId: 'tenant-regione', descriptorId: 'd-1' },
        upstream: { url: upstream },
        disclose: true,
      },
    });
  };
}

type Method = 'GET' | 'POST';

/** Where one kind of call goes: a kept-alive pool to its origin, and the request it makes. */
interface Target {
  readonly pool: Pool;
  request(method: Method): { path: string; headers: Record<string, string>; body?: string; expect: number };
}

function targets(demo: RunningDemo, api: DemoRestApi, concurrency: number): { direct: Target; gateway: Target } {
  const call = (prefix: string, headers: Record<string, string>) => (method: Method) =>
    method === 'GET'
      ? { path: `${prefix}/residenti/${CF}`, headers, expect: 200 }
      : {
          path: `${prefix}/residenti/${CF}/certificati`,
          headers: { ...headers, 'content-type': 'application/json' },
          body: POST_BODY,
          expect: 201,
        };
  const direct = new URL(api.url);
  const cst = demo.nodes.cst;
  return {
    direct: { pool: new Pool(direct.origin, { connections: concurrency }), request: call(direct.pathname, {}) },
    gateway: {
      // The back office trusts its node's dev CA; the API takes its party token (no client certificate).
      pool: new Pool(cst.baseUrl, { connections: concurrency, connect: { ca: readFileSync(cst.caFile, 'utf8') } }),
      request: call('/rest/out/RegioneAbruzzo/anagrafe/v1', { authorization: `Bearer ${cst.tokens[ORTONA]}` }),
    },
  };
}

interface Loop {
  readonly ok: number;
  readonly failures: number;
  readonly firstFailure?: string;
  readonly elapsedMs: number;
  readonly latencies: Float64Array;
}

/** Aborted on Ctrl-C: the callers stop at once, so the cleanup is not starved by calls failing in a loop. */
const interruption = new AbortController();
setMaxListeners(Number.POSITIVE_INFINITY, interruption.signal); // one listener per call in flight

/** `concurrency` callers, each calling again as soon as its answer is read, until `seconds` are up. */
async function closedLoop(target: Target, method: Method, concurrency: number, seconds: number): Promise<Loop> {
  const spec = target.request(method);
  const latencies: number[] = [];
  let ok = 0;
  let failures = 0;
  let firstFailure: string | undefined;
  const start = performance.now();
  const until = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until && !interruption.signal.aborted) {
        const t0 = performance.now();
        try {
          const res = await target.pool.request({
            method,
            path: spec.path,
            headers: spec.headers,
            ...(spec.body ? { body: spec.body } : {}),
            signal: interruption.signal,
          });
          const text = await res.body.text();
          if (res.statusCode === spec.expect && text.length > 0) {
            ok += 1;
            latencies.push(performance.now() - t0);
          } else {
            failures += 1;
            firstFailure ??= `HTTP ${res.statusCode} ${text.slice(0, 300)}`;
          }
        } catch (err) {
          if (interruption.signal.aborted) break;
          failures += 1;
          firstFailure ??= String(err);
        }
      }
    }),
  );
  return { ok, failures, firstFailure, elapsedMs: performance.now() - start, latencies: Float64Array.from(latencies).sort() };
}

interface CpuSnapshot {
  readonly cst: number;
  readonly regione: number;
  readonly redis: number;
  /** This process: the callers, DemoRestApi and the PDND simulator. */
  readonly bench: number;
}

function cpuSnapshot(pids: { cst: number; regione: number }): CpuSnapshot {
  const redis = [...childrenOf(pids.cst), ...childrenOf(pids.regione)].reduce((sum, pid) => sum + cpuMsOf(pid), 0);
  const own = process.cpuUsage();
  return { cst: cpuMsOf(pids.cst), regione: cpuMsOf(pids.regione), redis, bench: (own.user + own.system) / 1000 };
}

interface PhaseResult {
  readonly calls: number;
  readonly failures: number;
  readonly firstFailure?: string;
  readonly callsPerSec: number;
  readonly latencyMs: { p50: number; p99: number; max: number };
  readonly cpuMsPerCall: { cst: number; regione: number; nodes: number; redis: number; benchProcess: number };
  /** Token requests PDND answered during the timed part (the voucher comes from the cache: expected 0). */
  readonly pdndTokenRequests: number;
}

async function phase(
  target: Target,
  method: Method,
  args: Args,
  pids: { cst: number; regione: number },
  tokenRequests: () => number,
): Promise<PhaseResult> {
  await closedLoop(target, method, args.concurrency, args.warmupSeconds);
  const tokensBefore = tokenRequests();
  const before = cpuSnapshot(pids);
  const loop = await closedLoop(target, method, args.concurrency, args.seconds);
  const after = cpuSnapshot(pids);
  const tokensAfter = tokenRequests();
  const per = (k: keyof CpuSnapshot) => (after[k] - before[k]) / Math.max(1, loop.ok + loop.failures);
  return {
    calls: loop.ok,
    failures: loop.failures,
    ...(loop.firstFailure ? { firstFailure: loop.firstFailure } : {}),
    callsPerSec: loop.ok / (loop.elapsedMs / 1000),
    latencyMs: { p50: percentile(loop.latencies, 50), p99: percentile(loop.latencies, 99), max: loop.latencies.at(-1) ?? Number.NaN },
    cpuMsPerCall: {
      cst: per('cst'),
      regione: per('regione'),
      nodes: per('cst') + per('regione'),
      redis: per('redis'),
      benchProcess: per('bench'),
    },
    pdndTokenRequests: tokensAfter - tokensBefore,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const say = (s: string) => {
    if (!args.json) process.stderr.write(s);
  };
  // Each node runs its own Redis (as the demo does), not one named in the environment.
  delete process.env['TRAMITE_REDIS_URL'];
  const root = mkdtempSync(join(tmpdir(), 'tramite-rest-bench-'));
  const simulator = new PdndSimulator({ registry: simulatorRegistry() });
  const api = new DemoRestApi();
  let demo: RunningDemo | undefined;
  let starting: Promise<RunningDemo> | undefined;
  let pids: { cst: number; regione: number } | undefined;
  let pools: Pool[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await Promise.allSettled(pools.map((p) => p.destroy()));
      // Interrupted while the nodes start: they are stopped once up (startDemo stops them itself if they fail).
      const running = demo ?? (await starting?.catch(() => undefined));
      await running?.stop().catch(() => undefined);
      await api.stop().catch(() => undefined);
      await simulator.stop().catch(() => undefined);
      if (args.cpuProf && pids) summariseProfiles(args.cpuProf, pids, say);
      rmSync(root, { recursive: true, force: true });
    })());
  const interrupted = (signal: NodeJS.Signals) => {
    process.stderr.write(`\nrest bench: ${signal}; stopping the nodes\n`);
    interruption.abort();
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  // Whatever happens, the children go: a run over its bound kills them.
  const watchdog = setTimeout(
    () => {
      process.stderr.write('rest bench: over its time bound; killing the nodes\n');
      for (const pid of Object.values(pids ?? {})) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      rmSync(root, { recursive: true, force: true });
      process.exit(3);
    },
    (4 * (args.seconds + args.warmupSeconds) + 180) * 1000,
  );
  watchdog.unref();
  try {
    const pdnd = await simulator.start();
    await api.start();
    say('starting the two node processes… ');
    const node = process.execPath;
    if (args.cpuProf) process.execPath = profilingNode(node, resolve(args.cpuProf), root);
    starting = startDemo(root, benchConfig(root, pdnd, api.url)).finally(() => (process.execPath = node));
    demo = await starting;
    pids = { cst: demo.processOf('cst').pid!, regione: demo.processOf('regione').pid! };
    const { direct, gateway } = targets(demo, api, args.concurrency);
    pools = [direct.pool, gateway.pool];
    say('up\n');

    const loadBefore = loadavg();
    const results: Record<Method, { direct: PhaseResult; gateway: PhaseResult; ratio: number }> = {} as never;
    for (const method of ['GET', 'POST'] as const) {
      say(`${method} direct… `);
      const tokenRequests = () => simulator.tokenRequests;
      const d = await phase(direct, method, args, pids, tokenRequests);
      say(`${d.callsPerSec.toFixed(0)}/s; ${method} gateway… `);
      // The first call of the warm-up fetches the voucher; the timed part should find it in the cache.
      const g = await phase(gateway, method, args, pids, tokenRequests);
      say(`${g.callsPerSec.toFixed(0)}/s\n`);
      if (interruption.signal.aborted) return; // cut short: no figures
      results[method] = { direct: d, gateway: g, ratio: g.callsPerSec / d.callsPerSec };
      api.received.length = 0; // the API records every request; a long run need not hold them all
    }
    const failures = Object.values(results).reduce((n, r) => n + r.direct.failures + r.gateway.failures, 0);
    const result: BenchResult = {
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      loadavg: { before: loadBefore.map((l) => Number(l.toFixed(2))), after: loadavg().map((l) => Number(l.toFixed(2))) },
      setup:
        'two `tramite start` processes (CST, Regione) over mutual TLS, each with its own redis-server; back office, DemoRestApi and PDND simulator in the benchmark process',
      api: 'anagrafe: ID_AUTH_REST_02 + INTEGRITY_REST_01 + PDND voucher (cached)',
      concurrency: args.concurrency,
      seconds: args.seconds,
      warmupSeconds: args.warmupSeconds,
      postBodyBytes: Buffer.byteLength(POST_BODY),
      results,
      voucherTokenRequestsDuringTimedPhases: Object.values(results).reduce((n, r) => n + r.gateway.pdndTokenRequests, 0),
      voucherTokenRequestsTotal: simulator.tokenRequests,
      failures,
    };
    if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else printTable(result);
    if (failures > 0) process.exitCode = 1;
  } finally {
    await cleanup();
    clearTimeout(watchdog);
  }
}

interface BenchResult {
  readonly node: string;
  readonly cpu: string;
  readonly cores: number;
  readonly loadavg: { before: number[]; after: number[] };
  readonly setup: string;
  readonly api: string;
  readonly concurrency: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly postBodyBytes: number;
  readonly results: Record<Method, { direct: PhaseResult; gateway: PhaseResult; ratio: number }>;
  readonly voucherTokenRequestsDuringTimedPhases: number;
  readonly voucherTokenRequestsTotal: number;
  readonly failures: number;
}

function printTable(r: BenchResult): void {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(
    `\nTramite REST gateway benchmark — node ${r.node}, ${r.cores} × ${r.cpu}; load ${r.loadavg.before.join(' ')} → ${r.loadavg.after.join(' ')}`,
  );
  out(`  ${r.setup}`);
  out(`  ${r.api}; ${r.concurrency} in flight, ${r.seconds} s each after ${r.warmupSeconds} s warm-up; POST body ${r.postBodyBytes} bytes`);
  out(
    `  ${'call'.padEnd(14)}${'calls/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}   CPU ms/call: ${'CST'.padStart(6)}${'Regione'.padStart(9)}${'nodes'.padStart(7)}${'redis'.padStart(7)}${'bench'.padStart(7)}${'failed'.padStart(8)}`,
  );
  for (const [method, m] of Object.entries(r.results)) {
    for (const [kind, p] of [
      ['direct', m.direct],
      ['gateway', m.gateway],
    ] as const) {
      const c = p.cpuMsPerCall;
      out(
        `  ${`${method} ${kind}`.padEnd(14)}${p.callsPerSec.toFixed(0).padStart(9)}${p.latencyMs.p50.toFixed(2).padStart(9)}${p.latencyMs.p99.toFixed(2).padStart(9)}                ${c.cst.toFixed(2).padStart(6)}${c.regione.toFixed(2).padStart(9)}${c.nodes.toFixed(2).padStart(7)}${c.redis.toFixed(2).padStart(7)}${c.benchProcess.toFixed(2).padStart(7)}${String(p.failures).padStart(8)}`,
      );
    }
    out(
      `  ${`${method} ratio`.padEnd(14)}  gateway/direct calls/s = ${m.ratio.toFixed(3)} (direct is ${(1 / m.ratio).toFixed(1)}× faster)`,
    );
  }
  out(
    `  PDND token requests during the timed phases: ${r.voucherTokenRequestsDuringTimedPhases} (voucher from the CST's cache); ${r.voucherTokenRequestsTotal} in the whole run`,
  );
  const failed = Object.entries(r.results).flatMap(([method, m]) =>
    (['direct', 'gateway'] as const)
      .filter((k) => m[k].failures > 0)
      .map((k) => `${method} ${k}: ${m[k].failures} failed, first: ${m[k].firstFailure}`),
  );
  out(
    failed.length > 0 ? `  RUN WITH FAILURES:\n    ${failed.join('\n    ')}` : '  every answer had the expected status (200 GET, 201 POST)',
  );
}

await main();
