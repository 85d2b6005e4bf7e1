/**
 * The revocation checker against real parts: a CA run by `openssl ca` (index.txt, -revoke, -gencrl),
 * `openssl ocsp` responder processes on loopback (CA-signed and delegated), CRLs served over HTTP.
 */
import { execFileSync } from 'node:child_process';
import type { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecurityError } from '../../../src/core/errors.js';
import { freePorts } from '../../../src/daemons/free-port.js';
import { RevocationChecker, type RevocationCheckerOptions } from '../../../src/crypto/revocation/revocation-checker.js';
import { AnchorPolicies, type RevocationMode } from '../../../src/crypto/revocation/revocation-policy.js';
import { OcspResponder, OpensslCa, serveBytes, type IssuedCert } from '../../fixtures/openssl-ca.js';

let dir: string;
let ca: OpensslCa;
let otherCa: OpensslCa;
const stops: Array<() => Promise<void>> = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-revocation-'));
  ca = OpensslCa.create(join(dir, 'ca'));
  otherCa = OpensslCa.create(join(dir, 'other'), 'Other Test CA');
});

afterAll(async () => {
  for (const stop of stops) await stop();
  rmSync(dir, { recursive: true, force: true });
});

function checker(mode: RevocationMode, opts: Partial<RevocationCheckerOptions> & { allowSha1Crl?: boolean } = {}) {
  const warnings: string[] = [];
  const c = new RevocationChecker({
    policies: new AnchorPolicies({ mode: 'off', allowSha1Crl: false }, [
      { anchors: [ca.certificate], policy: { mode, allowSha1Crl: opts.allowSha1Crl ?? false } },
    ]),
    failureCacheSeconds: 0,
    log: { warn: (_obj: unknown, msg: string) => void warnings.push(msg) } as never,
    ...opts,
  });
  return { c, warnings };
}

const chainOf = (cert: IssuedCert): X509Certificate[] => [cert.certificate, ca.certificate];

async function refusal(p: Promise<void>): Promise<SecurityError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SecurityError);
  return err as SecurityError;
}

