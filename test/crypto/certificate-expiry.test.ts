/**
 * The certificate inventory and its expiry warnings, over certificates openssl made with short lives:
 * a CA expiring in 20 days, a signer it issued expiring in 5, and a CA that expired 2 days ago.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { expiryBand, expiresWithin, summarizeExpiry } from '../../src/crypto/certificate-inventory/expiry-bands.js';
import { CertificateInventory } from '../../src/node/certificates/certificate-inventory.js';
import { certificateChainOfFile, certificatesOfFile } from '../../src/node/certificates/certificate-files.js';
import { ExpiryWarnings } from '../../src/node/certificates/expiry-warnings.js';
import { issueDated, type DatedCertificate } from './openssl-dated-certs.js';

const DAY_MS = 86_400_000;
let dir: string;
let ca20: DatedCertificate;
let signer5: DatedCertificate;
let expired: DatedCertificate;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-cert-expiry-'));
  ca20 = issueDated({ dir, name: 'ca20', subject: '/C=IT/O=Test/CN=Short CA', expiresInDays: 20.5, ca: true });
  signer5 = issueDated({ dir, name: 'signer5', subject: '/C=IT/O=SPC/CN=ComuneA', expiresInDays: 5.5, issuer: ca20 });
  expired = issueDated({ dir, name: 'expired', subject: '/C=IT/O=Old/CN=Old CA', expiresInDays: -2.5, ca: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const certOf = (c: DatedCertificate): X509Certificate => new X509Certificate(readFileSync(c.certFile));

function inventory(): CertificateInventory {
  return new CertificateInventory([
    { origin: { role: 'party SPC/ComuneA signing', source: signer5.certFile }, certificates: [certOf(signer5)] },
    { origin: { role: 'party SPC/ComuneA signing chain', source: signer5.certFile }, certificates: [certOf(ca20)] },
    certificatesOfFile('peer regione CA', ca20.certFile, 'peers[0].caFile'),
    certificatesOfFile('trust anchor', expired.certFile, 'trust.caFiles[0]'),
  ]);
}

describe('the certificate inventory', () => {
  it('lists each certificate per role, soonest first, with floored days to expiry as openssl dates them', () => {
    const now = new Date();
    const list = inventory().list(now);
    expect(list.map((e) => [e.role, e.daysToExpiry])).toEqual([
      ['trust anchor', -3],
      ['party SPC/ComuneA signing', 5],
      ['party SPC/ComuneA signing chain', 20],
      ['peer regione CA', 20],
    ]);
    const signer = list[1]!;
    const cert = certOf(signer5);
    expect(signer).toMatchObject({
      source: signer5.certFile,
      subject: 'CN=ComuneA, O=SPC, C=IT',
      issuer: 'CN=Short CA, O=Test, C=IT',
      serial: cert.serialNumber.toUpperCase(),
      notAfter: new Date(cert.validTo).toISOString(),
      notBefore: new Date(cert.validFrom).toISOString(),
      fingerprint256: cert.fingerprint256,
      keyType: 'rsa 2048',
    });
  });

  it('counts each certificate once, whatever its roles: expired, within 30 days (7 included), within 7, the soonest', () => {
    const now = new Date();
    expect(summarizeExpiry(inventory().list(now), now)).toEqual({
      total: 3,
      expired: 1,
      within30Days: 2,
      within7Days: 1,
      soonest: expect.objectContaining({ role: 'trust anchor', subject: 'CN=Old CA, O=Old, C=IT', daysToExpiry: -3 }),
    });
  });

  it('bands by the time left, not by floored days: 7 days and a half is not within 7', () => {
    const now = new Date('2027-01-01T00:00:00Z');
    const at = (days: number): string => new Date(now.getTime() + days * DAY_MS).toISOString();
    expect([at(-0.001), at(0), at(7), at(7.5), at(30), at(30.01)].map((d) => expiryBand(d, now))).toEqual([
      'expired',
      'within7',
      'within7',
      'within30',
      'within30',
      'valid',
    ]);
    expect(expiresWithin(at(10), 10, now)).toBe(true);
    expect(expiresWithin(at(10.01), 10, now)).toBe(false);
  });

  it('keeps the latest certificate observed in a role (a TSA that renewed its certificate)', () => {
    const inv = new CertificateInventory([]);
    inv.observe({ role: 'TSA certificate', source: 'http://tsa' }, certOf(ca20));
    inv.observe({ role: 'TSA certificate', source: 'http://tsa' }, certOf(signer5));
    expect(inv.list(new Date()).map((e) => e.subject)).toEqual(['CN=ComuneA, O=SPC, C=IT']);
  });

  it('splits a certificate followed by its CAs (a TLS chain file) into its role and the chain', () => {
    const chainFile = join(dir, 'server-chain.pem');
    writeFileSync(chainFile, readFileSync(signer5.certFile, 'utf8') + readFileSync(ca20.certFile, 'utf8'));
    const list = new CertificateInventory(certificateChainOfFile('TLS server certificate', chainFile, 'node.listen.tls.certFile')).list(
      new Date(),
    );
    expect(list.map((e) => [e.role, e.subject, e.source])).toEqual([
      ['TLS server certificate', 'CN=ComuneA, O=SPC, C=IT', chainFile],
      ['TLS server certificate chain', 'CN=Short CA, O=Test, C=IT', chainFile],
    ]);
  });

  it('refuses a file that holds no certificate, naming the setting', () => {
    expect(() => certificatesOfFile('trust anchor', signer5.keyFile, 'trust.caFiles[1]')).toThrow(
      expect.objectContaining({ code: 'TRAMITE_ERR_KEY_INVALID', message: expect.stringContaining('trust.caFiles[1]') }),
    );
  });
});

/** A pino logger whose lines the test reads. */
function capturedLog(): { log: pino.Logger; lines: () => Array<Record<string, any>> } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines: () => out.map((l) => JSON.parse(l) as Record<string, any>) };
}

