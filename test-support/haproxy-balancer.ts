/**
 * Debian's HAProxy as a test's load balancer: one HTTP frontend on 127.0.0.1 in front of several node
 * processes, round robin, each server health-checked on GET /health/ready (so a node that is stopping,
 * or has lost Redis or its log, gets no new requests), and a request whose connection is refused
 * (a killed process not yet marked down) sent to another server. Its runtime API (a unix socket in its
 * folder) says which servers it sees up. Started through the child-daemon helper: stopped by PID.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { DaemonError } from '../src/core/errors.js';
import { startChildDaemon, type ChildDaemon } from '../src/daemons/child-daemon.js';
import { createPrivateTempDir } from '../src/daemons/private-temp-dir.js';

const HAPROXY = '/usr/sbin/haproxy';

export interface BalancerOptions {
  /** The port to listen on (the address peers and back offices were given); free, from freePort(). */
  readonly port: number;
  /** The servers behind it, each a node process listening on 127.0.0.1. */
  readonly servers: ReadonlyArray<{ readonly name: string; readonly port: number }>;
}

export interface Balancer {
  readonly url: string;
  readonly pid: number;
  /** Each server's state as HAProxy sees it now: 'UP', 'DOWN', 'MAINT', … */
  serverStates(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

export function haproxyMissing(): string | undefined {
  return existsSync(HAPROXY) ? undefined : `${HAPROXY} is not installed — fix: apt-get install -y haproxy`;
}

/** HAProxy's configuration: health checks every 250 ms, down after two failures, up after two passes. */
export function haproxyConfig(opts: BalancerOptions, statsSocket: string): string {
  return [
    'global',
    '  maxconn 4096',
    `  stats socket ${statsSocket} mode 600 level admin`,
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 120s',
    '  timeout server 120s',
    // A check slower than this counts as failed; on a loaded 2-core machine a healthy node can take a second.
    '  timeout check 2s',
    // A new connection to the node per request: a kept-alive one the node closes as HAProxy reuses it
    // would cut a POST that HAProxy then cannot safely send again (a 502 that is no fault of the test).
    '  option http-server-close',
    // Retried only when the connection itself failed: the request never reached a node, so resending it is safe.
    '  retries 3',
    '  option redispatch',
    'frontend nodes',
    `  bind 127.0.0.1:${opts.port}`,
    '  default_backend nodes',
    'backend nodes',
    '  balance roundrobin',
    '  option httpchk GET /health/ready',
    '  http-check expect status 200',
    '  default-server inter 250ms fall 2 rise 2',
    ...opts.servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port} check`),
    '',
  ].join('\n');
}

export async function startBalancer(opts: BalancerOptions): Promise<Balancer> {
  const missing = haproxyMissing();
  if (missing) throw new DaemonError('TRAMITE_ERR_DAEMON_MISSING', missing);
  const tempDir = createPrivateTempDir('haproxy');
  const configFile = join(tempDir.path, 'haproxy.cfg');
  const statsSocket = join(tempDir.path, 'admin.sock');
  writeFileSync(configFile, haproxyConfig(opts, statsSocket));
  const daemon: ChildDaemon = await startChildDaemon({
    name: 'haproxy',
    tempDir,
    // -db: stay in the foreground (a child whose PID is the server's); -f: this configuration only.
    command: () => ({ command: HAPROXY, args: ['-db', '-f', configFile], ready: { kind: 'port', port: opts.port } }),
    // SIGUSR1 is HAProxy's soft stop: it finishes the requests in progress, then exits.
    stopSignal: 'SIGUSR1',
    stopGraceMs: 5_000,
  });
  return {
    url: `http://127.0.0.1:${opts.port}`,
    pid: daemon.pid,
    serverStates: async () => parseServerStates(await runtimeCommand(statsSocket, 'show stat\n')),
    stop: () => daemon.stop(),
  };
}

/** `show stat` is CSV: `# pxname,svname,…,status,…`; the backend's server rows are kept. */
function parseServerStates(csv: string): Record<string, string> {
  const [header, ...rows] = csv.trim().split('\n');
  const cols = (header ?? '').replace(/^# /, '').split(',');
  const [px, sv, status] = ['pxname', 'svname', 'status'].map((c) => cols.indexOf(c));
  const states: Record<string, string> = {};
  for (const row of rows) {
    const f = row.split(',');
    if (f[px!] === 'nodes' && f[sv!] !== 'BACKEND' && f[sv!] !== 'FRONTEND') states[f[sv!]!] = (f[status!] ?? '').split(' ')[0]!;
  }
  return states;
}

function runtimeCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const s = connect(socket, () => s.end(command));
    s.on('data', (d: Buffer) => (out += d.toString('utf8')));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}
