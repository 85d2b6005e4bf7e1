/**
 * Memory under a backlog: the demo's CST node as a `tramite start` process with its own Redis, its
 * peer (the Regione node) down, and messages accepted through the API piling up for it — the CST's
 * resident memory (VmRSS of its process, and of its redis-server apart) once `--first` messages are
 * queued and again at `--second`, and their ratio (issue 14's target: within 20 % from 10 k to 100 k).
 * Each message's first attempt fails (connection refused) and the deliver queue holds it for retries,
 * with the node's default retry policy (1 s doubling to 5 min), as a real outage would.
 *
 *   npm run bench:backlog                                   # 10 000 and 100 000 messages
 *   npm run bench:backlog -- --first 2000 --second 20000 --json
 *
 * Measures only; every wait is bounded (`--max-seconds`), and it stops its children.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startDemo, type ConfigFileJson, type RunningDemo } from '../src/demo/run-demo.js';
import { childrenOf, rssMiB } from './proc-stats.js';

interface Args {
  first: number;
  second: number;
  concurrency: number;
  maxSeconds: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { first: 10_000, second: 100_000, concurrency: 32, maxSeconds: 3600, json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v <= 0) usage(`${k} needs a positive whole number`);
      return v;
    };
    if (k === '--json') a.json = true;
    else if (k === '--first') a.first = num();
    else if (k === '--second') a.second = num();
    else if (k === '--concurrency') a.concurrency = num();
    else if (k === '--max-seconds') a.maxSeconds = num();
    else usage(`unknown argument ${k}`);
  }
  if (a.second <= a.first) usage('--second must be more than --first');
  return a;
}

function usage(why: string): never {
  process.stderr.write(`${why}\nusage: backlog.bench.js [--first N] [--second N] [--concurrency N] [--max-seconds S] [--json]\n`);
  process.exit(2);
}

const FROM = 'SPC/ComuneFrancavillaAlMare';
const TO = 'SPC/RegioneAbruzzo';

/** The demo's configuration without the adapters, without abuse limits in the way, with the default retry policy. */
function backlogConfig(raw: ConfigFileJson): void {
  for (const p of raw['parties'] as ConfigFileJson[]) delete p['adapters'];
  raw['node']['http'] = { ...raw['node']['http'], rateLimits: { api: { max: 10_000_000 }, envelope: { max: 10_000_000 } } };
  raw['queue'] = { ...raw['queue'], retry: { initialDelayMs: 1000, factor: 2, maxDelayMs: 300_000, maxAttempts: 20 } };
}

async function queueMessages(demo: RunningDemo, count: number, concurrency: number, until: number): Promise<number> {
  let next = 0;
  let accepted = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count && Date.now() < until) {
        next += 1;
        const res = await request(`${demo.nodes.cst.baseUrl}/api/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${demo.nodes.cst.tokens[FROM]}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            from: FROM,
            to: TO,
            service: 'ComunicazioneVariazione',
            action: 'Notifica',
            payload: `<var:Variazione xmlns:var="urn:tramite:bench"><var:n>${next}</var:n></var:Variazione>`,
          }),
        });
        await res.body.dump();
        if (res.statusCode === 202) accepted += 1;
      }
    }),
  );
  return accepted;
}

interface Point {
  readonly queued: number;
  readonly nodeRssMiB: number;
  readonly redisRssMiB: number;
  readonly secondsToQueue: number;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const say = (s: string) => {
    if (!args.json) process.stderr.write(s);
  };
  delete process.env['TRAMITE_REDIS_URL'];
  const root = mkdtempSync(join(tmpdir(), 'tramite-backlog-bench-'));
  const until = Date.now() + args.maxSeconds * 1000;
  say('starting the nodes… ');
  const demo = await startDemo(root, backlogConfig, { plainHttp: true });
  const cstPid = demo.processOf('cst').pid!;
  const watchdog = setTimeout(
    () => {
      process.kill(cstPid, 'SIGKILL');
      process.exit(3);
    },
    (args.maxSeconds + 120) * 1000,
  );
  watchdog.unref();
  try {
    await demo.control.stopNode('regione');
    const measure = async (queued: number, seconds: number): Promise<Point> => {
      // Let the first attempts and their retries of the last messages settle before reading memory.
      await new Promise((r) => setTimeout(r, 5000));
      const redis = childrenOf(cstPid).reduce((sum, pid) => sum + rssMiB(pid), 0);
      return { queued, nodeRssMiB: rssMiB(cstPid), redisRssMiB: redis, secondsToQueue: seconds };
    };
    say(`up; the Regione is down\nqueueing ${args.first} messages… `);
    const t0 = Date.now();
    const firstAccepted = await queueMessages(demo, args.first, args.concurrency, until);
    const first = await measure(firstAccepted, (Date.now() - t0) / 1000);
    say(`done in ${first.secondsToQueue.toFixed(0)} s\nqueueing up to ${args.second}… `);
    const t1 = Date.now();
    const more = await queueMessages(demo, args.second - firstAccepted, args.concurrency, until);
    const second = await measure(firstAccepted + more, first.secondsToQueue + (Date.now() - t1) / 1000);
    say(`done in ${(second.secondsToQueue - first.secondsToQueue).toFixed(0)} s\n`);
    const result = {
      node: process.version,
      first,
      second,
      nodeRssRatio: second.nodeRssMiB / first.nodeRssMiB,
      redisRssRatio: second.redisRssMiB / first.redisRssMiB,
      complete: second.queued >= args.second,
    };
    if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      const out = (s: string) => process.stdout.write(`${s}\n`);
      out(`\nTramite backlog benchmark — the CST node with its peer down, node ${result.node}`);
      for (const p of [first, second])
        out(
          `  ${p.queued} messages queued (${p.secondsToQueue.toFixed(0)} s): node RSS ${p.nodeRssMiB.toFixed(1)} MiB, its redis-server ${p.redisRssMiB.toFixed(1)} MiB`,
        );
      out(
        `  ratio ${second.queued}/${first.queued}: node ${result.nodeRssRatio.toFixed(2)}×, redis ${result.redisRssRatio.toFixed(2)}×${result.complete ? '' : `  (stopped at ${second.queued}: --max-seconds reached)`}`,
      );
    }
  } finally {
    await demo.stop();
    clearTimeout(watchdog);
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
