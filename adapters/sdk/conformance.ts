import { sqliteAdapterFolder } from './store/sqlite-adapter-store.js';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueCertificate } from '../../src/crypto/dev-pki.js';
import { TrustStore } from '../../src/crypto/trust-store.js';
import { memorySigner } from '../../src/crypto/signer/memory-signer.js';
import { busApiMismatch } from './bus-api.js';
import { compileOptionsSchema, deepFreeze, type OptionsValidator } from './options-schema.js';
import {
  AdapterError,
  type AdapterContext,
  type AdapterDefinition,
  type AdapterInstance,
  type BusClient,
  type BusMessage,
  type MessageState,
  type OutgoingMessage,
} from './adapter.js';

/**
 * The conformance test kit integrators run against their own adapter (any test runner: it returns a
 * report, `report.ok` is what to assert, `report.checks` says which rule failed and why):
 * a valid definition and options schema, valid options accepted and invalid ones refused naming the
 * field, start/stop idempotent and in time, health reported, egress outcomes well formed and errors
 * typed (AdapterError, retriable or final as expected), ingress reaching the bus, and no unhandled
 * promise rejection during the whole run.
 */
export interface ConformanceFixture<Options> {
  /** Options the adapter must accept. */
  readonly options: Options;
  /** Options it must refuse, each with the field (dotted path, e.g. `register.code`) the refusal names. */
  readonly invalidOptions?: ReadonlyArray<{ readonly options: unknown; readonly field: string }>;
  /** Messages egress must take (outcome `accepted`, or `reply` for a sincrono service). */
  readonly accepted?: readonly BusMessage[];
  /** Messages egress must refuse with an AdapterError, retriable or final as said. */
  readonly refused?: ReadonlyArray<{ readonly message: BusMessage; readonly retriable: boolean; readonly code?: string }>;
  /** Ingress: makes the external system produce traffic; the adapter must then send `expect` messages on the bus within `withinMs`. */
  readonly ingress?: { trigger(ctx: AdapterContext<Options>): Promise<void>; readonly expect: number; readonly withinMs?: number };
  /** What the recording bus answers to `sendAndWait` (a sincrono reply), when the adapter asks; default none. */
  readonly reply?: (message: OutgoingMessage) => string | undefined;
  /** The party the instance serves (default `SPC/EnteDiProva`). */
  readonly party?: string;
  /** Longest a lifecycle hook or an egress may take (default 5000 ms). */
  readonly timeoutMs?: number;
}

export interface ConformanceCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
}

export interface ConformanceReport {
  readonly ok: boolean;
  readonly checks: readonly ConformanceCheck[];
  /** What the adapter sent on the bus during the run. */
  readonly sent: readonly OutgoingMessage[];
}

