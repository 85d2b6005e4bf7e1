/**
 * The message log as an auditor meets it: two real nodes exchange messages, checkpoints are signed
 * and time-stamped by a real (openssl) TSA, the auditor API and CLI search, show, verify and export,
 * and tampering with the database is caught and located.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundKey } from '../../src/core/message-record.js';
import { fixedClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/config/load-config.js';
import { DemoBackOffice } from '../../src/demo/demo-back-office.js';
import { writeDemoFederation, type DemoNode } from '../../src/demo/demo-federation.js';
import { serveNode, type RunningNode } from '../../src/http/serve-node.js';
import { BUILTIN_ADAPTERS } from '../../adapters/builtin.js';
import { MessageLog } from '../../src/log/message-log.js';
import { SqliteLogStore } from '../../src/log/sqlite-log-store.js';
import { verifyBundle } from '../../src/node/audit/log-auditor.js';
import { startOpensslTsa, type OpensslTsa } from '../../test-support/openssl-tsa-server.js';
import { runCli } from '../cli/run-cli.js';

const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const REGIONE = 'SPC/RegioneAbruzzo';

let root: string;
let tsa: OpensslTsa;
let backOffice: DemoBackOffice;
let nodes: { cst: DemoNode; regione: DemoNode };
let cst: RunningNode;
let regione: RunningNode;
const sentIds: string[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tramite-log-it-'));
  tsa = await startOpensslTsa(join(root, 'tsa'));
  writeFileSync(join(root, 'tsa-ca.pem'), tsa.caCertPem);
  backOffice = new DemoBackOffice();
  await backOffice.start();
  nodes = await writeDemoFederation(root, (p) => backOffice.urlFor(p), { plainHttp: true });
  // The CST time-stamps its checkpoints; small batches so the test sees several.
  const raw = JSON.parse(readFileSync(nodes.cst.configFile, 'utf8'));
  raw.log = { ...raw.log, checkpointEveryRecords: 4, tsa: { url: tsa.url, caFile: join(root, 'tsa-ca.pem') } };
  writeFileSync(nodes.cst.configFile, JSON.stringify(raw, null, 2));
  cst = await serveNode(loadConfig(nodes.cst.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
  regione = await serveNode(loadConfig(nodes.regione.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
  for (let i = 0; i < 5; i++) {
    const res = await request(`${nodes.cst.baseUrl}/api/v1/messages?wait=20`, {
      method: 'POST',
      headers: { authorization: `Bearer ${nodes.cst.tokens[FRANCAVILLA]}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        from: FRANCAVILLA,
        to: REGIONE,
        service: 'ComunicazioneVariazione',
        action: 'Notifica',
        payload: `<v:N xmlns:v="urn:t">${i}</v:N>`,
      }),
    });
    const body = (await res.body.json()) as { id: string; status: string };
    expect(body.status).toBe('DELIVERED');
    sentIds.push(body.id);
  }
  await cst.node.store.checkpointNow();
}, 60_000);

afterAll(async () => {
  await cst?.close();
  await regione?.close();
  await backOffice?.stop();
  await tsa?.close();
});

async function audit(node: DemoNode, method: 'GET' | 'POST', path: string, token = node.auditorToken) {
  const res = await request(`${node.baseUrl}/api/v1/audit${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, text: await res.body.text() };
}

describe('the message log of a running node', () => {
  it('records every envelope, receipt and change of state, and verifies with time-stamped checkpoints', async () => {
    const report = await cst.node.auditor().verify();
    expect(report).toMatchObject({ ok: true, firstBad: null, signaturesChecked: true });
    expect(report.records).toBe(15); // per message: ACCEPTED (envelope), SENDING, DELIVERED (riscontro)
    expect(report.envelopesChecked).toBe(10);
    // How many checkpoints depends on how appends and the background signer interleave; at least the
    // final one is there, and every one of them carries a time-stamp that verifies.
    expect(report.checkpoints).toBeGreaterThanOrEqual(1);
    expect(report.timestampsVerified).toBe(report.checkpoints);
  });

  it("puts the TSA's certificate, known from its tokens, in the node's certificate inventory beside its trust anchor", () => {
    const tsaEntries = cst.node.certificates
      .list(new Date())
      .filter((e) => e.role.startsWith('TSA'))
      .map((e) => [e.role, e.fingerprint256, e.source]);
    expect(tsaEntries).toEqual(
      expect.arrayContaining([
        ['TSA certificate', new X509Certificate(tsa.tsaCertPem).fingerprint256, tsa.url],
        ['TSA trust anchor', new X509Certificate(tsa.caCertPem).fingerprint256, join(root, 'tsa-ca.pem')],
      ]),
    );
    expect(tsaEntries).toHaveLength(2);
  });

  it('serves auditors only with the auditor token', async () => {
    expect((await audit(nodes.cst, 'GET', '/records')).status).toBe(200);
    const party = await audit(nodes.cst, 'GET', '/records', nodes.cst.tokens[FRANCAVILLA]);
    expect(party.status).toBe(401);
    expect(JSON.parse(party.text).error.code).toBe('TRAMITE_ERR_AUDITOR_ONLY');
  });

  it('searches, shows a message with its signed envelopes, and verifies over the API', async () => {
    const found = JSON.parse((await audit(nodes.cst, 'GET', `/records?id=${encodeURIComponent(sentIds[2]!)}`)).text);
    expect(found.records.map((r: { state: string }) => r.state)).toEqual(['ACCEPTED', 'SENDING', 'DELIVERED']);
    const shown = JSON.parse((await audit(nodes.cst, 'GET', `/messages/${encodeURIComponent(sentIds[2]!)}`)).text);
    expect(shown.envelopes).toHaveLength(2);
    expect(shown.envelopes.every((e: { valid: boolean }) => e.valid)).toBe(true);
    expect(shown.envelopes[0].signer).toContain('CN=ComuneFrancavillaAlMare');
    expect(shown.envelopes[1].signer).toContain('CN=RegioneAbruzzo');
    const verified = JSON.parse((await audit(nodes.regione, 'POST', '/verify')).text);
    expect(verified).toMatchObject({ ok: true, records: 15 });
  });

  it('exports a bundle over the API that verifies offline, time-stamps included', async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const res = await audit(nodes.cst, 'GET', `/export?from=${from}&to=${to}`);
    expect(res.status).toBe(200);
    const file = join(root, 'bundle.json');
    writeFileSync(file, res.text);
    const report = await verifyBundle(file);
    expect(report).toMatchObject({ ok: true, records: 15 });
    expect(report.timestampsVerified).toBeGreaterThanOrEqual(1);
    expect(report.timestampsVerified).toBe(report.checkpoints);
    const tampered = JSON.parse(res.text);
    tampered.records[4].state = 'FAILED';
    writeFileSync(file, JSON.stringify(tampered));
    expect((await verifyBundle(file)).firstBad).toMatchObject({ seq: 5, kind: 'altered' });
  });
});

describe('tramite log on a copy of the database', () => {
  it('verifies, exports and verifies the bundle offline, then locates a tampered record', async () => {
    const db = join(root, 'copy.sqlite');
    (cst.node.store.store as SqliteLogStore).database.exec(`VACUUM INTO '${db}'`);
    const ok = await runCli([
      'log',
      'verify',
      '--db',
      db,
      '--trust',
      join(nodes.cst.dir, 'pki', 'ca.cert.pem'),
      '--trust',
      join(nodes.regione.dir, 'pki', 'ca.cert.pem'),
    ]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    // The exchanges' 15 records, and the record of the API export above: who took the bundle, and of what.
    expect(ok.stdout).toMatch(/^intact: 16 records/);
    const copy = new Database(db, { readonly: true });
    expect(copy.prepare('SELECT kind, action, from_party AS "from" FROM log_records WHERE seq = 16').get()).toEqual({
      kind: 'operator',
      action: 'bundle-exported',
      from: expect.stringMatching(/^auditor:auditor-[0-9a-f]{8}$/),
    });
    copy.close();

    const search = await runCli(['log', 'search', '--db', db, '--party', FRANCAVILLA, '--state', 'DELIVERED', '--json']);
    expect(JSON.parse(search.stdout)).toHaveLength(5);
    const show = await runCli(['log', 'show', sentIds[0]!, '--db', db, '--json']);
    expect(JSON.parse(show.stdout).history).toHaveLength(3);

    const out = join(root, 'bundle-dir');
    const exp = await runCli(['log', 'export', '--db', db, '--from', '2000-01-01T00:00:00Z', '--to', '2100-01-01T00:00:00Z', out]);
    expect(exp.code, exp.stderr).toBe(0);
    const offline = await runCli(['log', 'verify', '--bundle', out, '--json']);
    expect(JSON.parse(offline.stdout)).toMatchObject({ ok: true, records: 16 });

    const raw = new Database(db);
    raw.prepare("UPDATE log_records SET envelope = CAST(replace(CAST(envelope AS TEXT), '>3<', '>9<') AS BLOB) WHERE seq = 10").run();
    raw.close();
    const bad = await runCli(['log', 'verify', '--db', db]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/first bad record 10: the envelope kept in record 10 does not match its digest/);
  }, 120_000); // five CLI runs, each a fresh Node process: a loaded 2-core machine took over 30 s
});

describe('retention', () => {
  it('drops payloads older than the period and keeps the chain verifiable', async () => {
    const db = join(root, 'retention.sqlite');
    (cst.node.store.store as SqliteLogStore).database.exec(`VACUUM INTO '${db}'`);
    const later = new MessageLog({
      store: new SqliteLogStore(db),
      node: 'test',
      clock: fixedClock(new Date(Date.now() + 400 * 86_400_000)),
      retentionDays: 365,
    });
    expect(await later.applyRetention()).toBe(10);
    const report = await later.verify();
    expect(report).toMatchObject({ ok: true, envelopesPurged: 10 });
    expect(await later.envelopeOf(outboundKey(sentIds[0]!))).toBeUndefined();
    expect((await later.get(outboundKey(sentIds[0]!)))?.payload).toBeUndefined();
    await later.close();
  });
});
