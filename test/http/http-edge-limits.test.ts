/**
 * The node's HTTP edge under hostile clients, on a real node over loopback: slow-loris connections
 * closed by the timeouts, the connection cap, the cap on request-body bytes held at once, and the
 * per-caller rate limits answered 429 with Retry-After. Each test talks from its own loopback source
 * address (127.0.0.x), so the per-address limits of one test do not touch another.
 */
import { connect, type Socket } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevNode, type DevNode } from './dev-node.js';

let dev: DevNode;
let port: number;
const A = 'SPC/ComuneA';
const B = 'SPC/ComuneB';

beforeAll(async () => {
  dev = await startDevNode([A, B], (c) => {
    c.node.limits = { maxEnvelopeBytes: 32_768 };
    c.node.http = {
      headersTimeoutMs: 1500,
      requestTimeoutMs: 3000,
      keepAliveTimeoutMs: 1000,
      maxConnections: 6,
      maxBodyBytesInFlight: 65_536,
      rateLimits: { api: { max: 3, windowSeconds: 60 }, envelope: { max: 3, windowSeconds: 60 } },
    };
  });
  port = new URL(dev.running.baseUrl).port ? Number(new URL(dev.running.baseUrl).port) : 80;
});

afterAll(async () => {
  await dev?.running.close();
});

/** A raw TCP client from a given loopback address, recording what the server sends and when it closes. */
function rawClient(from: string): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let data = '';
    const socket = connect({ host: '127.0.0.1', port, localAddress: from });
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

/** Sends `text` one byte every `everyMs` until the socket closes or the text ends. */
async function trickle(socket: Socket, text: string, everyMs: number): Promise<void> {
  for (const ch of text) {
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(ch);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function agentFrom(localAddress: string): Agent {
  return new Agent({ localAddress });
}

describe('timeouts', () => {
  it('a client sending its headers one byte at a time is answered 408 and cut off after headersTimeoutMs', async () => {
    const c = await rawClient('127.0.0.11');
    // 200 header lines at one byte per 50 ms would take minutes.
    void trickle(c.socket, `POST /tramite/envelope HTTP/1.1\r\nHost: x\r\n${'X-Slow: loris\r\n'.repeat(200)}`, 50);
    const afterMs = await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 408/);
    expect(afterMs).toBeLessThan(15_000); // generous: closed by the timeout, not by the end of the trickle
  });

  it('a client sending its body one byte at a time is answered 408 and cut off after requestTimeoutMs', async () => {
    const c = await rawClient('127.0.0.12');
    c.socket.write(`POST /tramite/envelope HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 20000\r\n\r\n`);
    void trickle(c.socket, '<'.repeat(20_000), 50);
    const afterMs = await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 408/);
    expect(afterMs).toBeLessThan(20_000);
  });

  it('a connection that sends nothing is closed', async () => {
    const c = await rawClient('127.0.0.13');
    const afterMs = await c.closed;
    expect(afterMs).toBeLessThan(15_000);
  });
});

