/**
 * The child-daemon helper with real children (`node -e` servers): readiness by port, line and probe,
 * a deadline that names what the child printed, SIGTERM then SIGKILL, the temp dir removed, another
 * attempt when a port was taken, and the exit hook of a parent that ends without stopping its child.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonError } from '../../src/core/errors.js';
import { startChildDaemon, type ChildDaemon, type ChildDaemonOptions } from '../../src/daemons/child-daemon.js';
import { createPrivateTempDir } from '../../src/daemons/private-temp-dir.js';
import { acceptsConnections } from '../../src/daemons/readiness.js';

const NODE = process.execPath;
/** A loopback TCP server on the port given as its first argument. */
const TCP_SERVER = "require('node:net').createServer((s) => s.end('hello\\n')).listen(Number(process.argv[1]), '127.0.0.1')";

const started: ChildDaemon[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((d) => d.stop({ graceMs: 1000 })));
});

/** The error a start that must fail fails with. */
async function failedStart(opts: ChildDaemonOptions): Promise<DaemonError> {
  const err = await startChildDaemon(opts).then(
    (daemon) => {
      started.push(daemon);
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DaemonError);
  return err as DaemonError;
}

/** Whether a process is alive: not gone, and not a zombie waiting for a parent to reap it. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('startChildDaemon', () => {
  it('waits until the child accepts connections on a free port, then stops it with SIGTERM and removes its temp dir', async () => {
    const tempDir = createPrivateTempDir('daemon-test');
    expect(statSync(tempDir.path).mode & 0o777).toBe(0o700);
    const daemon = await startChildDaemon({
      name: 'tcp-server',
      ports: 1,
      tempDir,
      command: ({ ports }) => ({
        command: NODE,
        args: ['-e', TCP_SERVER, String(ports[0])],
        cwd: tempDir.path,
        ready: { kind: 'port', port: ports[0]! },
      }),
    });
    started.push(daemon);
    expect(daemon.ports).toHaveLength(1);
    expect(await acceptsConnections(daemon.ports[0]!)).toBe(true);
    expect(daemon.running()).toBe(true);

    await daemon.stop();
    expect(await daemon.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(daemon.running()).toBe(false);
    expect(existsSync(tempDir.path)).toBe(false);
    expect(await acceptsConnections(daemon.ports[0]!)).toBe(false);
    await daemon.stop(); // idempotent
  });

  it('is ready when the child prints a matching line, and keeps its output', async () => {
    const daemon = await startChildDaemon({
      name: 'line-server',
      command: () => ({
        command: NODE,
        args: [
          '-e',
          "console.error('warming up'); setTimeout(() => console.log('server ready on the moon'), 200); setInterval(() => {}, 1000)",
        ],
        ready: { kind: 'line', match: /^server ready on / },
      }),
    });
    started.push(daemon);
    expect(daemon.outputTail()).toContain('warming up');
    expect(daemon.outputTail()).toContain('server ready on the moon');
  });

  it("is ready when the launcher's probe says so; a throwing probe only means not yet", async () => {
    const tempDir = createPrivateTempDir('daemon-test');
    const flag = join(tempDir.path, 'up');
    let asked = 0;
    const daemon = await startChildDaemon({
      name: 'probed',
      tempDir,
      command: () => ({
        command: NODE,
        args: ['-e', `setTimeout(() => require('node:fs').writeFileSync(${JSON.stringify(flag)}, 'x'), 300); setInterval(() => {}, 1000)`],
        ready: {
          kind: 'probe',
          what: 'the flag file',
          probe: async () => {
            asked++;
            if (!existsSync(flag)) throw new Error('no flag yet');
            return true;
          },
        },
      }),
    });
    started.push(daemon);
    expect(asked).toBeGreaterThan(1);
    expect(existsSync(flag)).toBe(true);
  });

  it('gives up at the deadline with what the child printed, kills it and removes the temp dir', async () => {
    const tempDir = createPrivateTempDir('daemon-test');
    const pidFile = join(tempDir.path, 'pid');
    let childPid = 0;
    const err = await failedStart({
      name: 'sleepy',
      tempDir,
      startTimeoutMs: 1500,
      command: () => ({
        // A shell, not node: it starts in a few ms even on a loaded machine, well within the deadline.
        command: 'sh',
        args: ['-c', `echo $$ > ${pidFile}; echo 'still loading the tables' >&2; exec sleep 600`],
        ready: {
          kind: 'probe',
          what: 'answer on the admin port',
          // Never ready; notes the child's pid while its folder is still there.
          probe: async () => {
            if (existsSync(pidFile)) childPid = Number(readFileSync(pidFile, 'utf8'));
            return false;
          },
        },
      }),
    });
    expect(err).toMatchObject({ code: 'TRAMITE_ERR_DAEMON_START' });
    expect(err.message).toMatch(/^sleepy was not ready within 1\.5 s: no answer on the admin port \(/);
    expect(err.output).toContain('still loading the tables');
    expect(childPid).toBeGreaterThan(0);
    expect(alive(childPid)).toBe(false);
    expect(existsSync(tempDir.path)).toBe(false);
  });

  it('fails at once when the child exits during start-up, with its exit code, its stderr and its log file', async () => {
    const tempDir = createPrivateTempDir('daemon-test');
    const logFile = join(tempDir.path, 'server.log');
    const begun = Date.now();
    const err = await failedStart({
      name: 'broken',
      tempDir,
      command: () => {
        writeFileSync(logFile, 'line 1\nFATAL: configuration file has an error on line 7\n');
        return {
          command: NODE,
          args: ['-e', "console.error('cannot read the config'); process.exit(3)"],
          logFile,
          ready: { kind: 'line', match: /never/ },
        };
      },
    });
    expect(Date.now() - begun).toBeLessThan(10_000);
    expect(err).toMatchObject({ code: 'TRAMITE_ERR_DAEMON_START' });
    expect(err.message).toContain('broken exited during start-up with code 3');
    expect(err.output).toContain('cannot read the config');
    expect(err.output).toContain('FATAL: configuration file has an error on line 7');
  });

  it('names a program that cannot be spawned', async () => {
    const err = await failedStart({
      name: 'absent',
      command: () => ({ command: '/nonexistent/server', args: [], ready: { kind: 'port', port: 1 } }),
    });
    expect(err).toMatchObject({ code: 'TRAMITE_ERR_DAEMON_START' });
    expect(err.message).toMatch(/absent could not be started: .*ENOENT/);
  });

  it('sends SIGKILL to a child that ignores SIGTERM once the grace period is over', async () => {
    const daemon = await startChildDaemon({
      name: 'stubborn',
      stopGraceMs: 300,
      command: () => ({
        command: NODE,
        args: ['-e', "process.on('SIGTERM', () => console.log('not stopping')); console.log('up'); setInterval(() => {}, 1000)"],
        ready: { kind: 'line', match: /^up$/ },
      }),
    });
    started.push(daemon);
    const begun = Date.now();
    await daemon.stop();
    expect(await daemon.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(Date.now() - begun).toBeGreaterThanOrEqual(300);
    expect(daemon.outputTail()).toContain('not stopping');
    expect(alive(daemon.pid)).toBe(false);
  });

  it('uses the configured stop signal', async () => {
    const daemon = await startChildDaemon({
      name: 'sigint-server',
      stopSignal: 'SIGINT',
      command: () => ({
        command: NODE,
        args: [
          '-e',
          "process.on('SIGINT', () => { console.log('fast shutdown'); process.exit(0); }); console.log('up'); setInterval(() => {}, 1000)",
        ],
        ready: { kind: 'line', match: /^up$/ },
      }),
    });
    started.push(daemon);
    await daemon.stop();
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    expect(daemon.outputTail()).toContain('fast shutdown');
  });

  it('tries other ports when the child reports its port taken', async () => {
    const seen: number[][] = [];
    const daemon = await startChildDaemon({
      name: 'unlucky',
      ports: 2,
      command: ({ ports, attempt }) => {
        seen.push([...ports]);
        const script = attempt === 1 ? "console.error('bind: Address already in use'); process.exit(1)" : TCP_SERVER;
        return { command: NODE, args: ['-e', script, String(ports[0])], ready: { kind: 'port', port: ports[0]! } };
      },
    });
    started.push(daemon);
    expect(seen).toHaveLength(2);
    for (const ports of seen) expect(new Set(ports).size).toBe(2);
    expect(daemon.ports).toEqual(seen[1]);
  });

  it('does not retry other failures', async () => {
    let attempts = 0;
    await expect(
      startChildDaemon({
        name: 'once',
        ports: 1,
        command: ({ ports }) => {
          attempts++;
          return { command: NODE, args: ['-e', 'process.exit(2)'], ready: { kind: 'port', port: ports[0]! } };
        },
      }),
    ).rejects.toMatchObject({ code: 'TRAMITE_ERR_DAEMON_START' });
    expect(attempts).toBe(1);
  });
});

describe('the process exit hook', () => {
  it('signals a child still running and removes its temp dir when the parent exits without stopping it', () => {
    const childDaemon = fileURLToPath(new URL('../../dist/src/daemons/child-daemon.js', import.meta.url));
    const tempDirModule = fileURLToPath(new URL('../../dist/src/daemons/private-temp-dir.js', import.meta.url));
    const parent = `
      const { startChildDaemon } = await import(${JSON.stringify(childDaemon)});
      const { createPrivateTempDir } = await import(${JSON.stringify(tempDirModule)});
      const tempDir = createPrivateTempDir('daemon-test');
      const daemon = await startChildDaemon({
        name: 'orphan', tempDir,
        command: () => ({ command: process.execPath, args: ['-e', "console.log('up'); setInterval(() => {}, 1000)"], ready: { kind: 'line', match: /^up$/ } }),
      });
      console.log(JSON.stringify({ pid: daemon.pid, dir: tempDir.path }));
      process.exit(0);
    `;
    const run = spawnSync(NODE, ['--input-type=module', '-e', parent], { encoding: 'utf8', timeout: 20_000 });
    expect(run.stderr).toBe('');
    const { pid, dir } = JSON.parse(run.stdout) as { pid: number; dir: string };
    expect(existsSync(dir)).toBe(false);
    // SIGTERM was sent as the parent exited; the child may take a moment to go.
    const until = Date.now() + 5000;
    while (alive(pid) && Date.now() < until) spawnSync('sleep', ['0.05']);
    expect(alive(pid)).toBe(false);
  });
});
