/**
 * The TLS path of revocation: a Regione node over mutual TLS whose client CAs include a CA run by
 * `openssl ca`, with a hard revocation policy for it. Two clients of a configured peer connect with
 * certificates of that CA, one naming an `openssl ocsp` responder (AIA), the other a CRL served over
 * HTTP (CRL Distribution Points). Each is taken while good and refused at the envelope endpoint —
 * before its body is read — once revoked, on its next connection.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_ADAPTERS } from '../../adapters/builtin.js';
import { loadConfig } from '../../src/config/load-config.js';
import { freePorts } from '../../src/daemons/free-port.js';
import { writeDemoFederation, type DemoNode } from '../../src/demo/demo-federation.js';
import { serveNode, type RunningNode } from '../../src/http/serve-node.js';
import { OcspResponder, OpensslCa, serveBytes, type IssuedCert } from '../fixtures/openssl-ca.js';

let root: string;
let nodes: { cst: DemoNode; regione: DemoNode };
let regione: RunningNode;
let ca: OpensslCa;
let responder: OcspResponder;
let crlServer: Awaited<ReturnType<typeof serveBytes>>;
let byOcsp: IssuedCert;
let byCrl: IssuedCert;
let crlFile: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tramite-it-tls-revocation-'));
  nodes = await writeDemoFederation(root, () => 'http://127.0.0.1:9/unused');
  ca = OpensslCa.create(join(root, 'openssl-ca'), 'CST TLS Client CA');
  const [ocspPort, crlPort] = (await freePorts(2)) as [number, number];
  const clientAuth = ['keyUsage = critical, digitalSignature', 'extendedKeyUsage = clientAuth'];
  byOcsp = ca.issue('cst-gateway-a', { ocspUrl: `http://127.0.0.1:${ocspPort}`, extensions: clientAuth });
  byCrl = ca.issue('cst-gateway-b', { crlUrl: `http://127.0.0.1:${crlPort}/tls.crl`, extensions: clientAuth });
  responder = await OcspResponder.start(ca, ocspPort);
  crlFile = ca.crl(join(root, 'tls.crl.pem'));
  crlServer = await serveBytes(crlPort, () => readFileSync(crlFile));

  // The Regione takes TLS clients of that CA too, recognises both certificates as the CST peer's, and
  // asks for their status every time (hard policy, nothing kept).
  const raw = JSON.parse(readFileSync(nodes.regione.configFile, 'utf8'));
  raw.node.listen.tls.clientCaFiles = [...raw.node.listen.tls.clientCaFiles, ca.certFile];
  raw.peers[0].tls.clientCertificates.push(
    { fingerprint256: byOcsp.certificate.fingerprint256 },
    { fingerprint256: byCrl.certificate.fingerprint256 },
  );
  raw.trust.revocation = { anchors: [{ caFile: ca.certFile, mode: 'hard' }], maxCacheSeconds: 0, failureCacheSeconds: 0 };
  writeFileSync(nodes.regione.configFile, JSON.stringify(raw, null, 2));
  regione = await serveNode(loadConfig(nodes.regione.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
}, 60_000);

afterAll(async () => {
  await regione?.close();
  await responder?.stop();
  await crlServer?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** One POST of a body that is no envelope, on a new connection with `client`'s certificate: the status and fault text. */
async function postAs(client: IssuedCert): Promise<{ status: number; text: string }> {
  const agent = new Agent({ connect: { ca: readFileSync(nodes.regione.caFile, 'utf8'), cert: client.certPem, key: client.keyPem } });
  try {
    const res = await request(`${regione.baseUrl}/tramite/envelope`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body: '<not-an-envelope/>',
      dispatcher: agent,
    });
    return { status: res.statusCode, text: await res.body.text() };
  } finally {
    await agent.close();
  }
}

/** Taken at the TLS layer: the body was read, and refused for what it is (EGOV_IT_001), not for who sent it. */
function expectTaken(answer: { status: number; text: string }): void {
  expect(answer.status, answer.text).not.toBe(403);
  expect(answer.text).toContain('EGOV_IT_001');
}

describe('a TLS client certificate revoked between two connections is refused', () => {
  it('by OCSP: taken while good, refused with 403 and EGOV_IT_200 once the responder says revoked', async () => {
    expectTaken(await postAs(byOcsp));
    ca.revoke(byOcsp);
    await responder.restart();
    const refused = await postAs(byOcsp);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('EGOV_IT_200');
    expect((await regione.node.health()).revocation).toMatchObject({ revoked: 1 });
    expect(readFileSync(nodes.regione.logFile, 'utf8')).toMatch(/TRAMITE_ERR_CERT_REVOKED[^\n]*envelope refused: TLS client not accepted/);
  });

  it('by CRL: taken while absent from the CRL, refused once the CA re-made it with the certificate revoked', async () => {
    expectTaken(await postAs(byCrl));
    ca.revoke(byCrl);
    ca.crl(crlFile);
    const refused = await postAs(byCrl);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('EGOV_IT_200');
    expect(crlServer.hits()).toBeGreaterThanOrEqual(2);
    expect((await regione.node.health()).revocation).toMatchObject({ revoked: 2 });
  });
});
