import { isDeepStrictEqual } from 'node:util';
import type { NodeConfig } from '../../config/config-types.js';
import { canonicalContent } from './registry-digest.js';

/*
 * What a registry reload may not change: the node itself (identity, ports, TLS, limits, data dir), its
 * log store, queue and alarms, the trust anchors and revocation policy, the REST APIs and PDND, and the
 * adapters with their options (each one is a running instance with its own state) — only the services
 * an adapter serves follow the reloaded file. The staff tokens under `node` and `log` reload.
 */

/** Fields under `node` and `log` that do reload: the operators' and auditors' tokens. */
const RELOADABLE_NODE: ReadonlySet<string> = new Set(['operatorTokens']);
const RELOADABLE_LOG: ReadonlySet<string> = new Set(['auditorTokens']);

/** One field whose change needs a restart, named as the file names it. */
export interface RestartOnlyChange {
  readonly field: string;
  readonly why: string;
}

/** Every field that differs between `running` and `next` and needs a restart; empty when the reload may apply. */
export function restartOnlyChanges(running: NodeConfig, next: NodeConfig): RestartOnlyChange[] {
  const changes: RestartOnlyChange[] = [];
  const differs = (a: unknown, b: unknown): boolean => !isDeepStrictEqual(canonicalContent(a), canonicalContent(b));
  const compareKeys = (section: string, a: object, b: object, reloadable: ReadonlySet<string>, why: string): void => {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (reloadable.has(key)) continue;
      if (differs((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
        changes.push({ field: `${section}.${key}`, why });
    }
  };
  compareKeys('node', running.node, next.node, RELOADABLE_NODE, "the node's own identity, listener and limits");
  compareKeys('log', running.log, next.log, RELOADABLE_LOG, 'the message log store and its checkpoints');
  compareKeys('queue', running.queue, next.queue, new Set(), 'the delivery queues');
  if (differs(running.trust, next.trust)) changes.push({ field: 'trust', why: 'the trust anchors and revocation checks' });
  if (differs(running.alarms, next.alarms)) changes.push({ field: 'alarms', why: 'the alarm rules and their notifications' });
  if (differs(running.pdnd, next.pdnd)) changes.push({ field: 'pdnd', why: 'the PDND client' });
  if (differs(running.restServices, next.restServices))
    changes.push({ field: 'services (the REST APIs, entries with "api")', why: 'the REST gateway' });
  changes.push(...partyChanges(running, next, differs));
  return changes;
}

function partyChanges(running: NodeConfig, next: NodeConfig, differs: (a: unknown, b: unknown) => boolean): RestartOnlyChange[] {
  const changes: RestartOnlyChange[] = [];
  const field = (code: string): string => {
    const i = next.parties.findIndex((p) => p.code === code);
    return i >= 0 ? `parties[${i}]` : `parties (${code}, removed)`;
  };
  // The adapters without the services they serve: the instances, their kind and their options.
  const adapters = (config: NodeConfig, code: string): unknown =>
    (config.parties.find((p) => p.code === code)?.adapters ?? []).map(({ services: _services, ...rest }) => rest);
  for (const code of new Set([...running.parties, ...next.parties].map((p) => p.code))) {
    if (differs(adapters(running, code), adapters(next, code)))
      changes.push({ field: `${field(code)}.adapters`, why: `the adapters of ${code} and their options (only their services reload)` });
    const pdnd = (config: NodeConfig): unknown => config.parties.find((p) => p.code === code)?.pdnd;
    if (differs(pdnd(running), pdnd(next))) changes.push({ field: `${field(code)}.pdnd`, why: `the PDND client of ${code}` });
  }
  // The party that signs the log's checkpoints signs with the key it had at start.
  const checkpointSigner = (config: NodeConfig) =>
    config.log.signer ? config.parties.find((p) => p.code === config.log.signer) : config.parties[0];
  const before = checkpointSigner(running);
  const after = checkpointSigner(next);
  if (before?.code !== after?.code || differs(before?.identity, after?.identity))
    changes.push({
      field: after ? `${field(after.code)} (its key)` : 'parties[0]',
      why: `the party that signs the log's checkpoints (log.signer, else the first party: ${before?.code ?? 'none'})`,
    });
  return changes;
}

/** The refusal's text: each field, why it needs a restart. */
export function describeRestartOnly(changes: readonly RestartOnlyChange[]): string {
  return changes.map((c) => `config ${c.field}: needs a restart (${c.why}) — fix: restore it and reload, or restart the node`).join('\n');
}
