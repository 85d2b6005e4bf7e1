/**
 * Entry point of a verification worker thread (see verification-pool.ts). It builds its own Registry
 * from the configuration it was started with (and each one a reload sends it), then parses and verifies one envelope per message and
 * answers with a serializable verdict. Nothing here touches the network, the log or a key.
 */
import { constants, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { NodeConfig } from '../../config/config-types.js';
import { readEnvelope, type ReadEnvelope } from '../../../envelopes/envelope.js';
import { verifyRead } from './inbound-verification.js';
import { Registry } from '../registry/registry.js';
import {
  configFromNode,
  serializeError,
  serializeSignature,
  type RegistryUpdate,
  type VerifyJob,
  type VerifyOutcome,
  type WorkerSetup,
} from './verification-protocol.js';

// On Linux a thread's nice value is its own: verification (of envelopes anyone may send) yields the
// CPU to the event loop that answers /health, the API and the exchanges in progress.
if (process.platform === 'linux') setPriority(constants.priority.PRIORITY_BELOW_NORMAL);

const port = parentPort!;
const setup = workerData as WorkerSetup;
/** Registry versions kept for work still in flight under an older one (a reload swaps them while envelopes wait). */
const KEPT_VERSIONS = 8;
// The configuration arrives without private keys; a Registry only looks things up in it.
const registries = new Map<number, Registry>();
let newest = addRegistry(setup.registryVersion ?? 1, setup.config);

function addRegistry(version: number, config: unknown): Registry {
  const registry = new Registry(configFromNode(config) as NodeConfig, version);
  registries.set(version, registry);
  for (const old of registries.keys()) if (registries.size > KEPT_VERSIONS) registries.delete(old);
  return registry;
}

function verify(job: VerifyJob): VerifyOutcome {
  let read: ReadEnvelope | undefined;
  try {
    read = readEnvelope(job.envelope, setup.limits);
    const opened = verifyRead(read, {
      // A version older than the ones kept (a worker started after a reload knows only its own) gets the newest.
      registry: (job.registryVersion !== undefined && registries.get(job.registryVersion)) || newest,
      at: new Date(job.at),
      maxAgeSeconds: setup.maxAgeSeconds,
      skewSeconds: setup.skewSeconds,
      ...(job.party !== undefined ? { party: job.party } : {}),
      ...(job.modiPatterns !== undefined ? { modiPatterns: job.modiPatterns } : {}),
    });
    return { ok: true, signature: serializeSignature(opened.signature) };
  } catch (err) {
    // The id the refused envelope claims, for the node's log (when it could be read at all).
    const messageId = read?.egov?.messaggio.identificatore ?? read?.addressing?.messageId;
    return { ok: false, error: serializeError(err), ...(messageId !== undefined ? { messageId } : {}) };
  }
}

port.on('message', (msg: { id: number; job: VerifyJob } | RegistryUpdate) => {
  if ('registry' in msg) {
    if (msg.registry.version > newest.version) newest = addRegistry(msg.registry.version, msg.registry.config);
    return;
  }
  port.postMessage({ id: msg.id, outcome: verify(msg.job) });
});
port.postMessage({ ready: true });
