/**
 * A real node for HTTP tests: `tramite init`'s development config in a temporary folder, changed by
 * `edit` before it is loaded, served on a free loopback port (with its own Redis).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initNode } from '../../src/config/init-node.js';
import { loadConfig } from '../../src/config/load-config.js';
import { serveNode, type RunningNode } from '../../src/http/serve-node.js';

export interface DevNode {
  readonly running: RunningNode;
  readonly dir: string;
  /** Plain back-office token of each hosted party, by party code. */
  readonly tokens: Readonly<Record<string, string>>;
  /** Plain staff tokens: the auditor's (log.auditorTokens) and the operator's (console). */
  readonly staff: { readonly auditor: string; readonly operator: string };
}

export async function startDevNode(
  parties: readonly string[],
  edit: (config: Record<string, any>) => void = () => undefined,
): Promise<DevNode> {
  const dir = mkdtempSync(join(tmpdir(), 'tramite-http-'));
  const report = initNode({ dir, parties, port: 0 });
  const raw = JSON.parse(readFileSync(report.configFile, 'utf8')) as Record<string, any>;
  // These tests talk to the node over plain HTTP, said explicitly (TLS has its own tests: test/integration/tls.test.ts).
  raw.node.listen = { host: '127.0.0.1', port: 0, plainHttp: true };
  edit(raw);
  writeFileSync(report.configFile, JSON.stringify(raw, null, 2));
  const running = await serveNode(loadConfig(report.configFile));
  const tokens = Object.fromEntries(report.parties.map((p) => [p.code, p.token ?? readFileSync(p.tokenFile, 'utf8').trim()]));
  const staff = {
    auditor: readFileSync(report.auditorTokenFile, 'utf8').trim(),
    operator: readFileSync(report.operatorTokenFile, 'utf8').trim(),
  };
  return { running, dir, tokens, staff };
}
