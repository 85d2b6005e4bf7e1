/**
 * Two real nodes, the Regione's with a hard revocation policy for a CA run by `openssl ca`: the CST's
 * Comuni sign with certificates of that CA, ComuneOrtona's naming an `openssl ocsp` responder (AIA),
 * ComuneFrancavillaAlMare's a CRL served over HTTP (CRL Distribution Points). Each sends one message
 * that is accepted, is revoked, and its next message is refused on the envelope path (EGOV_IT_200).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_ADAPTERS } from '../../adapters/builtin.js';
import { loadConfig } from '../../src/config/load-config.js';
import { freePorts } from '../../src/daemons/free-port.js';
import { DemoBackOffice } from '../../src/demo/demo-back-office.js';
import { writeDemoFederation, type DemoNode } from '../../src/demo/demo-federation.js';
import { serveNode, type RunningNode } from '../../src/http/serve-node.js';
import { OcspResponder, OpensslCa, serveBytes, type IssuedCert } from '../fixtures/openssl-ca.js';

const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const ORTONA = 'SPC/ComuneOrtona';
const REGIONE = 'SPC/RegioneAbruzzo';

let root: string;
let backOffice: DemoBackOffice;
let nodes: { cst: DemoNode; regione: DemoNode };
let cst: RunningNode;
let regione: RunningNode;
let ca: OpensslCa;
let responder: OcspResponder;
let crlServer: Awaited<ReturnType<typeof serveBytes>>;
let ortona: IssuedCert;
let francavilla: IssuedCert;
let crlFile: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tramite-it-revocation-'));
  backOffice = new DemoBackOffice();
  await backOffice.start();
  nodes = await writeDemoFederation(root, (p) => backOffice.urlFor(p), { plainHttp: true });

  ca = OpensslCa.create(join(root, 'openssl-ca'), 'CST Revocation CA');
  const [ocspPort, crlPort] = (await freePorts(2)) as [number, number];
  ortona = ca.issue('ComuneOrtona', { ocspUrl: `http://127.0.0.1:${ocspPort}` });
  francavilla = ca.issue('ComuneFrancavillaAlMare', { crlUrl: `http://127.0.0.1:${crlPort}/cst.crl` });
  responder = await OcspResponder.start(ca, ocspPort);
  crlFile = ca.crl(join(root, 'cst.crl.pem'));
  crlServer = await serveBytes(crlPort, () => readFileSync(crlFile));

  // The CST's parties sign with the openssl CA's certificates (bound to them by CN).
  const cstConfig = JSON.parse(readFileSync(nodes.cst.configFile, 'utf8'));
  for (const party of cstConfig.parties) {
    const cert = party.code === ORTONA ? ortona : francavilla;
    party.keyFile = cert.keyFile;
    party.certFile = cert.certFile;
  }
  writeFileSync(nodes.cst.configFile, JSON.stringify(cstConfig, null, 2));

  // The Regione trusts that CA for the CST's parties, with a hard policy and nothing kept between messages.
  const regioneConfig = JSON.parse(readFileSync(nodes.regione.configFile, 'utf8'));
  const bundle = join(nodes.regione.dir, 'cst-cas.pem');
  writeFileSync(bundle, readFileSync(join(nodes.cst.dir, 'pki', 'ca.cert.pem'), 'utf8') + ca.certPem);
  regioneConfig.peers[0].caFile = bundle;
  regioneConfig.trust.revocation = { anchors: [{ caFile: ca.certFile, mode: 'hard' }], maxCacheSeconds: 0, failureCacheSeconds: 0 };
  writeFileSync(nodes.regione.configFile, JSON.stringify(regioneConfig, null, 2));

  cst = await serveNode(loadConfig(nodes.cst.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
  regione = await serveNode(loadConfig(nodes.regione.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
}, 60_000);

afterAll(async () => {
  await cst?.close();
  await regione?.close();
  await backOffice?.stop();
  await responder?.stop();
  await crlServer?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function send(from: string, payload: string): Promise<Record<string, any>> {
  const res = await request(`${nodes.cst.baseUrl}/api/v1/messages?wait=20`, {
    method: 'POST',
    headers: { authorization: `Bearer ${nodes.cst.tokens[from]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ from, to: REGIONE, service: 'ComunicazioneVariazione', action: 'Notifica', payload }),
  });
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as Record<string, any>;
}

const variazione = (what: string): string => `<v:Variazione xmlns:v="urn:tramite:test"><v:tipo>${what}</v:tipo></v:Variazione>`;

describe('a signer revoked between two messages is refused on the envelope path', () => {
  it('by OCSP: accepted while good, refused with EGOV_IT_200 once the responder says revoked', async () => {
    const first = await send(ORTONA, variazione('ocsp good'));
    expect(first.status, JSON.stringify(first.error)).toBe('DELIVERED');
    await expect.poll(() => backOffice.received.some((m) => m.id === first.id)).toBe(true);

    ca.revoke(ortona);
    await responder.restart();
    const second = await send(ORTONA, variazione('ocsp revoked'));
    expect(second.status).toBe('FAILED');
    expect(JSON.stringify(second.error)).toContain('EGOV_IT_200');
    expect(JSON.stringify(second.error)).toContain('TRAMITE_ERR_CERT_REVOKED');
    expect(backOffice.received.some((m) => m.id === second.id)).toBe(false);
    expect((await regione.node.health()).revocation).toMatchObject({ revoked: 1 });
  });

  it('by CRL: accepted while absent from the CRL, refused once the CA re-made it with the certificate revoked', async () => {
    const first = await send(FRANCAVILLA, variazione('crl good'));
    expect(first.status, JSON.stringify(first.error)).toBe('DELIVERED');

    ca.revoke(francavilla);
    ca.crl(crlFile);
    const second = await send(FRANCAVILLA, variazione('crl revoked'));
    expect(second.status).toBe('FAILED');
    expect(JSON.stringify(second.error)).toContain('EGOV_IT_200');
    expect(JSON.stringify(second.error)).toContain('ComuneFrancavillaAlMare');
    expect(crlServer.hits()).toBeGreaterThanOrEqual(2);
    expect((await regione.node.health()).revocation).toMatchObject({ revoked: 2 });
  });
});
