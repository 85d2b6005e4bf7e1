/**
 * End-to-end benchmark of reliable delivery: two real nodes on 127.0.0.1 (each with its SQLite log and
 * its own Redis), a back office, and the full path per message — API, sign, log, deliver queue, HTTP,
 * verify, log, signed riscontro, verify, log, dispatch queue, back office.
 *
 *   npm run bench:exchange                  # human output
 *   npm run bench:exchange -- --json --messages 300 --rate 20 --seconds 5
 *
 * Figures: exchanges/s with many messages in flight; p50/p99 latency (accepted → DELIVERED) at a fixed
 * offered rate; and, as the baseline measured in the same run, the raw BullMQ add→process rate of
 * no-op jobs on a private Redis. Measures only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { request } from 'undici';
import { loadConfig } from '../src/config/load-config.js';
import { DemoBackOffice } from '../src/demo/demo-back-office.js';
import { writeDemoFederation, type DemoNode } from '../src/demo/demo-federation.js';
import { serveNode } from '../src/http/serve-node.js';
import { BUILTIN_ADAPTERS } from '../adapters/builtin.js';
import { Deadline } from '../src/core/deadline.js';
import { openRedis } from '../src/queue/redis-connection.js';
import { percentile } from './bench-stats.js';

interface Args {
  messages: number;
  concurrency: number;
  rate: number;
  seconds: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { messages: 300, concurrency: 32, rate: 20, seconds: 5, json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (k === '--json') a.json = true;
    else if (k === '--messages') a.messages = Number(argv[++i]);
    else if (k === '--concurrency') a.concurrency = Number(argv[++i]);
    else if (k === '--rate') a.rate = Number(argv[++i]);
    else if (k === '--seconds') a.seconds = Number(argv[++i]);
    else {
      process.stderr.write(
        `unknown argument ${k}\nusage: exchange.bench.js [--messages N] [--concurrency N] [--rate PER_S] [--seconds S] [--json]\n`,
      );
      process.exit(2);
    }
  }
  return a;
}

const FROM = 'SPC/ComuneFrancavillaAlMare';
const TO = 'SPC/RegioneAbruzzo';

async function send(cst: DemoNode): Promise<string> {
  const res = await request(`${cst.baseUrl}/api/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${cst.tokens[FROM]}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      from: FROM,
      to: TO,
      service: 'ComunicazioneVariazione',
      action: 'Notifica',
      payload:
        '<var:Variazione xmlns:var="urn:tramite:bench"><var:tipo>residenza</var:tipo><var:codiceFiscale>RSSMRA85T10A562S</var:codiceFiscale></var:Variazione>',
    }),
  });
  return ((await res.body.json()) as { id: string }).id;
}

async function view(cst: DemoNode, id: string): Promise<{ status: string; createdAt: string; updatedAt: string }> {
  const res = await request(`${cst.baseUrl}/api/v1/messages/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${cst.tokens[FROM]}` },
  });
  return (await res.body.json()) as { status: string; createdAt: string; updatedAt: string };
}

async function settle(cst: DemoNode, ids: string[]): Promise<Array<{ status: string; createdAt: string; updatedAt: string }>> {
  const done = new Map<string, { status: string; createdAt: string; updatedAt: string }>();
  const deadline = Date.now() + 300_000;
  while (done.size < ids.length && Date.now() < deadline) {
    for (const id of ids) {
      if (done.has(id)) continue;
      const v = await view(cst, id);
      if (v.status === 'DELIVERED' || v.status === 'FAILED') done.set(id, v);
    }
    if (done.size < ids.length) await new Promise((r) => setTimeout(r, 50));
  }
  return [...done.values()];
}

/** Raw BullMQ: no-op jobs added and processed on a private Redis, as fast as they go. */
async function bullmqBaseline(dir: string, jobs: number): Promise<number> {
  const redis = await openRedis({ dataDir: dir });
  const queue = new Queue('baseline', { connection: redis.connection });
  let processed = 0;
  let resolveDone!: () => void;
  const allDone = new Promise<void>((r) => (resolveDone = r));
  const worker = new Worker('baseline', async () => undefined, { connection: redis.connection, concurrency: 8 });
  worker.on('completed', () => {
    processed += 1;
    if (processed === jobs) resolveDone();
  });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < jobs; i++) await queue.add('x', { i }, { removeOnComplete: true });
  await allDone;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await worker.close();
  await queue.close();
  await redis.close(Deadline.in(10_000));
  return jobs / s;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const say = (s: string) => {
    if (!args.json) process.stderr.write(s);
  };
  const root = mkdtempSync(join(tmpdir(), 'tramite-exchange-bench-'));
  const backOffice = new DemoBackOffice();
  await backOffice.start();
  const nodes = await writeDemoFederation(root, (p) => backOffice.urlFor(p));
  const regione = await serveNode(loadConfig(nodes.regione.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
  const cst = await serveNode(loadConfig(nodes.cst.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
  try {
    say('raw BullMQ baseline… ');
    const bullmqPerSec = await bullmqBaseline(join(root, 'baseline'), 2000);
    say('done\nwarm-up… ');
    await settle(nodes.cst, await Promise.all(Array.from({ length: 20 }, () => send(nodes.cst))));
    say(`done\nthroughput: ${args.messages} messages, ${args.concurrency} in flight… `);
    const t0 = Date.now();
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: args.concurrency }, async () => {
        while (next < args.messages) {
          next += 1;
          ids.push(await send(nodes.cst));
        }
      }),
    );
    const settled = await settle(nodes.cst, ids);
    const throughput = settled.filter((v) => v.status === 'DELIVERED').length / ((Date.now() - t0) / 1000);
    say(`done\nlatency at ${args.rate}/s for ${args.seconds} s… `);
    const paced: string[] = [];
    const total = Math.round(args.rate * args.seconds);
    const start = Date.now();
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / args.rate;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
      sends.push(send(nodes.cst).then((id) => void paced.push(id)));
    }
    await Promise.all(sends);
    const latencies = (await settle(nodes.cst, paced))
      .filter((v) => v.status === 'DELIVERED')
      .map((v) => Date.parse(v.updatedAt) - Date.parse(v.createdAt))
      .sort((a, b) => a - b);
    const sorted = Float64Array.from(latencies);
    const result = {
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      exchangesPerSec: throughput,
      delivered: settled.filter((v) => v.status === 'DELIVERED').length,
      messages: args.messages,
      offeredRate: args.rate,
      latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), samples: latencies.length },
      bullmqJobsPerSec: bullmqPerSec,
      ratioToBullmq: throughput / bullmqPerSec,
    };
    say('done\n');
    if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      process.stdout.write(`\nTramite end-to-end exchange benchmark — node ${result.node}, ${result.cpu}\n`);
      process.stdout.write(
        `  exchanges/s (sign, log, queue, HTTP, verify, log, riscontro, verify, log): ${result.exchangesPerSec.toFixed(1)}  (${result.delivered}/${result.messages} DELIVERED)\n`,
      );
      process.stdout.write(
        `  latency at ${result.offeredRate}/s offered: p50 ${result.latencyMs.p50.toFixed(0)} ms, p99 ${result.latencyMs.p99.toFixed(0)} ms (${result.latencyMs.samples} messages)\n`,
      );
      process.stdout.write(
        `  raw BullMQ add→process, no-op jobs, same machine: ${result.bullmqJobsPerSec.toFixed(0)} jobs/s → an exchange costs ${(1 / result.ratioToBullmq).toFixed(0)}× a bare job\n`,
      );
    }
  } finally {
    await cst.close();
    await regione.close();
    await backOffice.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