describe('CRLs', () => {
  it('accepts a certificate absent from a file CRL and refuses it once revoked and the CRL re-made', async () => {
    const signer = ca.issue('crl-file-signer');
    const crlFile = ca.crl(join(dir, 'ca.crl.pem'));
    const { c } = checker('hard', { crlFiles: [crlFile], ocsp: false, fetchCrls: false });
    await c.checkChain(chainOf(signer), { role: 'envelope signer' });
    ca.revoke(signer);
    ca.crl(crlFile);
    const err = await refusal(c.checkChain(chainOf(signer), { role: 'envelope signer' }));
    expect(err.reason).toBe('TRAMITE_ERR_CERT_REVOKED');
    expect(err.code).toBe('EGOV_IT_200');
    expect(err.message).toContain('envelope signer "CN=crl-file-signer, O=SPC, C=IT"');
    expect(err.message).toContain('keyCompromise');
    expect(err.message).toContain(crlFile);
    expect(c.counters.revoked).toBe(1);
  });

  it('fetches the CRL named in the certificate, and sees a revocation between two messages', async () => {
    const [port] = await freePorts(1);
    const crlFile = join(dir, 'cdp.crl.pem');
    const served = await serveBytes(port!, () => readFileSync(crlFile));
    stops.push(served.close);
    const signer = ca.issue('cdp-signer', { crlUrl: `${served.url}/ca.crl` });
    ca.crl(crlFile);
    const { c } = checker('hard', { ocsp: false, maxCacheSeconds: 0 });
    await c.checkChain(chainOf(signer));
    ca.revoke(signer, 'superseded');
    ca.crl(crlFile);
    const err = await refusal(c.checkChain(chainOf(signer)));
    expect(err.reason).toBe('TRAMITE_ERR_CERT_REVOKED');
    expect(err.message).toContain(`${served.url}/ca.crl`);
    expect(served.hits()).toBe(2);
  });

  it('keeps a fetched CRL until its nextUpdate: one fetch for many checks', async () => {
    const [port] = await freePorts(1);
    const crlFile = join(dir, 'cached.crl.pem');
    ca.crl(crlFile);
    const served = await serveBytes(port!, () => readFileSync(crlFile));
    stops.push(served.close);
    const signer = ca.issue('cached-signer', { crlUrl: `${served.url}/ca.crl` });
    const { c } = checker('hard', { ocsp: false });
    await Promise.all([1, 2, 3, 4].map(() => c.checkChain(chainOf(signer))));
    await c.checkChain(chainOf(signer));
    expect(served.hits()).toBe(1);
  });

  it('refuses a SHA-1 CRL unless the anchor allows it', async () => {
    const signer = ca.issue('sha1-signer');
    const crlFile = ca.crl(join(dir, 'sha1.crl.pem'), { md: 'sha1' });
    const strict = checker('hard', { crlFiles: [crlFile], ocsp: false, fetchCrls: false }).c;
    const err = await refusal(strict.checkChain(chainOf(signer)));
    expect(err.reason).toBe('TRAMITE_ERR_REVOCATION_INVALID');
    expect(err.message).toContain('allowSha1Crl');
    const lenient = checker('hard', { crlFiles: [crlFile], ocsp: false, fetchCrls: false, allowSha1Crl: true }).c;
    await lenient.checkChain(chainOf(signer));
  });

  it('refuses under hard, with the file named, a corrupt CRL and one signed by another CA', async () => {
    const signer = ca.issue('corrupt-signer');
    const corrupt = join(dir, 'corrupt.crl.pem');
    // The CA's own CRL with the last byte of its signature flipped.
    const der = Buffer.from(readFileSync(ca.crl(join(dir, 'tmp.crl.pem')), 'utf8').replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64');
    der[der.length - 1]! ^= 0xff;
    writeFileSync(corrupt, der);
    let err = await refusal(checker('hard', { crlFiles: [corrupt], ocsp: false, fetchCrls: false }).c.checkChain(chainOf(signer)));
    expect(err.reason).toBe('TRAMITE_ERR_REVOCATION_INVALID');
    expect(err.message).toContain(corrupt);
    const garbage = join(dir, 'garbage.crl');
    writeFileSync(garbage, 'not a CRL at all');
    err = await refusal(checker('hard', { crlFiles: [garbage], ocsp: false, fetchCrls: false }).c.checkChain(chainOf(signer)));
    expect(err.reason).toBe('TRAMITE_ERR_REVOCATION_INVALID');
    expect(err.message).toContain(garbage);
    // A CRL whose issuer name is another CA's is not this certificate's: no status at all.
    const foreign = otherCa.crl(join(dir, 'other.crl.pem'));
    err = await refusal(checker('hard', { crlFiles: [foreign], ocsp: false, fetchCrls: false }).c.checkChain(chainOf(signer)));
    expect(err.reason).toBe('TRAMITE_ERR_CERT_STATUS_UNKNOWN');
  });

  it('refuses a stale CRL under hard; accepts it under soft with a warning and a count', async () => {
    const signer = ca.issue('stale-signer');
    const stale = ca.crl(join(dir, 'stale.crl.pem'), {
      lastUpdate: new Date(Date.now() - 3 * 3600_000),
      nextUpdate: new Date(Date.now() - 3600_000),
    });
    const err = await refusal(checker('hard', { crlFiles: [stale], ocsp: false, fetchCrls: false }).c.checkChain(chainOf(signer)));
    expect(err.reason).toBe('TRAMITE_ERR_CERT_STATUS_UNKNOWN');
    expect(err.message).toMatch(/not fresh/);
    const soft = checker('soft', { crlFiles: [stale], ocsp: false, fetchCrls: false });
    await soft.c.checkChain(chainOf(signer));
    expect(soft.warnings.join('\n')).toContain('soft policy: accepted');
    expect(soft.c.counters.unknownAccepted).toBe(1);
  });

  it("reads a large CRL (5000 entries, past asn1js's default node limit) and finds the certificate on it", async () => {
    const big = OpensslCa.create(join(dir, 'big'), 'Busy CA');
    const signer = big.issue('big-signer');
    big.addRevokedEntries(5000);
    big.revoke(signer);
    const crlFile = big.crl(join(dir, 'big.crl.pem'));
    const c = new RevocationChecker({
      policies: new AnchorPolicies({ mode: 'hard', allowSha1Crl: false }),
      crlFiles: [crlFile],
      ocsp: false,
      fetchCrls: false,
    });
    const err = await refusal(c.checkChain([signer.certificate, big.certificate]));
    expect(err.reason).toBe('TRAMITE_ERR_CERT_REVOKED');
  });

  it('asks nothing when the anchor policy is off', async () => {
    const [port] = await freePorts(1);
    const served = await serveBytes(port!, () => new Uint8Array([1, 2, 3]));
    stops.push(served.close);
    const signer = ca.issue('off-signer', { crlUrl: `${served.url}/ca.crl`, ocspUrl: served.url });
    await checker('off').c.checkChain(chainOf(signer));
    expect(served.hits()).toBe(0);
  });
});

describe('OCSP', () => {
  let responder: OcspResponder;
  let delegated: OcspResponder;
  let ocspPort: number;
  let delegatedPort: number;

  beforeAll(async () => {
    [ocspPort, delegatedPort] = (await freePorts(2)) as [number, number];
    responder = await OcspResponder.start(ca, ocspPort);
    const rsigner = ca.issueResponder('ocsp-responder');
    delegated = await OcspResponder.start(ca, delegatedPort, { signer: rsigner });
    stops.push(
      () => responder.stop(),
      () => delegated.stop(),
    );
  });

  it('asks the CA-signed responder and sees a revocation between two messages', async () => {
    const signer = ca.issue('ocsp-signer', { ocspUrl: responder.url });
    await responder.restart();
    const { c } = checker('hard');
    await c.checkChain(chainOf(signer));
    ca.revoke(signer);
    await responder.restart();
    const err = await refusal(c.checkChain(chainOf(signer)));
    expect(err.reason).toBe('TRAMITE_ERR_CERT_REVOKED');
    expect(err.message).toContain(`the OCSP responder ${responder.url}`);
    expect(err.message).toContain('"CN=ocsp-signer, O=SPC, C=IT"');
  });

  it('accepts a delegated responder with id-kp-OCSPSigning, refuses one without', async () => {
    const signer = ca.issue('delegated-signer', { ocspUrl: delegated.url });
    await delegated.restart();
    await checker('hard').c.checkChain(chainOf(signer));
    const [port] = await freePorts(1);
    const rogueSigner = ca.issueResponder('not-a-responder', false);
    const victim = ca.issue('rogue-signer', { ocspUrl: `http://127.0.0.1:${port}` });
    const rogue = await OcspResponder.start(ca, port!, { signer: rogueSigner });
    stops.push(() => rogue.stop());
    const err = await refusal(checker('hard').c.checkChain(chainOf(victim)));
    expect(err.reason).toBe('TRAMITE_ERR_REVOCATION_INVALID');
    expect(err.message).toContain('not authorised by its CA (no id-kp-OCSPSigning)');
  });

  it('a responder that is down: hard refuses naming the URL, soft accepts and warns', async () => {
    const [port] = await freePorts(1);
    const signer = ca.issue('down-signer', { ocspUrl: `http://127.0.0.1:${port}` });
    const err = await refusal(checker('hard', { timeoutMs: 2000 }).c.checkChain(chainOf(signer)));
    expect(err.reason).toBe('TRAMITE_ERR_CERT_STATUS_UNKNOWN');
    expect(err.message).toContain(`http://127.0.0.1:${port}`);
    const soft = checker('soft', { timeoutMs: 2000 });
    await soft.c.checkChain(chainOf(signer));
    expect(soft.c.counters.unknownAccepted).toBe(1);
    expect(soft.warnings[0]).toContain('down-signer');
  });

  it('falls back to the CRL when the responder is down', async () => {
    const [down, crlPort] = await freePorts(2);
    const crlFile = ca.crl(join(dir, 'fallback.crl.pem'));
    const served = await serveBytes(crlPort!, () => readFileSync(crlFile));
    stops.push(served.close);
    const signer = ca.issue('fallback-signer', { ocspUrl: `http://127.0.0.1:${down}`, crlUrl: `${served.url}/ca.crl` });
    await checker('hard').c.checkChain(chainOf(signer));
    expect(served.hits()).toBe(1);
  });

  it('refuses an answer about another certificate, and a replayed one (another nonce)', async () => {
    const [p1, p2] = await freePorts(2);
    const asked = ca.issue('asked-signer', { ocspUrl: `http://127.0.0.1:${p2}` });
    const other = ca.issue('other-signer');
    await responder.restart();
    // Real answers from the responder, asked by the openssl client, then served again by a plain HTTP server.
    const canned = (cert: IssuedCert, nonce: boolean): Buffer => {
      const out = join(dir, `${cert.name}-${nonce}.ocsp`);
      execFileSync(
        'openssl',
        [
          'ocsp',
          '-issuer',
          ca.certFile,
          '-cert',
          cert.certFile,
          '-url',
          responder.url,
          '-CAfile',
          ca.certFile,
          '-respout',
          out,
          ...(nonce ? [] : ['-no_nonce']),
        ],
        { stdio: 'pipe' },
      );
      return readFileSync(out);
    };
    const aboutOtherBytes = canned(other, false);
    const replayedBytes = canned(asked, true);
    const aboutOther = await serveBytes(p1!, () => aboutOtherBytes);
    const replayed = await serveBytes(p2!, () => replayedBytes);
    stops.push(aboutOther.close, replayed.close);
    const asksOther = ca.issue('asks-other', { ocspUrl: aboutOther.url });
    let err = await refusal(checker('hard').c.checkChain(chainOf(asksOther)));
    expect(err.reason).toBe('TRAMITE_ERR_REVOCATION_INVALID');
    expect(err.message).toContain('about another certificate');
    expect(err.message).toContain(aboutOther.url);
    // `asked` itself, its responder replaying an answer made for openssl's request (openssl's nonce).
    err = await refusal(checker('hard').c.checkChain(chainOf(asked)));
    expect(err.reason).toBe('TRAMITE_ERR_REVOCATION_INVALID');
    expect(err.message).toContain('echoes another nonce');
    expect(replayed.hits()).toBe(1);
  });

  it('refuses a stale answer (nextUpdate past) under hard', async () => {
    const [port] = await freePorts(1);
    const signer = ca.issue('stale-ocsp-signer', { ocspUrl: `http://127.0.0.1:${port}` });
    const short = await OcspResponder.start(ca, port!, { nextUpdateMinutes: 1 });
    stops.push(() => short.stop());
    const later = new Date(Date.now() + 2 * 60_000);
    const err = await refusal(checker('hard', { now: () => later }).c.checkChain(chainOf(signer)));
    expect(err.reason).toBe('TRAMITE_ERR_CERT_STATUS_UNKNOWN');
    expect(err.message).toContain('stale');
  });
});
