import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { initNode } from '../../src/config/init-node.js';
import { loadConfig } from '../../src/config/load-config.js';
import { encryptPkcs8, exportPkcs12 } from '../crypto/openssl-keystores.js';
import { configRefusal, problemAbout, writeConfigCase, type Json } from './config-cases.js';

const PASSPHRASE = 'Tr4mite keystore passphrase';

let dir: string;
let base: Json;

const configWith = (edit: (config: Json) => void): string => writeConfigCase(dir, base, edit, 'keys');

function refusal(file: string): ConfigError {
  const err = configRefusal(file);
  expect(err.message).not.toContain(PASSPHRASE);
  return err;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-config-keys-'));
  const report = initNode({ dir, parties: ['SPC/ComuneA', 'SPC/ComuneB'] });
  base = JSON.parse(readFileSync(report.configFile, 'utf8'));
  writeFileSync(join(dir, 'pki', 'ComuneA.pass'), `${PASSPHRASE}\n`, { mode: 0o600 });
  exportPkcs12({
    dir: join(dir, 'pki'),
    name: 'ComuneA.p12',
    passphrase: PASSPHRASE,
    keyFile: join(dir, 'pki', 'ComuneA.key.pem'),
    certFile: join(dir, 'pki', 'ComuneA.cert.pem'),
    chainFile: join(dir, 'pki', 'ca.cert.pem'),
    alias: 'comunea',
    legacy: true,
  });
  encryptPkcs8(join(dir, 'pki', 'ComuneA.key.pem'), join(dir, 'pki', 'ComuneA.key.enc.pem'), PASSPHRASE);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const useKeystore = (c: Json, keystore: Json): void => {
  delete c.parties[0].keyFile;
  delete c.parties[0].certFile;
  c.parties[0].keystore = keystore;
};

describe('a party key from a keystore or an encrypted PEM file', () => {
  it('loads a legacy PKCS#12 named by keystore, with paths made absolute and the passphrase kept nowhere', () => {
    const config = loadConfig(configWith((c) => useKeystore(c, { file: 'pki/ComuneA.p12', passphraseFile: 'pki/ComuneA.pass' })));
    const party = config.parties[0]!;
    expect(party.keystore).toEqual({ file: join(dir, 'pki', 'ComuneA.p12'), passphraseFile: join(dir, 'pki', 'ComuneA.pass') });
    expect(party.identity.certificate.fingerprint256).toBe(
      new X509Certificate(readFileSync(join(dir, 'pki', 'ComuneA.cert.pem'))).fingerprint256,
    );
    expect(party.identity.chain).toHaveLength(1);
    expect(JSON.stringify(config)).not.toContain(PASSPHRASE);
  });

  it('takes the passphrase from passphraseEnv', () => {
    process.env['TRAMITE_TEST_COMUNEA_PASS'] = PASSPHRASE;
    try {
      const config = loadConfig(
        configWith((c) => useKeystore(c, { file: 'pki/ComuneA.p12', passphraseEnv: 'TRAMITE_TEST_COMUNEA_PASS', alias: 'ComuneA' })),
      );
      expect(config.parties[0]!.identity.algorithm).toBe('RSA-SHA256');
    } finally {
      delete process.env['TRAMITE_TEST_COMUNEA_PASS'];
    }
  });

  it('loads an encrypted PKCS#8 keyFile with passphraseFile', () => {
    const config = loadConfig(
      configWith((c) => {
        c.parties[0].keyFile = 'pki/ComuneA.key.enc.pem';
        c.parties[0].passphraseFile = 'pki/ComuneA.pass';
      }),
    );
    expect(config.parties[0]!.passphraseFile).toBe(join(dir, 'pki', 'ComuneA.pass'));
    expect(config.parties[0]!.identity.code).toBe('SPC/ComuneA');
  });

  it.each([
    ['the party', (c: Json) => (c.parties[0].passphrase = PASSPHRASE), 'parties[0].passphrase'],
    ['the keystore', (c: Json) => useKeystore(c, { file: 'pki/ComuneA.p12', passphrase: PASSPHRASE }), 'parties[0].keystore.passphrase'],
    [
      'the keystore, as "password"',
      (c: Json) => useKeystore(c, { file: 'pki/ComuneA.p12', password: PASSPHRASE }),
      'parties[0].keystore.password',
    ],
  ])('a passphrase written in %s is refused, saying why and where it goes', (_, edit, field) => {
    const err = refusal(configWith(edit));
    expect(err.code).toBe('TRAMITE_ERR_CONFIG_INVALID');
    const line = problemAbout(err, field);
    expect(line).toContain(`${field}: not allowed: a passphrase written in the configuration`);
    expect(line).toContain('read by everyone who can read this file');
    expect(line).toContain('fix: remove it; put the passphrase in a file only the node can read and name that file with passphraseFile');
    expect(line).toContain('passphraseEnv');
  });

  it('an unknown property is never pointed to the refused passphrase fields', () => {
    const err = refusal(configWith((c) => (c.parties[0].passphrse = 'x')));
    const line = problemAbout(err, 'parties[0].passphrse');
    expect(line).toContain('use one of: code, keyFile, certFile, passphraseFile, passphraseEnv, keystore, pkcs11, apiTokens');
    expect(line).not.toMatch(/\bpassphrase\b|\bpassword\b/);
  });

  it('a keystore beside keyFile and certFile is refused', () => {
    const err = refusal(configWith((c) => (c.parties[0].keystore = { file: 'pki/ComuneA.p12', passphraseFile: 'pki/ComuneA.pass' })));
    expect(problemAbout(err, 'parties[0].keyFile')).toContain('is given together with keystore');
    expect(problemAbout(err, 'parties[0].certFile')).toContain('is given together with keystore');
  });

  it('a keystore without a passphrase source is refused', () => {
    const err = refusal(configWith((c) => useKeystore(c, { file: 'pki/ComuneA.p12' })));
    expect(problemAbout(err, 'parties[0].keystore')).toContain('names no passphrase — fix: add "passphraseFile"');
  });

  it('passphraseFile and passphraseEnv together are refused', () => {
    const err = refusal(
      configWith((c) => useKeystore(c, { file: 'pki/ComuneA.p12', passphraseFile: 'pki/ComuneA.pass', passphraseEnv: 'X' })),
    );
    expect(problemAbout(err, 'parties[0].keystore.passphraseEnv')).toContain('is given together with passphraseFile');
  });

  it('a party with neither keyFile nor keystore is told about both', () => {
    const err = refusal(configWith((c) => delete c.parties[0].keyFile));
    expect(problemAbout(err, 'parties[0].keyFile')).toContain('is missing — fix: add "keyFile"');
    expect(problemAbout(err, 'parties[0].keyFile')).toContain('"keystore"');
  });

  it('a missing keystore or passphrase file is named with its field', () => {
    const err = refusal(configWith((c) => useKeystore(c, { file: 'pki/Nope.p12', passphraseFile: 'pki/Nope.pass' })));
    expect(problemAbout(err, 'parties[0].keystore.file')).toContain(`file ${join(dir, 'pki', 'Nope.p12')} does not exist`);
    expect(problemAbout(err, 'parties[0].keystore.passphraseFile')).toContain('does not exist');
  });

  it('a wrong passphrase → TRAMITE_ERR_KEY_PASSPHRASE, naming the field and the keystore', () => {
    writeFileSync(join(dir, 'pki', 'wrong.pass'), 'not the passphrase');
    const err = refusal(configWith((c) => useKeystore(c, { file: 'pki/ComuneA.p12', passphraseFile: 'pki/wrong.pass' })));
    expect(err.code).toBe('TRAMITE_ERR_KEY_PASSPHRASE');
    expect(err.field).toBe('parties[0].keystore');
    expect(err.message).toMatch(/^config parties\[0\]\.keystore: party SPC\/ComuneA: the passphrase does not open the keystore /);
    expect(err.message).toContain(join(dir, 'pki', 'ComuneA.p12'));
  });

  it('an unset passphraseEnv → TRAMITE_ERR_KEY_PASSPHRASE naming the variable', () => {
    delete process.env['TRAMITE_TEST_NOT_SET'];
    const err = refusal(configWith((c) => useKeystore(c, { file: 'pki/ComuneA.p12', passphraseEnv: 'TRAMITE_TEST_NOT_SET' })));
    expect(err.code).toBe('TRAMITE_ERR_KEY_PASSPHRASE');
    expect(err.message).toContain('config parties[0].keystore: ');
    expect(err.message).toContain('TRAMITE_TEST_NOT_SET is not set');
  });
});
