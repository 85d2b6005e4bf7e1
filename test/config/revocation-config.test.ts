import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNode } from '../../src/config/init-node.js';
import { loadConfig } from '../../src/config/load-config.js';
import { revocationCheckerFor } from '../../src/crypto/revocation/revocation-settings.js';
import { OpensslCa } from '../fixtures/openssl-ca.js';
import { configRefusal, writeConfigCase, type Json } from './config-cases.js';

let dir: string;
let base: Json;

const configWith = (edit: (config: Json) => void): string => writeConfigCase(dir, base, edit, 'revocation');

const refusal = (file: string): string => configRefusal(file).message;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-config-revocation-'));
  const report = initNode({ dir, parties: ['SPC/ComuneA'] });
  base = JSON.parse(readFileSync(report.configFile, 'utf8'));
  OpensslCa.create(join(dir, 'crl-ca')).crl(join(dir, 'pki', 'some.crl.pem'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('trust.revocation', () => {
  it('is absent from older files, which check nothing new', () => {
    const config = loadConfig(configWith(() => undefined));
    expect(config.trust.revocation).toBeUndefined();
    expect(revocationCheckerFor(config.trust.revocation)).toBeUndefined();
  });

  it('loads a per-anchor policy with its defaults, paths absolute and the anchor read', () => {
    const config = loadConfig(
      configWith((c) => {
        c.trust.revocation = { anchors: [{ caFile: 'pki/ca.cert.pem', mode: 'hard' }], crlFiles: ['pki/some.crl.pem'] };
      }),
    );
    const r = config.trust.revocation!;
    expect(r).toMatchObject({ mode: 'off', allowSha1Crl: false, ocsp: true, fetchCrls: true, timeoutMs: 5000, maxCacheSeconds: 3600 });
    expect(r.anchors[0]).toMatchObject({ caFile: join(dir, 'pki', 'ca.cert.pem'), mode: 'hard', allowSha1Crl: false });
    expect(r.anchors[0]!.certificates.map((c) => c.fingerprint256)).toEqual(config.trust.anchors.map((c) => c.fingerprint256));
    const checker = revocationCheckerFor(r)!;
    expect(checker.policies.of(config.trust.anchors[0]!).mode).toBe('hard');
  });

  it('refuses a wrong mode, an unknown field and a missing file, naming the field and the fix', () => {
    let message = refusal(configWith((c) => (c.trust.revocation = { anchors: [{ caFile: 'pki/ca.cert.pem', mode: 'strict' }] })));
    expect(message).toContain('config trust.revocation.anchors[0].mode: "strict" is not an allowed value');
    expect(message).toContain('"hard", "soft", "off"');
    message = refusal(configWith((c) => (c.trust.revocation = { mode: 'soft', allowSha1Crls: true })));
    expect(message).toContain('config trust.revocation.allowSha1Crls: is not a known property');
    expect(message).toContain('did you mean "allowSha1Crl"?');
    message = refusal(configWith((c) => (c.trust.revocation = { crlFiles: ['pki/missing.crl'] })));
    expect(message).toContain('config trust.revocation.crlFiles[0]: file');
    expect(message).toContain('does not exist');
    message = refusal(configWith((c) => (c.trust.revocation = { crlFiles: ['pki/ca.cert.pem'] })));
    expect(message).toContain('config trust.revocation.crlFiles[0]: the CRL from');
    expect(message).toContain('PEM text without an X509 CRL block');
  });
});
