/**
 * The conformance kit, run as an integrator would: against the example adapter (which must pass),
 * and against adapters each breaking one rule (which the kit must catch, naming the rule).
 */
import { sqliteAdapterFolder } from '../../../adapters/sdk/store/sqlite-adapter-store.js';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import cartella, { type CartellaOptions } from '../../../adapters/examples/cartella/cartella-adapter.js';
import {
  AdapterError,
  checkAdapterConformance,
  defineAdapter,
  type AdapterDefinition,
  type BusMessage,
} from '../../../adapters/sdk/index.js';

const message = (id: string, profile: BusMessage['profile'] = 'oneway'): BusMessage => ({
  id,
  from: 'SPC/ComuneOrtona',
  to: 'SPC/EnteDiProva',
  service: 'ComunicazioneVariazione',
  profile,
  payload: '<v:Variazione xmlns:v="urn:t">uno</v:Variazione>',
});

const failed = (report: { checks: readonly { name: string; ok: boolean }[] }) => report.checks.filter((c) => !c.ok).map((c) => c.name);

describe('the example adapter (cartella)', () => {
  it('passes the whole kit: options, lifecycle, egress to files, ingress from files, typed refusals', async () => {
    let outbox = '';
    const report = await checkAdapterConformance<CartellaOptions>(cartella, {
      options: { inbox: 'in', outbox: 'out', pollMs: 50 },
      invalidOptions: [
        { options: { inbox: 'in' }, field: 'outbox' },
        { options: { inbox: 'in', outbox: 'out', pollMs: 1 }, field: 'pollMs' },
        { options: { inbox: 'in', outbox: 'out', colour: 'blue' }, field: 'colour' },
      ],
      accepted: [message('ComuneOrtona_CSTChietiSPCoopIT_0000001_2026-11-23_10:00')],
      refused: [{ message: message('sync-1', 'sincrono'), retriable: false, code: 'TRAMITE_ERR_ADAPTER_REFUSED' }],
      ingress: {
        trigger: async (ctx) => {
          outbox = resolve(ctx.dataDir, ctx.options.outbox);
          writeFileSync(
            join(resolve(ctx.dataDir, ctx.options.inbox), 'r1.json'),
            JSON.stringify({ to: 'SPC/RegioneAbruzzo', service: 'ComunicazioneVariazione', payload: '<a xmlns="urn:t"/>' }),
          );
          writeFileSync(
            join(resolve(ctx.dataDir, ctx.options.inbox), 'r2.json'),
            JSON.stringify({ to: 'SPC/RegioneAbruzzo', service: 'ComunicazioneVariazione', payload: '<b xmlns="urn:t"/>' }),
          );
        },
        expect: 2,
      },
    });
    expect(failed(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.sent.map((m) => m.payload)).toEqual(['<a xmlns="urn:t"/>', '<b xmlns="urn:t"/>']);
    expect(outbox).not.toBe('');
  });

  it('writes the payload and its facts under a file-safe name, and takes the same message twice harmlessly', async () => {
    const dir = join(process.env['TMPDIR'] ?? '/tmp', `cartella-${process.pid}-${Date.now()}`);
    mkdirSync(dir, { recursive: true });
    const instance = await cartella.setup({
      party: 'SPC/EnteDiProva',
      options: { inbox: 'in', outbox: 'out', pollMs: 1000 },
      ...sqliteAdapterFolder(dir),
      log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      bus: {
        send: async () => ({ id: 'x', direction: 'out', status: 'ACCEPTED', attempts: 0 }),
        sendAndWait: async () => ({ id: 'x', direction: 'out', status: 'DELIVERED', attempts: 1 }),
        answer: async () => ({ id: 'x', direction: 'in', status: 'RECEIVED', attempts: 1 }),
        state: async () => undefined,
      },
      identity: undefined as never,
      trust: undefined as never,
      clock: { now: () => new Date() },
    });
    await instance.start();
    const m = message('ComuneOrtona_CSTChietiSPCoopIT_0000002_2026-11-23_10:00');
    await instance.egress(m, AbortSignal.timeout(1000));
    await instance.egress(m, AbortSignal.timeout(1000));
    await instance.stop();
    expect(readdirSync(join(dir, 'out')).sort()).toEqual([
      'ComuneOrtona_CSTChietiSPCoopIT_0000002_2026-11-23_10~3A00.json',
      'ComuneOrtona_CSTChietiSPCoopIT_0000002_2026-11-23_10~3A00.xml',
    ]);
    expect(readFileSync(join(dir, 'out', 'ComuneOrtona_CSTChietiSPCoopIT_0000002_2026-11-23_10~3A00.xml'), 'utf8')).toBe(m.payload);
    expect(
      JSON.parse(readFileSync(join(dir, 'out', 'ComuneOrtona_CSTChietiSPCoopIT_0000002_2026-11-23_10~3A00.json'), 'utf8')),
    ).toMatchObject({ id: m.id, from: m.from, service: m.service });
  });
});

/** A correct little adapter, to break one rule at a time. */
function adapter(overrides: Partial<AdapterDefinition> & { instance?: Record<string, unknown> } = {}): AdapterDefinition {
  const { instance: hooks, ...def } = overrides;
  return defineAdapter({
    id: 'prova',
    version: '0.1.0',
    busApi: '^1',
    description: 'test adapter',
    optionsSchema: { type: 'object', additionalProperties: false, properties: { url: { type: 'string' } } },
    setup: () => {
      let started = false;
      return {
        start: async () => {
          started = true;
        },
        stop: async () => {
          started = false;
        },
        health: async () => ({ status: started ? 'up' : 'down' }),
        egress: async (m: BusMessage) => {
          if (m.id.startsWith('down')) throw AdapterError.unavailable('system down');
          return { kind: 'accepted' };
        },
        ...hooks,
      } as never;
    },
    ...def,
  });
}

describe('the kit catches each broken rule', () => {
  const fixture = { options: {}, accepted: [message('ok-1')], refused: [{ message: message('down-1'), retriable: true }] };

  it('a correct adapter passes', async () => {
    expect(failed(await checkAdapterConformance(adapter(), fixture))).toEqual([]);
  });

  it('an egress that throws a bare Error instead of an AdapterError', async () => {
    const bad = adapter({ instance: { egress: async () => Promise.reject(new Error('boom')) } });
    const report = await checkAdapterConformance(bad, fixture);
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => !c.ok && c.name.startsWith('egress: refuses'))?.detail).toContain('not an AdapterError');
  });

  it('a retriable failure reported as final', async () => {
    const bad = adapter({ instance: { egress: async () => Promise.reject(AdapterError.refused('TRAMITE_ERR_ADAPTER_REFUSED', 'no')) } });
    expect(failed(await checkAdapterConformance(bad, { ...fixture, accepted: [] }))).toEqual([
      'egress: refuses down-1 with a typed retriable AdapterError',
    ]);
  });

  it('a start that fails the second time, and a stop that fails without start', async () => {
    let starts = 0;
    const bad = adapter({
      instance: {
        start: async () => {
          if (++starts % 2 === 0) throw new Error('already started');
        },
        stop: async () => {
          throw new Error('not started');
        },
      },
    });
    const names = failed(await checkAdapterConformance(bad, fixture));
    expect(names).toContain('lifecycle: start, and start again, succeed in time');
    expect(names).toContain('lifecycle: stop without start is harmless');
  });

  it('a promise rejection nobody handles', async () => {
    const bad = adapter({
      instance: {
        start: async () => {
          void Promise.reject(new Error('forgotten'));
        },
      },
    });
    const report = await checkAdapterConformance(bad, fixture);
    // start runs twice (idempotence check): one forgotten rejection each time.
    expect(report.checks.find((c) => c.name === 'no unhandled promise rejections')).toMatchObject({
      ok: false,
      detail: 'Error: forgotten; Error: forgotten',
    });
  });

  it('an options schema that lets unknown properties through, and one that does not compile', async () => {
    const open = adapter({ optionsSchema: { type: 'object', properties: {} } });
    expect(failed(await checkAdapterConformance(open, fixture))).toEqual([
      'options schema: compiles in strict mode, is an object schema that refuses unknown properties',
    ]);
    const broken = adapter({ optionsSchema: { type: 'object', additionalProperties: false, properties: { n: { type: 'integr' } } } });
    expect(failed(await checkAdapterConformance(broken, fixture))).toContain(
      'options schema: compiles in strict mode, is an object schema that refuses unknown properties',
    );
  });

  it('a hook that never finishes', async () => {
    const slow = adapter({ instance: { health: () => new Promise(() => undefined) } });
    const report = await checkAdapterConformance(slow, { ...fixture, timeoutMs: 200 });
    expect(report.checks.find((c) => c.name.startsWith('health'))).toMatchObject({ ok: false, detail: 'did not finish within 200 ms' });
  });

  it('invalid options that are accepted, or refused without naming the field', async () => {
    const report = await checkAdapterConformance(adapter(), {
      ...fixture,
      invalidOptions: [
        { options: { url: 'x' }, field: 'url' },
        { options: { url: 5 }, field: 'port' },
      ],
    });
    expect(report.checks.filter((c) => !c.ok).map((c) => c.detail)).toEqual(['accepted', expect.stringContaining('no error names port')]);
  });
});
