import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerInitCommand } from '../../src/cli/commands/init.js';
import { loadConfig } from '../../src/config/load-config.js';

let root: string;

/** Runs `tramite <args>` in-process and returns what it printed. */
async function tramite(...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number | undefined }> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
  const program = new Command().name('tramite').exitOverride();
  registerInitCommand(program);
  try {
    await program.parseAsync(['node', 'tramite', ...args]);
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  const exitCode = process.exitCode === undefined ? undefined : Number(process.exitCode);
  return { stdout: out.join(''), stderr: err.join(''), exitCode };
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'tramite-init-cli-'));
});

afterEach(() => {
  process.exitCode = undefined;
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('tramite init', () => {
  it('creates a node, prints what it made, the token once and the next step', async () => {
    const dir = join(root, 'human');
    const run = await tramite('init', '--dir', dir, '--parties', 'SPC/ComuneA, Regione', '--port', '8123');
    expect(run.exitCode).toBeUndefined();
    expect(run.stdout).toMatch(/created dev CA/);
    expect(run.stdout).toMatch(/created SPC\/ComuneA/);
    expect(run.stdout).toMatch(/created SPC\/Regione/);
    expect(run.stdout).toMatch(/SPC\/ComuneA: [A-Za-z0-9_-]{43}/);
    expect(run.stdout).toMatch(/Operator token, for GET \/health's details[^\n]*\n {2}[A-Za-z0-9_-]{43}\n/);
    expect(run.stdout).toContain(`Next: tramite start --config ${join(dir, 'tramite.json')}`);
    expect(loadConfig(join(dir, 'tramite.json')).node.listen.port).toBe(8123);
    // Named parties: no services, and no word of the development identity.
    expect(loadConfig(join(dir, 'tramite.json')).services).toEqual([]);
    expect(run.stdout).not.toContain('dev-echo');

    const again = await tramite('init', '--dir', dir, '--parties', 'SPC/ComuneA,SPC/Regione');
    expect(again.stdout).not.toMatch(/created/);
    expect(again.stdout).toMatch(/kept +config/);
    expect(again.stdout).not.toContain('tokens');
  });

  it('--json prints one JSON report with the next step', async () => {
    const dir = join(root, 'json');
    const run = await tramite('init', '--dir', dir, '--json');
    const report = JSON.parse(run.stdout) as { configCreated: boolean; parties: Array<{ code: string; token?: string }>; nextStep: string };
    expect(report.configCreated).toBe(true);
    // No --parties: the development identity, two parties answered by dev-echo.
    expect(report.parties.map((p) => p.code)).toEqual(['SPC/ComuneDemo', 'SPC/RegioneDemo']);
    expect(report.parties.every((p) => p.token)).toBe(true);
    expect(loadConfig(join(dir, 'tramite.json')).services.map((s) => `${s.name} ${s.profile}`)).toEqual([
      'EcoDemo sincrono',
      'NotificaDemo oneway',
    ]);
    expect(report.nextStep).toBe(`tramite start --config ${join(dir, 'tramite.json')}`);
  });

  it('without --parties says what the development identity serves and that its answers are echoes', async () => {
    const run = await tramite('init', '--dir', join(root, 'dev-identity'));
    expect(run.exitCode).toBeUndefined();
    expect(run.stdout).toMatch(/created SPC\/ComuneDemo/);
    expect(run.stdout).toMatch(/created SPC\/RegioneDemo/);
    expect(run.stdout).toContain(
      'Development node: SPC/ComuneDemo may call SPC/RegioneDemo on EcoDemo (sincrono) and NotificaDemo (oneway',
    );
    expect(run.stdout).toContain("SPC/RegioneDemo's back office is dev-echo, development only");
  });

  it('reports errors as "error <code>: <message>" with exit code 1, writing nothing', async () => {
    const dir = join(root, 'bad');
    const badPort = await tramite('init', '--dir', dir, '--port', 'eighty');
    expect(badPort.exitCode).toBe(1);
    expect(badPort.stderr).toMatch(/^error TRAMITE_ERR_CONFIG_INVALID: --port eighty is not a TCP port/);
    const badParty = await tramite('init', '--dir', dir, '--parties', 'SPC/Comune-A');
    expect(badParty.stderr).toMatch(/^error TRAMITE_ERR_CONFIG_INVALID: party "SPC\/Comune-A"/);
    expect(existsSync(dir)).toBe(false);
  });
});
