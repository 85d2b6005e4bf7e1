import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { request } from 'undici';
import { loadConfig } from '../../config/load-config.js';
import { TramiteError } from '../../core/errors.js';
import { printJson, reportError } from '../cli-output.js';
import { operatorCredentials } from '../operator-credentials.js';
import { parsePrometheusText, type MetricSample } from '../prometheus-text.js';
import { DEFAULT_HOME } from './start.js';

const STATUS_HELP = `
Asks a running node (its /health details, /health/ready, /metrics and /tramite/operator/alarms, with the
operator token) and prints one screen: whether it is ready and what is missing, messages by state and
the oldest not yet final, the queues, the log's checkpoint lag, REST traffic, adapters, certificates
close to expiry and the active alarms (raised or acknowledged: docs/operators.md, "Alarms").
The node's URL, CA and operator token default to what \`tramite init\` wrote beside the config
(pki/ca.cert.pem, pki/operator.token).

Exit status: 0 ready; 1 reachable but degraded or not ready; 2 usage error, or the node cannot be asked.`;

interface StatusOptions {
  config?: string;
  url?: string;
  tokenFile?: string;
  cacert?: string;
  json?: boolean;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('one screen on a running node: readiness, messages by state, queues, log, REST, adapters, certificates, alarms')
    .option('--config <tramite.json>', `the node configuration (env TRAMITE_CONFIG; default ${DEFAULT_HOME}/tramite.json)`)
    .option('--url <url>', "the node's base URL (default: from node.listen)")
    .option('--token-file <file>', 'the operator token (default: pki/operator.token beside the config)')
    .option('--cacert <file>', "the CA of the node's TLS certificate (default: pki/ca.cert.pem beside the config)")
    .option('--json', 'print JSON')
    .addHelpText('after', STATUS_HELP)
    .action(async (opts: StatusOptions) => {
      let status: NodeStatus;
      try {
        status = await askNode(opts);
      } catch (err) {
        reportError(err, 2);
        return;
      }
      if (opts.json) printJson(status);
      else process.stdout.write(screen(status));
      process.exitCode = status.ready ? 0 : 1;
    });
}

interface NodeStatus {
  readonly url: string;
  readonly node: string;
  readonly status: string;
  readonly ready: boolean;
  readonly failing: ReadonlyArray<{ name: string; reason?: string }>;
  readonly messages: ReadonlyArray<{ direction: string; state: string; count: number }>;
  readonly oldestOpen?: { direction: string; state: string; service: string; peer: string; ageSeconds: number };
  readonly queues: ReadonlyArray<{ queue: string; waiting: number; delayed: number; up: boolean }>;
  readonly log: { state: string; recordsSinceCheckpoint?: number; secondsSinceCheckpoint?: number };
  readonly rest: ReadonlyArray<{ direction: string; status: string; count: number }>;
  readonly adapters: ReadonlyArray<{ party: string; adapter: string; status: string; detail?: string }>;
  readonly certificates: { total: number; expired: number; within30Days: number; soonest?: { subject: string; daysToExpiry: number } };
  /** The active alarms, newest first; undefined when the node has no alarm API (an older version). */
  readonly alarms: readonly ActiveAlarm[] | undefined;
}

interface ActiveAlarm {
  readonly id: string;
  readonly rule: string;
  readonly subject: string;
  readonly severity: string;
  readonly state: string;
  readonly raisedAt: string;
  readonly summary: string;
  readonly acknowledged?: { readonly at: string; readonly by: { readonly name: string } };
}

