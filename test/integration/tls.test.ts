/**
 * Two real nodes over mutual TLS on 127.0.0.1 (the demo federation as `tramite demo` writes it): the
 * exchange, the envelope endpoint's judgement of the connected client, what curl and openssl s_client
 * without a client certificate get, a peer's server certificate for another host, and a real CONNECT
 * proxy in between. The test PKI's certificates are the dev PKI's (forge); openssl and curl are the
 * independent TLS clients.
 */
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealRequest } from '../../envelopes/busta/request.js';
import { loadConfig } from '../../src/config/load-config.js';
import { devCaFiles, devTlsFiles, issueCertificate, type PemPair } from '../../src/crypto/dev-pki.js';
import { callApi, clientOf, patchConfig, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';
import { loadPemSigningKey } from '../../src/crypto/party-identity.js';

const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const ORTONA = 'SPC/ComuneOrtona';
const REGIONE = 'SPC/RegioneAbruzzo';
const HOUR = 3_600_000;

const pair = (files: { certFile: string; keyFile: string }): PemPair => ({
  certPem: readFileSync(files.certFile, 'utf8'),
  keyPem: readFileSync(files.keyFile, 'utf8'),
});

/**
 * Runs a program to its end without blocking this process (the nodes under test run in it), with
 * `input` on its stdin; killed after `timeoutMs`.
 */
function run(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 10_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** POSTs bytes to a node's envelope endpoint as a TLS client presenting `client` (or no certificate). */
async function postEnvelope(fed: InProcessFederation, body: string, client?: PemPair): Promise<{ status: number; text: string }> {
  const agent = new Agent({
    connect: { ca: readFileSync(fed.nodes.cst.caFile, 'utf8'), ...(client ? { cert: client.certPem, key: client.keyPem } : {}) },
  });
  try {
    const res = await request(`${fed.nodes.cst.baseUrl}/tramite/envelope`, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body,
    });
    return { status: res.statusCode, text: await res.body.text() };
  } finally {
    await agent.close();
  }
}

/** An e-Gov request from Ortona (hosted by the CST) to Francavilla, signed by Ortona's own key. */
async function ortonaEnvelope(
  fed: InProcessFederation,
  id = `ComuneOrtona_CSTChietiSPCoopIT_${String(Math.floor(Math.random() * 9_000_000) + 1_000_000)}_2026-01-01_00:00`,
): Promise<string> {
  const config = loadConfig(fed.nodes.cst.configFile);
  const service = config.services.find((s) => s.name === 'AvvisoScadenza')!;
  const party = config.parties.find((p) => p.code === ORTONA)!;
  return sealRequest(
    {
      id,
      now: new Date(),
      from: ORTONA,
      to: FRANCAVILLA,
      service,
      payload: '<a:Avviso xmlns:a="urn:test">uno</a:Avviso>',
    },
    loadPemSigningKey(party.keyFile!, party.certFile!, 'Ortona'),
  );
}

describe('two nodes over mutual TLS', () => {
  let fed: InProcessFederation;
  let regionePki: string;

  beforeAll(async () => {
    fed = await startFederation(
      'tls',
      (nodes) => {
        regionePki = join(nodes.regione.dir, 'pki');
        // The CST knows the Regione's client certificate by subject and issuer (renewals too), not by fingerprint.
        const regioneTls = new X509Certificate(readFileSync(devTlsFiles(regionePki).certFile));
        patchConfig(nodes.cst, (raw) => {
          raw.peers[0].tls.clientCertificates = [
            { subject: 'CN=regione-abruzzo, O=Tramite, C=IT', issuer: regioneTls.issuer.split('\n').reverse().join(', ') },
          ];
        });
      },
      { tls: true },
    );
  });

  afterAll(async () => {
    await fed?.close();
  });

  it('delivers a oneway message with riscontro over mTLS, both ways authenticated', async () => {
    expect(fed.nodes.cst.baseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const payload = '<v:Variazione xmlns:v="urn:tramite:test">tls</v:Variazione>';
    const sent = await callApi(fed.nodes.cst, FRANCAVILLA, 'POST', '/api/v1/messages?wait=30', {
      from: FRANCAVILLA,
      to: REGIONE,
      service: 'ComunicazioneVariazione',
      action: 'Notifica',
      payload,
    });
    expect(sent.status).toBe(200);
    expect(sent.json.status).toBe('DELIVERED');
    expect(sent.json.receipt.signer).toContain('CN=RegioneAbruzzo');
    await expect.poll(() => fed.backOffice.received.find((m) => m.id === sent.json.id)?.payload).toBe(payload);
  });

  it('answers a sincrono request over mTLS, and delivers to its own parties over TLS to itself', async () => {
    const sincrono = await callApi(fed.nodes.cst, ORTONA, 'POST', '/api/v1/messages?wait=30', {
      from: ORTONA,
      to: REGIONE,
      service: 'VerificaResidenza',
      payload: '<q:Chi xmlns:q="urn:test">RSSMRA</q:Chi>',
    });
    expect(sincrono.json.status).toBe('DELIVERED');
    const local = await callApi(fed.nodes.cst, ORTONA, 'POST', '/api/v1/messages?wait=30', {
      from: ORTONA,
      to: FRANCAVILLA,
      service: 'AvvisoScadenza',
      payload: '<a:Avviso xmlns:a="urn:test">locale</a:Avviso>',
    });
    expect(local.json.status).toBe('DELIVERED');
    await expect.poll(() => fed.backOffice.received.find((m) => m.id === local.json.id)?.party).toBe(FRANCAVILLA);
  });

  it('keeps bearer tokens for the back-office API: a client without a certificate may call it', async () => {
    const res = await callApi(fed.nodes.cst, FRANCAVILLA, 'GET', '/api/v1/messages?limit=1');
    expect(res.status).toBe(200);
  });

  it('refuses an envelope from a client with no certificate, an untrusted one, an expired one, or one of no peer', async () => {
    const id = 'ComuneOrtona_CSTChietiSPCoopIT_7654321_2026-01-01_00:00';
    const envelope = await ortonaEnvelope(fed, id);
    const regioneCa = pair(devCaFiles(regionePki));
    const now = Date.now();
    const rogueCa = issueCertificate({
      subject: { CN: 'Rogue CA', O: 'Rogue', C: 'IT' },
      notBefore: new Date(now - HOUR),
      notAfter: new Date(now + 24 * HOUR),
      issuer: 'self',
      ca: true,
    });
    const cases: Array<{ client?: PemPair; code: string; names?: string }> = [
      { code: 'TRAMITE_ERR_TLS_CLIENT_CERT_MISSING' },
      {
        client: issueCertificate({
          subject: { CN: 'regione-abruzzo', O: 'Tramite', C: 'IT' },
          notBefore: new Date(now - HOUR),
          notAfter: new Date(now + 24 * HOUR),
          issuer: rogueCa,
          keyUsage: 'tls',
        }),
        code: 'TRAMITE_ERR_TLS_CLIENT_CERT_UNTRUSTED',
      },
      {
        // The Regione's name from the Regione's CA, but expired: the refusal names the peer.
        client: issueCertificate({
          subject: { CN: 'regione-abruzzo', O: 'Tramite', C: 'IT' },
          notBefore: new Date(now - 48 * HOUR),
          notAfter: new Date(now - 24 * HOUR),
          issuer: regioneCa,
          keyUsage: 'tls',
        }),
        code: 'TRAMITE_ERR_TLS_CLIENT_CERT_EXPIRED',
        names: 'peer "regione-abruzzo"',
      },
      {
        client: issueCertificate({
          subject: { CN: 'someone-else', O: 'Tramite', C: 'IT' },
          notBefore: new Date(now - HOUR),
          notAfter: new Date(now + 24 * HOUR),
          issuer: regioneCa,
          keyUsage: 'tls',
        }),
        code: 'TRAMITE_ERR_TLS_CLIENT_UNKNOWN',
      },
    ];
    for (const c of cases) {
      const res = await postEnvelope(fed, envelope, c.client);
      expect(res.status, c.code).toBe(403);
      expect(res.text, c.code).toContain('EGOV_IT_200');
      expect(res.text, c.code).toContain(c.code);
      if (c.names) expect(res.text.replaceAll('&quot;', '"')).toContain(c.names);
    }
    // Nothing of it reached the log or the back office.
    const logged = await callApi(fed.nodes.cst, FRANCAVILLA, 'GET', `/api/v1/messages/${encodeURIComponent(id)}?from=${ORTONA}`);
    expect(logged.status).toBe(404);
    expect(fed.backOffice.received.find((m) => m.id === id)).toBeUndefined();
  });

  it('refuses an envelope whose sender the connected peer does not host (EGOV_IT_201), signed though it is', async () => {
    const res = await postEnvelope(fed, await ortonaEnvelope(fed), pair(devTlsFiles(regionePki)));
    expect(res.status).toBe(500);
    expect(res.text).toContain('EGOV_IT_201');
    expect(res.text).toContain('TRAMITE_ERR_TLS_PEER_NOT_SENDER');
    expect(res.text.replaceAll('&quot;', '"')).toContain('peer "regione-abruzzo"');
  });

  it('refuses curl without a client certificate on the envelope endpoint, and serves it the API', async () => {
    const curl = (path: string, extra: string[] = []) =>
      run('curl', ['-sS', '--cacert', fed.nodes.cst.caFile, ...extra, `${fed.nodes.cst.baseUrl}${path}`]);
    const envelope = await curl('/tramite/envelope', [
      '-w',
      '\n%{http_code}',
      '-H',
      'content-type: text/xml',
      '--data-binary',
      await ortonaEnvelope(fed),
    ]);
    expect(envelope.status).toBe(0);
    expect(envelope.stdout.trim().split('\n').at(-1)).toBe('403');
    expect(envelope.stdout).toContain('TRAMITE_ERR_TLS_CLIENT_CERT_MISSING');
    const health = await curl('/health', ['-w', '\n%{http_code}']);
    expect(health.stdout.trim().split('\n').at(-1)).toBe('200');
  });

  it('speaks TLS 1.2 and 1.3 only', async () => {
    const sClient = (flag: string) =>
      run('openssl', ['s_client', '-connect', new URL(fed.nodes.cst.baseUrl).host, '-CAfile', fed.nodes.cst.caFile, flag]);
    const tls11 = await sClient('-tls1_1');
    expect(tls11.status).not.toBe(0);
    const tls12 = await sClient('-tls1_2');
    expect(tls12.stdout).toMatch(/Protocol\s*: TLSv1\.2/);
    expect(tls12.stdout).toContain('Verify return code: 0 (ok)');
  });
});

describe('a peer whose server certificate is for another host', () => {
  let fed: InProcessFederation;

  beforeAll(async () => {
    fed = await startFederation(
      'tls-host',
      (nodes) =>
        patchConfig(nodes.cst, (raw) => {
          raw.peers[0].tls.servername = 'pdd.other.example';
        }),
      { tls: true },
    );
  });

  afterAll(async () => {
    await fed?.close();
  });

  it('fails the delivery with TRAMITE_ERR_PEER_TLS naming the peer, and keeps the message queued', async () => {
    const sent = await callApi(fed.nodes.cst, FRANCAVILLA, 'POST', '/api/v1/messages', {
      from: FRANCAVILLA,
      to: REGIONE,
      service: 'ComunicazioneVariazione',
      action: 'Notifica',
      payload: '<v:Variazione xmlns:v="urn:tramite:test">altro host</v:Variazione>',
    });
    expect(sent.status).toBe(202);
    const path = `/api/v1/messages/${encodeURIComponent(sent.json.id)}`;
    await expect
      .poll(async () => (await callApi(fed.nodes.cst, FRANCAVILLA, 'GET', path)).json.error?.code, { timeout: 15_000 })
      .toBe('TRAMITE_ERR_PEER_TLS');
    const view = (await callApi(fed.nodes.cst, FRANCAVILLA, 'GET', path)).json;
    expect(view.error.message).toContain('peer "regione-abruzzo"');
    expect(view.error.message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
    expect(view.status).not.toBe('DELIVERED');
    expect(view.status).not.toBe('FAILED'); // retried, as an unreachable peer is: nothing accepted is lost
  });
});

describe('a node requiring client certificates at the handshake', () => {
  let fed: InProcessFederation;

  beforeAll(async () => {
    fed = await startFederation(
      'tls-required',
      (nodes) =>
        patchConfig(nodes.cst, (raw) => {
          raw.node.listen.tls.requireClientCert = true;
        }),
      { tls: true },
    );
  });

  afterAll(async () => {
    await fed?.close();
  });

  it('refuses curl and openssl s_client without a client certificate, and still exchanges with its peer', async () => {
    const curl = await run('curl', ['-sS', '--cacert', fed.nodes.cst.caFile, `${fed.nodes.cst.baseUrl}/health`]);
    expect(curl.status).not.toBe(0);
    expect(curl.stdout).toBe('');
    const sClient = await run(
      'openssl',
      ['s_client', '-connect', new URL(fed.nodes.cst.baseUrl).host, '-CAfile', fed.nodes.cst.caFile, '-quiet', '-verify_return_error'],
      { input: 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' },
    );
    expect(sClient.stdout).not.toContain('HTTP/1.1');
    expect(`${sClient.stdout}${sClient.stderr}`).toMatch(/certificate required|handshake failure|alert/i);

    // The Regione presents its certificate: its request and its answer's riscontro flow.
    const sent = await callApi(fed.nodes.regione, REGIONE, 'POST', '/api/v1/messages?wait=30', {
      from: REGIONE,
      to: FRANCAVILLA,
      service: 'AvvisoScadenza',
      payload: '<a:Avviso xmlns:a="urn:test">richiesto</a:Avviso>',
    });
    expect(sent.json.status).toBe('DELIVERED');
  });
});

describe('outbound traffic through HTTPS_PROXY', () => {
  let fed: InProcessFederation;
  let proxy: Server;
  const tunnels: string[] = [];
  const saved = { https: process.env['HTTPS_PROXY'], no: process.env['NO_PROXY'] };

  beforeAll(async () => {
    // A real CONNECT proxy on loopback: it opens the TCP tunnel and copies bytes; TLS runs end to end through it.
    proxy = createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req, client, head) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = netConnect(Number(port), host!, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as { port: number }).port;
    process.env['HTTPS_PROXY'] = `http://127.0.0.1:${port}`;
    delete process.env['NO_PROXY'];
    fed = await startFederation('tls-proxy', undefined, { tls: true });
  });

  afterAll(async () => {
    await fed?.close();
    proxy?.closeAllConnections();
    await new Promise((resolve) => proxy?.close(resolve));
    if (saved.https === undefined) delete process.env['HTTPS_PROXY'];
    else process.env['HTTPS_PROXY'] = saved.https;
    if (saved.no !== undefined) process.env['NO_PROXY'] = saved.no;
  });

  it('delivers to the peer through the proxy tunnel, TLS end to end, and to itself directly', async () => {
    const sent = await callApi(fed.nodes.cst, FRANCAVILLA, 'POST', '/api/v1/messages?wait=30', {
      from: FRANCAVILLA,
      to: REGIONE,
      service: 'ComunicazioneVariazione',
      action: 'Notifica',
      payload: '<v:Variazione xmlns:v="urn:tramite:test">via proxy</v:Variazione>',
    });
    expect(sent.json.status).toBe('DELIVERED');
    const regionePort = new URL(fed.nodes.regione.baseUrl).port;
    expect(tunnels).toContain(`127.0.0.1:${regionePort}`);
    const local = await callApi(fed.nodes.cst, ORTONA, 'POST', '/api/v1/messages?wait=30', {
      from: ORTONA,
      to: FRANCAVILLA,
      service: 'AvvisoScadenza',
      payload: '<a:Avviso xmlns:a="urn:test">senza proxy</a:Avviso>',
    });
    expect(local.json.status).toBe('DELIVERED');
    expect(tunnels).not.toContain(`127.0.0.1:${new URL(fed.nodes.cst.baseUrl).port}`);
  });
});

describe('a plain-HTTP listener', () => {
  it('is refused unless the config says plainHttp, and then the node warns at start', async () => {
    const plain = await startFederation('plain-ok');
    try {
      const logFile = join(plain.nodes.cst.dir, 'data', 'tramite.log');
      await expect
        .poll(() =>
          readFileSync(logFile, 'utf8')
            .split('\n')
            .filter((l) => l.includes('listening over plain HTTP')),
        )
        .toHaveLength(1);
      const line = JSON.parse(
        readFileSync(logFile, 'utf8')
          .split('\n')
          .find((l) => l.includes('listening over plain HTTP'))!,
      );
      expect(line.level).toBe(40); // pino's warn
      expect(clientOf(plain.nodes.cst)).toBeUndefined();
      // The same file without plainHttp (and without tls) is refused, naming the field and the fix.
      patchConfig(plain.nodes.cst, (raw) => {
        delete raw.node.listen.plainHttp;
      });
      expect(() => loadConfig(plain.nodes.cst.configFile)).toThrow(/node\.listen: has neither tls nor plainHttp: true/);
    } finally {
      await plain.close();
    }
  });
});
