/**
 * Checkpoints of a log shared by several processes (PostgreSQL): one writer at a time, by an advisory
 * lock on a connection of its own; when the writer's process dies, another process takes over, and the
 * chain of checkpoints still verifies (`tramite log verify`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { createDevPki, devCaFiles, devPartyFiles, devPartyRef } from '../../src/crypto/dev-pki.js';
import { memorySigner } from '../../src/crypto/signer/memory-signer.js';
import { MessageLog } from '../../src/log/message-log.js';
import type { LogStore } from '../../src/log/log-store.js';
import { runCli } from '../cli/run-cli.js';
import { dropFileDatabase, newStoreSite, rawSql, STORE_KINDS } from './log-fixtures.js';

const dist = (path: string): string => fileURLToPath(new URL(`../../dist/src/${path}`, import.meta.url));

afterAll(dropFileDatabase);

const NODE = 'CSTSPCoopIT';
const pkiDir = mkdtempSync(join(tmpdir(), 'tramite-cp-pki-'));
createDevPki({ dir: pkiDir, parties: ['SPC/ProcessoA', 'SPC/ProcessoB'] });
const certOf = (party: string): string => readFileSync(devPartyFiles(pkiDir, devPartyRef(party)).certFile, 'utf8');

function signerOf(party: string) {
  const files = devPartyFiles(pkiDir, devPartyRef(party));
  const certPem = readFileSync(files.certFile, 'utf8');
  return memorySigner({
    privateKey: createPrivateKey(readFileSync(files.keyFile, 'utf8')),
    certificate: new X509Certificate(certPem),
    certPem,
  });
}

function checkpointingLog(store: LogStore, party: string): MessageLog {
  return new MessageLog({
    store,
    node: NODE,
    clock: systemClock,
    checkpoints: { signer: signerOf(party), everyRecords: 1_000_000, everySeconds: 1 },
  });
}

/** Process A: a node's log, appending an operator record every 100 ms and checkpointing every second. */
function startProcessA(url: string): { child: ChildProcess; ready: Promise<void> } {
  const files = devPartyFiles(pkiDir, devPartyRef('SPC/ProcessoA'));
  const script = `
    const { X509Certificate, createPrivateKey } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const { PostgresLogStore } = await import(${JSON.stringify(dist('log/postgres-log-store.js'))});
    const { MessageLog } = await import(${JSON.stringify(dist('log/message-log.js'))});
    const { memorySigner } = await import(${JSON.stringify(dist('crypto/signer/memory-signer.js'))});
    const certPem = readFileSync(${JSON.stringify(files.certFile)}, 'utf8');
    const signer = memorySigner({ privateKey: createPrivateKey(readFileSync(${JSON.stringify(files.keyFile)}, 'utf8')), certificate: new X509Certificate(certPem), certPem });
    const log = new MessageLog({ store: await PostgresLogStore.open(process.argv[1]), node: ${JSON.stringify(NODE)},
      clock: { now: () => new Date() }, checkpoints: { signer, everyRecords: 1000000, everySeconds: 1 } });
    const by = { role: 'operator', name: 'processo-a' };
    for (let i = 0; i < 5; i++) await log.recordOperatorAction({ by, action: 'tick', target: 'a-' + i });
    const first = await log.checkpointNow();
    log.start();
    process.stdout.write(first ? 'ready\\n' : 'not the writer\\n');
    let i = 5;
    setInterval(() => void log.recordOperatorAction({ by, action: 'tick', target: 'a-' + i++ }), 100);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, url], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve();
      else if (out.includes('\n')) reject(new Error(`process A: ${out}`));
    });
    child.on('exit', (code) => reject(new Error(`process A exited (${code}) before it was ready`)));
  });
  return { child, ready };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('checkpoint writer', () => {
  it.each(STORE_KINDS)('%s: a store alone is the writer', async (kind) => {
    const site = await newStoreSite(kind);
    const store = await site.open();
    expect(await store.checkpointWriter()).toBe(true);
    expect(await store.checkpointWriter()).toBe(true);
    await store.close();
    await site.dispose();
  });

  it('postgres: a writer whose own connection the server ended (PostgreSQL restarted) connects again and writes on', async () => {
    const site = await newStoreSite('postgres');
    const store = await site.open();
    try {
      expect(await store.checkpointWriter()).toBe(true);
      // The server ends every session holding an advisory lock in this database but the asker's: the writer's.
      const admin = await site.open();
      await rawSql(admin).run(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND pid <> pg_backend_pid()",
      );
      await admin.close();
      // Time for the client to see its connection end (a loopback socket's close), as a checkpoint's next try would.
      await new Promise((r) => setTimeout(r, 500));
      // Its next try connects again and takes the lock again, instead of asking a dead connection for ever.
      expect(await store.checkpointWriter().catch((err: unknown) => (err as Error).message)).toBe(true);
      expect(await store.checkpointWriter()).toBe(true);
    } finally {
      await store.close();
      await site.dispose();
    }
  });

  it('postgres: of two processes one writes the checkpoints; the other takes over when the first dies, and the log verifies', async () => {
    const site = await newStoreSite('postgres');
    const a = startProcessA(site.location);
    try {
      await a.ready;
      const storeB = await site.open();
      const logB = checkpointingLog(storeB, 'SPC/ProcessoB');
      logB.start();
      const by = { role: 'operator' as const, name: 'processo-b' };
      for (let i = 0; i < 5; i++) await logB.recordOperatorAction({ by, action: 'tick', target: `b-${i}` });
      // B asks every second and is refused while A lives; A signs heads that hold B's records too.
      expect(await logB.checkpointNow()).toBeUndefined();
      expect(await storeB.checkpointWriter()).toBe(false);
      const bHead = (await storeB.head()).seq;
      await until('a checkpoint by A past B’s records', async () => ((await storeB.latestCheckpoint())?.seq ?? 0) > bHead || undefined);
      await new Promise((r) => setTimeout(r, 1500));
      const whileAlive = await storeB.checkpoints();
      expect(whileAlive.length).toBeGreaterThanOrEqual(2);
      expect(whileAlive.every((cp) => cp.signerCert === certOf('SPC/ProcessoA'))).toBe(true);

      a.child.kill('SIGKILL');
      await new Promise((r) => a.child.once('exit', r));
      const lastOfA = (await storeB.latestCheckpoint())!.seq;
      await logB.recordOperatorAction({ by, action: 'tick', target: 'b-after' });
      // B's next try (every second) finds the lock free: A's connection went with its process.
      const taken = await until('a checkpoint by B', async () => {
        const cp = await storeB.latestCheckpoint();
        return cp && cp.signerCert === certOf('SPC/ProcessoB') ? cp : undefined;
      });
      expect(taken.seq).toBeGreaterThan(lastOfA);
      expect(await storeB.checkpointWriter()).toBe(true);
      await logB.close();

      const verified = await runCli(['log', 'verify', '--db', site.location, '--trust', devCaFiles(pkiDir).certFile, '--json']);
      expect(verified.stderr).toBe('');
      expect(verified.code).toBe(0);
      const report = JSON.parse(verified.stdout) as { ok: boolean; checkpoints?: number };
      expect(report.ok).toBe(true);
    } finally {
      a.child.kill('SIGKILL');
    }
    await site.dispose();
  });
});
