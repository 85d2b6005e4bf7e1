/**
 * `tramite pdnd-simulator` as a process: it prints its endpoints, a voucher client gets a voucher
 * from it over loopback, SIGTERM stops it; a bad registry is refused with exit 2 and the field named.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import type { PdndSimulatorEndpoints } from '../../src/pdnd-simulator/pdnd-simulator.js';
import { CLI, runCli } from '../cli/run-cli.js';
import { AUDIENCE, PURPOSE, comuneClient, registryJson } from '../pdnd/pdnd-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'tramite-pdnd-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tramite pdnd-simulator', () => {
  it('runs as a process that issues vouchers, and stops on SIGTERM', async () => {
    const registry = join(dir, 'registry.json');
    writeFileSync(registry, JSON.stringify(registryJson()));
    const child = spawn(process.execPath, [CLI, 'pdnd-simulator', '--registry', registry, '--json', '--data', join(dir, 'data')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const endpoints = await new Promise<PdndSimulatorEndpoints>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as PdndSimulatorEndpoints);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const v = await comuneClient(endpoints).requestVoucher({ purposeId: PURPOSE });
      expect(decodeJwt(v.token)).toMatchObject({ aud: AUDIENCE, purposeId: PURPOSE, iss: endpoints.issuer });
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('refuses a registry with a missing field, naming it (exit 2)', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ clients: [], eservices: [{ eservice_id: 'x' }] }));
    const r = await runCli(['pdnd-simulator', '--registry', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/eservices/0: missing field audience');
  });
});
