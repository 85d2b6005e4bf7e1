/**
 * One way to run a third-party server (Redis, Dovecot, PostgreSQL) as a child process: pick free
 * loopback ports, spawn it, wait until it is ready (with a deadline, and its last output in the error
 * when it is not), stop it with a clean-shutdown signal then SIGKILL after a grace period, remove its
 * private temp dir, and signal it from a process exit hook so it does not outlive a parent that ends
 * without stopping it. A start that fails because another process took a chosen port between the
 * probe and the bind is tried again with other ports.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { settlesWithin } from '../core/deadline.js';
import { DaemonError } from '../core/errors.js';
import { onProcessExit } from './exit-hook.js';
import { freePorts } from './free-port.js';
import type { PrivateTempDir } from './private-temp-dir.js';
import { acceptsConnections, describeReadiness, type Readiness } from './readiness.js';

export interface DaemonCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Run as this user and group (a launcher running as root for a server that refuses root). */
  readonly uid?: number;
  readonly gid?: number;
  readonly ready: Readiness;
  /** The server's own log file: its last lines go into a start-up error, beside the child's output. */
  readonly logFile?: string;
}

export interface ChildDaemonOptions {
  /** Names the server in errors ("dovecot", "postgres"). */
  readonly name: string;
  /** How many free loopback ports to choose before each start attempt; handed to `command`. Default 0. */
  readonly ports?: number;
  /** A folder the daemon owns from now on: removed when it stops, when its start fails, or when the process exits. */
  readonly tempDir?: PrivateTempDir;
  /** What to run, once per start attempt with that attempt's ports (the place to write a config file naming them). */
  command(ctx: { readonly ports: readonly number[]; readonly attempt: number }): DaemonCommand | Promise<DaemonCommand>;
  /** How long one start attempt may take to become ready, ms. Default 20 000. */
  readonly startTimeoutMs?: number;
  /** Start attempts when the child fails with "address already in use". Default 5 with ports, else 1. */
  readonly attempts?: number;
  /** The signal that asks the server to shut down cleanly. Default SIGTERM. */
  readonly stopSignal?: NodeJS.Signals;
  /** How long stop() waits after stopSignal before it sends SIGKILL, ms. Default 10 000. */
  readonly stopGraceMs?: number;
  /** The signal the process exit hook sends; it cannot wait, so a quick-shutdown signal fits. Default: stopSignal. */
  readonly exitSignal?: NodeJS.Signals;
  /**
   * 'pipe' keeps the child's stdout and stderr for errors; 'ignore' is for a server that must survive
   * a SIGKILL of this process, which would close its pipes (such a server logs to `logFile`). Default 'pipe'.
   */
  readonly output?: 'pipe' | 'ignore';
}

export interface DaemonExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ChildDaemon {
  readonly name: string;
  readonly pid: number;
  /** The ports chosen for the attempt that started. */
  readonly ports: readonly number[];
  /** Resolves once the child has exited, whoever ended it. */
  readonly exited: Promise<DaemonExit>;
  running(): boolean;
  /** Sends `signal` now (a test's kill -9 of the server); stop() is still the way to clean up. */
  kill(signal: NodeJS.Signals): void;
  /** The child's last output, stdout and stderr interleaved ('' with output 'ignore'). */
  outputTail(): string;
  /**
   * Sends stopSignal, waits `graceMs` (default: the daemon's stopGraceMs), then SIGKILL and waits at
   * most `killWaitMs` (default 2 s) more; removes the temp dir. Idempotent: later calls share the first.
   */
  stop(opts?: { graceMs?: number; killWaitMs?: number }): Promise<void>;
}

const TAIL_CHARS = 8000;
const LOG_TAIL_LINES = 20;
const POLL_MS = 50;
const KILL_WAIT_MS = 2000;
const ADDRESS_IN_USE = /address already in use|EADDRINUSE/i;

export async function startChildDaemon(opts: ChildDaemonOptions): Promise<ChildDaemon> {
  const attempts = opts.attempts ?? (opts.ports ? 5 : 1);
  const stopSignal = opts.stopSignal ?? 'SIGTERM';
  const exitSignal = opts.exitSignal ?? stopSignal;
  let current: WatchedChild | undefined;
  const cancelExitHook = onProcessExit(() => {
    if (current?.running()) current.child.kill(exitSignal);
    opts.tempDir?.remove();
  });
  try {
    for (let attempt = 1; ; attempt++) {
      const ports = opts.ports ? await freePorts(opts.ports) : [];
      const cmd = await opts.command({ ports, attempt });
      if (cmd.ready.kind === 'line' && opts.output === 'ignore') {
        throw new DaemonError('TRAMITE_ERR_DAEMON_OPTIONS', `${opts.name}: readiness by an output line needs output 'pipe'`);
      }
      current = new WatchedChild(cmd, opts.output ?? 'pipe');
      const notReady = await current.waitUntilReady(opts.startTimeoutMs ?? 20_000);
      if (!notReady) return runningDaemon(opts, current, ports, stopSignal, cancelExitHook);
      await current.killNow();
      const output = current.tail(cmd.logFile);
      if (attempt < attempts && ADDRESS_IN_USE.test(output)) continue;
      throw new DaemonError('TRAMITE_ERR_DAEMON_START', `${opts.name} ${notReady} (${commandLine(cmd)})${output ? `:\n${output}` : ''}`, {
        output,
      });
    }
  } catch (err) {
    cancelExitHook();
    if (current?.running()) current.child.kill('SIGKILL');
    opts.tempDir?.remove();
    throw err;
  }
}

