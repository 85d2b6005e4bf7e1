/**
 * `tramite certs` over a node whose certificates openssl made with short lives: the party's signer
 * expires in 5 days, its peer's CA in 20, the PEC provider's CA in 40, and, in a second config, a
 * trust anchor that expired 2 days ago.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNode } from '../../src/config/init-node.js';
import { issueDated, type DatedCertificate } from '../crypto/openssl-dated-certs.js';
import { runCli } from './run-cli.js';

let dir: string;
let config: string;
let withExpired: string;
let signer5: DatedCertificate;
let peerCa20: DatedCertificate;
let pecCa40: DatedCertificate;
let expired: DatedCertificate;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-certs-cli-'));
  const report = initNode({ dir: join(dir, 'node'), parties: ['SPC/ComuneA'] });
  config = report.configFile;
  const devCa = { certFile: join(dir, 'node', 'pki', 'ca.cert.pem'), keyFile: join(dir, 'node-dev-ca', 'ca.key.pem') };
  signer5 = issueDated({ dir, name: 'ComuneA-short', subject: '/C=IT/O=SPC/CN=ComuneA', expiresInDays: 5.5, issuer: devCa });
  peerCa20 = issueDated({ dir, name: 'regione-ca', subject: '/C=IT/O=Regione/CN=Regione CA', expiresInDays: 20.5, ca: true });
  pecCa40 = issueDated({ dir, name: 'pec-ca', subject: '/C=IT/O=Gestore PEC/CN=Gestore PEC CA', expiresInDays: 40.5, ca: true });
  expired = issueDated({ dir, name: 'old-ca', subject: '/C=IT/O=Old/CN=Old CA', expiresInDays: -2.5, ca: true });
  const raw = JSON.parse(readFileSync(config, 'utf8'));
  raw.parties[0].keyFile = signer5.keyFile;
  raw.parties[0].certFile = signer5.certFile;
  raw.parties[0].adapters = [
    {
      use: 'pec',
      options: {
        address: 'comunea@pec.example.it',
        smtp: { host: 'smtp.pec.example.it', port: 465, secure: true, user: 'comunea@pec.example.it', passwordFile: 'pec.password' },
        imap: { host: 'imap.pec.example.it', port: 993, secure: true, user: 'comunea@pec.example.it', passwordFile: 'pec.password' },
        providerCaFiles: [pecCa40.certFile],
      },
    },
  ];
  raw.peers = [{ name: 'regione', url: 'http://127.0.0.1:9/tramite/envelope', parties: ['SPC/RegioneAbruzzo'], caFile: peerCa20.certFile }];
  writeFileSync(config, JSON.stringify(raw, null, 2));
  raw.trust.caFiles.push(expired.certFile);
  withExpired = join(dir, 'node', 'with-expired.json');
  writeFileSync(withExpired, JSON.stringify(raw, null, 2));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const daysLeft = (file: string): number =>
  Math.floor((new Date(new X509Certificate(readFileSync(file)).validTo).getTime() - Date.now()) / 86_400_000);

describe('tramite certs', () => {
  it('--json: every certificate with its role, source and days to expiry, soonest first; exit 1 as one expires within 30 days', async () => {
    const r = await runCli(['certs', '--config', config, '--json']);
    expect(r.code, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.within).toBe(30);
    const rows = out.certificates.map((c: Record<string, unknown>) => [c['role'], c['source'], c['daysToExpiry']]);
    expect(rows.slice(0, 3)).toEqual([
      ['party SPC/ComuneA signing', signer5.certFile, 5],
      ['peer regione CA', peerCa20.certFile, 20],
      ['PEC provider CA (adapter pec of SPC/ComuneA)', pecCa40.certFile, 40],
    ]);
    // The dev CA in both its roles, and tramite init's TLS certificate: years away, in either order.
    const devCa = join(dir, 'node', 'pki', 'ca.cert.pem');
    const tlsCert = join(dir, 'node', 'pki', 'tls.cert.pem');
    expect(rows.slice(3)).toHaveLength(3);
    expect(rows.slice(3)).toEqual(
      expect.arrayContaining([
        ['trust anchor', devCa, daysLeft(devCa)],
        ['TLS client CA', devCa, daysLeft(devCa)],
        ['TLS server certificate', tlsCert, daysLeft(tlsCert)],
      ]),
    );
    expect(rows.slice(0, 3).map((r: unknown[]) => r[2])).toEqual([signer5, peerCa20, pecCa40].map((c) => daysLeft(c.certFile)));
    const signer = new X509Certificate(readFileSync(signer5.certFile));
    expect(out.certificates[0]).toMatchObject({
      subject: 'CN=ComuneA, O=SPC, C=IT',
      issuer: 'CN=Tramite Dev CA, O=Tramite, C=IT',
      serial: signer.serialNumber.toUpperCase(),
      fingerprint256: signer.fingerprint256,
      notAfter: new Date(signer.validTo).toISOString(),
    });
    expect(out.summary).toMatchObject({
      total: 5,
      expired: 0,
      within30Days: 2,
      within7Days: 1,
      soonest: { role: 'party SPC/ComuneA signing' },
    });
  });

  // One run per test: each loads the node's configuration and adapters, seconds on a busy machine.
  it.each([
    ['4', 0],
    ['6', 1],
    ['0', 0],
  ])('--within %s exits %i: 1 only when something expires within that many days', async (within, code) => {
    expect((await runCli(['certs', '--config', config, '--within', within])).code).toBe(code);
  });

  it('exits 3 when a certificate has expired, and the table says so', async () => {
    const r = await runCli(['certs', '--config', withExpired, '--within', '0']);
    expect(r.code, r.stderr).toBe(3);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^DAYS\s+NOT AFTER\s+ROLE\s+SUBJECT\s+ISSUER\s+SERIAL\s+SOURCE$/);
    expect(lines[1]).toMatch(/^-3 EXPIRED\s+\d{4}-\d\d-\d\d\s+trust anchor\s+CN=Old CA, O=Old, C=IT/);
    expect(lines[1]).toContain(expired.certFile);
    expect(r.stdout).toMatch(/1 expired, 0 expiring within 0 days, of 6 certificates/);
  });

  it('a configuration it cannot load is a usage error (2)', async () => {
    const missing = await runCli(['certs', '--config', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/TRAMITE_ERR_CONFIG_UNREADABLE/);
  });

  it('a bad --within, or an unknown option, is a usage error (2)', async () => {
    const [bad, bogus] = await Promise.all([runCli(['certs', '--config', config, '--within', 'soon']), runCli(['certs', '--bogus'])]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--within soon is not a number of days/);
    expect(bogus.code).toBe(2);
  });

  it('has --help with its exit statuses, and is in the top-level help', async () => {
    const help = await runCli(['certs', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit status: 0 nothing expired.*\n?.*1 something expires within DAYS/s);
    expect((await runCli(['--help'])).stdout).toMatch(/^\s+certs \[options\]/m);
  });
});
