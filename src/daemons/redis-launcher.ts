import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Deadline } from '../core/deadline.js';
import { ConfigError, DaemonError } from '../core/errors.js';
import { startChildDaemon, type ChildDaemon } from './child-daemon.js';

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server'];

/** Where to look for redis-server, and whether Debian's package may be installed when it is missing. */
export interface RedisServerSearch {
  /**
   * Install Debian's redis-server (as root, with apt-get) when it is missing: a development convenience,
   * never a production node's (node.installPackages, node.development). Default false.
   */
  readonly install?: boolean;
  /** The PATH searched first (default: this process's). */
  readonly path?: string;
  /** Then these files (default: Debian's and /usr/local's). */
  readonly candidates?: readonly string[];
}

/** What to run on a machine without redis-server. */
export const REDIS_INSTALL_COMMAND = 'sudo apt-get install -y --no-install-recommends redis-server';

/** The redis-server binary; installing Debian's package when it is missing only if allowed; else what to install. */
export function findRedisServer(opts: RedisServerSearch = {}): string {
  const candidates = opts.candidates ?? CANDIDATES;
  const found = (): string | undefined => {
    const onPath = (
      spawnSync('/bin/sh', ['-c', 'command -v redis-server'], {
        encoding: 'utf8',
        env: { ...process.env, PATH: opts.path ?? process.env['PATH'] ?? '' },
      }).stdout ?? ''
    ).trim();
    return onPath || candidates.find((p) => existsSync(p));
  };
  const binary = found();
  if (binary) return binary;
  const fix = `install Debian's redis-server (\`${REDIS_INSTALL_COMMAND}\`), or point the node at a Redis ≥ 6.2 with queue.redisUrl or TRAMITE_REDIS_URL`;
  if (!opts.install)
    throw new DaemonError(
      'TRAMITE_ERR_DAEMON_MISSING',
      `redis-server is not installed, and this node installs nothing itself (node.installPackages is false and it is not a development node) — fix: ${fix}`,
    );
  const canInstall = process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0;
  if (canInstall) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
    const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'redis-server'], { stdio: 'ignore', env });
    const after = found();
    if (r.status === 0 && after) return after;
  }
  throw new DaemonError(
    'TRAMITE_ERR_DAEMON_MISSING',
    `redis-server is not installed${canInstall ? ' and apt-get could not install it' : ' (installing it needs root and apt-get)'} — fix: ${fix}`,
  );
}

/**
 * The node's private Redis, when no TRAMITE_REDIS_URL is given: a redis-server child listening only
 * on a unix socket in the data dir (no TCP port), with an append-only file there (DATADIR/redis/
 * appendonlydir, fsynced every second), so queued work survives a restart of the server or of the
 * node. If a Redis from an earlier run still answers on that socket (the node was killed), it is
 * adopted rather than doubled. Keeping it running is RedisSupervisor's job (src/queue: the restart
 * policy answers to the node's queue health). The server runs through the child-daemon helper, whose
 * exit hook sends it SIGTERM (it flushes its append-only file) if the node exits without stopping it.
 */
export class EmbeddedRedis {
  private watcher: NodeJS.Timeout | undefined;
  private readonly exit: Promise<string>;

  private constructor(
    readonly socket: string,
    private readonly child: ChildDaemon | undefined,
    /** The server's pid. */
    readonly pid: number,
    /** Started or taken over by this process, so stopped by it; false when another live process of the node owns it. */
    readonly owned: boolean,
  ) {
    this.exit = child
      ? child.exited.then(({ code, signal }) => (signal ? `killed by ${signal}` : `exit code ${code}`))
      : new Promise((resolve) => {
          // Not our child: no exit event, so its pid is watched.
          this.watcher = setInterval(() => {
            if (alive(pid)) return;
            clearInterval(this.watcher);
            resolve('gone');
          }, 500);
          this.watcher.unref();
        });
  }

