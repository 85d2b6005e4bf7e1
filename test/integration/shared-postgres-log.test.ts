/**
 * Two CST node processes sharing one PostgreSQL message log (and one data dir), as a CST that outgrew
 * one machine runs them: messages sent through either land in one unforked chain that verifies.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundKey } from '../../src/core/message-record.js';
import { loadConfig } from '../../src/config/load-config.js';
import { DemoBackOffice } from '../../src/demo/demo-back-office.js';
import { writeDemoFederation, type DemoNode } from '../../src/demo/demo-federation.js';
import { serveNode, type RunningNode } from '../../src/http/serve-node.js';
import { BUILTIN_ADAPTERS } from '../../adapters/builtin.js';
import { dropDatabase, freshDatabase } from '../../test-support/postgres-server.js';
import { postgresUrl } from '../log/log-fixtures.js';

const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const REGIONE = 'SPC/RegioneAbruzzo';

let dbUrl: string;
let backOffice: DemoBackOffice;
let nodes: { cst: DemoNode; regione: DemoNode };
let cstA: RunningNode;
let cstB: RunningNode;
let regione: RunningNode;

beforeAll(async () => {
  dbUrl = await freshDatabase(postgresUrl());
  const root = mkdtempSync(join(tmpdir(), 'tramite-shared-log-'));
  backOffice = new DemoBackOffice();
  await backOffice.start();
  nodes = await writeDemoFederation(root, (p) => backOffice.urlFor(p), { plainHttp: true });
  const raw = JSON.parse(readFileSync(nodes.cst.configFile, 'utf8'));
  raw.log = { ...raw.log, store: 'postgres', postgresUrl: dbUrl, checkpointEveryRecords: 5 };
  writeFileSync(nodes.cst.configFile, JSON.stringify(raw, null, 2));
  const config = loadConfig(nodes.cst.configFile);
  cstA = await serveNode(config, { builtinAdapters: BUILTIN_ADAPTERS });
  cstB = await serveNode(
    { ...config, node: { ...config.node, listen: { ...config.node.listen, port: 0 } } },
    { builtinAdapters: BUILTIN_ADAPTERS },
  );
  regione = await serveNode(loadConfig(nodes.regione.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
}, 60_000);

afterAll(async () => {
  // B shares the Redis that A started in their common data dir: B goes first, A stops Redis.
  await cstB?.close();
  await cstA?.close();
  await regione?.close();
  await backOffice?.stop();
  if (dbUrl) await dropDatabase(dbUrl);
});

async function send(baseUrl: string, n: number): Promise<{ id: string; status: string }> {
  const res = await request(`${baseUrl}/api/v1/messages?wait=20`, {
    method: 'POST',
    headers: { authorization: `Bearer ${nodes.cst.tokens[FRANCAVILLA]}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      from: FRANCAVILLA,
      to: REGIONE,
      service: 'ComunicazioneVariazione',
      action: 'Notifica',
      payload: `<v:N xmlns:v="urn:t">${n}</v:N>`,
    }),
  });
  return (await res.body.json()) as { id: string; status: string };
}

describe('a message log shared by two node processes', () => {
  it('takes messages from both into one chain, with distinct ids, that verifies', async () => {
    const sent = await Promise.all(Array.from({ length: 12 }, (_, i) => send(i % 2 ? cstA.baseUrl : cstB.baseUrl, i)));
    expect(sent.every((s) => s.status === 'DELIVERED')).toBe(true);
    expect(new Set(sent.map((s) => s.id)).size).toBe(12);
    // Either process sees every message: the log is the one source of truth.
    for (const s of sent) expect((await cstA.node.store.get(outboundKey(s.id)))?.status).toBe('DELIVERED');
    await cstB.node.store.checkpointNow();
    const report = await cstA.node.auditor().verify();
    expect(report).toMatchObject({ ok: true, records: 36, firstBad: null, signaturesChecked: true });
    expect(report.checkpoints).toBeGreaterThan(0);
  });
});
