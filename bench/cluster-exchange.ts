/**
 * `npm run bench:exchange -- --processes 1,2,3`: the exchange benchmark through HAProxy in front of N
 * `tramite start` processes of the CST sharing one PostgreSQL log and one Redis
 * (test-support/node-cluster.ts), for each N in turn, the Regione node as their peer. Per N: exchanges/s
 * with many in flight, CPU ms per exchange of the CST processes together (/proc/PID/stat), of the
 * Regione, of Redis and of PostgreSQL, Redis commands per exchange (INFO commandstats before and after)
 * and log records appended per exchange; the ratios to the first N of the run. Then what one
 * PostgreSQL takes of the log: appends/s from concurrent appenders (group commit), and its CPU per append.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { request } from 'undici';
import type { LogEntryInput } from '../src/log/log-entry.js';
import { PostgresLogStore } from '../src/log/postgres-log-store.js';
import { startNodeCluster, type NodeCluster } from '../test-support/node-cluster.js';
import { freshDatabase } from '../test-support/postgres-server.js';
import { cpuMsOf, cpuMsOfTree } from './proc-stats.js';

export interface ClusterBenchArgs {
  readonly processes: readonly number[];
  readonly messages: number;
  readonly concurrency: number;
  readonly phaseSeconds: number;
}

export interface ClusterRun {
  processes: number;
  exchangesPerSec: number;
  delivered: number;
  refused: number;
  cpuMsPerExchange: { cst: number; cstByProcess: number[]; regione: number; redis: number; postgres: number };
  redisCommandsPerExchange: number;
  logRecordsPerExchange: number;
  ratioToFirst: { exchangesPerSec: number; cstCpuMsPerExchange: number };
}

export interface LogCapacity {
  /** Log stores (as node processes) appending at once. */
  stores: number;
  /** Concurrent appenders on each. */
  appenders: number;
  appendsPerSec: number;
  postgresCpuMsPerAppend: number;
}

const FROM = 'SPC/ComuneFrancavillaAlMare';
const TO = 'SPC/RegioneAbruzzo';
const PAYLOAD =
  '<var:Variazione xmlns:var="urn:tramite:bench"><var:tipo>residenza</var:tipo><var:codiceFiscale>RSSMRA85T10A562S</var:codiceFiscale></var:Variazione>';

export async function runClusterExchange(
  args: ClusterBenchArgs,
  say: (s: string) => void,
): Promise<{ runs: ClusterRun[]; logCapacity: LogCapacity[] }> {
  const runs: ClusterRun[] = [];
  let logCapacity: LogCapacity[] = [];
  for (const [k, n] of args.processes.entries()) {
    const root = mkdtempSync(join(tmpdir(), `tramite-cluster-bench-${n}-`));
    say(`${n} process${n === 1 ? '' : 'es'} behind HAProxy: starting… `);
    const cluster = await startNodeCluster(root, { processes: n, adapters: false });
    try {
      say('up; ');
      const run = await measureCluster(cluster, args, say);
      const first = runs[0] ?? run;
      runs.push({
        ...run,
        ratioToFirst: {
          exchangesPerSec: run.exchangesPerSec / first.exchangesPerSec,
          cstCpuMsPerExchange: run.cpuMsPerExchange.cst / first.cpuMsPerExchange.cst,
        },
      });
      // The log's capacity on the same server, once, with the nodes idle.
      if (k === args.processes.length - 1) {
        say('PostgreSQL log capacity… ');
        logCapacity = await measureLogCapacity(cluster, say);
      }
      say('done\n');
    } finally {
      await cluster.stop();
      rmSync(root, { recursive: true, force: true });
    }
  }
  return { runs, logCapacity };
}

