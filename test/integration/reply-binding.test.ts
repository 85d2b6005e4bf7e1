/**
 * The sending node binds the signer of a peer's reply to the party the message went to before it
 * computes any digest of the reply (issue 12, item 1). A real CST node sends to a "Regione" that is a
 * plain HTTP server answering with a riscontro signed by another party the CST trusts (its own
 * ComuneOrtona), with a signed header altered on top: the refusal must name the wrong signer, not the
 * broken digest.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { DemoBackOffice } from '../../src/demo/demo-back-office.js';
import { writeDemoFederation, type DemoNode } from '../../src/demo/demo-federation.js';
import { serveNode, type RunningNode } from '../../src/http/serve-node.js';
import { BUILTIN_ADAPTERS } from '../../adapters/builtin.js';
import { sealReply } from '../../envelopes/busta/reply.js';
import { readEnvelope } from '../../envelopes/envelope.js';

const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const REGIONE = 'SPC/RegioneAbruzzo';
const REPLY_ID = 'RegioneAbruzzo_RegioneAbruzzoSPCoopIT_0000001_2026-01-01_00:00';

let backOffice: DemoBackOffice;
let cstNode: DemoNode;
let cst: RunningNode;
let fakeRegione: Server;

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'tramite-reply-binding-'));
  backOffice = new DemoBackOffice();
  await backOffice.start();
  cstNode = (await writeDemoFederation(root, (p) => backOffice.urlFor(p), { plainHttp: true })).cst;
  const config = JSON.parse(readFileSync(cstNode.configFile, 'utf8'));
  const ortona = loadConfig(cstNode.configFile).parties.find((p) => p.code === 'SPC/ComuneOrtona')!;
  const signer = ortona.identity;

  fakeRegione = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const reply = await sealReply(readEnvelope(Buffer.concat(chunks)), { id: REPLY_ID, now: new Date(), riscontro: true }, signer);
      const tampered = reply.replace('_0000001_', '_0000002_');
      res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(tampered);
    });
  });
  await new Promise<void>((resolve) => fakeRegione.listen(0, '127.0.0.1', resolve));
  config.peers[0].url = `http://127.0.0.1:${(fakeRegione.address() as AddressInfo).port}/tramite/envelope`;
  writeFileSync(cstNode.configFile, JSON.stringify(config));
  cst = await serveNode(loadConfig(cstNode.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
}, 60_000);

afterAll(async () => {
  await cst?.close();
  await new Promise((resolve) => fakeRegione?.close(resolve));
  await backOffice?.stop();
});

describe('a reply signed by another trusted party than the recipient', () => {
  it('is refused as signed by the wrong party (TRAMITE_ERR_RECEIPT_INVALID), before its altered digest is looked at', async () => {
    const res = await request(`${cstNode.baseUrl}/api/v1/messages?wait=20`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cstNode.tokens[FRANCAVILLA]}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        from: FRANCAVILLA,
        to: REGIONE,
        service: 'ComunicazioneVariazione',
        action: 'Notifica',
        payload: '<v:V xmlns:v="urn:t">1</v:V>',
      }),
    });
    const json = (await res.body.json()) as { status: string; error?: { code: string; message: string } };
    expect(json.status).toBe('FAILED');
    expect(json.error?.code).toBe('TRAMITE_ERR_RECEIPT_INVALID');
    expect(json.error?.message).toMatch(/is signed by CN=ComuneOrtona.*, not by SPC\/RegioneAbruzzo/);
    expect(json.error?.message).not.toMatch(/digest/);
  }, 60_000);
});
