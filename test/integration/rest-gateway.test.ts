/**
 * The node as a REST API gateway, between two real nodes over mutual TLS with the PDND simulator:
 * every ModI REST pattern in both directions (the CST signs and the Regione verifies requests; the
 * Regione signs and the CST verifies responses), the PDND voucher obtained and checked, the exchange
 * logged on both sides in the hash-chained log, and PDND traffic traced.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { Client, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientOf } from '../../test-support/in-process-federation.js';
import { callRest, ORTONA, REGIONE, startRestFederation, type RestFederation } from './rest-gateway-fixture.js';

const CF = 'RSSMRA85T10A562S';
let fed: RestFederation;
let proxy: Server;
let proxyMode: 'pass' | 'tamper-request' | 'tamper-response' = 'pass';

/** Between the CST and the Regione for anagrafe-via-proxy: passes, or flips a byte of the request or response body. */
async function startTamperingProxy(): Promise<void> {
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        if (proxyMode === 'tamper-request' && body.length > 0) body[body.length - 2]! ^= 0x01;
        const headers = Object.fromEntries(
          Object.entries(req.headers).filter(([n]) => !['host', 'connection', 'content-length'].includes(n)),
        ) as Record<string, string>;
        const target = `${fed.nodes.regione.baseUrl}/rest/in/anagrafe/v1${(req.url ?? '').replace(/^\/[^/?]*/, '')}`;
        const upstream = await request(target, {
          dispatcher: clientOf(fed.nodes.regione)!,
          method: req.method as 'GET',
          headers,
          ...(body.length > 0 ? { body } : {}),
        });
        const answer = Buffer.from(await upstream.body.arrayBuffer());
        if (proxyMode === 'tamper-response' && answer.length > 0) answer[answer.length - 2]! ^= 0x01;
        const out = Object.fromEntries(
          Object.entries(upstream.headers).filter(
            ([n]) => !['connection', 'content-length', 'transfer-encoding', 'keep-alive'].includes(n),
          ),
        );
        res.writeHead(upstream.statusCode, out as Record<string, string>).end(answer);
      })().catch((err: unknown) => res.writeHead(599).end(String(err)));
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
}

beforeAll(async () => {
  await startTamperingProxy();
  fed = await startRestFederation('rest-gateway', () => `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/anagrafe-via-proxy`);
}, 60_000);

afterAll(async () => {
  await fed?.close();
  proxy?.closeAllConnections();
  await new Promise((r) => proxy?.close(r));
});

