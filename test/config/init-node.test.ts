import { chmodSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { X509Certificate, createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { DEV_IDENTITY, type InitNodeReport, initNode } from '../../src/config/init-node.js';
import { loadConfig } from '../../src/config/load-config.js';

let root: string;
let dir: string;
let first: InitNodeReport;

/** Every file under `folder`, with its bytes and modification time. */
function snapshot(folder: string): Map<string, { bytes: string; mtimeMs: number }> {
  const out = new Map<string, { bytes: string; mtimeMs: number }>();
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const file = join(d, entry.name);
      if (entry.isDirectory()) walk(file);
      else out.set(relative(folder, file), { bytes: readFileSync(file, 'base64'), mtimeMs: statSync(file).mtimeMs });
    }
  };
  walk(folder);
  return out;
}

const sha256 = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'tramite-init-'));
  dir = join(root, 'node');
  first = initNode({ dir, parties: ['SPC/ComuneA', 'Regione'], port: 8099 });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('initNode: the dev CA private key', () => {
  it("is not in the node's folder: it sits in DIR-dev-ca beside it, private, and the config names no such file", () => {
    const under = (folder: string): string[] => readdirSync(folder, { recursive: true }).map(String);
    expect(under(dir).filter((f) => f.endsWith('ca.key.pem'))).toEqual([]);
    expect(first.ca.keyFile).toBe(join(root, 'node-dev-ca', 'ca.key.pem'));
    expect(statSync(first.ca.keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, 'node-dev-ca')).mode & 0o777).toBe(0o700);
    expect(readFileSync(first.configFile, 'utf8')).not.toContain('ca.key');
  });

  it('still issues a party added later with the same CA, reading the key from outside the node', () => {
    const later = initNode({ dir, parties: ['SPC/ComuneLater'] });
    const ca = new X509Certificate(readFileSync(join(dir, 'pki', 'ca.cert.pem')));
    const cert = new X509Certificate(readFileSync(later.parties[0]!.certFile));
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
  });

  it('moves a CA key left in DIR/pki by an earlier version out of the node, once', () => {
    const old = join(root, 'old-node');
    initNode({ dir: old, parties: ['SPC/ComuneA'] });
    // As an earlier version left it: the key beside the certificates.
    renameSync(join(root, 'old-node-dev-ca', 'ca.key.pem'), join(old, 'pki', 'ca.key.pem'));
    rmSync(join(root, 'old-node-dev-ca'), { recursive: true });
    const report = initNode({ dir: old, parties: ['SPC/ComuneA', 'SPC/ComuneNuovo'] });
    expect(existsSync(join(old, 'pki', 'ca.key.pem'))).toBe(false);
    expect(existsSync(report.ca.keyFile)).toBe(true);
    expect(report.parties.find((p) => p.code === 'SPC/ComuneNuovo')?.created).toBe(true);
  });
});

