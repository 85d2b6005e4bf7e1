/**
 * A real node whose certificates expire soon (made by openssl ca): its party's signer in 5 days, a
 * peer's CA in 20, a trust anchor expired 2 days ago, and its TSA's certificate (openssl ts, known to
 * the node only from its tokens) in 10. GET /health's operator details count them, and the node's own
 * log (pino's file) warns about each once — at start, the TSA's when its first token comes — not again
 * per request or per message.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNode } from '../../src/config/init-node.js';
import { loadConfig } from '../../src/config/load-config.js';
import { serveNode, type RunningNode } from '../../src/http/serve-node.js';
import { issueDated, type DatedCertificate } from '../crypto/openssl-dated-certs.js';
import { issueCertificate, startOpensslTsa, TEST_TSA_SUBJECT, type OpensslTsa } from '../../test-support/openssl-tsa-server.js';

let root: string;
let running: RunningNode;
let operatorToken: string;
let signer5: DatedCertificate;
let tsa: OpensslTsa;
let partyToken: string;

/** The test TSA, its certificate issued again to expire in 10 days. */
async function shortLivedTsa(dir: string): Promise<OpensslTsa> {
  const first = await startOpensslTsa(dir);
  await first.close();
  await issueCertificate({
    caCert: first.files.caCert,
    caKey: first.files.caKey,
    cert: first.files.tsaCert,
    key: first.files.tsaKey,
    subject: TEST_TSA_SUBJECT,
    extensions: [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = critical, timeStamping',
    ],
    days: 10,
  });
  return startOpensslTsa(dir);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tramite-cert-health-'));
  const dir = join(root, 'node');
  const report = initNode({ dir, parties: ['SPC/ComuneA'], port: 0 });
  operatorToken = readFileSync(report.operatorTokenFile, 'utf8').trim();
  partyToken = report.parties[0]!.token!;
  tsa = await shortLivedTsa(join(root, 'tsa'));
  writeFileSync(join(root, 'tsa-ca.pem'), tsa.caCertPem);
  const devCa = { certFile: join(dir, 'pki', 'ca.cert.pem'), keyFile: join(root, 'node-dev-ca', 'ca.key.pem') };
  signer5 = issueDated({ dir: root, name: 'ComuneA-short', subject: '/C=IT/O=SPC/CN=ComuneA', expiresInDays: 5.5, issuer: devCa });
  const peerCa20 = issueDated({ dir: root, name: 'regione-ca', subject: '/C=IT/O=Regione/CN=Regione CA', expiresInDays: 20.5, ca: true });
  const expired = issueDated({ dir: root, name: 'old-ca', subject: '/C=IT/O=Old/CN=Old CA', expiresInDays: -2.5, ca: true });
  const raw = JSON.parse(readFileSync(report.configFile, 'utf8'));
  raw.parties[0].keyFile = signer5.keyFile;
  raw.parties[0].certFile = signer5.certFile;
  raw.peers = [{ name: 'regione', url: 'http://127.0.0.1:9/tramite/envelope', parties: ['SPC/RegioneAbruzzo'], caFile: peerCa20.certFile }];
  raw.trust.caFiles.push(expired.certFile);
  // Plain HTTP, said explicitly: the certificates counted here are the signing and trust ones above.
  raw.node.listen = { host: raw.node.listen.host, port: raw.node.listen.port, plainHttp: true };
  raw.log = { ...raw.log, tsa: { url: tsa.url, caFile: join(root, 'tsa-ca.pem') } };
  // A service of the party's own, so that a message makes log records to checkpoint.
  raw.services = [{ provider: 'SPC/ComuneA', name: 'Prova', profile: 'oneway' }];
  writeFileSync(report.configFile, JSON.stringify(raw, null, 2));
  running = await serveNode(loadConfig(report.configFile));
});
afterAll(async () => {
  await running?.close();
  await tsa?.close();
  rmSync(root, { recursive: true, force: true });
});

async function health(token?: string): Promise<{ code: number; body: Record<string, any> }> {
  const res = await request(`${running.baseUrl}/health`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  return { code: res.statusCode, body: (await res.body.json()) as Record<string, any> };
}

function expiryLines(): Array<Record<string, any>> {
  return readFileSync(running.node.logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>)
    .filter((l) => l['event'] === 'certificate-expiry');
}

describe('certificates close to expiry in a running node', () => {
  it("GET /health's operator details count them, name the soonest and list them without their files; the status stays ok", async () => {
    const { code, body } = await health(operatorToken);
    expect(code).toBe(200);
    expect(body['status']).toBe('ok');
    expect(body['certificates']).toMatchObject({
      total: 5,
      expired: 1,
      within30Days: 2,
      within7Days: 1,
      soonest: { role: 'trust anchor', subject: 'CN=Old CA, O=Old, C=IT', daysToExpiry: -3 },
    });
    const list = body['certificates'].list as Array<Record<string, unknown>>;
    expect(list.slice(0, 3).map((c) => [c['role'], c['daysToExpiry']])).toEqual([
      ['trust anchor', -3],
      ['party SPC/ComuneA signing', 5],
      ['peer regione CA', 20],
    ]);
    expect(list.slice(3).map((c) => c['role'])).toEqual(expect.arrayContaining(['trust anchor', 'TSA trust anchor']));
    expect(list).toHaveLength(5);
    expect(list.every((c) => !('source' in c))).toBe(true);
    expect(JSON.stringify(body['certificates'])).not.toContain(root);
  });

  it('shows nothing of them to a caller without the operator token', async () => {
    expect(await health()).toEqual({ code: 200, body: { status: 'ok' } });
  });

  it('the log warns once per certificate at start — error for expired and within 7 days, warn within 30 — and not per request', async () => {
    for (let i = 0; i < 3; i++) await health(operatorToken);
    const lines = expiryLines();
    expect(lines.map((l) => [l['level'], l['band'], l['certificate'].subject])).toEqual([
      [50, 'expired', 'CN=Old CA, O=Old, C=IT'],
      [50, 'within7', 'CN=ComuneA, O=SPC, C=IT'],
      [40, 'within30', 'CN=Regione CA, O=Regione, C=IT'],
    ]);
    expect(lines[1]).toMatchObject({ certificate: { roles: ['party SPC/ComuneA signing'], sources: [signer5.certFile], daysToExpiry: 5 } });
  });

  it("lists the TSA's certificate once a checkpoint is time-stamped, and warns about it then, once", async () => {
    const before = expiryLines().length;
    for (let i = 0; i < 2; i++) {
      const res = await request(`${running.baseUrl}/api/v1/messages?wait=20`, {
        method: 'POST',
        headers: { authorization: `Bearer ${partyToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          from: 'SPC/ComuneA',
          to: 'SPC/ComuneA',
          service: 'Prova',
          payload: `<p:Prova xmlns:p="urn:t">${i}</p:Prova>`,
        }),
      });
      expect(((await res.body.json()) as { status: string }).status).toBe('DELIVERED');
      await running.node.store.checkpointNow();
    }
    const { body } = await health(operatorToken);
    const tsaEntry = (body['certificates'].list as Array<Record<string, any>>).find((c) => c['role'] === 'TSA certificate');
    expect(tsaEntry).toMatchObject({ subject: 'CN=Tramite Test TSA, OU=Time-Stamping, O=Tramite Test, C=IT', daysToExpiry: 9 });
    expect(body['certificates']).toMatchObject({ total: 6, within30Days: 3 });
    const added = expiryLines().slice(before);
    expect(added.map((l) => [l['level'], l['band'], l['certificate'].roles])).toEqual([[40, 'within30', ['TSA certificate']]]);
  });
});