async function askNode(opts: StatusOptions): Promise<NodeStatus> {
  const configFile = resolve(opts.config ?? process.env['TRAMITE_CONFIG'] ?? `${DEFAULT_HOME}/tramite.json`);
  const config = loadConfig(configFile);
  const home = dirname(configFile);
  const listen = config.node.listen;
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host;
  const url = (opts.url ?? `${listen.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${listen.port}`).replace(
    /\/+$/,
    '',
  );
  const { token, tokenFile, dispatcher } = operatorCredentials(home, opts, [url]);
  const get = async (path: string): Promise<{ status: number; text: string }> => {
    try {
      const res = await request(`${url}${path}`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(10_000),
        ...(dispatcher ? { dispatcher } : {}),
      });
      return { status: res.statusCode, text: await res.body.text() };
    } catch (cause) {
      throw new TramiteError('TRAMITE_ERR_PEER_UNREACHABLE', `the node at ${url} did not answer ${path}: ${(cause as Error).message}`, {
        cause,
      });
    }
  };
  try {
    const [health, ready, metrics, alarms] = await Promise.all([
      get('/health'),
      get('/health/ready'),
      get('/metrics'),
      get('/tramite/operator/alarms'),
    ]);
    for (const [path, r] of [
      ['/health', health],
      ['/health/ready', ready],
      ['/metrics', metrics],
    ] as const)
      if (r.status === 401)
        throw new TramiteError(
          'TRAMITE_ERR_OPERATOR_ONLY',
          `the node at ${url} refused the token of ${tokenFile} on ${path} (not an operator token)`,
        );
    return {
      ...summarise(
        url,
        JSON.parse(health.text) as HealthDetails,
        JSON.parse(ready.text) as ReadyDetails,
        parsePrometheusText(metrics.text),
      ),
      alarms: alarms.status === 200 ? (JSON.parse(alarms.text) as { alarms: ActiveAlarm[] }).alarms : undefined,
    };
  } finally {
    await dispatcher?.close();
  }
}

interface HealthDetails {
  status: string;
  node?: string;
  log?: { state: string };
  adapters?: Array<{ party: string; adapter: string; status: string; detail?: string }>;
  certificates?: { total: number; expired: number; within30Days: number; soonest?: { subject: string; daysToExpiry: number } };
}
interface ReadyDetails {
  status: string;
  failing: Array<{ name: string; reason?: string }>;
}

function summarise(url: string, health: HealthDetails, ready: ReadyDetails, samples: MetricSample[]): Omit<NodeStatus, 'alarms'> {
  const of = (name: string) => samples.filter((s) => s.name === name);
  const byDirState = new Map<string, number>();
  for (const s of of('tramite_messages')) {
    const key = `${s.labels['direction']} ${s.labels['state']}`;
    byDirState.set(key, (byDirState.get(key) ?? 0) + s.value);
  }
  const oldest = of('tramite_messages_oldest_age_seconds').sort((a, b) => b.value - a.value)[0];
  const queues = [...new Set(of('tramite_queue_up').map((s) => s.labels['queue']!))].map((queue) => ({
    queue,
    waiting: of('tramite_queue_waiting_jobs').find((s) => s.labels['queue'] === queue)?.value ?? 0,
    delayed: of('tramite_queue_delayed_jobs').find((s) => s.labels['queue'] === queue)?.value ?? 0,
    up: of('tramite_queue_up').find((s) => s.labels['queue'] === queue)?.value === 1,
  }));
  const rest = new Map<string, number>();
  for (const s of of('tramite_rest_calls_total')) {
    const key = `${s.labels['direction']} ${s.labels['status']}`;
    rest.set(key, (rest.get(key) ?? 0) + s.value);
  }
  const since = of('tramite_log_records_since_checkpoint')[0]?.value;
  const seconds = of('tramite_log_seconds_since_checkpoint')[0]?.value;
  return {
    url,
    node: health.node ?? '?',
    status: health.status,
    ready: ready.status === 'ready',
    failing: ready.failing,
    messages: [...byDirState]
      .map(([k, count]) => ({ direction: k.split(' ')[0]!, state: k.split(' ')[1]!, count }))
      .sort((a, b) => a.direction.localeCompare(b.direction) || a.state.localeCompare(b.state)),
    ...(oldest && oldest.value > 0
      ? {
          oldestOpen: {
            direction: oldest.labels['direction']!,
            state: oldest.labels['state']!,
            service: oldest.labels['service']!,
            peer: oldest.labels['peer']!,
            ageSeconds: oldest.value,
          },
        }
      : {}),
    queues,
    log: {
      state: health.log?.state ?? '?',
      ...(since !== undefined ? { recordsSinceCheckpoint: since } : {}),
      ...(seconds !== undefined ? { secondsSinceCheckpoint: seconds } : {}),
    },
    rest: [...rest].map(([k, count]) => ({ direction: k.split(' ')[0]!, status: k.split(' ')[1]!, count })),
    adapters: health.adapters ?? [],
    certificates: health.certificates ?? { total: 0, expired: 0, within30Days: 0 },
  };
}