describe('expiry warnings in the log', () => {
  afterEach(() => vi.useRealTimers());

  it('warn at 30 days, err at 7 days and once expired — once per certificate and band per day, however often checked', () => {
    let now = new Date();
    const { log, lines } = capturedLog();
    const warnings = new ExpiryWarnings({ inventory: inventory(), log, clock: { now: () => now } });
    expect(warnings.check()).toBe(3);
    expect(warnings.check()).toBe(0);
    expect(warnings.check()).toBe(0);
    const said = lines().map((l) => [l['level'], l['band'], l['certificate'].subject]);
    expect(said).toEqual([
      [50, 'expired', 'CN=Old CA, O=Old, C=IT'],
      [50, 'within7', 'CN=ComuneA, O=SPC, C=IT'],
      [40, 'within30', 'CN=Short CA, O=Test, C=IT'],
    ]);
    // The CA has two roles, on one line; the messages differ by band.
    const ca = lines()[2]!;
    expect(ca['certificate'].roles).toEqual(['party SPC/ComuneA signing chain', 'peer regione CA']);
    expect(ca['msg']).toMatch(/expires within 30 days/);
    expect(lines()[1]!['msg']).toMatch(/expires within 7 days/);
    expect(lines()[0]!['msg']).toMatch(/has expired/);

    // The next day, each is said again, once.
    now = new Date(now.getTime() + DAY_MS);
    expect(warnings.check()).toBe(3);
    expect(warnings.check()).toBe(0);
    expect(lines()).toHaveLength(6);

    // Two weeks on the CA is within 7 days: a new band is said even on a day already warned about.
    now = new Date(now.getTime() + 14 * DAY_MS);
    warnings.check();
    expect(
      lines()
        .slice(6)
        .map((l) => [l['band'], l['certificate'].subject]),
    ).toEqual([
      ['expired', 'CN=Old CA, O=Old, C=IT'],
      ['expired', 'CN=ComuneA, O=SPC, C=IT'],
      ['within7', 'CN=Short CA, O=Test, C=IT'],
    ]);
    expect(warnings.check()).toBe(0);
  });

  it('says nothing of certificates further than 30 days', () => {
    const { log, lines } = capturedLog();
    const far = new Date(Date.now() - 60 * DAY_MS); // 60 days ago the CA had 80 days left, the signer 65
    const inv = new CertificateInventory([
      { origin: { role: 'peer regione CA', source: ca20.certFile }, certificates: [certOf(ca20), certOf(signer5)] },
    ]);
    expect(new ExpiryWarnings({ inventory: inv, log, clock: { now: () => far } }).check()).toBe(0);
    expect(lines()).toEqual([]);
  });

  it('checks at start and then daily, on a timer that stop clears', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const { log, lines } = capturedLog();
    const warnings = new ExpiryWarnings({ inventory: inventory(), log, clock: { now: () => new Date() } });
    warnings.start();
    expect(lines()).toHaveLength(3);
    vi.advanceTimersByTime(DAY_MS / 2);
    expect(lines()).toHaveLength(3);
    vi.advanceTimersByTime(DAY_MS / 2);
    expect(lines()).toHaveLength(6);
    warnings.stop();
    vi.advanceTimersByTime(3 * DAY_MS);
    expect(lines()).toHaveLength(6);
    expect(vi.getTimerCount()).toBe(0);
  });
});
