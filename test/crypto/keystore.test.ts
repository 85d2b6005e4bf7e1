import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { createDevPki } from '../../src/crypto/dev-pki.js';
import { loadKeystoreIdentity, loadPartyIdentity, type PartyIdentity } from '../../src/crypto/party-identity.js';
import { TrustStore } from '../../src/crypto/trust-store.js';
import { formatMessageId } from '../../src/core/message-id.js';
import { sampleEgovHeader } from '../fixtures/test-pki.js';
import { sealEnvelope, readEnvelope, verifyEnvelope, buildEgovEnvelope } from '../../envelopes/envelope.js';
import { DEFAULT_XML_LIMITS } from '../../envelopes/xml/hardened-xml.js';
import { WEAKEST_MODI_PATTERNS } from '../../src/core/service-profile.js';
import { issueWithOpenssl, SIGNER_EXTENSIONS } from '../fixtures/openssl-certs.js';
import { encryptPkcs8, exportPkcs12, mergePkcs12 } from './openssl-keystores.js';

// A passphrase no message may ever show: every refusal below is checked against it.
const PASSPHRASE = 'Corr3ct-Horse-Battery-Staple';

let dir: string;
let caFile: string;
let ca: { certPem: string; keyPem: string };
let rsa: { keyFile: string; certFile: string };
let other: { keyFile: string; certFile: string };
let ec: { keyFile: string; certFile: string };
let passFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-keystore-'));
  const pki = createDevPki({ dir, parties: ['SPC/ComuneA', 'SPC/ComuneB'] });
  caFile = pki.ca.certFile;
  ca = { certPem: readFileSync(pki.ca.certFile, 'utf8'), keyPem: readFileSync(pki.ca.keyFile, 'utf8') };
  rsa = pki.parties[0]!;
  other = pki.parties[1]!;
  const signer = issueWithOpenssl({ issuer: ca, subject: '/C=IT/O=SPC/CN=ComuneEc', key: 'ec-p256', extensions: SIGNER_EXTENSIONS });
  ec = { keyFile: join(dir, 'ec.key.pem'), certFile: join(dir, 'ec.cert.pem') };
  writeFileSync(ec.keyFile, signer.keyPem);
  writeFileSync(ec.certFile, signer.certPem);
  passFile = join(dir, 'keystore.pass');
  writeFileSync(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fingerprint = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256;

function refusal(load: () => unknown): ConfigError {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const error = err as ConfigError;
    // Neither the message nor any cause under it carries the passphrase.
    for (let e: unknown = error; e instanceof Error; e = e.cause) {
      expect(e.message).not.toContain(PASSPHRASE);
      expect(String(e.stack)).not.toContain(PASSPHRASE);
    }
    return error;
  }
  throw new Error('expected a ConfigError');
}

function fromKeystore(file: string, alias?: string): PartyIdentity {
  return loadKeystoreIdentity('SPC/ComuneA', { file, passphrase: { file: passFile }, alias });
}