export async function checkAdapterConformance<Options>(
  adapter: AdapterDefinition<Options>,
  fixture: ConformanceFixture<Options>,
): Promise<ConformanceReport> {
  const checks: ConformanceCheck[] = [];
  const check = (name: string, ok: boolean, detail?: string) => checks.push({ name, ok, ...(detail && !ok ? { detail } : {}) });
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  const dataDir = mkdtempSync(join(tmpdir(), `tramite-conformance-${adapter.id}-`));
  const timeoutMs = fixture.timeoutMs ?? 5000;
  const bus = new RecordingBus(fixture.reply);
  try {
    const definitionProblems = definitionErrors(adapter);
    check(
      'definition: id, version, description, optionsSchema, setup, services',
      definitionProblems.length === 0,
      definitionProblems.join('; '),
    );
    const mismatch = busApiMismatch(adapter.busApi);
    check("definition: busApi includes this SDK's bus API", mismatch === undefined, mismatch);
    const validate = compileOptions(adapter, check);
    const options = structuredClone(fixture.options) as Options;
    if (validate) {
      check('options: the fixture options are valid', validate(options), ajvText(validate));
      // As the node does: the adapter gets its validated options frozen.
      deepFreeze(options);
      for (const bad of fixture.invalidOptions ?? []) {
        const ok = !validate(structuredClone(bad.options));
        const named = (validate.errors ?? []).some((e) => namesField(e.instancePath, e.params as Record<string, unknown>, bad.field));
        check(
          `options: refuses invalid ${bad.field}, naming it`,
          ok && named,
          ok ? `refused, but no error names ${bad.field}: ${ajvText(validate)}` : 'accepted',
        );
      }
    }
    const ctx = contextFor(options, fixture.party ?? 'SPC/EnteDiProva', dataDir, bus);

    const idle = await timed(() => Promise.resolve(adapter.setup(ctx)), timeoutMs);
    if (idle.ok) {
      const stopped = await timed(() => idle.value.stop(), timeoutMs);
      check('lifecycle: stop without start is harmless', stopped.ok, stopped.ok ? undefined : stopped.error);
    }
    const setup = await timed(() => Promise.resolve(adapter.setup(ctx)), timeoutMs);
    check(
      'lifecycle: setup returns an instance with start, stop, health, egress',
      setup.ok && isInstance(setup.value),
      setup.ok ? 'missing hooks' : setup.error,
    );
    if (!setup.ok || !isInstance(setup.value)) return finish();
    const instance = setup.value;

    const first = await timed(() => instance.start(), timeoutMs);
    const second = first.ok ? await timed(() => instance.start(), timeoutMs) : first;
    check(
      'lifecycle: start, and start again, succeed in time',
      first.ok && second.ok,
      first.ok ? (second.ok ? undefined : second.error) : first.error,
    );
    const health = await timed(() => instance.health(), timeoutMs);
    check(
      'health: reports up, degraded or down',
      health.ok && ['up', 'degraded', 'down'].includes(health.value.status),
      health.ok ? `status ${String(health.value.status)}` : health.error,
    );

    for (const m of fixture.accepted ?? []) {
      const out = await timed(() => instance.egress(m, AbortSignal.timeout(timeoutMs)), timeoutMs);
      const wellFormed = out.ok && (out.value.kind === 'accepted' || (out.value.kind === 'reply' && typeof out.value.payload === 'string'));
      check(`egress: takes ${m.id}`, wellFormed, out.ok ? `outcome ${JSON.stringify(out.value)}` : out.error);
    }
    for (const r of fixture.refused ?? []) {
      const out = await timed(() => instance.egress(r.message, AbortSignal.timeout(timeoutMs)), timeoutMs);
      const err = out.ok ? undefined : out.thrown;
      const typed = err instanceof AdapterError && err.retriable === r.retriable && (r.code === undefined || err.code === r.code);
      check(
        `egress: refuses ${r.message.id} with a typed ${r.retriable ? 'retriable' : 'final'} AdapterError${r.code ? ` ${r.code}` : ''}`,
        typed,
        out.ok
          ? 'it was accepted'
          : err instanceof AdapterError
            ? `AdapterError ${err.code}, retriable ${err.retriable}`
            : `threw ${describeThrown(err)}, not an AdapterError`,
      );
    }
    if (fixture.ingress) {
      const before = bus.sent.length;
      const triggered = await timed(() => fixture.ingress!.trigger(ctx), timeoutMs);
      const until = Date.now() + (fixture.ingress.withinMs ?? timeoutMs);
      while (bus.sent.length - before < fixture.ingress.expect && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      const got = bus.sent.length - before;
      check(
        `ingress: sends ${fixture.ingress.expect} message(s) on the bus`,
        triggered.ok && got === fixture.ingress.expect,
        triggered.ok ? `sent ${got}` : triggered.error,
      );
    }

    const stop1 = await timed(() => instance.stop(), timeoutMs);
    const stop2 = stop1.ok ? await timed(() => instance.stop(), timeoutMs) : stop1;
    check(
      'lifecycle: stop, and stop again, succeed in time',
      stop1.ok && stop2.ok,
      stop1.ok ? (stop2.ok ? undefined : stop2.error) : stop1.error,
    );
    return await finish();
  } finally {
    process.off('unhandledRejection', onRejection);
    rmSync(dataDir, { recursive: true, force: true });
  }

  async function finish(): Promise<ConformanceReport> {
    // Rejections surface a few ticks after the promise that lost them.
    await new Promise((r) => setTimeout(r, 50));
    check('no unhandled promise rejections', rejections.length === 0, rejections.map(describeThrown).join('; '));
    return { ok: checks.every((c) => c.ok), checks, sent: bus.sent };
  }
}

/** A bus that records what the adapter sends and answers as a node would (ACCEPTED, an id). */
class RecordingBus implements BusClient {
  readonly sent: OutgoingMessage[] = [];
  private readonly states = new Map<string, MessageState>();

  constructor(private readonly reply?: (message: OutgoingMessage) => string | undefined) {}

  async sendAndWait(message: OutgoingMessage): Promise<MessageState> {
    const sent = await this.send(message);
    const reply = this.reply?.(message);
    const state: MessageState = { ...sent, status: 'DELIVERED', attempts: 1, ...(reply !== undefined ? { reply } : {}) };
    this.states.set(state.id, state);
    return state;
  }

  async send(message: OutgoingMessage): Promise<MessageState> {
    this.sent.push(message);
    const state: MessageState = { id: `conformance-${this.sent.length}`, direction: 'out', status: 'ACCEPTED', attempts: 0 };
    this.states.set(state.id, state);
    return state;
  }

  async answer(requestId: string): Promise<MessageState> {
    return { id: requestId, direction: 'in', status: 'RECEIVED', attempts: 1 };
  }

  async state(id: string): Promise<MessageState | undefined> {
    return this.states.get(id);
  }
}

function contextFor<Options>(options: Options, party: string, dataDir: string, bus: BusClient): AdapterContext<Options> {
  // A throwaway CA and party certificate, so adapters that sign or verify run for real.
  const now = Date.now();
  const ca = issueCertificate({
    subject: { CN: 'Conformance CA', O: 'Tramite', C: 'IT' },
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 86_400_000),
    issuer: 'self',
    ca: true,
  });
  const leaf = issueCertificate({
    subject: { CN: party.split('/')[1] ?? party, O: 'Tramite', C: 'IT' },
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 86_400_000),
    issuer: ca,
  });
  const quiet = () => undefined;
  return {
    party,
    options,
    ...sqliteAdapterFolder(dataDir),
    log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    bus,
    identity: memorySigner({
      privateKey: createPrivateKey(leaf.keyPem),
      certificate: new X509Certificate(leaf.certPem),
      certPem: leaf.certPem,
    }),
    trust: TrustStore.fromPem(ca.certPem),
    clock: { now: () => new Date() },
  };
}