async function measureCluster(
  cluster: NodeCluster,
  args: ClusterBenchArgs,
  say: (s: string) => void,
): Promise<Omit<ClusterRun, 'ratioToFirst'>> {
  const db = new pg.Client({ connectionString: cluster.postgres.url });
  await db.connect();
  const redis = new Redis(cluster.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const arrived = new Set<string>();
    const received = cluster.backOffice.received;
    const record = received.push.bind(received);
    received.push = (...items) => {
      for (const m of items) arrived.add(m.id);
      return record(...items);
    };
    let refused = 0;
    const send = async (): Promise<string | undefined> => {
      const res = await request(`${cluster.cst.baseUrl}/api/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${cluster.cst.tokens[FROM]}`, 'content-type': 'application/json' },
        body: JSON.stringify({ from: FROM, to: TO, service: 'ComunicazioneVariazione', action: 'Notifica', payload: PAYLOAD }),
      });
      const body = (await res.body.json().catch(() => ({}))) as { id?: string };
      if (res.statusCode === 202 && body.id) return body.id;
      refused += 1;
      return undefined;
    };
    /** Waits (bounded) until every id is DELIVERED in the shared log and at the back office; when the last was. */
    const settle = async (ids: string[], deadline: number): Promise<{ done: number; at: number }> => {
      let done = 0;
      while (Date.now() < deadline) {
        const { rows } = await db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM messages WHERE direction = 'out' AND state = 'DELIVERED' AND id = ANY($1)",
          [ids],
        );
        done = Math.min(rows[0]!.n, ids.filter((id) => arrived.has(id)).length);
        if (done === ids.length) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      return { done, at: Date.now() };
    };
    say('warm-up… ');
    const warm = (await Promise.all(Array.from({ length: 50 }, send))).filter((id): id is string => id !== undefined);
    await settle(warm, Date.now() + args.phaseSeconds * 1000);
    refused = 0;

    say(`${args.messages} messages, ${args.concurrency} in flight… `);
    const pids = cluster.members.map((m) => m.process!.pid!);
    const cpu = () => ({
      cst: pids.map(cpuMsOf),
      regione: cpuMsOf(regionePid(cluster)),
      redis: cpuMsOf(cluster.redisPid()),
      postgres: cpuMsOfTree(cluster.postgres.pid()),
    });
    const before = { cpu: cpu(), redis: await redisCalls(redis), seq: await logHead(db) };
    const ids: string[] = [];
    let next = 0;
    const started = Date.now();
    const sendUntil = started + args.phaseSeconds * 1000;
    await Promise.all(
      Array.from({ length: Math.min(args.concurrency, args.messages) }, async () => {
        while (next < args.messages && Date.now() < sendUntil) {
          next += 1;
          const id = await send();
          if (id) ids.push(id);
        }
      }),
    );
    const { done, at } = await settle(ids, Date.now() + args.phaseSeconds * 1000);
    const after = { cpu: cpu(), redis: await redisCalls(redis), seq: await logHead(db) };
    const per = (x: number) => x / Math.max(1, done);
    const cstByProcess = after.cpu.cst.map((ms, i) => per(ms - before.cpu.cst[i]!));
    return {
      processes: cluster.members.length,
      exchangesPerSec: done / ((at - started) / 1000),
      delivered: done,
      refused,
      cpuMsPerExchange: {
        cst: cstByProcess.reduce((a, b) => a + b, 0),
        cstByProcess,
        regione: per(after.cpu.regione - before.cpu.regione),
        redis: per(after.cpu.redis - before.cpu.redis),
        postgres: per(after.cpu.postgres - before.cpu.postgres),
      },
      redisCommandsPerExchange: per(after.redis - before.redis),
      logRecordsPerExchange: per(after.seq - before.seq),
    };
  } finally {
    await db.end();
    redis.disconnect();
  }
}

/**
 * Concurrent appenders on `stores` log stores (each as one node process opens it: its own pool of 4
 * connections and its own group commit; several stores contend for the chain lock as processes do), 3 s each.
 */
async function measureLogCapacity(cluster: NodeCluster, say: (s: string) => void): Promise<LogCapacity[]> {
  const url = await freshDatabase(cluster.postgres.url);
  const out: LogCapacity[] = [];
  const pgCpu = () => cpuMsOfTree(cluster.postgres.pid());
  for (const { stores: storeCount, appenders } of [
    { stores: 1, appenders: 1 },
    { stores: 1, appenders: 64 },
    { stores: 3, appenders: 64 },
  ]) {
    say(`${storeCount}×${appenders}… `);
    const stores = await Promise.all(Array.from({ length: storeCount }, () => PostgresLogStore.open(url)));
    try {
      const cpuBefore = pgCpu();
      let appends = 0;
      const started = Date.now();
      const until = started + 3000;
      await Promise.all(
        stores.flatMap((store) =>
          Array.from({ length: appenders }, async () => {
            while (Date.now() < until) {
              await store.append([logEntry(appends)], { op: 'none' });
              appends += 1;
            }
          }),
        ),
      );
      const seconds = (Date.now() - started) / 1000;
      out.push({
        stores: storeCount,
        appenders,
        appendsPerSec: appends / seconds,
        postgresCpuMsPerAppend: (pgCpu() - cpuBefore) / appends,
      });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  }
  return out;
}

/** A node's typical record: a 3 KB envelope (what the exchange logs per message, on average, is measured above). */
function logEntry(n: number): LogEntryInput {
  return {
    time: new Date().toISOString(),
    kind: 'envelope',
    messageId: `ComuneA_CSTSPCoopIT_${String(n % 9_999_999).padStart(7, '0')}_2026-11-23_10:00`,
    direction: 'out',
    from: 'SPC/ComuneA',
    to: 'SPC/RegioneX',
    service: 'ComunicazioneVariazione',
    action: 'Notifica',
    state: 'ACCEPTED',
    detail: { attempts: 1 },
    envelope: Buffer.from(`<e>${'0123456789abcdef'.repeat(190)}</e>`),
  };
}

function regionePid(cluster: NodeCluster): number {
  return cluster.regioneProcess()!.pid!;
}

async function redisCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  // Lines `cmdstat_evalsha:calls=12,usec=…`; the INFO call itself is counted too (one per reading).
  return [...info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function logHead(db: pg.Client): Promise<number> {
  const { rows } = await db.query<{ seq: string | null }>('SELECT max(seq) AS seq FROM log_records');
  return Number(rows[0]!.seq ?? 0);
}
