/**
 * Issue 18's fault tests: three `tramite start` processes of one node behind HAProxy, each with its own
 * empty data dir, sharing one PostgreSQL log and one Redis (the harness's own, restarted here), with the
 * Regione node as their peer, every party running the demo's adapters. Under a steady load in both
 * directions and an adapter load (protocollo documents both ways, SIATEL queries pressing the operator's
 * limits), each fault in turn; after each, every accepted message reached its destination back office
 * exactly once, every id is unique, both logs verify, Francavilla's protocol numbers were issued once
 * and in sequence, and SIATEL's limits held. One cluster serves the scenarios in sequence (each checks
 * its own messages; the register and the SIATEL counters are checked whole), so the file starts
 * PostgreSQL, Redis and the four nodes once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeCluster, type NodeCluster } from '../../test-support/node-cluster.js';
import { runCli } from '../cli/run-cli.js';
import { AdapterLoad, adapterLoadConfig, expectProtocolloNumbering, expectSiatelLimitsHeld } from './adapter-load.js';
import { expectEachDeliveredOnce, SteadyLoad } from './cluster-load.js';

let cluster: NodeCluster;
let load: SteadyLoad | undefined;
let adapterLoad: AdapterLoad | undefined;

beforeAll(async () => {
  cluster = await startNodeCluster(mkdtempSync(join(tmpdir(), 'tramite-cluster-faults-')), { patchConfig: adapterLoadConfig });
}, 180_000);

afterAll(async () => {
  await Promise.all([load?.stop(), adapterLoad?.stop()]);
  await cluster?.stop();
}, 120_000);

/**
 * Runs `fault` under a steady load and the adapter load, then lets them run on a little and stops them;
 * the loads, for the checks. The adapter load's last SIATEL queries may wait for the next fast day: the
 * adapter checks wait for them, after the message checks.
 */
async function underLoad(fault: () => Promise<void>): Promise<{ done: SteadyLoad; adapters: AdapterLoad }> {
  load = new SteadyLoad(cluster);
  adapterLoad = new AdapterLoad(cluster);
  await load.acceptMore(5);
  await fault();
  await load.acceptMore(5);
  const adapters = adapterLoad;
  void adapters.stop();
  await load.stop();
  const done = load;
  load = undefined;
  adapterLoad = undefined;
  // Said, not asserted: a call cut by a fault is the client's to retry; what was accepted is what must arrive.
  process.stderr.write(`cluster fault test: ${done.total} accepted, refused: ${JSON.stringify(done.refused)}\n`);
  return { done, adapters };
}

/** Once the adapter load's last calls are answered: the protocollo numbering and the SIATEL limits. */
async function adaptersHeld(adapters: AdapterLoad): Promise<void> {
  await adapters.stop();
  process.stderr.write(
    `cluster fault test: protocollo ${adapters.registered.length} registered at Francavilla, ${adapters.sentToFrancavilla.length} sent to it; ` +
      `SIATEL ${adapters.siatelAnswered} answered; refused: ${JSON.stringify(adapters.refused)}\n`,
  );
  await eachHolds(
    () => expectProtocolloNumbering(cluster, adapters),
    () => expectSiatelLimitsHeld(cluster, adapters),
  );
}

/**
 * Runs independent checks side by side and fails with the first that failed, the others' failures
 * written out: one broken invariant does not hide another.
 */
async function eachHolds(...checks: Array<() => Promise<void>>): Promise<void> {
  const failed = (await Promise.allSettled(checks.map((check) => check()))).flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
  for (const err of failed.slice(1)) process.stderr.write(`cluster fault test: also failed: ${(err as Error).message}\n`);
  if (failed.length > 0) throw failed[0];
}

async function logsVerify(): Promise<void> {
  for (const configFile of [cluster.members[0]!.configFile, cluster.regione.configFile]) {
    const r = await runCli(['log', 'verify', '--config', configFile, '--json'], { timeoutMs: 120_000 });
    expect(r.stderr, configFile).toBe('');
    expect(JSON.parse(r.stdout), configFile).toMatchObject({ ok: true });
  }
}

describe('a node as three processes behind HAProxy, sharing PostgreSQL and Redis', () => {
  it('kill -9 of one process, then a second, then both restarted: each accepted message arrives once, protocol numbers in sequence, SIATEL limits held', async () => {
    const killedAt: number[] = [];
    const { done, adapters } = await underLoad(async () => {
      killedAt.push(Date.now());
      await cluster.stopMember(0, 'SIGKILL');
      await cluster.balancerSees([1, 2]);
      await load!.acceptMore(5);
      killedAt.push(Date.now());
      await cluster.stopMember(1, 'SIGKILL');
      await cluster.balancerSees([2]);
      await load!.acceptMore(5);
      await cluster.startMember(0);
      await cluster.startMember(1);
      await cluster.balancerSees([0, 1, 2]);
    });
    await eachHolds(
      () => expectEachDeliveredOnce(cluster, done, { killedAt }),
      () => adaptersHeld(adapters),
    );
    await logsVerify();
  }, 480_000);

  it('a rolling restart (SIGTERM, drain, stop, start; one at a time): each accepted message arrives once, protocol numbers in sequence, SIATEL limits held', async () => {
    const { done, adapters } = await underLoad(async () => {
      for (const i of [0, 1, 2]) {
        await cluster.stopMember(i, 'SIGTERM');
        await cluster.startMember(i);
        await load!.acceptMore(2);
      }
    });
    await eachHolds(
      () => expectEachDeliveredOnce(cluster, done),
      () => adaptersHeld(adapters),
    );
    await logsVerify();
  }, 480_000);

  it('PostgreSQL restarted: each accepted message arrives once, protocol numbers in sequence, SIATEL limits held', async () => {
    const { done, adapters } = await underLoad(async () => {
      await cluster.postgres.restart();
      // Every process rode it out (none ended on a connection PostgreSQL closed) and is ready again.
      await cluster.balancerSees([0, 1, 2]);
    });
    expect(cluster.members.map((m) => m.process?.exitCode ?? m.process?.signalCode ?? 'running')).toEqual([
      'running',
      'running',
      'running',
    ]);
    // A submission met by the outage is told to come back (503, Retry-After), never given an internal error.
    expect(Object.keys(done.refused).filter((what) => /HTTP 5/.test(what) && !/HTTP 503/.test(what))).toEqual([]);
    await eachHolds(
      () => expectEachDeliveredOnce(cluster, done),
      () => adaptersHeld(adapters),
    );
    await logsVerify();
  }, 300_000);

  it('Redis killed and restarted: each accepted message arrives once, protocol numbers in sequence, SIATEL limits held', async () => {
    const before = cluster.redisPid();
    const { done, adapters } = await underLoad(() => cluster.restartRedis());
    expect(cluster.redisPid()).not.toBe(before);
    await eachHolds(
      () => expectEachDeliveredOnce(cluster, done),
      () => adaptersHeld(adapters),
    );
    await logsVerify();
  }, 300_000);
});