function definitionErrors(def: AdapterDefinition<unknown>): string[] {
  const problems: string[] = [];
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(def.id ?? '')) problems.push(`id "${def.id}" must be lower-case letters, digits and "-"`);
  if (!/^\d+\.\d+\.\d+(?:[-+][\w.-]+)?$/.test(def.version ?? '')) problems.push(`version "${def.version}" is not semantic`);
  if (typeof def.description !== 'string' || def.description.length === 0) problems.push('description is empty');
  if (typeof def.setup !== 'function') problems.push('setup is not a function');
  if (def.services !== undefined && !def.services.every((s) => /^[A-Za-z0-9_]+$/.test(s))) problems.push('services must be service names');
  return problems;
}

function compileOptions<Options>(
  def: AdapterDefinition<Options>,
  check: (name: string, ok: boolean, detail?: string) => void,
): OptionsValidator | undefined {
  try {
    const validate = compileOptionsSchema(def.optionsSchema);
    const schema = def.optionsSchema as { type?: unknown; additionalProperties?: unknown };
    check(
      'options schema: compiles in strict mode, is an object schema that refuses unknown properties',
      schema.type === 'object' && schema.additionalProperties === false,
      'set "type": "object" and "additionalProperties": false',
    );
    return validate;
  } catch (err) {
    check('options schema: compiles in strict mode, is an object schema that refuses unknown properties', false, (err as Error).message);
    return undefined;
  }
}

/** Whether an ajv error is about `field` (dotted), counting a missing or unknown property by its name. */
function namesField(instancePath: string, params: Record<string, unknown>, field: string): boolean {
  const base = instancePath.split('/').filter(Boolean).join('.');
  const named = params['missingProperty'] ?? params['additionalProperty'];
  const path = typeof named === 'string' ? (base ? `${base}.${named}` : named) : base;
  return path === field;
}

function ajvText(v: OptionsValidator): string {
  return (v.errors ?? []).map((e) => `${e.instancePath || '(options)'} ${e.message ?? e.keyword}`).join('; ');
}

function isInstance(x: unknown): x is AdapterInstance {
  const i = x as Partial<AdapterInstance> | undefined;
  return (
    !!i && typeof i.start === 'function' && typeof i.stop === 'function' && typeof i.health === 'function' && typeof i.egress === 'function'
  );
}

type Timed<T> = { ok: true; value: T } | { ok: false; error: string; thrown: unknown };

async function timed<T>(run: () => Promise<T>, ms: number): Promise<Timed<T>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Timed<T>>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, error: `did not finish within ${ms} ms`, thrown: undefined }), ms);
  });
  try {
    return await Promise.race([
      run().then(
        (value): Timed<T> => ({ ok: true, value }),
        (thrown: unknown): Timed<T> => ({ ok: false, error: describeThrown(thrown), thrown }),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function describeThrown(x: unknown): string {
  return x instanceof Error ? `${x.name}: ${x.message}` : String(x);
}
