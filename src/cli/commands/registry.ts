import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { request, type Dispatcher } from 'undici';
import { TramiteError } from '../../core/errors.js';
import { printJson, reportError } from '../cli-output.js';
import { collectRepeated } from '../repeatable-option.js';
import { operatorCredentials } from '../operator-credentials.js';
import { DEFAULT_HOME } from './start.js';

const RELOAD_HELP = `
Asks each running node process (POST /api/v1/registry/reload, with the operator token) to read its
configuration file again and apply its registry — parties, peers, services, staff tokens, competence
tables, adapters' services — without a restart. Each process validates the file itself and refuses it
whole, naming each field and its fix, when it is invalid or changes what needs a restart; the running
registry is then kept. A node of several processes: give each one's --url (SIGHUP reloads only the
process that gets it). Without --url, the address node.listen in the config names.
The operator token and the CA default to what \`tramite init\` wrote beside the config
(pki/operator.token, pki/ca.cert.pem).

Exit status: 0 every process applied it or found it unchanged; 1 a process refused it; 2 usage error,
or a process could not be asked.`;

interface ReloadOptions {
  config?: string;
  url: string[];
  tokenFile?: string;
  cacert?: string;
  json?: boolean;
}

/** One process's answer. */
interface ProcessOutcome {
  readonly url: string;
  readonly outcome: 'applied' | 'unchanged' | 'refused' | 'unreachable';
  readonly version?: number;
  readonly digest?: string;
  readonly previous?: number;
  readonly code?: string;
  readonly message?: string;
}

export function registerRegistryCommand(program: Command): void {
  const registry = program
    .command('registry')
    .description("the node's registry: parties, peers, services, staff tokens, competence tables");
  registry
    .command('reload')
    .description('apply the edited configuration file to each running node process, without a restart')
    .option('--config <tramite.json>', `the node configuration (env TRAMITE_CONFIG; default ${DEFAULT_HOME}/tramite.json)`)
    .option('--url <url>', "a node process's base URL (repeatable; default: from node.listen)", collectRepeated, [])
    .option('--token-file <file>', 'the operator token (default: pki/operator.token beside the config)')
    .option('--cacert <file>', "the CA of the node's TLS certificate (default: pki/ca.cert.pem beside the config)")
    .option('--json', 'print JSON')
    .addHelpText('after', RELOAD_HELP)
    .action(async (opts: ReloadOptions) => {
      let outcomes: ProcessOutcome[];
      try {
        outcomes = await reloadEach(opts);
      } catch (err) {
        reportError(err, 2);
        return;
      }
      if (opts.json) printJson({ processes: outcomes });
      else process.stdout.write(outcomes.map(describe).join(''));
      process.exitCode = outcomes.some((o) => o.outcome === 'unreachable') ? 2 : outcomes.some((o) => o.outcome === 'refused') ? 1 : 0;
    });
}

async function reloadEach(opts: ReloadOptions): Promise<ProcessOutcome[]> {
  const configFile = resolve(opts.config ?? process.env['TRAMITE_CONFIG'] ?? `${DEFAULT_HOME}/tramite.json`);
  const home = dirname(configFile);
  const urls = (opts.url.length > 0 ? opts.url : [listenUrl(configFile)]).map((u) => u.replace(/\/+$/, ''));
  const { token, dispatcher } = operatorCredentials(home, opts, urls);
  try {
    // One process after the other: each answers once it has applied (or refused) the file.
    const outcomes: ProcessOutcome[] = [];
    for (const url of urls) outcomes.push(await reloadOne(url, token, dispatcher));
    return outcomes;
  } finally {
    await dispatcher?.close();
  }
}

async function reloadOne(url: string, token: string, dispatcher: Dispatcher | undefined): Promise<ProcessOutcome> {
  let status: number;
  let body: unknown;
  try {
    const res = await request(`${url}/api/v1/registry/reload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(30_000),
      ...(dispatcher && url.startsWith('https:') ? { dispatcher } : {}),
    });
    status = res.statusCode;
    body = await res.body.json().catch(() => undefined);
  } catch (cause) {
    return { url, outcome: 'unreachable', message: `the node did not answer: ${(cause as Error).message}` };
  }
  if (status === 200) {
    const r = body as { applied: boolean; version: { version: number; digest: string }; previous: { version: number } };
    return {
      url,
      outcome: r.applied ? 'applied' : 'unchanged',
      version: r.version.version,
      digest: r.version.digest,
      previous: r.previous.version,
    };
  }
  const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  return {
    url,
    outcome: status === 422 ? 'refused' : 'unreachable',
    code: error?.code ?? `HTTP ${status}`,
    message: error?.message ?? `the node answered HTTP ${status}`,
  };
}

function describe(o: ProcessOutcome): string {
  switch (o.outcome) {
    case 'applied':
      return `${o.url}: registry version ${o.version} applied (was ${o.previous}), ${o.digest}\n`;
    case 'unchanged':
      return `${o.url}: unchanged, registry version ${o.version} (${o.digest})\n`;
    case 'refused':
      return `${o.url}: refused (${o.code}); the running registry is kept:\n${o.message}\n`;
    case 'unreachable':
      return `${o.url}: not reloaded${o.code ? ` (${o.code})` : ''}: ${o.message}\n`;
  }
}

/**
 * The node's URL from node.listen, read from the file as plain JSON: the file may be the very one
 * being fixed, so it is not validated here — the node validates it when it reloads.
 */
function listenUrl(configFile: string): string {
  let listen: { host?: unknown; port?: unknown; tls?: unknown } | undefined;
  try {
    listen = (JSON.parse(readFileSync(configFile, 'utf8').replace(/^\uFEFF/, '')) as { node?: { listen?: typeof listen } }).node?.listen;
  } catch (cause) {
    throw new TramiteError(
      'TRAMITE_ERR_CONFIG_UNREADABLE',
      `cannot read node.listen from ${configFile}: ${(cause as Error).message} — fix: give each process's --url`,
      { cause },
    );
  }
  if (typeof listen?.host !== 'string' || typeof listen.port !== 'number')
    throw new TramiteError(
      'TRAMITE_ERR_CONFIG_UNREADABLE',
      `${configFile} has no node.listen host and port — fix: give each process's --url`,
    );
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host;
  return `${listen.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${listen.port}`;
}