describe('initNode', () => {
  it('writes a config that loadConfig accepts, with both parties and their identities', () => {
    expect(first.configCreated).toBe(true);
    expect(first.configFile).toBe(join(dir, 'tramite.json'));
    const config = loadConfig(first.configFile);
    expect(config.node).toMatchObject({
      name: 'tramite-dev',
      soggetto: 'Tramite',
      pdd: 'TramiteSPCoopIT',
      listen: { host: '127.0.0.1', port: 8099 },
    });
    expect(config.node.dataDir).toBe(join(dir, 'data'));
    expect(config.trust.caFiles).toEqual([join(dir, 'pki', 'ca.cert.pem')]);
    expect(config.parties.map((p) => p.code)).toEqual(['SPC/ComuneA', 'SPC/Regione']);
    expect(config.parties[0]!.identity.certificate.subject).toContain('CN=ComuneA');
    expect(config.peers).toEqual([]);
    expect(config.services).toEqual([]);
  });

  it('writes paths relative to the config folder', () => {
    const raw = JSON.parse(readFileSync(first.configFile, 'utf8')) as { trust: { caFiles: string[] }; parties: Array<{ keyFile: string }> };
    expect(raw.trust.caFiles).toEqual(['pki/ca.cert.pem']);
    expect(raw.parties[0]!.keyFile).toBe('pki/ComuneA.key.pem');
  });

  it('gives each new party a token: shown once, kept in a private file, only its hash in the config', () => {
    const config = loadConfig(first.configFile);
    for (const [i, party] of first.parties.entries()) {
      expect(party.tokenCreated).toBe(true);
      expect(party.token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 bytes, base64url
      expect(readFileSync(party.tokenFile, 'utf8').trim()).toBe(party.token);
      if (process.platform !== 'win32') expect(statSync(party.tokenFile).mode & 0o777).toBe(0o600);
      expect(config.parties[i]!.apiTokens).toEqual([sha256(party.token!)]);
    }
    expect(readFileSync(first.configFile, 'utf8')).not.toContain(first.parties[0]!.token!);
    expect(first.parties[0]!.tokenFile).toBe(join(dir, 'pki', 'ComuneA.token'));
  });

  it("gives the node an operator token for /health's details: shown once, kept in a private file, only its hash in the config", () => {
    const config = loadConfig(first.configFile);
    expect(first.operatorToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.operatorTokenFile).toBe(join(dir, 'pki', 'operator.token'));
    expect(readFileSync(first.operatorTokenFile, 'utf8').trim()).toBe(first.operatorToken);
    if (process.platform !== 'win32') expect(statSync(first.operatorTokenFile).mode & 0o777).toBe(0o600);
    expect(config.node.operatorTokens).toEqual([sha256(first.operatorToken!)]);
    expect(readFileSync(first.configFile, 'utf8')).not.toContain(first.operatorToken!);
  });

  it('run again, creates nothing, overwrites nothing and shows no token', () => {
    const before = snapshot(dir);
    const again = initNode({ dir, parties: ['SPC/ComuneA', 'SPC/Regione'], port: 9999 });
    expect(again.configCreated).toBe(false);
    expect(again.ca.created).toBe(false);
    expect(again.parties.map((p) => [p.created, p.tokenCreated, p.token, p.configEntry])).toEqual([
      [false, false, undefined, undefined],
      [false, false, undefined, undefined],
    ]);
    expect(snapshot(dir)).toEqual(before);
  });

  it('adds a party later: same CA, config kept, and says what to add to it', () => {
    const before = snapshot(dir);
    const later = initNode({ dir, parties: ['SPC/ComuneB'] });
    expect(later.ca.created).toBe(false);
    expect(later.configCreated).toBe(false);
    const added = later.parties[0]!;
    expect(added).toMatchObject({ code: 'SPC/ComuneB', created: true, tokenCreated: true });
    const after = snapshot(dir);
    for (const [file, state] of before) expect(after.get(file), file).toEqual(state);

    const ca = new X509Certificate(readFileSync(join(dir, 'pki', 'ca.cert.pem')));
    const cert = new X509Certificate(readFileSync(added.certFile));
    expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);

    expect(added.configEntry).toEqual({
      code: 'SPC/ComuneB',
      keyFile: 'pki/ComuneB.key.pem',
      certFile: 'pki/ComuneB.cert.pem',
      apiTokens: [sha256(added.token!)],
    });
    // Pasting the suggested entry into the kept config gives a config that loads.
    const raw = JSON.parse(readFileSync(first.configFile, 'utf8')) as { parties: unknown[] };
    raw.parties.push(added.configEntry);
    const extended = join(dir, 'extended.json');
    writeFileSync(extended, JSON.stringify(raw));
    expect(loadConfig(extended).parties.map((p) => p.code)).toEqual(['SPC/ComuneA', 'SPC/Regione', 'SPC/ComuneB']);
  });

  it('rebuilds a deleted config from the kept PKI and token files, without new tokens', () => {
    const other = join(root, 'rebuild');
    const made = initNode({ dir: other });
    rmSync(made.configFile);
    const rebuilt = initNode({ dir: other });
    expect(rebuilt.configCreated).toBe(true);
    expect(rebuilt.parties[0]).toMatchObject({ code: 'SPC/ComuneDemo', created: false, tokenCreated: false });
    expect(rebuilt.parties[0]!.token).toBeUndefined();
    expect(loadConfig(rebuilt.configFile).parties[0]!.apiTokens).toEqual([sha256(made.parties[0]!.token!)]);
  });

  it('refuses a bad port or party code before writing anything', () => {
    const other = join(root, 'refused');
    expect(() => initNode({ dir: other, port: 70000 })).toThrow(ConfigError);
    expect(() => initNode({ dir: other, parties: ['SPC/Comune A'] })).toThrow(/tipo\/nome/);
    expect(existsSync(other)).toBe(false);
  });

  it('keeps an existing config even when it is broken', () => {
    const other = join(root, 'broken');
    initNode({ dir: other });
    writeFileSync(join(other, 'tramite.json'), '{ broken');
    chmodSync(join(other, 'tramite.json'), 0o644);
    const report = initNode({ dir: other });
    expect(report.configCreated).toBe(false);
    expect(readFileSync(join(other, 'tramite.json'), 'utf8')).toBe('{ broken');
  });
});

describe('initNode: the development identity (no parties named)', () => {
  it('hosts two parties with a sincrono and a oneway service between them, answered by dev-echo on a development node', () => {
    const other = join(root, 'dev-identity');
    const report = initNode({ dir: other, port: 8098 });
    expect(report.devIdentity).toEqual(DEV_IDENTITY);
    expect(report.parties.map((p) => [p.code, p.tokenCreated])).toEqual([
      ['SPC/ComuneDemo', true],
      ['SPC/RegioneDemo', true],
    ]);
    const config = loadConfig(report.configFile);
    expect(config.node.development).toBe(true);
    expect(config.peers).toEqual([]);
    expect(config.services.map((s) => [s.provider, s.name, s.profile, s.confermaRicezione, s.consumers])).toEqual([
      ['SPC/RegioneDemo', 'EcoDemo', 'sincrono', false, ['SPC/ComuneDemo']],
      ['SPC/RegioneDemo', 'NotificaDemo', 'oneway', true, ['SPC/ComuneDemo']],
    ]);
    const [comune, regione] = config.parties;
    expect(comune!.adapters).toEqual([]);
    expect(regione!.adapters).toEqual([{ use: 'dev-echo', options: {}, services: ['EcoDemo', 'NotificaDemo'] }]);
    // Visibly labelled in the file itself, not only once loaded.
    const raw = JSON.parse(readFileSync(report.configFile, 'utf8')) as { node: { development?: boolean } };
    expect(raw.node.development).toBe(true);
  });

  it('named parties keep a node without services, echo or development flag', () => {
    const config = loadConfig(first.configFile);
    expect(first.devIdentity).toBeUndefined();
    expect(config.node.development).toBe(false);
    expect(config.parties.flatMap((p) => p.adapters ?? [])).toEqual([]);
  });
});
