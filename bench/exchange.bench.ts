/**
 * End-to-end benchmark of reliable delivery between two node PROCESSES, as `tramite demo` runs them:
 * a CST node and a Regione node, each a `tramite start` child with its own SQLite log and its own
 * Redis, and this process as the Regione's back office. One exchange is the full path of a oneway
 * message with riscontro — API, sign, log, HTTP, verify, log, signed riscontro, verify, log, dispatch
 * to the back office — and is done when the sender's log says DELIVERED and the back office has it.
 *
 *   npm run bench:exchange                              # human output
 *   npm run bench:exchange -- --json                    # one JSON object on stdout
 *   npm run bench:exchange -- --messages 2000 --concurrency 64 --rate 100 --seconds 5
 *   npm run bench:exchange -- --cpu-prof DIR            # V8 CPU profiles of both nodes, summarised
 *   npm run bench:exchange -- --tls                     # the nodes over mutual TLS (default: plain HTTP), and
 *                                                       # the TLS handshake cost (full, resumed, kept alive)
 *   npm run bench:exchange -- --processes 1,2,3         # the CST as N processes behind HAProxy sharing one
 *                                                       # PostgreSQL and one Redis (bench/cluster-exchange.ts)
 *
 * Figures: exchanges/s with many in flight; p50/p99 latency (API call → exchange done) at a fixed
 * offered rate; CPU ms per exchange of each node process (from /proc/PID/stat, worker threads
 * included) and of their Redis servers; and, measured in the same run on the same keys and envelope
 * sizes, the crypto floor — 2 RSA signatures, 2 verifications and the SHA-256 hashing of one exchange
 * with raw node:crypto. The DELIVERED state and its time are read from the sender's log file
 * (read-only), so watching costs the nodes nothing. Measures only; stops by itself (every wait is
 * bounded) and stops its children.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { outboundKey } from '../src/core/message-record.js';
import { startDemo, type ConfigFileJson, type RunningDemo } from '../src/demo/run-demo.js';
import { SqliteLogStore } from '../src/log/sqlite-log-store.js';
import { measure, percentile } from './bench-stats.js';
import { profilingNode, summariseProfiles } from './node-cpu-profiles.js';
import { runClusterExchange } from './cluster-exchange.js';
import { childrenOf, cpuMsOf } from './proc-stats.js';
import { measureHandshakes, type HandshakeCost } from './tls-handshake.js';

interface Args {
  messages: number;
  concurrency: number;
  rate: number;
  seconds: number;
  json: boolean;
  cpuProf: string | undefined;
  /** Mutual TLS between the nodes (as the demo runs by default) instead of plain HTTP. */
  tls: boolean;
  /** Bound of each phase: the benchmark gives up waiting after this, and says so. */
  phaseSeconds: number;
  /** The CST as this many processes behind HAProxy, each count in turn (the scale-out figures). */
  processes: number[] | undefined;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    messages: 2000,
    concurrency: 64,
    rate: 100,
    seconds: 5,
    json: false,
    cpuProf: undefined,
    tls: false,
    phaseSeconds: 180,
    processes: undefined,
  };
  const num = (i: number): number => {
    const v = Number(argv[i]);
    if (!Number.isFinite(v) || v <= 0) usage(`${argv[i - 1]} needs a positive number`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (k === '--json') a.json = true;
    else if (k === '--tls') a.tls = true;
    else if (k === '--messages') a.messages = num(++i);
    else if (k === '--concurrency') a.concurrency = num(++i);
    else if (k === '--rate') a.rate = num(++i);
    else if (k === '--seconds') a.seconds = num(++i);
    else if (k === '--phase-seconds') a.phaseSeconds = num(++i);
    else if (k === '--processes') {
      a.processes = (argv[++i] ?? '').split(',').map(Number);
      if (a.processes.some((n) => !Number.isInteger(n) || n < 1)) usage('--processes needs counts like 1,2,3');
    } else if (k === '--cpu-prof') a.cpuProf = argv[++i] ?? usage('--cpu-prof needs a directory');
    else usage(`unknown argument ${k}`);
  }
  return a;
}