describe('connection cap', () => {
  it('with maxConnections open, the next connection is closed unanswered; once one closes, a new one is served', async () => {
    const server = dev.running.app.server;
    const count = (): Promise<number> => new Promise((r, j) => server.getConnections((err, n) => (err ? j(err) : r(n))));
    // Wait for connections left by earlier tests to go.
    for (let i = 0; i < 100 && (await count()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    const held = [];
    for (let i = 0; i < 6; i++) held.push(await rawClient('127.0.0.14'));
    for (let i = 0; i < 50 && (await count()) < 6; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await count()).toBe(6);

    const extra = await rawClient('127.0.0.14');
    extra.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await extra.closed;
    expect(extra.received()).toBe('');

    held[0]!.socket.destroy();
    await held[0]!.closed;
    for (let i = 0; i < 50 && (await count()) >= 6; i++) await new Promise((r) => setTimeout(r, 10));
    const next = await rawClient('127.0.0.14');
    next.socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await next.closed;
    expect(next.received()).toMatch(/^HTTP\/1\.1 200/);
    for (const h of held) h.socket.destroy();
  });
});

describe('request-body bytes in flight', () => {
  it('while slow bodies hold the budget, a body that declares more is answered 503 + Retry-After with a SOAP Fault, unread', async () => {
    const slow = await rawClient('127.0.0.15');
    slow.socket.write(`POST /tramite/envelope HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 30000\r\n\r\n<a>`);
    const slow2 = await rawClient('127.0.0.15');
    slow2.socket.write(`POST /tramite/envelope HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 30000\r\n\r\n<a>`);
    await new Promise((r) => setTimeout(r, 200));

    const agent = agentFrom('127.0.0.15');
    const res = await request(`${dev.running.baseUrl}/tramite/envelope`, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: '<x/>'.repeat(2000),
    });
    const text = await res.body.text();
    expect(res.statusCode).toBe(503);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(text).toContain('Fault');
    expect(text).toContain('EGOV_IT_300');
    expect(text).toContain('TRAMITE_ERR_BUSY');

    slow.socket.destroy();
    slow2.socket.destroy();
    await Promise.all([slow.closed, slow2.closed]);
    await new Promise((r) => setTimeout(r, 100));
    // The bytes are given back: the same body is now read (and refused for what it is, not for room).
    const again = await request(`${dev.running.baseUrl}/tramite/envelope`, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: '<x/>'.repeat(2000),
    });
    await again.body.text();
    expect(again.statusCode).not.toBe(503);
    await agent.close();
  });

  it('a chunked body (no Content-Length) is counted as it arrives and refused 503 when the budget runs out', async () => {
    const slow = await rawClient('127.0.0.16');
    slow.socket.write(`POST /tramite/envelope HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 30000\r\n\r\n<a>`);
    const slow2 = await rawClient('127.0.0.16');
    slow2.socket.write(`POST /tramite/envelope HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 30000\r\n\r\n<a>`);
    await new Promise((r) => setTimeout(r, 200));
    const chunked = await rawClient('127.0.0.16');
    const chunk = 'x'.repeat(8000);
    chunked.socket.write(
      `POST /tramite/envelope HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n`,
    );
    for (let i = 0; i < 50 && !chunked.received(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(chunked.received()).toMatch(/^HTTP\/1\.1 503/);
    expect(chunked.received()).toMatch(/retry-after: \d+/i);
    for (const c of [slow, slow2, chunked]) c.socket.destroy();
  });
});

describe('rate limits', () => {
  it('the envelope endpoint answers the 4th envelope in the window from one address 429 + Retry-After with a SOAP Fault', async () => {
    const agent = agentFrom('127.0.0.17');
    const statuses: number[] = [];
    let last = { headers: {} as Record<string, unknown>, text: '' };
    for (let i = 0; i < 4; i++) {
      const res = await request(`${dev.running.baseUrl}/tramite/envelope`, {
        dispatcher: agent,
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: '<not-an-envelope/>',
      });
      statuses.push(res.statusCode);
      last = { headers: res.headers, text: await res.body.text() };
    }
    expect(
      statuses.slice(0, 3).every((s) => s !== 429),
      String(statuses),
    ).toBe(true);
    expect(statuses[3]).toBe(429);
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(last.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(last.text).toContain('Fault');
    expect(last.text).toContain('TRAMITE_ERR_RATE_LIMITED');

    // Another address has its own allowance.
    const other = agentFrom('127.0.0.18');
    const res = await request(`${dev.running.baseUrl}/tramite/envelope`, {
      dispatcher: other,
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: '<not-an-envelope/>',
    });
    await res.body.text();
    expect(res.statusCode).not.toBe(429);
    await Promise.all([agent.close(), other.close()]);
  });

  it('the back-office API answers a caller its 4th request in the window 429 + Retry-After, and another party is not affected', async () => {
    const get = async (party: string) => {
      const res = await request(`${dev.running.baseUrl}/api/v1/messages`, { headers: { authorization: `Bearer ${dev.tokens[party]}` } });
      return {
        status: res.statusCode,
        retryAfter: res.headers['retry-after'],
        json: (await res.body.json()) as { error?: { code: string } },
      };
    };
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await get(A));
    expect(seen.slice(0, 3).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(seen[3]!.status).toBe(429);
    expect(seen[3]!.json.error?.code).toBe('TRAMITE_ERR_RATE_LIMITED');
    expect(Number(seen[3]!.retryAfter)).toBeGreaterThan(0);
    expect((await get(B)).status).toBe(200);
  });
});
