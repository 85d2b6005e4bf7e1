/**
 * Party keys on a PKCS#11 token: SoftHSM2 (Debian's softhsm2), a private token directory and
 * SOFTHSM2_CONF made here, keys imported with softhsm2-util. An RSA and an EC P-256 key sign envelopes
 * that xmlsec1 verifies; the key is not extractable; a wrong PIN, a missing token and a missing key are
 * refused with their codes.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEgovEnvelope, sealEnvelope } from '../../envelopes/envelope.js';
import { openPkcs11Signer, type Pkcs11KeySource } from '../../src/crypto/signer/pkcs11-signer.js';
import { signCheckpoint, checkpointSignatureValid } from '../../src/log/checkpoint.js';
import { getTestPki, sampleEgovHeader } from '../fixtures/test-pki.js';
import { issueWithOpenssl } from '../fixtures/openssl-certs.js';
import { xmlsec1Verify, WS_SECURITY_IDS } from '../../test-support/xmlsec1.js';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const PIN = '4321';
const SIGNER_EXTENSIONS = ['keyUsage=critical,digitalSignature,nonRepudiation'];
let dir: string;
let source: (over: Partial<Pkcs11KeySource>) => Pkcs11KeySource;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  writeFileSync(
    join(dir, 'softhsm2.conf'),
    `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  process.env['SOFTHSM2_CONF'] = join(dir, 'softhsm2.conf');
  const util = (...args: string[]) => execFileSync('softhsm2-util', args, { stdio: 'pipe', env: process.env });
  util('--init-token', '--free', '--label', 'tramite', '--so-pin', '87654321', '--pin', PIN);
  const pki = getTestPki();
  const ec = issueWithOpenssl({ issuer: pki.ca, subject: '/C=IT/O=SPC/CN=ComuneA', key: 'ec-p256', extensions: SIGNER_EXTENSIONS });
  for (const [label, id, keyPem, certPem] of [
    ['rsa', '01', pki.comuneA.keyPem, pki.comuneA.certPem],
    ['ec', '02', ec.keyPem, ec.certPem],
  ] as const) {
    const keyFile = join(dir, `${label}.pk8`);
    writeFileSync(keyFile, keyPem);
    writeFileSync(join(dir, `${label}.cert.pem`), certPem);
    util('--import', keyFile, '--token', 'tramite', '--label', label, '--id', id, '--pin', PIN);
    rmSync(keyFile);
  }
  writeFileSync(join(dir, 'pin'), `${PIN}\n`);
  writeFileSync(join(dir, 'wrong-pin'), '0000\n');
  source = (over) => ({
    module: MODULE,
    tokenLabel: 'tramite',
    pin: { file: join(dir, 'pin') },
    keyLabel: 'rsa',
    certificateFile: join(dir, 'rsa.cert.pem'),
    ...over,
  });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('refused at start, with a code naming the token and the key', () => {
  it('a wrong PIN', () => {
    // First: once the token is logged into, the login holds for the whole process and no PIN is asked again.
    expect(() => openPkcs11Signer(source({ pin: { file: join(dir, 'wrong-pin') } }), 'party SPC/ComuneA')).toThrow(
      expect.objectContaining({ code: 'TRAMITE_ERR_PKCS11_PIN', message: expect.stringContaining('token "tramite"') }),
    );
  });

  it('a token that is not there', () => {
    expect(() => openPkcs11Signer(source({ tokenLabel: 'nessuno' }), 'party SPC/ComuneA')).toThrow(
      expect.objectContaining({ code: 'TRAMITE_ERR_PKCS11_TOKEN', message: expect.stringContaining('token "nessuno"') }),
    );
  });

  it('a key that is not there', () => {
    expect(() => openPkcs11Signer(source({ keyLabel: 'nessuna' }), 'party SPC/ComuneA')).toThrow(
      expect.objectContaining({ code: 'TRAMITE_ERR_PKCS11_KEY', message: expect.stringContaining('key "nessuna"') }),
    );
  });

  it("a certificate that is not the key's", () => {
    expect(() => openPkcs11Signer(source({ keyLabel: 'ec', certificateFile: join(dir, 'rsa.cert.pem') }), 'party SPC/ComuneA')).toThrow(
      expect.objectContaining({ code: 'TRAMITE_ERR_PKCS11_KEY' }),
    );
  });
});

describe('a key in SoftHSM2 signs', () => {
  it.each([
    ['rsa', 'RSA-SHA256'],
    ['ec', 'ECDSA-P256-SHA256'],
  ] as const)('%s: an e-Gov envelope xmlsec1 verifies, and a checkpoint', async (label, algorithm) => {
    const signer = openPkcs11Signer(source({ keyLabel: label, certificateFile: join(dir, `${label}.cert.pem`) }), 'test');
    expect(signer.algorithm).toBe(algorithm);
    expect(signer.keyDescription).toContain('token "tramite"');
    const xml = await sealEnvelope(buildEgovEnvelope(sampleEgovHeader(new Date()), '<p:P xmlns:p="urn:p">x</p:P>'), 'egov', signer, {
      now: new Date(),
      ttlSeconds: 300,
    });
    expect(xmlsec1Verify(xml, { signerCertPem: signer.certPem, ids: WS_SECURITY_IDS }).ok).toBe(true);
    // Checkpoints write ECDSA as DER: node's verify reads it back.
    const cp = await signCheckpoint({ seq: 1, hash: 'ab'.repeat(32) }, 'node', new Date(), signer);
    expect(checkpointSignatureValid(cp)).toBe(true);
  });

  it('several signatures at once share the token (session pool), each valid', async () => {
    const signer = openPkcs11Signer(source({}), 'test');
    const header = sampleEgovHeader(new Date());
    const all = await Promise.all(
      Array.from({ length: 8 }, () =>
        sealEnvelope(buildEgovEnvelope(header, '<p:P xmlns:p="urn:p">x</p:P>'), 'egov', signer, { now: new Date(), ttlSeconds: 300 }),
      ),
    );
    for (const xml of all) expect(xmlsec1Verify(xml, { signerCertPem: signer.certPem, ids: WS_SECURITY_IDS }).ok).toBe(true);
  });
});

describe('the key stays on the token', () => {
  it('pkcs11-tool (OpenSC, another implementation) finds the keys sensitive and not extractable', () => {
    const listing = execFileSync(
      'pkcs11-tool',
      ['--module', MODULE, '--token-label', 'tramite', '--login', '--pin', PIN, '--list-objects', '--type', 'privkey'],
      { encoding: 'utf8', env: process.env },
    );
    const access = [...listing.matchAll(/Access:\s*(.*)/g)].map((m) => m[1]!);
    expect(access).toHaveLength(2);
    for (const a of access) {
      expect(a).toMatch(/\bsensitive\b/);
      // pkcs11-tool writes "extractable" for CKA_EXTRACTABLE true ("never extractable" is another attribute).
      expect(a).not.toMatch(/(?<!never )extractable/);
    }
  });
});
