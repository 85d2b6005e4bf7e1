/**
 * Test wiring for the SIATEL adapters without a node: contexts, virtual time, and a bus that hands each
 * query straight to the simulator adapter's egress (what the node does for a sincrono message).
 */
import { sqliteAdapterFolder } from '../../../adapters/sdk/store/sqlite-adapter-store.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { siatelAdapter, type SiatelAdapter } from '../../../adapters/siatel/siatel-adapter.js';
import { readSiatelRequest, type SiatelRequest } from '../../../adapters/siatel/siatel-mapping.js';
import type { SiatelOptions } from '../../../adapters/siatel/siatel-options.js';
import type { QuotaTime } from '../../../adapters/siatel/siatel-quota.js';
import {
  siatelSimulatorAdapter,
  type SiatelSimulator,
  type SiatelSimulatorOptions,
} from '../../../adapters/siatel/siatel-simulator-adapter.js';
import type {
  AdapterContext,
  AdapterInstance,
  AdapterStoreOpener,
  BusClient,
  MessageState,
  OutgoingMessage,
} from '../../../adapters/sdk/index.js';

export const COMUNE = 'SPC/ComuneOrtona';
export const AGENZIA = 'SPC/AgenziaEntrate';
/** 12:00 in Rome on an ordinary day (no DST change nearby). */
export const NOON_ROME = Date.parse('2026-11-23T11:00:00Z');

export const quietLog = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export const tempDir = (what: string): string => mkdtempSync(join(tmpdir(), `tramite-siatel-${what}-`));

export function contextFor<O>(
  options: O,
  over: { party?: string; dataDir?: string; openStore?: AdapterStoreOpener; bus?: BusClient; now?: () => Date } = {},
): AdapterContext<O> {
  const unused = () => Promise.reject(new Error('not used by this test'));
  const folder = sqliteAdapterFolder(over.dataDir ?? tempDir('data'));
  return {
    party: over.party ?? COMUNE,
    options,
    dataDir: folder.dataDir,
    openStore: over.openStore ?? folder.openStore,
    log: quietLog,
    bus: over.bus ?? { send: unused, sendAndWait: unused, answer: unused, state: async () => undefined },
    identity: undefined as never,
    trust: undefined as never,
    clock: { now: over.now ?? (() => new Date()) },
  };
}

/** Virtual time: sleeping moves the clock, at once. */
export class VirtualTime implements QuotaTime {
  constructor(public t: number) {}
  now = (): Date => new Date(this.t);
  sleep = async (ms: number): Promise<void> => {
    this.t += ms;
  };
}

/** Virtual time whose sleeps wait until the test lets them go, to look at the queue meanwhile. */
export class GatedTime implements QuotaTime {
  private readonly sleepers: Array<() => void> = [];
  constructor(public t: number) {}
  now = (): Date => new Date(this.t);
  sleep = (ms: number): Promise<void> =>
    new Promise<void>((resolve) =>
      this.sleepers.push(() => {
        this.t += ms;
        resolve();
      }),
    );
  get sleeping(): number {
    return this.sleepers.length;
  }
  /** Ends every sleep under way, each moving the clock by its length. */
  wakeAll(): void {
    for (const wake of this.sleepers.splice(0)) wake();
  }
}

export async function startSimulator(options: SiatelSimulatorOptions, now?: () => Date): Promise<SiatelSimulator> {
  const simulator = (await siatelSimulatorAdapter(now ? { now } : {}).setup(contextFor(options, { party: AGENZIA }))) as SiatelSimulator;
  await simulator.start();
  return simulator;
}

/** The bus of the Comune's party, wired to the Agenzia's adapter; it records the requests it carried. */
export class DirectBus implements BusClient {
  readonly requests: SiatelRequest[] = [];
  /** The messages as the adapter asked the bus to send them. */
  readonly sent: OutgoingMessage[] = [];
  private serial = 0;

  constructor(private readonly provider: AdapterInstance) {}

  async sendAndWait(m: OutgoingMessage): Promise<MessageState> {
    const id = `siatel-test-${++this.serial}`;
    this.requests.push(readSiatelRequest(m.payload));
    this.sent.push(m);
    const out = await this.provider.egress(
      {
        id,
        from: COMUNE,
        to: m.to,
        service: m.service,
        profile: 'sincrono',
        payload: m.payload,
        ...(m.action !== undefined ? { action: m.action } : {}),
      },
      AbortSignal.timeout(10_000),
    );
    return { id, direction: 'out', status: 'DELIVERED', attempts: 1, ...(out.kind === 'reply' ? { reply: out.payload } : {}) };
  }

  async send(): Promise<MessageState> {
    throw new Error('the SIATEL adapter only uses sendAndWait');
  }

  async answer(): Promise<MessageState> {
    throw new Error('the SIATEL adapter answers nothing');
  }

  async state(): Promise<MessageState | undefined> {
    return undefined;
  }
}

export async function startAdapter(
  options: SiatelOptions,
  /** `openStore`: where the stores are (default SQLite in `dataDir`); two adapters on one place are two processes. */
  wiring: { bus: BusClient; dataDir: string; openStore?: AdapterStoreOpener; quotaTime?: QuotaTime; bulkLeaseMs?: number },
): Promise<{ adapter: SiatelAdapter; url: string }> {
  const adapter = (await siatelAdapter({
    ...(wiring.quotaTime ? { quotaTime: wiring.quotaTime } : {}),
    ...(wiring.bulkLeaseMs !== undefined ? { bulkLeaseMs: wiring.bulkLeaseMs } : {}),
  }).setup(
    contextFor(options, { bus: wiring.bus, dataDir: wiring.dataDir, ...(wiring.openStore ? { openStore: wiring.openStore } : {}) }),
  )) as SiatelAdapter;
  await adapter.start();
  return { adapter, url: adapter.apiAddress! };
}

export const LISTEN = { host: '127.0.0.1', port: 0 };

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, json: await res.body.json() };
}

export async function get(url: string): Promise<{ status: number; text: string; contentType: string }> {
  const res = await request(url);
  return { status: res.statusCode, text: await res.body.text(), contentType: String(res.headers['content-type'] ?? '') };
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await get(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${res.text}`);
  return JSON.parse(res.text) as T;
}

/** Waits (real time) until `probe` holds, or fails after `ms`. */
export async function until(probe: () => Promise<boolean> | boolean, ms = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
