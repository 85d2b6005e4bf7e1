/**
 * Two real nodes where the CST's parties sign with keys from PKCS#12 keystores, as operators install
 * them: ComuneFrancavillaAlMare from a legacy one (RC2-40 / 3DES, as OpenSSL 1.x and older Java tools
 * write) with its CA inside, passphrase in a file; ComuneOrtona from an EC P-256 one, passphrase in an
 * environment variable. Their PEM keys are deleted first, so nothing else can sign.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { exportPkcs12 } from '../crypto/openssl-keystores.js';

const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const ORTONA = 'SPC/ComuneOrtona';
const REGIONE = 'SPC/RegioneAbruzzo';
const PASSPHRASE = 'integration keystore passphrase';
const ENV = 'TRAMITE_TEST_ORTONA_KEYSTORE_PASS';

let root: string;
let backOffice: DemoBackOffice;
let nodes: { cst: DemoNode; regione: DemoNode };
let cst: RunningNode;
let regione: RunningNode;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tramite-it-keystore-'));
  backOffice = new DemoBackOffice();
  await backOffice.start();
  nodes = await writeDemoFederation(root, (p) => backOffice.urlFor(p), { plainHttp: true });
  const pki = (name: string): string => join(nodes.cst.dir, 'pki', name);

  writeFileSync(pki('keystores.pass'), `${PASSPHRASE}\n`, { mode: 0o600 });
  exportPkcs12({
    dir: pki('.'),
    name: 'ComuneFrancavillaAlMare.p12',
    passphrase: PASSPHRASE,
    keyFile: pki('ComuneFrancavillaAlMare.key.pem'),
    certFile: pki('ComuneFrancavillaAlMare.cert.pem'),
    chainFile: pki('ca.cert.pem'),
    legacy: true,
  });
  // Ortona gets a new EC P-256 key, certified by the CST's CA (the CN binds it to the party).
  const ca = { certPem: readFileSync(pki('ca.cert.pem'), 'utf8'), keyPem: readFileSync(pki('ca.key.pem'), 'utf8') };
  const ec = issueWithOpenssl({ issuer: ca, subject: '/C=IT/O=SPC/CN=ComuneOrtona', key: 'ec-p256', extensions: SIGNER_EXTENSIONS });
  writeFileSync(pki('ortona-ec.key.pem'), ec.keyPem);
  writeFileSync(pki('ortona-ec.cert.pem'), ec.certPem);
  exportPkcs12({
    dir: pki('.'),
    name: 'ComuneOrtona-ec.p12',
    passphrase: PASSPHRASE,
    keyFile: pki('ortona-ec.key.pem'),
    certFile: pki('ortona-ec.cert.pem'),
  });
  for (const pem of ['ComuneFrancavillaAlMare.key.pem', 'ComuneOrtona.key.pem', 'ortona-ec.key.pem']) rmSync(pki(pem));

  const config = JSON.parse(readFileSync(nodes.cst.configFile, 'utf8'));
  for (const party of config.parties) {
    delete party.keyFile;
    delete party.certFile;
    party.keystore =
      party.code === FRANCAVILLA
        ? { file: 'pki/ComuneFrancavillaAlMare.p12', passphraseFile: 'pki/keystores.pass' }
        : { file: 'pki/ComuneOrtona-ec.p12', passphraseEnv: ENV };
  }
  writeFileSync(nodes.cst.configFile, JSON.stringify(config, null, 2));

  process.env[ENV] = PASSPHRASE;
  try {
    cst = await serveNode(loadConfig(nodes.cst.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
  } finally {
    delete process.env[ENV];
  }
  regione = await serveNode(loadConfig(nodes.regione.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
});

afterAll(async () => {
  await cst?.close();
  await regione?.close();
  await backOffice?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
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

describe('parties whose keys come from PKCS#12 keystores', () => {
  it('the party of the legacy keystore sends a message the Regione accepts and answers with a signed riscontro', async () => {
    const payload = '<v:Variazione xmlns:v="urn:tramite:test"><v:tipo>keystore legacy</v:tipo></v:Variazione>';
    const sent = await send(FRANCAVILLA, 'ComunicazioneVariazione', payload, 'Notifica');
    expect(sent.status, JSON.stringify(sent.error)).toBe('DELIVERED');
    expect(sent.receipt.signer).toContain('CN=RegioneAbruzzo');
    await expect.poll(() => backOffice.received.find((m) => m.id === sent.id)?.payload).toBe(payload);
  });

  it('the party of the EC P-256 keystore sends too, signed with ECDSA-SHA256', async () => {
    const payload = '<v:Variazione xmlns:v="urn:tramite:test"><v:tipo>keystore ec</v:tipo></v:Variazione>';
    const sent = await send(ORTONA, 'ComunicazioneVariazione', payload, 'Notifica');
    expect(sent.status, JSON.stringify(sent.error)).toBe('DELIVERED');
    await expect.poll(() => backOffice.received.find((m) => m.id === sent.id)?.payload).toBe(payload);
    const received = (await regione.node.store.envelopeOf(inboundKey(sent.id, ORTONA)))!;
    expect(received).toContain('SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"');
  });

  it('the party of the EC keystore receives too: the Regione’s answer gets a ricevuta signed with that key', async () => {
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