describe('fruizione and erogazione through two nodes', () => {
  it('ID_AUTH_REST_02 + INTEGRITY_REST_01 with a PDND voucher: the request is signed, verified, forwarded; the response signed back and verified', async () => {
    const before = fed.api.received.length;
    const res = await callRest(fed.nodes.cst, ORTONA, 'GET', `/rest/out/RegioneAbruzzo/anagrafe/v1/residenti/${CF}?vista=breve`);
    expect(res.status, res.text).toBe(200);
    expect(res.json()).toMatchObject({ codiceFiscale: CF, cognome: 'ROSSI' });
    // The back office never sees ModI headers or the voucher; it is told who called.
    const seen = fed.api.received[before]!;
    expect(seen.url).toBe(`/anagrafe/residenti/${CF}?vista=breve`);
    expect(seen.headers['tramite-consumer']).toBe(ORTONA);
    expect(seen.headers['authorization']).toBeUndefined();
    expect(seen.headers['agid-jwt-signature']).toBeUndefined();
    // The back office's caller sees the provider's answer, not its signature.
    expect(res.headers['agid-jwt-signature']).toBeUndefined();
    expect(res.headers['tramite-exchange-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a POST body crosses byte for byte, with its Digest verified by the Regione and the response bound to it', async () => {
    const body = JSON.stringify({ motivo: 'uso amministrativo', bollo: false });
    const res = await callRest(fed.nodes.cst, ORTONA, 'POST', `/rest/out/RegioneAbruzzo/anagrafe/v1/residenti/${CF}/certificati`, {
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json().richiesta).toEqual(JSON.parse(body));
    expect(fed.api.received.at(-1)!.body.toString('utf8')).toBe(body);
  });

  it('an empty answer (204) is signed and bound too', async () => {
    const res = await callRest(fed.nodes.cst, ORTONA, 'DELETE', `/rest/out/RegioneAbruzzo/anagrafe/v1/residenti/${CF}/sessione`);
    expect(res.status, res.text).toBe(204);
  });

  it('ID_AUTH_REST_01 alone: direct X.509 trust, no PDND', async () => {
    const res = await callRest(fed.nodes.cst, ORTONA, 'GET', `/rest/out/SPC%2FRegioneAbruzzo/tributi/v1/residenti/${CF}`);
    expect(res.status, res.text).toBe(200);
    expect(fed.api.received.at(-1)!.headers['tramite-consumer']).toBe(ORTONA);
  });

  it('ID_AUTH_REST_02 + INTEGRITY_REST_01 + AUDIT_REST_01: the user behind the call reaches the provider', async () => {
    const audit = { userID: 'mario.rossi', userLocation: 'sportello-3', LoA: 'LoA3' };
    const res = await callRest(fed.nodes.cst, ORTONA, 'GET', `/rest/out/RegioneAbruzzo/catasto/v1/residenti/${CF}`, {
      headers: { 'tramite-audit': JSON.stringify(audit) },
    });
    expect(res.status, res.text).toBe(200);
    expect(JSON.parse(String(fed.api.received.at(-1)!.headers['tramite-audit']))).toEqual(audit);
  });

  it('AUDIT_REST without the claims the API needs is refused at the consumer node, before anything is sent', async () => {
    const before = fed.api.received.length;
    const res = await callRest(fed.nodes.cst, ORTONA, 'GET', `/rest/out/RegioneAbruzzo/catasto/v1/residenti/${CF}`, {
      headers: { 'tramite-audit': JSON.stringify({ userID: 'mario.rossi' }) },
    });
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ code: 'TRAMITE_ERR_REST_AUDIT_DATA' });
    expect(fed.api.received.length).toBe(before);
  });

  it('ID_AUTH_REST_01 via PDND + INTEGRITY_REST_02 + AUDIT_REST_02: PDND keys by kid, the audit token bound to the voucher, the response signed by kid', async () => {
    const audit = { userID: 'mario.rossi', userLocation: 'sportello-3', LoA: 'LoA3' };
    const body = JSON.stringify({ motivo: 'esenzione' });
    const res = await callRest(fed.nodes.cst, ORTONA, 'POST', `/rest/out/RegioneAbruzzo/sanita/v1/residenti/${CF}/certificati`, {
      body,
      headers: { 'content-type': 'application/json', 'tramite-audit': JSON.stringify(audit) },
    });
    expect(res.status, res.text).toBe(201);
    const seen = fed.api.received.at(-1)!;
    expect(seen.headers['tramite-consumer']).toBe('pdnd:comune-ortona');
    expect(JSON.parse(String(seen.headers['tramite-audit']))).toMatchObject(audit);
  });

  it("the provider's own answers (a 404 of its API) come back signed and verified, as answers", async () => {
    const res = await callRest(fed.nodes.cst, ORTONA, 'GET', `/rest/out/RegioneAbruzzo/anagrafe/v1/residenti/XXXXXX85T10A562S`);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
  });

  it('a back office may call only APIs its party consumes, and only through its own token', async () => {
    const other = await callRest(
      fed.nodes.cst,
      'SPC/ComuneFrancavillaAlMare',
      'GET',
      `/rest/out/RegioneAbruzzo/anagrafe/v1/residenti/${CF}`,
    );
    expect(other.status).toBe(403);
    expect(other.json()).toMatchObject({ code: 'TRAMITE_ERR_REST_NOT_CONSUMER' });
    const unknown = await callRest(fed.nodes.cst, ORTONA, 'GET', `/rest/out/RegioneAbruzzo/nessuna/v1/x`);
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'TRAMITE_ERR_REST_API_UNKNOWN' });
    const res = await request(`${fed.nodes.cst.baseUrl}/rest/out/RegioneAbruzzo/anagrafe/v1/residenti/${CF}`, {
      dispatcher: clientOf(fed.nodes.cst)!,
    });
    expect(res.statusCode).toBe(401);
    await res.body.dump();
  });
});

describe("a back office's path stays inside the API", () => {
  it('a path that climbs out of the API on the provider is refused before anything is signed: TRAMITE_ERR_REST_PATH', async () => {
    const client = new Client(fed.nodes.cst.baseUrl, { connect: { ca: readFileSync(fed.nodes.cst.caFile, 'utf8') } });
    for (const path of [
      '/rest/out/RegioneAbruzzo/tributi/v1/../../../../health',
      '/rest/out/RegioneAbruzzo/tributi/v1/%2e%2e/%2e%2e/health',
    ]) {
      const res = await client.request({ method: 'GET', path, headers: { authorization: `Bearer ${fed.nodes.cst.tokens[ORTONA]}` } });
      const problem = (await res.body.json()) as Record<string, unknown>;
      expect(res.statusCode, path).toBe(400);
      expect(problem).toMatchObject({ code: 'TRAMITE_ERR_REST_PATH' });
    }
    await client.close();
  });

  it('the back office is told whether the answer was verified', async () => {
    const signed = await callRest(fed.nodes.cst, ORTONA, 'GET', `/rest/out/RegioneAbruzzo/anagrafe/v1/residenti/${CF}`);
    expect(signed.headers['tramite-response-verified']).toBe('true');
    const unsignedApi = await callRest(fed.nodes.cst, ORTONA, 'GET', `/rest/out/RegioneAbruzzo/tributi/v1/residenti/${CF}`);
    expect(unsignedApi.headers['tramite-response-verified']).toBe('false');
  });
});

