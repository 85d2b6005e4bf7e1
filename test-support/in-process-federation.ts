/**
 * The demo federation (a CST node hosting two Comuni, a Regione node, one recording back office) run
 * in the test process: real HTTP (or, with `tls`, mutual TLS) between real nodes on 127.0.0.1, with
 * each node's config file editable before it starts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request, type Dispatcher } from 'undici';
import { loadConfig } from '../src/config/load-config.js';
import { DemoBackOffice } from '../src/demo/demo-back-office.js';
import { writeDemoFederation, type DemoNode } from '../src/demo/demo-federation.js';
import { serveNode, type RunningNode } from '../src/http/serve-node.js';
import { BUILTIN_ADAPTERS } from '../adapters/builtin.js';

export interface InProcessFederation {
  readonly backOffice: DemoBackOffice;
  readonly nodes: { readonly cst: DemoNode; readonly regione: DemoNode };
  readonly cst: RunningNode;
  readonly regione: RunningNode;
  close(): Promise<void>;
}

/** Rewrites a node's config file with `edit` applied to its raw JSON. */
export function patchConfig(node: DemoNode, edit: (raw: any) => void): void {
  const raw = JSON.parse(readFileSync(node.configFile, 'utf8'));
  edit(raw);
  writeFileSync(node.configFile, JSON.stringify(raw, null, 2));
}

export async function startFederation(
  name: string,
  before?: (nodes: { cst: DemoNode; regione: DemoNode }) => void,
  opts: { readonly tls?: boolean; readonly competence?: boolean } = {},
): Promise<InProcessFederation> {
  const backOffice = new DemoBackOffice();
  await backOffice.start();
  const nodes = await writeDemoFederation(mkdtempSync(join(tmpdir(), `tramite-${name}-`)), (p) => backOffice.urlFor(p), {
    plainHttp: !opts.tls,
    ...(opts.competence ? { competence: true } : {}),
  });
  before?.(nodes);
  const cst = await serveNode(loadConfig(nodes.cst.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
  const regione = await serveNode(loadConfig(nodes.regione.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
  return {
    backOffice,
    nodes,
    cst,
    regione,
    close: async () => {
      await cst.close();
      await regione.close();
      await backOffice.stop();
    },
  };
}

/** One call of a node's back-office REST API as `party` (its token). */
export async function callApi(
  node: DemoNode,
  party: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, any> }> {
  const dispatcher = clientOf(node);
  const res = await request(`${node.baseUrl}${path}`, {
    ...(dispatcher ? { dispatcher } : {}),
    method,
    headers: { authorization: `Bearer ${node.tokens[party]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, any> };
}

const clients = new Map<string, Agent>();

/** Over TLS, a client that trusts the node's dev CA (and presents no certificate: the API takes tokens). */
export function clientOf(node: DemoNode): Dispatcher | undefined {
  if (!node.baseUrl.startsWith('https:')) return undefined;
  let agent = clients.get(node.caFile);
  if (!agent) {
    agent = new Agent({ connect: { ca: readFileSync(node.caFile, 'utf8') } });
    clients.set(node.caFile, agent);
  }
  return agent;
}