function usage(why: string): never {
  process.stderr.write(
    `${why}\nusage: exchange.bench.js [--messages N] [--concurrency N] [--rate PER_S] [--seconds S] [--phase-seconds S] [--cpu-prof DIR] [--tls] [--processes 1,2,3] [--json]\n`,
  );
  process.exit(2);
}

const FROM = 'SPC/ComuneFrancavillaAlMare';
const TO = 'SPC/RegioneAbruzzo';
const PAYLOAD =
  '<var:Variazione xmlns:var="urn:tramite:bench"><var:tipo>residenza</var:tipo><var:codiceFiscale>RSSMRA85T10A562S</var:codiceFiscale></var:Variazione>';

/** The demo's configuration, minus what an exchange does not use, and with room for the load. */
function benchConfig(raw: ConfigFileJson): void {
  // The adapters (protocollo, the registries' simulators) carry no part of this exchange.
  for (const p of raw['parties'] as ConfigFileJson[]) delete p['adapters'];
  // The per-caller abuse limits would refuse a benchmark's load (3000 API calls a minute by default).
  raw['node']['http'] = { ...raw['node']['http'], rateLimits: { api: { max: 10_000_000 }, envelope: { max: 10_000_000 } } };
}

/** One message's life as the benchmark sees it: sent (API called), accepted (202), DELIVERED at the sender, at the back office. */
interface Exchange {
  id: string;
  sentAt: number;
  acceptedAt: number;
  deliveredAt?: number;
  atBackOffice?: number;
}

class ExchangeWatch {
  readonly byId = new Map<string, Exchange>();
  private readonly boArrivals = new Map<string, number>();
  private readonly log: SqliteLogStore;

  constructor(demo: RunningDemo) {
    // The back office is this process: its arrival time is taken as the request is recorded.
    const received = demo.backOffice.received;
    const record = received.push.bind(received);
    received.push = (...items) => {
      const now = Date.now();
      for (const m of items) this.boArrivals.set(m.id, now);
      return record(...items);
    };
    this.log = new SqliteLogStore(demo.nodes.cst.messageLog, { readonly: true });
  }