function duration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

function screen(s: NodeStatus): string {
  const lines: string[] = [];
  lines.push(`${s.node} at ${s.url}: ${s.status}, ${s.ready ? 'ready' : 'NOT READY'}`);
  for (const f of s.failing) lines.push(`  missing   ${f.name}${f.reason ? `: ${f.reason}` : ''}`);
  for (const dir of ['out', 'in']) {
    const m = s.messages.filter((x) => x.direction === dir);
    lines.push(`messages  ${dir.padEnd(4)}${m.length === 0 ? 'none' : m.map((x) => `${x.state} ${x.count}`).join('  ')}`);
  }
  if (s.oldestOpen)
    lines.push(
      `          oldest not final: ${s.oldestOpen.direction} ${s.oldestOpen.state} for ${duration(s.oldestOpen.ageSeconds)} (${s.oldestOpen.service}, ${s.oldestOpen.peer})`,
    );
  lines.push(
    `queues    ${s.queues.map((q) => `${q.queue} ${q.up ? `${q.waiting} waiting, ${q.delayed} delayed` : 'DOWN'}`).join(' · ') || 'unknown'}`,
  );
  lines.push(
    `log       ${s.log.state}${s.log.recordsSinceCheckpoint !== undefined ? ` · ${s.log.recordsSinceCheckpoint} records since the last checkpoint` : ''}${s.log.secondsSinceCheckpoint !== undefined ? ` (${duration(s.log.secondsSinceCheckpoint)} ago)` : ''}`,
  );
  if (s.rest.length > 0) lines.push(`rest      ${s.rest.map((r) => `${r.direction} ${r.status} ×${r.count}`).join('  ')}`);
  if (s.adapters.length > 0) lines.push(`adapters  ${s.adapters.map((a) => `${a.party} ${a.adapter} ${a.status}`).join(' · ')}`);
  const c = s.certificates;
  lines.push(
    `certs     ${c.total} certificates, ${c.expired} expired, ${c.within30Days} within 30 days${c.soonest ? ` (soonest: ${c.soonest.subject} in ${c.soonest.daysToExpiry} days)` : ''}`,
  );
  lines.push(...alarmLines(s.alarms));
  return `${lines.join('\n')}\n`;
}

/** `alarms    none`, or how many are active and one line each: severity, rule, subject, who took it, the summary. */
function alarmLines(alarms: NodeStatus['alarms']): string[] {
  if (alarms === undefined) return ['alarms    unknown (the node has no alarm API)'];
  if (alarms.length === 0) return ['alarms    none'];
  const critical = alarms.filter((a) => a.severity === 'critical').length;
  return [
    `alarms    ${alarms.length} active${critical > 0 ? `, ${critical} critical` : ''}`,
    ...alarms.map(
      (a) =>
        `  ${a.severity === 'critical' ? 'CRITICAL' : 'warning '} ${a.rule} · ${a.subject} · since ${a.raisedAt}${a.acknowledged ? ` · acknowledged by ${a.acknowledged.by.name}` : ''}: ${a.summary}`,
    ),
  ];
}