  /** The socket a node's private Redis listens on. */
  static socketOf(dataDir: string): string {
    return join(dataDir, 'redis', 'redis.sock');
  }

  /** Whether a node's private Redis is running now (pid, or 0). */
  static running(dataDir: string): Promise<number> {
    return ping(EmbeddedRedis.socketOf(dataDir));
  }

  /** `install`: whether Debian's redis-server may be installed if missing (see findRedisServer). */
  static async start(dataDir: string, opts: { readonly install?: boolean } = {}): Promise<EmbeddedRedis> {
    const dir = join(dataDir, 'redis');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const socket = EmbeddedRedis.socketOf(dataDir);
    const adopted = await ping(socket);
    if (adopted) {
      // Another live process of this node started it: share it, leave stopping it to that process.
      // Its starter is gone (killed): take it over, and stop it on exit as if we had started it.
      const owner = join(dir, 'owner.pid');
      const ownerPid = existsSync(owner) ? Number(readFileSync(owner, 'utf8').trim()) : 0;
      if (ownerPid && ownerPid !== process.pid && alive(ownerPid)) return new EmbeddedRedis(socket, undefined, adopted, false);
      writeFileSync(owner, String(process.pid));
      return new EmbeddedRedis(socket, undefined, adopted, true);
    }
    rmSync(socket, { force: true });
    const binary = findRedisServer({ install: opts.install ?? false });
    const logFile = join(dir, 'redis.log');
    let pid = 0;
    try {
      const child = await startChildDaemon({
        name: 'redis-server',
        command: () => ({
          command: binary,
          args: [
            ...['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--dir', dir],
            ...[
              '--appendonly',
              'yes',
              '--appendfsync',
              'everysec',
              '--save',
              '',
              '--daemonize',
              'no',
              '--loglevel',
              'warning',
              '--logfile',
              logFile,
            ],
          ],
          logFile,
          ready: {
            kind: 'probe',
            what: `answer on ${socket}`,
            probe: async () => (pid = await ping(socket)) > 0,
          },
        }),
        startTimeoutMs: 5000,
        // It logs to its file, and must outlive a node killed with -9 (the next start adopts it): no pipes.
        output: 'ignore',
      });
      writeFileSync(join(dir, 'owner.pid'), String(process.pid));
      return new EmbeddedRedis(socket, child, pid, true);
    } catch (err) {
      if (!(err instanceof DaemonError)) throw err;
      throw new ConfigError('TRAMITE_ERR_QUEUE_UNAVAILABLE', `${err.message.split('\n')[0]}; see ${logFile}`, { cause: err });
    }
  }

  get url(): string {
    return `redis+unix://${this.socket}`;
  }

  /** Resolves, saying how, once the server is gone (whoever stopped it). */
  exited(): Promise<string> {
    return this.exit;
  }

  /**
   * Stops the server if this process owns it (it flushes its append-only file on SIGTERM), within
   * `deadline`: a server that will not stop in time is killed, losing at most the last second of
   * writes (the file is fsynced every second), which the log's reconciliation makes good.
   */
  async stop(deadline: Deadline): Promise<void> {
    clearInterval(this.watcher);
    if (!this.owned) return; // shared with the live process that started it
    if (!this.child) {
      try {
        process.kill(this.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      return;
    }
    // A second is kept back for the kill.
    await this.child.stop({ graceMs: Math.max(0, deadline.capped(5000) - 1000), killWaitMs: deadline.capped(1000) });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** PINGs a unix socket; resolves to the server's pid, or 0 when nothing answers. */
async function ping(socket: string): Promise<number> {
  if (!existsSync(socket)) return 0;
  const client = new Redis({
    path: socket,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = await client.info('server');
    return Number(/process_id:(\d+)/.exec(info)?.[1] ?? 0);
  } catch {
    return 0;
  } finally {
    client.disconnect();
  }
}