  async send(demo: RunningDemo): Promise<Exchange> {
    const sentAt = Date.now();
    const res = await request(`${demo.nodes.cst.baseUrl}/api/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${demo.nodes.cst.tokens[FROM]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: FROM, to: TO, service: 'ComunicazioneVariazione', action: 'Notifica', payload: PAYLOAD }),
    });
    const body = (await res.body.json()) as { id?: string };
    if (res.statusCode !== 202 || !body.id) throw new Error(`the CST refused a message: HTTP ${res.statusCode} ${JSON.stringify(body)}`);
    const x: Exchange = { id: body.id, sentAt, acceptedAt: Date.now() };
    this.byId.set(x.id, x);
    return x;
  }

  /** Waits (bounded) until every exchange is done: DELIVERED in the sender's log and at the back office. */
  async settle(xs: readonly Exchange[], deadline: number): Promise<{ done: Exchange[]; failed: number }> {
    const pending = new Set(xs);
    let failed = 0;
    while (pending.size > 0 && Date.now() < deadline) {
      for (const x of pending) {
        x.atBackOffice ??= this.boArrivals.get(x.id);
        if (x.deliveredAt === undefined) {
          const row = await this.log.message(outboundKey(x.id));
          if (row?.state === 'FAILED') {
            pending.delete(x);
            failed += 1;
            continue;
          }
          if (row?.state === 'DELIVERED') x.deliveredAt = Date.parse(row.updatedAt);
        }
        if (x.deliveredAt !== undefined && x.atBackOffice !== undefined) pending.delete(x);
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 20));
    }
    return { done: xs.filter((x) => x.deliveredAt !== undefined && x.atBackOffice !== undefined), failed };
  }

  /** A delivered exchange's request and reply envelopes, as the sender logged them. */
  async envelopesOf(id: string): Promise<{ request: Buffer; reply: Buffer }> {
    const row = await this.log.message(outboundKey(id));
    const bytes = async (seq: number | null | undefined) =>
      Buffer.from((seq ? (await this.log.record(seq))?.envelope : undefined) ?? new Uint8Array());
    return { request: await bytes(row?.envelopeSeq), reply: await bytes(row?.replySeq) };
  }

  close(): void {
    void this.log.close();
  }
}

function doneAt(x: Exchange): number {
  return Math.max(x.deliveredAt!, x.atBackOffice!);
}

interface CpuSnapshot {
  readonly cst: number;
  readonly regione: number;
  readonly redis: number;
}

function cpuSnapshot(demo: RunningDemo): CpuSnapshot {
  const cst = demo.processOf('cst').pid!;
  const regione = demo.processOf('regione').pid!;
  const redis = [...childrenOf(cst), ...childrenOf(regione)].reduce((sum, pid) => sum + cpuMsOf(pid), 0);
  return { cst: cpuMsOf(cst), regione: cpuMsOf(regione), redis };
}

/**
 * The crypto floor of one exchange, raw node:crypto on the parties' own keys: the request signed by the
 * Comune and verified by the Regione, the riscontro signed by the Regione and verified by the CST, and
 * each envelope's bytes hashed once by its signer and once by its verifier (the digests of the signed
 * parts and SignedInfo are no more bytes than that).
 */
function cryptoFloor(demo: RunningDemo, envelopes: { request: Buffer; reply: Buffer }): { perSec: number; usPerExchange: number } {
  const keyOf = (node: 'cst' | 'regione', party: string): { key: KeyObject; pub: KeyObject } => {
    const pki = join(demo.nodes[node].dir, 'pki', party.split('/')[1]!);
    return { key: createPrivateKey(readFileSync(`${pki}.key.pem`)), pub: createPublicKey(readFileSync(`${pki}.cert.pem`)) };
  };
  const comune = keyOf('cst', FROM);
  const regione = keyOf('regione', TO);
  // A SignedInfo of three References is ~1 KB of canonical XML.
  const signedInfo = Buffer.alloc(1024, 0x61);
  const one = (): boolean => {
    for (const bytes of [envelopes.request, envelopes.request, envelopes.reply, envelopes.reply])
      createHash('sha256').update(bytes).digest();
    const s1 = sign('sha256', signedInfo, comune.key);
    const s2 = sign('sha256', signedInfo, regione.key);
    return verify('sha256', signedInfo, comune.pub, s1) && verify('sha256', signedInfo, regione.pub, s2);
  };
  const m = measure(one, { seconds: 2, warmupSeconds: 0.3 });
  return { perSec: m.opsPerSec, usPerExchange: m.meanUs };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const say = (s: string) => {
    if (!args.json) process.stderr.write(s);
  };
  if (args.processes) return clusterMain({ ...args, processes: args.processes }, say);
  // Each node runs its own Redis (as the demo does), not one named in the environment.
  delete process.env['TRAMITE_REDIS_URL'];
  const root = mkdtempSync(join(tmpdir(), 'tramite-exchange-bench-'));
  say('starting the two node processes… ');
  const node = process.execPath;
  if (args.cpuProf) process.execPath = profilingNode(node, resolve(args.cpuProf), root);
  const demo = await startDemo(root, benchConfig, { plainHttp: !args.tls }).finally(() => (process.execPath = node));
  const pids = { cst: demo.processOf('cst').pid!, regione: demo.processOf('regione').pid! };
  const watch = new ExchangeWatch(demo);
  // Whatever happens below, the children go: a stop that hangs is cut by SIGKILL.
  const watchdog = setTimeout(
    () => {
      process.stderr.write('exchange bench: over its time bound; killing the nodes\n');
      for (const pid of Object.values(pids)) process.kill(pid, 'SIGKILL');
      process.exit(3);
    },
    (args.phaseSeconds * 4 + 60) * 1000,
  );
  watchdog.unref();
  try {
    say('up\nwarm-up… ');
    const warm = await Promise.all(Array.from({ length: 50 }, () => watch.send(demo)));
    await watch.settle(warm, Date.now() + args.phaseSeconds * 1000);

    say(`done\nthroughput: ${args.messages} messages, ${args.concurrency} in flight… `);
    const before = cpuSnapshot(demo);
    const sent: Exchange[] = [];
    let next = 0;
    const sendUntil = Date.now() + args.phaseSeconds * 1000;
    await Promise.all(
      Array.from({ length: Math.min(args.concurrency, args.messages) }, async () => {
        while (next < args.messages && Date.now() < sendUntil) {
          next += 1;
          sent.push(await watch.send(demo));
        }
      }),
    );
    const { done, failed } = await watch.settle(sent, Date.now() + args.phaseSeconds * 1000);
    const after = cpuSnapshot(demo);
    const first = Math.min(...sent.map((x) => x.sentAt));
    const last = Math.max(...done.map(doneAt));
    const exchangesPerSec = done.length / ((last - first) / 1000);
    const perExchange = (ms: number) => ms / Math.max(1, done.length);
    const cpu = {
      cst: perExchange(after.cst - before.cst),
      regione: perExchange(after.regione - before.regione),
      redis: perExchange(after.redis - before.redis),
    };

    say(`done\nlatency at ${args.rate}/s offered for ${args.seconds} s… `);
    const total = Math.round(args.rate * args.seconds);
    const start = Date.now();
    const paced: Array<Promise<Exchange>> = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / args.rate;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
      paced.push(watch.send(demo));
    }
    const pacedSent = await Promise.all(paced);
    const pacedSettled = await watch.settle(pacedSent, Date.now() + args.phaseSeconds * 1000);
    const offeredActual = total / ((Math.max(...pacedSent.map((x) => x.sentAt)) - start) / 1000 || 1);
    const latencies = Float64Array.from(pacedSettled.done.map((x) => doneAt(x) - x.sentAt)).sort();
    const accepts = Float64Array.from(pacedSent.map((x) => x.acceptedAt - x.sentAt)).sort();

    let handshakes: HandshakeCost | undefined;
    if (args.tls) {
      say('done\nTLS handshakes… ');
      // As the CST connects to the Regione: the CST's client certificate, the Regione's CA pinned.
      const pki = join(demo.nodes.cst.dir, 'pki');
      handshakes = await measureHandshakes(demo.nodes.regione.baseUrl, {
        ca: readFileSync(demo.nodes.regione.caFile, 'utf8'),
        cert: readFileSync(join(pki, 'tls.cert.pem'), 'utf8'),
        key: readFileSync(join(pki, 'tls.key.pem'), 'utf8'),
      });
    }

    say('done\ncrypto floor… ');
    const floor = cryptoFloor(demo, await watch.envelopesOf(done[0]?.id ?? warm[0]!.id));
    say('done\n');

    const result = {
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      processes: 'two `tramite start` processes (CST, Regione), each with its own redis-server; back office in the benchmark process',
      transport: args.tls ? 'mutual TLS' : 'plain HTTP',
      ...(handshakes ? { tlsHandshakes: handshakes } : {}),
      messages: args.messages,
      concurrency: args.concurrency,
      exchangesPerSec,
      delivered: done.length,
      failed,
      offeredRate: args.rate,
      offeredRateAchieved: offeredActual,
      latencyMs: {
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: latencies.at(-1) ?? Number.NaN,
        samples: latencies.length,
      },
      acceptMs: { p50: percentile(accepts, 50), p99: percentile(accepts, 99) },
      cpuMsPerExchange: cpu.cst + cpu.regione,
      cpuMsPerExchangeByProcess: cpu,
      cryptoFloorPerSec: floor.perSec,
      cryptoFloorMsPerExchange: floor.usPerExchange / 1000,
      envelopeBytes: (await watch.envelopesOf(done[0]?.id ?? warm[0]!.id)).request.length,
    };
    if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      const out = (s: string) => process.stdout.write(`${s}\n`);
      out(`\nTramite exchange benchmark — node ${result.node}, ${result.cores} × ${result.cpu}`);
      out(`  ${result.processes}; ${result.transport} between the nodes`);
      out(
        `  exchanges/s, ${result.concurrency} in flight (API, sign, log, HTTP, verify, log, riscontro, verify, log, back office): ${exchangesPerSec.toFixed(1)}  (${done.length}/${result.messages} done, ${failed} FAILED)`,
      );
      out(
        `  latency at ${result.offeredRate}/s offered (${offeredActual.toFixed(0)}/s achieved): p50 ${result.latencyMs.p50.toFixed(0)} ms, p99 ${result.latencyMs.p99.toFixed(0)} ms, max ${result.latencyMs.max.toFixed(0)} ms (${result.latencyMs.samples} exchanges); 202 after p50 ${result.acceptMs.p50.toFixed(0)} ms, p99 ${result.acceptMs.p99.toFixed(0)} ms`,
      );
      out(
        `  CPU per exchange: ${result.cpuMsPerExchange.toFixed(2)} ms (CST ${cpu.cst.toFixed(2)}, Regione ${cpu.regione.toFixed(2)}; their redis-servers ${cpu.redis.toFixed(2)} more)`,
      );
      out(
        `  crypto floor (2 RSA-2048 signatures, 2 verifications, SHA-256 of ${result.envelopeBytes}-byte envelopes), same run: ${floor.perSec.toFixed(0)} exchanges/s = ${result.cryptoFloorMsPerExchange.toFixed(2)} ms CPU → the path costs ${(result.cpuMsPerExchange / result.cryptoFloorMsPerExchange).toFixed(1)}× the floor`,
      );
      if (handshakes)
        out(
          `  TLS (${handshakes.protocol}, RSA-2048, mutual; median of ${handshakes.rounds}): full handshake ${handshakes.fullMs.toFixed(2)} ms, resumed ${handshakes.resumedMs.toFixed(2)} ms (${(handshakes.resumedRate * 100).toFixed(0)}% resumed); GET /health on a kept-alive connection ${handshakes.keepAliveRequestMs.toFixed(2)} ms vs on a new one ${handshakes.newConnectionRequestMs.toFixed(2)} ms`,
        );
    }
  } finally {
    watch.close();
    await demo.stop();
    clearTimeout(watchdog);
    if (args.cpuProf) summariseProfiles(args.cpuProf, pids, say);
    rmSync(root, { recursive: true, force: true });
  }
}

/** The scale-out figures: one run per process count, then the shared log's capacity. */
async function clusterMain(args: Args & { processes: number[] }, say: (s: string) => void): Promise<void> {
  const result = {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    messages: args.messages,
    concurrency: args.concurrency,
    ...(await runClusterExchange(args, say)),
  };
  if (args.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`\nTramite scale-out benchmark — node ${result.node}, ${result.cores} × ${result.cpu}`);
  out('  the CST as N `tramite start` processes behind HAProxy, one PostgreSQL log and one Redis shared; the Regione one process');
  for (const r of result.runs) {
    const c = r.cpuMsPerExchange;
    out(
      `  N=${r.processes}: ${r.exchangesPerSec.toFixed(1)} exchanges/s (×${r.ratioToFirst.exchangesPerSec.toFixed(2)}), ${r.delivered} done, ${r.refused} refused; ` +
        `CPU ms/exchange: CST ${c.cst.toFixed(2)} (×${r.ratioToFirst.cstCpuMsPerExchange.toFixed(2)}; ${c.cstByProcess.map((x) => x.toFixed(2)).join(' + ')}), ` +
        `Regione ${c.regione.toFixed(2)}, Redis ${c.redis.toFixed(2)}, PostgreSQL ${c.postgres.toFixed(2)}; ` +
        `Redis commands/exchange ${r.redisCommandsPerExchange.toFixed(1)}; log records/exchange ${r.logRecordsPerExchange.toFixed(1)}`,
    );
  }
  for (const l of result.logCapacity)
    out(
      `  PostgreSQL log, ${l.stores} store(s) × ${l.appenders} appenders (group commit): ${l.appendsPerSec.toFixed(0)} appends/s, PostgreSQL CPU ${l.postgresCpuMsPerAppend.toFixed(3)} ms/append`,
    );
}

await main();