describe('PKCS#12 keystores', () => {
  it('reads a keystore openssl 3 writes by default (PBES2, AES-256, SHA-256 MAC), with its CA certificate', () => {
    const file = exportPkcs12({ dir, name: 'modern.p12', passphrase: PASSPHRASE, ...rsa, chainFile: caFile });
    const identity = fromKeystore(file);
    expect(identity.certificate.fingerprint256).toBe(fingerprint(rsa.certFile));
    expect(identity.algorithm).toBe('RSA-SHA256');
    expect(identity.chain.map((c) => c.fingerprint256)).toEqual([fingerprint(caFile)]);
    // One certificate in certPem: the BinarySecurityToken carries exactly the signer's.
    expect(identity.certPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    expect(new X509Certificate(identity.certPem).fingerprint256).toBe(fingerprint(rsa.certFile));
  });

  it('reads a legacy keystore (RC2-40 certificates, 3DES key, SHA-1 MAC)', () => {
    const file = exportPkcs12({ dir, name: 'legacy.p12', passphrase: PASSPHRASE, ...rsa, chainFile: caFile, legacy: true });
    expect(readFileSync(file).length).toBeGreaterThan(0);
    const identity = fromKeystore(file);
    expect(identity.certificate.fingerprint256).toBe(fingerprint(rsa.certFile));
    expect(identity.chain).toHaveLength(1);
  });

  it.each([false, true])('reads an EC P-256 key and its certificate (legacy: %s)', (legacy) => {
    const file = exportPkcs12({ dir, name: `ec-${legacy}.p12`, passphrase: PASSPHRASE, ...ec, legacy });
    const identity = fromKeystore(file);
    expect(identity.algorithm).toBe('ECDSA-P256-SHA256');
    expect(identity.certificate.fingerprint256).toBe(fingerprint(ec.certFile));
  });

  it('takes the passphrase from an environment variable', () => {
    const file = exportPkcs12({ dir, name: 'env.p12', passphrase: PASSPHRASE, ...rsa });
    process.env['TRAMITE_TEST_KEYSTORE_PASS'] = PASSPHRASE;
    try {
      const identity = loadKeystoreIdentity('SPC/ComuneA', { file, passphrase: { env: 'TRAMITE_TEST_KEYSTORE_PASS' } });
      expect(identity.certificate.fingerprint256).toBe(fingerprint(rsa.certFile));
    } finally {
      delete process.env['TRAMITE_TEST_KEYSTORE_PASS'];
    }
  });

  it('a wrong passphrase → TRAMITE_ERR_KEY_PASSPHRASE naming the file', () => {
    const file = exportPkcs12({ dir, name: 'wrong.p12', passphrase: `${PASSPHRASE}-other`, ...rsa, legacy: true });
    const err = refusal(() => fromKeystore(file));
    expect(err.code).toBe('TRAMITE_ERR_KEY_PASSPHRASE');
    expect(err.message).toContain(file);
    expect(err.message).toContain('party SPC/ComuneA');
  });

  it('a non-ASCII passphrase opens a legacy keystore; a modern one is refused with a hint to use ASCII', () => {
    const accented = join(dir, 'accented.pass');
    writeFileSync(accented, 'pässwörd-€');
    const legacy = exportPkcs12({ dir, name: 'accented-legacy.p12', passphrase: 'pässwörd-€', ...rsa, legacy: true });
    const passphrase = { file: accented };
    expect(loadKeystoreIdentity('SPC/ComuneA', { file: legacy, passphrase }).certificate.fingerprint256).toBe(fingerprint(rsa.certFile));
    const modern = exportPkcs12({ dir, name: 'accented-modern.p12', passphrase: 'pässwörd-€', ...rsa });
    const err = refusal(() => loadKeystoreIdentity('SPC/ComuneA', { file: modern, passphrase }));
    expect(err.code).toBe('TRAMITE_ERR_KEY_PASSPHRASE');
    expect(err.message).toContain('export the keystore again with an ASCII passphrase');
    expect(err.message).not.toContain('pässwörd');
  });

  it('an unset environment variable → TRAMITE_ERR_KEY_PASSPHRASE naming the variable', () => {
    const file = exportPkcs12({ dir, name: 'unset.p12', passphrase: PASSPHRASE, ...rsa });
    delete process.env['TRAMITE_TEST_UNSET_PASS'];
    const err = refusal(() => loadKeystoreIdentity('SPC/ComuneA', { file, passphrase: { env: 'TRAMITE_TEST_UNSET_PASS' } }));
    expect(err.code).toBe('TRAMITE_ERR_KEY_PASSPHRASE');
    expect(err.message).toContain('TRAMITE_TEST_UNSET_PASS is not set');
  });

  it('an empty passphrase file → TRAMITE_ERR_KEY_PASSPHRASE', () => {
    const file = exportPkcs12({ dir, name: 'empty-pass.p12', passphrase: PASSPHRASE, ...rsa });
    const empty = join(dir, 'empty.pass');
    writeFileSync(empty, '\n');
    const err = refusal(() => loadKeystoreIdentity('SPC/ComuneA', { file, passphrase: { file: empty } }));
    expect(err.code).toBe('TRAMITE_ERR_KEY_PASSPHRASE');
    expect(err.message).toContain(`passphrase file ${empty} is empty`);
  });

  describe('a keystore with two keys', () => {
    let both: string;
    beforeAll(() => {
      const a = exportPkcs12({ dir, name: 'a.p12', passphrase: PASSPHRASE, ...rsa, alias: 'comunea', noMac: true });
      const b = exportPkcs12({ dir, name: 'b.p12', passphrase: PASSPHRASE, ...other, alias: 'comuneb', noMac: true });
      both = mergePkcs12([a, b], join(dir, 'both.p12'));
    });

    it('and no alias → TRAMITE_ERR_KEYSTORE_ALIAS listing the aliases', () => {
      const err = refusal(() => fromKeystore(both));
      expect(err.code).toBe('TRAMITE_ERR_KEYSTORE_ALIAS');
      expect(err.message).toContain(both);
      expect(err.message).toContain('2 private keys ("comunea", "comuneb")');
    });

    it('the alias picks one, ignoring case', () => {
      expect(fromKeystore(both, 'ComuneB').certificate.fingerprint256).toBe(fingerprint(other.certFile));
      expect(fromKeystore(both, 'comunea').certificate.fingerprint256).toBe(fingerprint(rsa.certFile));
    });

    it('an alias it does not hold → TRAMITE_ERR_KEYSTORE_ALIAS naming the ones it does', () => {
      const err = refusal(() => fromKeystore(both, 'comunec'));
      expect(err.code).toBe('TRAMITE_ERR_KEYSTORE_ALIAS');
      expect(err.message).toContain('no key with the alias "comunec"');
      expect(err.message).toContain('"comuneb"');
    });
  });

  it('a key without its certificate (another party’s beside it) → TRAMITE_ERR_KEY_INVALID', () => {
    const keyOnly = exportPkcs12({ dir, name: 'key-only.p12', passphrase: PASSPHRASE, keyFile: rsa.keyFile, noMac: true });
    const certOnly = exportPkcs12({ dir, name: 'cert-only.p12', passphrase: PASSPHRASE, certFile: other.certFile, noMac: true });
    const file = mergePkcs12([keyOnly, certOnly], join(dir, 'mismatch.p12'));
    const err = refusal(() => fromKeystore(file));
    expect(err.code).toBe('TRAMITE_ERR_KEY_INVALID');
    expect(err.message).toContain(`the keystore ${file} holds no certificate for private key #1`);
  });

  it('a keystore of certificates only → TRAMITE_ERR_KEY_INVALID', () => {
    const file = exportPkcs12({ dir, name: 'certs.p12', passphrase: PASSPHRASE, certFile: rsa.certFile });
    const err = refusal(() => fromKeystore(file));
    expect(err.code).toBe('TRAMITE_ERR_KEY_INVALID');
    expect(err.message).toContain('holds no private key');
  });

  it.each([
    ['truncated', (bytes: Buffer) => bytes.subarray(0, bytes.length - 40)],
    ['a PEM file', () => readFileSync(rsa.certFile)],
    ['empty', () => Buffer.alloc(0)],
  ])('a corrupt keystore (%s) → TRAMITE_ERR_KEY_INVALID naming the file', (_, corrupt) => {
    const good = exportPkcs12({ dir, name: 'to-corrupt.p12', passphrase: PASSPHRASE, ...rsa });
    const file = join(dir, `corrupt-${_.replace(/\W/g, '')}.p12`);
    writeFileSync(file, corrupt(readFileSync(good)));
    const err = refusal(() => fromKeystore(file));
    expect(err.code).toBe('TRAMITE_ERR_KEY_INVALID');
    expect(err.message).toContain(`${file} is not a PKCS#12 keystore`);
  });

  it('a missing keystore → TRAMITE_ERR_CONFIG_UNREADABLE', () => {
    const err = refusal(() => fromKeystore(join(dir, 'nope.p12')));
    expect(err.code).toBe('TRAMITE_ERR_CONFIG_UNREADABLE');
    expect(err.message).toContain('nope.p12');
  });
});

describe('encrypted PKCS#8 PEM keys', () => {
  let encrypted: string;
  beforeAll(() => {
    encrypted = encryptPkcs8(rsa.keyFile, join(dir, 'ComuneA.key.enc.pem'), PASSPHRASE);
  });

  it('load with the passphrase from a file', () => {
    const identity = loadPartyIdentity('SPC/ComuneA', encrypted, rsa.certFile, { file: passFile });
    expect(identity.certificate.fingerprint256).toBe(fingerprint(rsa.certFile));
    expect(identity).not.toHaveProperty('keyPem');
  });

  it('without a passphrase → TRAMITE_ERR_KEY_PASSPHRASE saying where to put one', () => {
    const err = refusal(() => loadPartyIdentity('SPC/ComuneA', encrypted, rsa.certFile));
    expect(err.code).toBe('TRAMITE_ERR_KEY_PASSPHRASE');
    expect(err.message).toContain(`${encrypted} is an encrypted private key and no passphrase is configured`);
  });

  it('with a wrong passphrase → TRAMITE_ERR_KEY_PASSPHRASE', () => {
    const wrong = join(dir, 'wrong.pass');
    writeFileSync(wrong, `${PASSPHRASE}x`);
    const err = refusal(() => loadPartyIdentity('SPC/ComuneA', encrypted, rsa.certFile, { file: wrong }));
    expect(err.code).toBe('TRAMITE_ERR_KEY_PASSPHRASE');
    expect(err.message).toContain(`passphrase file ${wrong} does not decrypt the private key in ${encrypted}`);
  });

  it('a passphrase configured for an unencrypted key → TRAMITE_ERR_KEY_PASSPHRASE (the key is not protected)', () => {
    const err = refusal(() => loadPartyIdentity('SPC/ComuneA', rsa.keyFile, rsa.certFile, { file: passFile }));
    expect(err.code).toBe('TRAMITE_ERR_KEY_PASSPHRASE');
    expect(err.message).toContain('is not encrypted');
  });

  it('an encrypted key that is not the certificate’s → TRAMITE_ERR_KEY_INVALID', () => {
    const err = refusal(() => loadPartyIdentity('SPC/ComuneA', encrypted, other.certFile, { file: passFile }));
    expect(err.code).toBe('TRAMITE_ERR_KEY_INVALID');
    expect(err.message).toContain('does not belong to the certificate');
  });
});

const AT = new Date('2026-11-23T10:00:00Z');

describe('EC P-256 party keys sign envelopes', () => {
  const unsigned = (): string =>
    buildEgovEnvelope(
      sampleEgovHeader(AT, {
        mittente: [{ tipo: 'SPC', nome: 'ComuneEc' }],
        destinatario: { tipo: 'SPC', nome: 'RegioneX' },
        messaggio: {
          identificatore: formatMessageId('ComuneEc', 'ComuneEcSPCoopIT', 1, AT),
          oraRegistrazione: { value: AT.toISOString(), tempo: 'EGOV_IT_SPC' },
        },
        profiloTrasmissione: { inoltro: 'EGOV_IT_ALPIUUNAVOLTA', confermaRicezione: false },
      }),
      '<p:Documento xmlns:p="urn:test">1</p:Documento>',
    );

  it.each([
    ['PEM files', () => loadPartyIdentity('SPC/ComuneEc', ec.keyFile, ec.certFile)],
    [
      'an encrypted PKCS#8 key',
      () =>
        loadPartyIdentity('SPC/ComuneEc', encryptPkcs8(ec.keyFile, join(dir, 'ec.enc.pem'), PASSPHRASE), ec.certFile, { file: passFile }),
    ],
    ['a legacy PKCS#12', () => fromKeystore(exportPkcs12({ dir, name: 'ec-seal.p12', passphrase: PASSPHRASE, ...ec, legacy: true }))],
  ])('from %s: sealed with ecdsa-sha256 and verified against the CA', async (_, load) => {
    const identity = load();
    const now = new Date();
    const signed = await sealEnvelope(unsigned(), 'egov', identity, { now, ttlSeconds: 300 });
    expect(signed).toContain('http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256');
    const opened = verifyEnvelope(
      readEnvelope(Buffer.from(signed), DEFAULT_XML_LIMITS),
      { trust: TrustStore.fromPem(ca.certPem), at: now, skewSeconds: 5 },
      WEAKEST_MODI_PATTERNS,
    );
    expect(opened.signature.signer.fingerprint256).toBe(fingerprint(ec.certFile));
  });
});