function runningDaemon(
  opts: ChildDaemonOptions,
  watched: WatchedChild,
  ports: readonly number[],
  stopSignal: NodeJS.Signals,
  cancelExitHook: () => void,
): ChildDaemon {
  let stopping: Promise<void> | undefined;
  const { child } = watched;
  return {
    name: opts.name,
    pid: child.pid!,
    ports,
    exited: watched.exited,
    running: () => watched.running(),
    kill: (signal) => {
      if (watched.running()) child.kill(signal);
    },
    outputTail: () => watched.tail(),
    stop: (how) =>
      (stopping ??= (async () => {
        try {
          if (!watched.running()) return;
          child.kill(stopSignal);
          if (await settlesWithin(watched.exited, how?.graceMs ?? opts.stopGraceMs ?? 10_000)) return;
          child.kill('SIGKILL');
          await settlesWithin(watched.exited, how?.killWaitMs ?? KILL_WAIT_MS);
        } finally {
          cancelExitHook();
          opts.tempDir?.remove();
        }
      })()),
  };
}

/** A spawned child with its exit, its output tail and its readiness. */
class WatchedChild {
  readonly child: ChildProcess;
  readonly exited: Promise<DaemonExit>;
  private exit: DaemonExit | undefined;
  private spawnError: Error | undefined;
  private output = '';
  private partialLine = { stdout: '', stderr: '' };
  private lineSeen = false;

  constructor(
    private readonly cmd: DaemonCommand,
    output: 'pipe' | 'ignore',
  ) {
    const options: SpawnOptions = { stdio: ['ignore', output, output] };
    if (cmd.cwd !== undefined) options.cwd = cmd.cwd;
    if (cmd.env !== undefined) options.env = cmd.env;
    if (cmd.uid !== undefined) options.uid = cmd.uid;
    if (cmd.gid !== undefined) options.gid = cmd.gid;
    this.child = spawn(cmd.command, [...cmd.args], options);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      this.child.on('error', (err) => {
        // A child that could not be spawned (ENOENT, EACCES) emits no 'exit'; a failed kill() of a live one changes nothing.
        if (this.child.pid !== undefined) return;
        this.spawnError = err;
        this.exit = { code: null, signal: null };
        resolve(this.exit);
      });
    });
    this.child.stdout?.on('data', (chunk: Buffer) => this.keep('stdout', chunk));
    this.child.stderr?.on('data', (chunk: Buffer) => this.keep('stderr', chunk));
  }

  running(): boolean {
    return this.exit === undefined && this.child.pid !== undefined;
  }

  private keep(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const text = chunk.toString('utf8');
    this.output = (this.output + text).slice(-TAIL_CHARS);
    const { ready } = this.cmd;
    if (ready.kind !== 'line' || this.lineSeen) return;
    const lines = (this.partialLine[stream] + text).split('\n');
    this.partialLine[stream] = lines.pop() ?? '';
    if (lines.some((line) => ready.match.test(line.replace(/\r$/, '')))) this.lineSeen = true;
  }

  /** Resolves to undefined once ready, or to why not (it exited, or the deadline passed). */
  async waitUntilReady(timeoutMs: number): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    let lastProblem = '';
    const { ready } = this.cmd;
    while (Date.now() < deadline) {
      if (this.spawnError) return `could not be started: ${this.spawnError.message}`;
      if (this.exit) return `exited during start-up with ${describeExit(this.exit)}`;
      try {
        if (await this.isReady(ready, deadline - Date.now())) return undefined;
      } catch (err) {
        lastProblem = err instanceof Error ? err.message : String(err);
      }
      await settlesWithin(this.exited, POLL_MS);
    }
    return `was not ready within ${timeoutMs / 1000} s: no ${describeReadiness(ready)}${lastProblem ? ` (last: ${lastProblem})` : ''}`;
  }

  private async isReady(ready: Readiness, leftMs: number): Promise<boolean> {
    switch (ready.kind) {
      case 'line':
        return this.lineSeen;
      case 'port':
        return acceptsConnections(ready.port, ready.host, Math.min(1000, Math.max(1, leftMs)));
      case 'probe': {
        const answer = ready.probe();
        // A probe that hangs must not hold the loop past the deadline.
        return (await settlesWithin(answer, Math.max(1, leftMs))) && (await answer);
      }
    }
  }

  async killNow(): Promise<void> {
    if (!this.running()) return;
    this.child.kill('SIGKILL');
    await settlesWithin(this.exited, KILL_WAIT_MS);
  }

  /** The child's output, then the last lines of its log file when it has one. */
  tail(logFile = this.cmd.logFile): string {
    const log = logFile ? lastLines(logFile, LOG_TAIL_LINES) : '';
    return [this.output.trim(), log ? `--- ${logFile} ---\n${log}` : ''].filter(Boolean).join('\n');
  }
}

function describeExit(exit: DaemonExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

function commandLine(cmd: DaemonCommand): string {
  return [cmd.command, ...cmd.args].join(' ');
}

/** The last `count` lines of a file, reading only its end. */
function lastLines(file: string, count: number): string {
  if (!existsSync(file)) return '';
  try {
    return readEnd(file).trim().split('\n').slice(-count).join('\n');
  } catch {
    return ''; // removed meanwhile: an error message is still better without it than not at all
  }
}

function readEnd(file: string): string {
  const size = statSync(file).size;
  const length = Math.min(size, 64 * 1024);
  const buffer = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  return buffer.toString('utf8');
}
