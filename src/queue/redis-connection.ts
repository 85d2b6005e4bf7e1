import type { ConnectionOptions } from 'bullmq';
import { ConfigError } from '../core/errors.js';
import { EmbeddedRedis } from './redis-launcher.js';

export interface RedisHandle {
  readonly connection: ConnectionOptions;
  /** Where the queues live, without secrets (for logs). */
  readonly where: string;
  close(): Promise<void>;
}

/** ioredis options from a URL: redis://, rediss:// (TLS) or redis+unix:///path/to/socket. */
export function connectionFromUrl(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch (cause) {
    throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `Redis URL "${url}" cannot be parsed`, { cause, field: 'queue.redisUrl' });
  }
  // BullMQ workers block on Redis: a command must wait for a reconnection, not fail after N retries.
  const common = { maxRetriesPerRequest: null, enableReadyCheck: true } as const;
  if (u.protocol === 'redis+unix:') return { ...common, path: decodeURIComponent(u.pathname) };
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `Redis URL "${url}" must start with redis://, rediss:// or redis+unix://`, { field: 'queue.redisUrl' });
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
  return { connection: connectionFromUrl(`redis+unix://${socket}`), where: `the node's redis-server at ${socket}`, close: async () => undefined };
}

/**
 * The Redis the node's queues use: TRAMITE_REDIS_URL, else queue.redisUrl, else a private
 * redis-server the node starts on a unix socket in its data dir and stops on exit.
 */
export async function openRedis(opts: { url?: string; dataDir: string }): Promise<RedisHandle> {
  const url = process.env['TRAMITE_REDIS_URL'] || opts.url;
  if (url) return externalRedis(url);
  const embedded = await EmbeddedRedis.start(opts.dataDir);
  return { connection: connectionFromUrl(embedded.url), where: `embedded redis-server at ${embedded.socket}`, close: () => embedded.stop() };
}
