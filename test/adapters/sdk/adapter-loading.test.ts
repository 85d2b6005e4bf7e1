/**
 * The node's side of the adapter contract (src/node/adapter-host.ts): the bus API range checked at
 * load, one id per module, options frozen before the adapter sees them. Real configuration (tramite
 * init's), real adapter modules written to disk and imported by path.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busApiMismatch, BUS_API_VERSION } from '../../../adapters/sdk/index.js';
import { initNode } from '../../../src/config/init-node.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { systemClock } from '../../../src/core/clock.js';
import { ConfigError } from '../../../src/core/errors.js';
import { AdapterHost } from '../../../src/node/dispatch/adapter-host.js';
import { Registry } from '../../../src/node/registry/registry.js';

let dir: string;
let configFile: string;

/** An adapter module: a plain default export, as a third party would publish it. */
function adapterModule(name: string, def: { id: string; busApi?: string; optionsSchema?: object; record?: boolean }): string {
  const file = join(dir, `${name}.mjs`);
  const busApi = def.busApi === undefined ? '' : `busApi: ${JSON.stringify(def.busApi)},`;
  const schema = JSON.stringify(def.optionsSchema ?? { type: 'object', additionalProperties: false, properties: {} });
  writeFileSync(
    file,
    `export default {
      id: ${JSON.stringify(def.id)}, version: '1.0.0', ${busApi} description: 'test adapter',
      optionsSchema: ${schema},
      setup(ctx) {
        ${def.record ? 'globalThis.__tramiteAdapterOptions = ctx.options;' : ''}
        return { start: async () => {}, stop: async () => {}, health: async () => ({ status: 'up' }), egress: async () => ({ kind: 'accepted' }) };
      },
    };\n`,
  );
  return file;
}

async function load(adapters: Array<{ party: number; use: string; options?: object }>): Promise<AdapterHost> {
  const raw = JSON.parse(readFileSync(configFile, 'utf8'));
  for (const p of raw.parties) delete p.adapters;
  for (const a of adapters) (raw.parties[a.party].adapters ??= []).push({ use: a.use, options: a.options ?? {} });
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(raw));
  const config = loadConfig(file);
  // These adapters never use the bus: any call fails the test loudly.
  const unused = async (): Promise<never> => {
    throw new Error('the bus is not used by these adapters');
  };
  const bus = () => ({ send: unused, sendAndWait: unused, answer: unused, state: unused });
  return AdapterHost.load(config, { log: pino({ level: 'silent' }), bus, trust: new Registry(config).auditTrust(), clock: systemClock });
}

async function refusal(adapters: Parameters<typeof load>[0]): Promise<ConfigError> {
  const err = await load(adapters).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-adapter-loading-'));
  configFile = initNode({ dir, parties: ['SPC/ComuneA', 'SPC/ComuneB'], port: 0 }).configFile;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bus API ranges', () => {
  it('admits the ranges that include this node’s version, and says why the others do not', () => {
    expect(BUS_API_VERSION).toBe('1.0.0');
    expect(busApiMismatch('^1')).toBeUndefined();
    expect(busApiMismatch('>=1.0.0 <2')).toBeUndefined();
    expect(busApiMismatch('^2')).toBe(`busApi "^2" does not include this node's bus API 1.0.0`);
    expect(busApiMismatch('one')).toBe('busApi "one" is not a semver range (e.g. \'^1\')');
    expect(busApiMismatch(undefined)).toMatch(/^declares no busApi/);
  });

  it('a node refuses an adapter written for another bus API, naming the field and both versions', async () => {
    const err = await refusal([{ party: 0, use: adapterModule('futuro', { id: 'futuro', busApi: '^2' }) }]);
    expect(err).toMatchObject({ code: 'TRAMITE_ERR_ADAPTER_BUS_API', field: 'parties[0].adapters[0].use' });
    expect(err.message).toContain('busApi "^2" does not include this node\'s bus API 1.0.0');
  });

  it('a node refuses an adapter that declares no busApi', async () => {
    const err = await refusal([{ party: 0, use: adapterModule('senza', { id: 'senza' }) }]);
    expect(err).toMatchObject({ code: 'TRAMITE_ERR_ADAPTER_BUS_API', field: 'parties[0].adapters[0].use' });
  });
});

describe('adapter ids', () => {
  it('refuses two different modules that claim one id', async () => {
    const a = adapterModule('gemello-a', { id: 'gemello', busApi: '^1' });
    const b = adapterModule('gemello-b', { id: 'gemello', busApi: '^1' });
    const err = await refusal([
      { party: 0, use: a },
      { party: 1, use: b },
    ]);
    expect(err).toMatchObject({ code: 'TRAMITE_ERR_ADAPTER_DUPLICATE', field: 'parties[1].adapters[0].use' });
    expect(err.message).toContain('adapter id "gemello" is already taken by a different module (parties[0].adapters[0])');
  });

  it('refuses one party declaring the same adapter twice, and lets two parties use one module', async () => {
    const one = adapterModule('uno', { id: 'uno', busApi: '^1' });
    const err = await refusal([
      { party: 0, use: one },
      { party: 0, use: one },
    ]);
    expect(err).toMatchObject({ code: 'TRAMITE_ERR_ADAPTER_DUPLICATE', field: 'parties[0].adapters[1].use' });
    const host = await load([
      { party: 0, use: one },
      { party: 1, use: one },
    ]);
    expect((await host.health()).map((h) => `${h.party} ${h.adapter}`)).toEqual(['SPC/ComuneA uno', 'SPC/ComuneB uno']);
  });
});

describe('adapter options', () => {
  it('reach the adapter validated, with defaults, and deeply frozen', async () => {
    const schema = {
      type: 'object',
      additionalProperties: false,
      properties: {
        server: { type: 'object', additionalProperties: false, default: {}, properties: { port: { type: 'integer', default: 25 } } },
        tags: { type: 'array', items: { type: 'string' } },
      },
    };
    await load([
      { party: 0, use: adapterModule('gelo', { id: 'gelo', busApi: '^1', optionsSchema: schema, record: true }), options: { tags: ['a'] } },
    ]);
    const options = (globalThis as { __tramiteAdapterOptions?: { server: { port: number }; tags: string[] } }).__tramiteAdapterOptions!;
    expect(options).toEqual({ server: { port: 25 }, tags: ['a'] });
    expect(Object.isFrozen(options)).toBe(true);
    expect(Object.isFrozen(options.server)).toBe(true);
    expect(Object.isFrozen(options.tags)).toBe(true);
    expect(() => {
      options.server.port = 26;
    }).toThrow(TypeError);
  });
});
