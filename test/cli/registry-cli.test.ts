/**
 * A spawned `tramite start` process (the first run's development node, its own Redis) reloads its
 * registry on SIGHUP and on `tramite registry reload`, each version recorded under who asked; a bad
 * file is refused by both, with the field and the fix, and the process serves on under its version.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/core/token-hash.js';
import { CLI, runCli } from './run-cli.js';

let cwd: string;
let child: ChildProcess;
let stderr = '';
let baseUrl: string;
let dispatcher: Agent;
let configFile: string;
let original: Record<string, any>;

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'tramite-registry-cli-'));
  child = spawn(process.execPath, [CLI, 'start', '--port', '0'], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tramite start did not listen within 60 s: ${stderr}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /health:\s+(https?:\/\/\S+)\/health/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`tramite start exited with ${code}: ${stderr}`)));
  });
  dispatcher = new Agent({ connect: { ca: readFileSync(join(cwd, '.tramite', 'pki', 'ca.cert.pem'), 'utf8') } });
  configFile = join(cwd, '.tramite', 'tramite.json');
  original = JSON.parse(readFileSync(configFile, 'utf8'));
}, 90_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  await dispatcher?.close();
  rmSync(cwd, { recursive: true, force: true });
  rmSync(`${cwd}/.tramite-dev-ca`, { recursive: true, force: true });
});

const operatorToken = (): string => readFileSync(join(cwd, '.tramite', 'pki', 'operator.token'), 'utf8').trim();

/** The config file as the first run wrote it, with `edit` applied. */
function writeConfig(edit: (raw: any) => void): void {
  const raw = structuredClone(original);
  edit(raw);
  writeFileSync(configFile, JSON.stringify(raw, null, 2));
}

const withOperator = (name: string, token: string) => (raw: any) =>
  (raw.node.operatorTokens = [...raw.node.operatorTokens, { name, token: hashToken(token) }]);

async function registry(path = '', token = operatorToken()): Promise<{ status: number; json: any }> {
  const res = await request(`${baseUrl}/api/v1/registry${path}`, { dispatcher, headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, json: await res.body.json() };
}

const reloadArgs = () => ['registry', 'reload', '--config', configFile, '--url', baseUrl];

describe('SIGHUP', () => {
  it('reloads the registry of the process that gets it, recorded as signal:SIGHUP', async () => {
    expect((await registry()).json.version.version).toBe(1);
    writeConfig(withOperator('l.bianchi', 'token-of-l-bianchi'));
    child.kill('SIGHUP');
    await expect
      .poll(() => stderr, { timeout: 20_000, interval: 100 })
      .toMatch(/tramite: registry version 2 applied \(sha256:[0-9a-f]{64}\)/);
    const now = await registry('', 'token-of-l-bianchi');
    expect(now.status).toBe(200);
    expect(now.json.version).toMatchObject({ version: 2, by: 'operator:signal:SIGHUP' });
    expect(child.exitCode).toBeNull();
  }, 30_000);

  it('refuses a bad file, naming the field and the fix, and keeps the running version', async () => {
    writeConfig((raw) => (raw.parties[0].apiTokenz = []));
    child.kill('SIGHUP');
    await expect
      .poll(() => stderr, { timeout: 20_000, interval: 100 })
      .toMatch(
        /registry reload refused, version 2 kept:\n[\s\S]*config parties\[0\]\.apiTokenz: is not a known property — fix: did you mean "apiTokens"\?/,
      );
    expect((await registry('', 'token-of-l-bianchi')).json.version.version).toBe(2);
  }, 30_000);
});

describe('tramite registry reload', () => {
  it('applies the file to the process at --url, recorded under the operator token’s name; exit 0', async () => {
    writeConfig(withOperator('l.bianchi', 'token-of-l-bianchi'));
    const unchanged = await runCli(reloadArgs(), { cwd });
    expect(unchanged.code, unchanged.stderr).toBe(0);
    expect(unchanged.stdout).toBe(`${baseUrl}: unchanged, registry version 2 (${(await registry()).json.version.digest})\n`);
    writeConfig((raw) => {
      withOperator('l.bianchi', 'token-of-l-bianchi')(raw);
      raw.services.push({ provider: 'SPC/RegioneDemo', name: 'AvvisoDemo', profile: 'oneway', envelope: 'egov' });
    });
    const run = await runCli([...reloadArgs(), '--json'], { cwd });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      processes: [{ url: baseUrl, outcome: 'applied', version: 3, previous: 2, digest: expect.stringMatching(/^sha256:/) }],
    });
    const versions = await registry('/versions');
    expect(versions.json.versions.map((v: { by: string }) => v.by)).toEqual([
      'operator:signal:SIGHUP',
      expect.stringMatching(/^operator:operator-[0-9a-f]{8}$/),
    ]);
    expect((await registry()).json.services.map((s: { name: string }) => s.name)).toEqual(['EcoDemo', 'NotificaDemo', 'AvvisoDemo']);
  }, 60_000);

  it('a refused file: exit 1, the problems printed, the running version kept', async () => {
    writeConfig((raw) => (raw.node.name = 'renamed'));
    const run = await runCli(reloadArgs(), { cwd });
    expect(run.code, run.stdout).toBe(1);
    expect(run.stdout).toMatch(
      /: refused \(TRAMITE_ERR_RELOAD_NEEDS_RESTART\); the running registry is kept:\n[\s\S]*^config node\.name: needs a restart/m,
    );
    expect((await registry()).json.version.version).toBe(3);
  }, 60_000);

  it('a process that cannot be asked: exit 2', async () => {
    const run = await runCli(['registry', 'reload', '--config', configFile, '--url', 'http://127.0.0.1:9'], { cwd });
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/^http:\/\/127\.0\.0\.1:9: not reloaded: the node did not answer/);
  }, 30_000);
});
