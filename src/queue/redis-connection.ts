import type { RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Deadline } from '../core/deadline.js';
import { ConfigError } from '../core/errors.js';
import { EmbeddedRedis } from '../daemons/redis-launcher.js';
import { RedisMonitor, type RedisStatus } from './redis-monitor.js';
import { RedisSupervisor } from './redis-supervisor.js';

export interface RedisHandle {
  readonly connection: RedisOptions;
  /** Where the queues live, without secrets (for logs). */
  readonly where: string;
  close(): Promise<void>;
}

/** The Redis a node runs its queues on: watched (health), and kept running when it is the node's own. */
export interface NodeRedis {
  readonly connection: RedisOptions;
  readonly where: string;
  /** True when the node runs this Redis itself (and restarts it when it dies). */
  readonly embedded: boolean;
  status(): RedisStatus & { readonly restarts: number };
  isUp(): boolean;
  /** Called each time Redis answers again after an outage: it may have lost jobs meanwhile. */
  onRecovered(listener: () => void): void;
  /** Called when Redis stops answering, with why. */
  onDown(listener: (reason: string) => void): void;
  /** Stops watching and, for the node's own Redis, stops it, within `deadline`. */
  close(deadline: Deadline): Promise<void>;
}

/** Waits between reconnections of the queues' connections, ms: short, so a restarted Redis is used again at once. */
const RECONNECT_DELAY_MS = { first: 100, max: 2000 } as const;

/** ioredis options from a URL: redis://, rediss:// (TLS) or redis+unix:///path/to/socket. */
export function connectionFromUrl(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch (cause) {
    throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `Redis URL "${url}" cannot be parsed`, { cause, field: 'queue.redisUrl' });
  }
  // BullMQ workers block on Redis: a command must wait for a reconnection, not fail after N retries.
  // BullMQ's own default waits up to 20 s between reconnections after a long outage.
  const common = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times: number) => Math.min(RECONNECT_DELAY_MS.first * times, RECONNECT_DELAY_MS.max),
  } as const;
  if (u.protocol === 'redis+unix:') return { ...common, path: decodeURIComponent(u.pathname) };
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `Redis URL "${url}" must start with redis://, rediss:// or redis+unix://`, {
      field: 'queue.redisUrl',
    });
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    ...common,
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(Number.isInteger(db) ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** A Redis the node does not own: connect to it, never stop it; the password stays out of logs. */
function externalRedis(url: string): RedisHandle {
  return { connection: connectionFromUrl(url), where: url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@'), close: async () => undefined };
}

/**
 * The Redis a tool beside a node should use: the configured one, or the node's private Redis if it is
 * running — never one started (or stopped) by the tool. Undefined when the node is not running.
 */
export async function attachRedis(opts: { url?: string; dataDir: string }): Promise<RedisHandle | undefined> {
  const url = process.env['TRAMITE_REDIS_URL'] || opts.url;
  if (url) return externalRedis(url);
  if (!(await EmbeddedRedis.running(opts.dataDir))) return undefined;
  const socket = EmbeddedRedis.socketOf(opts.dataDir);
  return {
    connection: connectionFromUrl(`redis+unix://${socket}`),
    where: `the node's redis-server at ${socket}`,
    close: async () => undefined,
  };
}

/**
 * The Redis the node's queues use: TRAMITE_REDIS_URL, else queue.redisUrl, else a private
 * redis-server the node starts on a unix socket in its data dir, restarts when it dies, and stops on
 * exit. Either way it is watched, so health reports an outage while it lasts.
 */
export async function openRedis(opts: {
  url?: string;
  dataDir: string;
  log?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Whether the private redis-server may be installed when missing: development nodes only. Default false. */
  installRedis?: boolean;
}): Promise<NodeRedis> {
  const url = process.env['TRAMITE_REDIS_URL'] || opts.url;
  if (url) {
    const external = externalRedis(url);
    const monitor = new RedisMonitor(external.connection);
    await monitor.start();
    return watched(external, monitor, { embedded: false, restarts: () => 0, close: async () => undefined });
  }
  const server = await EmbeddedRedis.start(opts.dataDir, { install: opts.installRedis ?? false });
  const connection = connectionFromUrl(server.url);
  const monitor = new RedisMonitor(connection);
  await monitor.start();
  const supervisor = new RedisSupervisor(server, opts.dataDir, monitor, opts.log ?? silent);
  return watched({ connection, where: `embedded redis-server at ${server.socket}` }, monitor, {
    embedded: true,
    restarts: () => supervisor.restartCount,
    close: (deadline) => supervisor.stop(deadline),
  });
}

function watched(
  redis: Pick<RedisHandle, 'connection' | 'where'>,
  monitor: RedisMonitor,
  how: { embedded: boolean; restarts: () => number; close: (deadline: Deadline) => Promise<void> },
): NodeRedis {
  return {
    connection: redis.connection,
    where: redis.where,
    embedded: how.embedded,
    status: () => ({ ...monitor.status(), restarts: how.restarts() }),
    isUp: () => monitor.isUp(),
    onRecovered: (listener) => monitor.onRecovered(listener),
    onDown: (listener) => monitor.onDown(listener),
    close: async (deadline) => {
      monitor.stop();
      await how.close(deadline);
    },
  };
}

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
