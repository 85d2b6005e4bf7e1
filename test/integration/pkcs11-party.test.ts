/**
 * Two real nodes where the CST's parties sign with keys held in SoftHSM2 (a PKCS#11 token made here,
 * with its own SOFTHSM2_CONF and token directory): ComuneFrancavillaAlMare's RSA key and a new EC P-256
 * key for ComuneOrtona are imported into the token and their PEM files deleted, so the token is the
 * only place a signature can come from. The PIN is in a file.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { inboundKey, outboundKey } from '../../src/core/message-record.js';
import { DemoBackOffice } from '../../src/demo/demo-back-office.js';
import { writeDemoFederation, type DemoNode } from '../../src/demo/demo-federation.js';
import { serveNode, type RunningNode } from '../../src/http/serve-node.js';
import { BUILTIN_ADAPTERS } from '../../adapters/builtin.js';
import { issueWithOpenssl, SIGNER_EXTENSIONS } from '../fixtures/openssl-certs.js';

const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const ORTONA = 'SPC/ComuneOrtona';
const REGIONE = 'SPC/RegioneAbruzzo';
const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const PIN = '2468';

let root: string;
let backOffice: DemoBackOffice;
let nodes: { cst: DemoNode; regione: DemoNode };
let cst: RunningNode;
let regione: RunningNode;
const savedConf = process.env['SOFTHSM2_CONF'];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tramite-it-pkcs11-'));
  mkdirSync(join(root, 'tokens'));
  writeFileSync(
    join(root, 'softhsm2.conf'),
    `directories.tokendir = ${join(root, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  process.env['SOFTHSM2_CONF'] = join(root, 'softhsm2.conf');
  const util = (...args: string[]) => execFileSync('softhsm2-util', args, { stdio: 'pipe', env: process.env });
  util('--init-token', '--free', '--label', 'cst', '--so-pin', '13572468', '--pin', PIN);

  backOffice = new DemoBackOffice();
  await backOffice.start();
  nodes = await writeDemoFederation(root, (p) => backOffice.urlFor(p), { plainHttp: true });
  const pki = (name: string): string => join(nodes.cst.dir, 'pki', name);
  // Ortona gets a new EC P-256 key, certified by the CST's CA (the CN binds it to the party).
  const ca = { certPem: readFileSync(pki('ca.cert.pem'), 'utf8'), keyPem: readFileSync(pki('ca.key.pem'), 'utf8') };
  const ec = issueWithOpenssl({ issuer: ca, subject: '/C=IT/O=SPC/CN=ComuneOrtona', key: 'ec-p256', extensions: SIGNER_EXTENSIONS });
  writeFileSync(pki('ortona-ec.key.pem'), ec.keyPem);
  writeFileSync(pki('ortona-ec.cert.pem'), ec.certPem);
  util('--import', pki('ComuneFrancavillaAlMare.key.pem'), '--token', 'cst', '--label', 'francavilla', '--id', '0a', '--pin', PIN);
  util('--import', pki('ortona-ec.key.pem'), '--token', 'cst', '--label', 'ortona', '--id', '0b', '--pin', PIN);
  for (const pem of ['ComuneFrancavillaAlMare.key.pem', 'ComuneOrtona.key.pem', 'ortona-ec.key.pem']) rmSync(pki(pem));
  writeFileSync(pki('hsm.pin'), `${PIN}\n`, { mode: 0o600 });

  const config = JSON.parse(readFileSync(nodes.cst.configFile, 'utf8'));
  for (const party of config.parties) {
    delete party.keyFile;
    delete party.certFile;
    party.pkcs11 =
      party.code === FRANCAVILLA
        ? {
            module: MODULE,
            tokenLabel: 'cst',
            pinFile: 'pki/hsm.pin',
            keyLabel: 'francavilla',
            certificateFile: 'pki/ComuneFrancavillaAlMare.cert.pem',
          }
        : { module: MODULE, tokenLabel: 'cst', pinFile: 'pki/hsm.pin', keyId: '0b', certificateFile: 'pki/ortona-ec.cert.pem' };
  }
  writeFileSync(nodes.cst.configFile, JSON.stringify(config, null, 2));

  cst = await serveNode(loadConfig(nodes.cst.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
  regione = await serveNode(loadConfig(nodes.regione.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
});

afterAll(async () => {
  await cst?.close();
  await regione?.close();
  await backOffice?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
  if (savedConf === undefined) delete process.env['SOFTHSM2_CONF'];
  else process.env['SOFTHSM2_CONF'] = savedConf;
});

async function send(from: string, service: string, payload: string, action?: string): Promise<Record<string, any>> {
  const res = await request(`${nodes.cst.baseUrl}/api/v1/messages?wait=20`, {
    method: 'POST',
    headers: { authorization: `Bearer ${nodes.cst.tokens[from]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ from, to: REGIONE, service, ...(action ? { action } : {}), payload }),
  });
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as Record<string, any>;
}

async function regioneApi(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const res = await request(`${nodes.regione.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${nodes.regione.tokens[REGIONE]}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, any> };
}

describe('parties whose keys are on a PKCS#11 token (SoftHSM2)', () => {
  it('the party of the RSA key on the token sends a message the Regione accepts and answers with a signed riscontro', async () => {
    const payload = '<v:Variazione xmlns:v="urn:tramite:test"><v:tipo>token rsa</v:tipo></v:Variazione>';
    const sent = await send(FRANCAVILLA, 'ComunicazioneVariazione', payload, 'Notifica');
    expect(sent.status, JSON.stringify(sent.error)).toBe('DELIVERED');
    expect(sent.receipt.signer).toContain('CN=RegioneAbruzzo');
    await expect.poll(() => backOffice.received.find((m) => m.id === sent.id)?.payload).toBe(payload);
  });

  it('the party of the EC P-256 key on the token sends too, signed with ECDSA-SHA256', async () => {
    const payload = '<v:Variazione xmlns:v="urn:tramite:test"><v:tipo>token ec</v:tipo></v:Variazione>';
    const sent = await send(ORTONA, 'ComunicazioneVariazione', payload, 'Notifica');
    expect(sent.status, JSON.stringify(sent.error)).toBe('DELIVERED');
    await expect.poll(() => backOffice.received.find((m) => m.id === sent.id)?.payload).toBe(payload);
    const received = (await regione.node.store.envelopeOf(inboundKey(sent.id, ORTONA)))!;
    expect(received).toContain('SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"');
  });

  it('the party of the EC key on the token receives too: the Regione’s answer gets a ricevuta signed on the token', async () => {
    const sent = await send(ORTONA, 'RichiestaContributo', '<c:Domanda xmlns:c="urn:tramite:test"/>');
    expect(sent.status, JSON.stringify(sent.error)).toBe('DELIVERED');
    await expect.poll(() => backOffice.receivedBy(REGIONE, sent.id)).toBe(true);
    const answered = await regioneApi('POST', `/api/v1/messages/${encodeURIComponent(sent.id)}/answer`, {
      payload: '<e:Esito xmlns:e="urn:tramite:test"/>',
    });
    expect(answered.status).toBe(202);
    const answerId: string = answered.json.id;
    await expect.poll(() => backOffice.received.find((m) => m.id === answerId)?.party, { timeout: 20_000 }).toBe(ORTONA);
    await expect
      .poll(async () => (await regioneApi('GET', `/api/v1/messages/${encodeURIComponent(answerId)}`)).json.status, { timeout: 20_000 })
      .toBe('DELIVERED');
    const ricevuta = (await regione.node.store.replyEnvelopeOf(outboundKey(answerId)))!;
    expect(ricevuta).toContain('SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"');
  });
});
