/**
 * The example adapter writes each inbound message to <outbox>/<name>.xml: two different message ids
 * must never get the same name, or one message overwrites the other.
 */
import { sqliteAdapterFolder } from '../../../adapters/sdk/store/sqlite-adapter-store.js';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import cartella, { fileNameFor } from '../../../adapters/examples/cartella/cartella-adapter.js';

describe('cartella file names', () => {
  it('ids that differ only in ":", "/" or "_" get different file names (they all became "_" before)', () => {
    const names = ['A_B_0000001_2026-11-23_10:00', 'A_B_0000001_2026-11-23_10_00', 'A_B_0000001_2026-11-23_10/00'].map(fileNameFor);
    expect(new Set(names).size).toBe(3);
  });

  it('two messages whose ids differ only in ":" and "_" are both kept in the outbox, each with its own payload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cartella-names-'));
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
    const base = { from: 'SPC/ComuneOrtona', to: 'SPC/EnteDiProva', service: 'S', profile: 'oneway' as const };
    await instance.egress(
      { ...base, id: 'X_Y_0000001_2026-11-23_10:00', payload: '<a xmlns="urn:t">colon</a>' },
      AbortSignal.timeout(1000),
    );
    await instance.egress(
      { ...base, id: 'X_Y_0000001_2026-11-23_10_00', payload: '<a xmlns="urn:t">underscore</a>' },
      AbortSignal.timeout(1000),
    );
    await instance.stop();
    const xml = readdirSync(join(dir, 'out')).filter((f) => f.endsWith('.xml'));
    expect(xml).toHaveLength(2);
    expect(xml.map((f) => readFileSync(join(dir, 'out', f), 'utf8')).sort()).toEqual([
      '<a xmlns="urn:t">colon</a>',
      '<a xmlns="urn:t">underscore</a>',
    ]);
  });

  it('an e-Gov id keeps its readable parts; only the characters a file name should not hold are escaped', () => {
    expect(fileNameFor('ComuneOrtona_CSTChietiSPCoopIT_0000001_2026-11-23_10:00')).toBe(
      'ComuneOrtona_CSTChietiSPCoopIT_0000001_2026-11-23_10~3A00',
    );
    expect(fileNameFor('a~b')).toBe('a~7Eb');
  });

  it('names hold only file-safe characters, and no two different ids share one (any text)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        expect(fileNameFor(a)).toMatch(/^[A-Za-z0-9_.~-]*$/);
        if (a !== b) expect(fileNameFor(a)).not.toBe(fileNameFor(b));
      }),
      { numRuns: 2000 },
    );
  });
});
