import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNode } from '../../src/config/init-node.js';
import { buildEgovEnvelope } from '../../envelopes/envelope.js';
import { issueWithOpenssl, SIGNER_EXTENSIONS } from '../fixtures/openssl-certs.js';
import { encryptPkcs8, exportPkcs12 } from '../crypto/openssl-keystores.js';
import { CLI, runCli } from './run-cli.js';
import { sampleEgovHeader } from '../fixtures/test-pki.js';

const PASSPHRASE = 'cli-keystore-passphrase-7731';

let dir: string;
const pki = (name: string): string => join(dir, 'node', 'pki', name);
let passFile: string;
let legacyP12: string;
let ecP12: string;
let encryptedKey: string;

const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8' }).trim();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-keys-cli-'));
  initNode({ dir: join(dir, 'node'), parties: ['SPC/ComuneA'] });
  passFile = join(dir, 'keystore.pass');
  writeFileSync(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
  legacyP12 = exportPkcs12({
    dir,
    name: 'ComuneA-legacy.p12',
    passphrase: PASSPHRASE,
    keyFile: pki('ComuneA.key.pem'),
    certFile: pki('ComuneA.cert.pem'),
    chainFile: pki('ca.cert.pem'),
    alias: 'comunea',
    legacy: true,
  });
  encryptedKey = encryptPkcs8(pki('ComuneA.key.pem'), join(dir, 'ComuneA.key.enc.pem'), PASSPHRASE);
  const ca = { certPem: readFileSync(pki('ca.cert.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'node-dev-ca', 'ca.key.pem'), 'utf8') };
  const ec = issueWithOpenssl({ issuer: ca, subject: '/C=IT/O=SPC/CN=ComuneEc', key: 'ec-p256', extensions: SIGNER_EXTENSIONS });
  writeFileSync(join(dir, 'ec.key.pem'), ec.keyPem);
  writeFileSync(join(dir, 'ec.cert.pem'), ec.certPem);
  ecP12 = exportPkcs12({
    dir,
    name: 'ec.p12',
    passphrase: PASSPHRASE,
    keyFile: join(dir, 'ec.key.pem'),
    certFile: join(dir, 'ec.cert.pem'),
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tramite keys inspect', () => {
  it('a PEM certificate: subject, issuer, serial, validity, key type and fingerprint as openssl prints them', async () => {
    const cert = pki('ComuneA.cert.pem');
    const r = await runCli(['keys', 'inspect', cert]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ file: cert, format: 'pem', privateKey: false, keyType: 'rsa 2048', chain: [] });
    expect(out.subject).toContain('CN=ComuneA');
    expect(`serial=${out.serial}`).toBe(openssl('x509', '-in', cert, '-noout', '-serial'));
    expect(`sha256 Fingerprint=${out.fingerprint256}`).toBe(openssl('x509', '-in', cert, '-noout', '-fingerprint', '-sha256'));
    expect(new Date(out.notAfter).getTime()).toBe(
      new Date(openssl('x509', '-in', cert, '-noout', '-enddate').replace('notAfter=', '')).getTime(),
    );
    expect(out.daysToExpiry).toBe(Math.floor((new Date(out.notAfter).getTime() - Date.now()) / 86_400_000));
  });

  it('a PEM key and certificate in one file', async () => {
    const both = join(dir, 'both.pem');
    writeFileSync(both, readFileSync(pki('ComuneA.key.pem'), 'utf8') + readFileSync(pki('ComuneA.cert.pem'), 'utf8'));
    const r = await runCli(['keys', 'inspect', both]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ privateKey: true, keyType: 'rsa 2048' });
  });

  it('an encrypted PKCS#8 key, with --passphrase-file', async () => {
    const r = await runCli(['keys', 'inspect', encryptedKey, '--passphrase-file', passFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ file: encryptedKey, format: 'pem', privateKey: true, keyType: 'rsa 2048' });
  });

  it('a legacy PKCS#12, with --passphrase-env: its alias and its CA certificate', async () => {
    const r = await runCliWithEnv(['keys', 'inspect', legacyP12, '--passphrase-env', 'TRAMITE_TEST_P12_PASS'], {
      TRAMITE_TEST_P12_PASS: PASSPHRASE,
    });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ format: 'pkcs12', alias: 'comunea', privateKey: true, keyType: 'rsa 2048' });
    expect(out.subject).toContain('CN=ComuneA');
    expect(out.chain).toHaveLength(1);
    expect(out.chain[0].fingerprint256).toBe(openssl('x509', '-in', pki('ca.cert.pem'), '-noout', '-fingerprint', '-sha256').split('=')[1]);
  });

  it('an EC P-256 keystore', async () => {
    const r = await runCli(['keys', 'inspect', ecP12, '--passphrase-file', passFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ keyType: 'ec P-256', privateKey: true });
  });

  it.each([
    ['a keystore without its passphrase', () => [legacyP12], 'TRAMITE_ERR_KEY_PASSPHRASE'],
    ['an encrypted key without its passphrase', () => [encryptedKey], 'TRAMITE_ERR_KEY_PASSPHRASE'],
    ['a keystore with a wrong passphrase', () => [legacyP12, '--passphrase-file', pki('ComuneA.token')], 'TRAMITE_ERR_KEY_PASSPHRASE'],
    [
      'a keystore and an alias it does not hold',
      () => [legacyP12, '--passphrase-file', passFile, '--alias', 'other'],
      'TRAMITE_ERR_KEYSTORE_ALIAS',
    ],
    ['a file that is no key or certificate', () => [join(dir, 'node', 'tramite.json')], 'TRAMITE_ERR_KEY_INVALID'],
  ])('%s: exit 1 and the code, never the passphrase', async (_, args, code) => {
    const r = await runCli(['keys', 'inspect', ...args()]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`error ${code}: `);
    expect(r.stderr).not.toContain(PASSPHRASE);
  });

  it.each([
    ['a file that does not exist', ['/nonexistent/tramite-test/nope.p12']],
    ['both passphrase options', ['x.p12', '--passphrase-file', 'f', '--passphrase-env', 'V']],
    ['an unknown option', ['x.p12', '--passphrase', PASSPHRASE]],
    ['no file', []],
  ])('%s: a usage error, exit 2', async (_, args) => {
    const r = await runCli(['keys', 'inspect', ...args]);
    expect(r.code).toBe(2);
  });

  it('--help says what it reads and the exit codes; keys is in the top-level help', async () => {
    const help = await runCli(['keys', 'inspect', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: tramite keys inspect [options] <file>');
    expect(help.stdout).toContain('Exit status: 0 read, 1 not a key or certificate it can read');
    const top = await runCli(['--help']);
    expect(top.stdout).toMatch(/^\s+keys\s/m);
  });
});

describe('tramite envelope seal --keystore', () => {
  let unsigned: string;
  beforeAll(() => {
    unsigned = join(dir, 'unsigned.xml');
    writeFileSync(
      unsigned,
      buildEgovEnvelope(
        sampleEgovHeader(new Date('2026-11-23T10:00:00Z'), { destinatario: { tipo: 'SPC', nome: 'RegioneX' } }),
        '<p:Documento xmlns:p="urn:test">1</p:Documento>',
      ),
    );
  });

  it.each([
    ['a legacy PKCS#12', () => ['--keystore', legacyP12, '--passphrase-file', passFile], 'CN=ComuneA'],
    ['an EC keystore', () => ['--keystore', ecP12, '--passphrase-file', passFile], 'CN=ComuneEc'],
    [
      'an encrypted PKCS#8 key',
      () => ['--key', encryptedKey, '--cert', pki('ComuneA.cert.pem'), '--passphrase-file', passFile],
      'CN=ComuneA',
    ],
  ])('seals with %s; the envelope verifies against the CA', async (_, signer, cn) => {
    const r = await runCli(['envelope', 'seal', '--profile', 'egov', ...signer(), unsigned]);
    expect(r.code, r.stderr).toBe(0);
    const signed = join(dir, `signed-${Math.random().toString(36).slice(2)}.xml`);
    writeFileSync(signed, r.stdout);
    const v = await runCli(['envelope', 'verify', signed, '--trust', pki('ca.cert.pem')]);
    expect(v.code, v.stdout).toBe(0);
    expect(JSON.parse(v.stdout).signer).toContain(cn);
  });

  it.each([
    ['--keystore without a passphrase', () => ['--keystore', legacyP12], '--keystore needs its passphrase'],
    ['--keystore with --key', () => ['--keystore', legacyP12, '--passphrase-file', passFile, '--key', pki('ComuneA.key.pem')], 'not both'],
    ['no signer at all', () => [], 'name the signer'],
  ])('%s: a usage error, exit 2', async (_, signer, message) => {
    const r = await runCli(['envelope', 'seal', '--profile', 'egov', ...signer(), unsigned]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('a wrong keystore passphrase: exit 1, TRAMITE_ERR_KEY_PASSPHRASE, the passphrase nowhere', async () => {
    const wrong = join(dir, 'wrong.pass');
    writeFileSync(wrong, `${PASSPHRASE}-wrong`);
    const r = await runCli(['envelope', 'seal', '--profile', 'egov', '--keystore', legacyP12, '--passphrase-file', wrong, unsigned]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error TRAMITE_ERR_KEY_PASSPHRASE: --keystore: the passphrase does not open the keystore');
    expect(r.stderr).not.toContain(PASSPHRASE);
  });
});

describe('tramite start with a keystore it cannot open', () => {
  it('refuses to start, naming the field and the file, and prints the passphrase nowhere', async () => {
    const configFile = join(dir, 'node', 'tramite.json');
    const config = JSON.parse(readFileSync(configFile, 'utf8'));
    delete config.parties[0].keyFile;
    delete config.parties[0].certFile;
    config.parties[0].keystore = { file: legacyP12, passphraseEnv: 'TRAMITE_TEST_START_PASS' };
    const bad = join(dir, 'node', 'keystore-wrong-pass.json');
    writeFileSync(bad, JSON.stringify(config));
    const r = await runCliWithEnv(['start', '--config', bad], { TRAMITE_TEST_START_PASS: `${PASSPHRASE}!` });
    expect(r.code).not.toBe(0);
    const output = r.stdout + r.stderr;
    expect(output).toContain('TRAMITE_ERR_KEY_PASSPHRASE');
    expect(output).toContain('parties[0].keystore');
    expect(output).toContain(legacyP12);
    expect(output).not.toContain(PASSPHRASE);
  });
});

describe('tramite start with a keystore', () => {
  it('starts with the passphrase from passphraseEnv, and its log shows the passphrase nowhere', async () => {
    const configFile = join(dir, 'node', 'tramite.json');
    const config = JSON.parse(readFileSync(configFile, 'utf8'));
    delete config.parties[0].keyFile;
    delete config.parties[0].certFile;
    config.parties[0].keystore = { file: legacyP12, passphraseEnv: 'TRAMITE_TEST_START_PASS' };
    const good = join(dir, 'node', 'keystore.json');
    writeFileSync(good, JSON.stringify(config));
    const child = spawn(process.execPath, [CLI, 'start', '--config', good, '--port', '0'], {
      env: { ...process.env, TRAMITE_TEST_START_PASS: PASSPHRASE },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await expect.poll(() => /health:\s+(https?:\/\/\S+)\/health/.exec(output)?.[1], { timeout: 30_000, interval: 200 }).toBeTruthy();
      const baseUrl = /health:\s+(https?:\/\/\S+)\/health/.exec(output)![1]!;
      // tramite init's node listens over TLS with a certificate of its dev CA.
      const agent = new Agent({ connect: { ca: readFileSync(join(dir, 'node', 'pki', 'ca.cert.pem'), 'utf8') } });
      try {
        const health = await request(`${baseUrl}/health`, { dispatcher: agent });
        await health.body.dump();
        expect(health.statusCode).toBe(200);
      } finally {
        await agent.close();
      }
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    expect(output).not.toContain(PASSPHRASE);
  }, 60_000);
});

/** runCli with extra environment variables (the passphrase of --passphrase-env, of passphraseEnv). */
async function runCliWithEnv(args: string[], env: Record<string, string>): ReturnType<typeof runCli> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    // runCli spawns with the parent's environment; the child has read it once spawned.
    return await runCli(args);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