describe('a body tampered with in transit', () => {
  it('passes untouched through the proxy', async () => {
    proxyMode = 'pass';
    const res = await callRest(
      fed.nodes.cst,
      ORTONA,
      'POST',
      `/rest/out/RegioneAbruzzo/anagrafe-via-proxy/v1/residenti/${CF}/certificati`,
      {
        body: JSON.stringify({ motivo: 'prova' }),
        headers: { 'content-type': 'application/json' },
      },
    );
    expect(res.status, res.text).toBe(201);
  });

  it('a tampered request body is refused by the provider node (its Digest), and never reaches its back office', async () => {
    proxyMode = 'tamper-request';
    const before = fed.api.received.length;
    const res = await callRest(
      fed.nodes.cst,
      ORTONA,
      'POST',
      `/rest/out/RegioneAbruzzo/anagrafe-via-proxy/v1/residenti/${CF}/certificati`,
      {
        body: JSON.stringify({ motivo: 'prova' }),
        headers: { 'content-type': 'application/json' },
      },
    );
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ title: 'InteroperabilityInvalidRequest', code: 'TRAMITE_ERR_MODI_REST_DIGEST' });
    expect(fed.api.received.length).toBe(before);
  });

  it('a tampered response body is refused by the consumer node: 502 InteroperabilityInvalidResponse', async () => {
    proxyMode = 'tamper-response';
    const res = await callRest(fed.nodes.cst, ORTONA, 'GET', `/rest/out/RegioneAbruzzo/anagrafe-via-proxy/v1/residenti/${CF}`);
    expect(res.status).toBe(502);
    expect(res.json()).toMatchObject({ title: 'InteroperabilityInvalidResponse', code: 'TRAMITE_ERR_MODI_REST_DIGEST' });
    proxyMode = 'pass';
  });
});

describe('the exchanges in the message log', () => {
  it('each side lists its REST exchanges beside its messages, with their outcome', async () => {
    const out = await callRest(fed.nodes.cst, ORTONA, 'GET', '/api/v1/messages?direction=out&limit=100');
    const rest = (out.json().messages as Array<Record<string, any>>).filter((m) => m['rest']);
    expect(rest.length).toBeGreaterThanOrEqual(8);
    expect(rest.some((m) => m['status'] === 'FAILED')).toBe(true);
    expect(rest.some((m) => m['status'] === 'DELIVERED' && m['to'] === REGIONE)).toBe(true);
    const inbound = await callRest(fed.nodes.regione, REGIONE, 'GET', '/api/v1/messages?direction=in&limit=100');
    expect((inbound.json().messages as Array<Record<string, any>>).some((m) => m['rest'] && m['status'] === 'DISPATCHED')).toBe(true);
  });

  it('log verify re-verifies the logged tokens and Digests on both nodes', async () => {
    for (const node of [fed.cst.node, fed.regione.node]) {
      const report = await node.auditor().verify({ signatures: true });
      expect(report.issues, JSON.stringify(report.issues)).toEqual([]);
      expect(report.restTokens!.verified).toBeGreaterThan(0);
    }
  });

  it('PDND traffic is traced per tenant: purpose, status and voucher jti', async () => {
    const ledger = fed.regione.node.restGateway!.pdnd!.ledger;
    const today = new Date().toISOString().slice(0, 10);
    const rows = await ledger.rows('tenant-regione', today);
    expect(rows.some((r) => r.purposeId === 'purpose-anagrafe' && r.status === 200 && r.count >= 1)).toBe(true);
    expect(rows.some((r) => r.purposeId === 'purpose-anagrafe' && r.status === 400)).toBe(true);
    const consumerRows = await fed.cst.node.restGateway!.pdnd!.ledger.rows('tenant-ortona', today);
    expect(consumerRows.some((r) => r.purposeId === 'purpose-sanita' && r.status === 201)).toBe(true);
  });
});
