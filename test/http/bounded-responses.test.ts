/**
 * Every answer the node reads from another server is read within a byte limit. A loopback server that
 * answers 600 MB (streamed in 1 MiB chunks as the socket drains, never built in memory) is refused soon
 * after the limit, the stream is cut (the server gets to write only a little of it) and the node's
 * memory does not follow: for a peer's reply, a back office's answer, and the reader itself.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBoundedBody, ResponseTooLargeError } from '../../src/core/bounded-body.js';
import { BackOfficeHttp } from '../../src/node/back-office-http/back-office-http.js';
import { deliverToBackOffice } from '../../src/node/dispatch/back-office-client.js';
import { startDevNode, type DevNode } from './dev-node.js';

const HUGE = 600 * 1024 * 1024;
const CHUNK = Buffer.alloc(1024 * 1024, 0x3c); // '<' repeated: a body no parser gets far in
const MB = 1024 * 1024;

/** Answers every request with up to 600 MB; `written` is how much it got to send in total. */
class HugeAnswerServer {
  written = 0;
  requests = 0;
  private readonly server: Server;
  constructor(opts: { declareLength: boolean; contentType: string }) {
    this.server = createServer((req, res) => {
      this.requests++;
      req.resume();
      res.writeHead(200, { 'content-type': opts.contentType, ...(opts.declareLength ? { 'content-length': String(HUGE) } : {}) });
      let sent = 0;
      const pump = (): void => {
        while (sent < HUGE && !res.destroyed) {
          sent += CHUNK.length;
          this.written += CHUNK.length;
          if (!res.write(CHUNK)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      res.on('close', () => undefined);
      pump();
    });
  }
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

function rssMb(): number {
  return process.memoryUsage().rss / MB;
}

describe('the bounded reader', () => {
  it('refuses a streamed 600 MB answer soon after the limit and cuts the stream', async () => {
    const huge = new HugeAnswerServer({ declareLength: false, contentType: 'text/xml' });
    const url = await huge.start();
    const before = rssMb();
    const res = await request(url);
    const err = await readBoundedBody(res.body, { maxBytes: 5 * MB, source: 'test server' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResponseTooLargeError);
    expect((err as ResponseTooLargeError).code).toBe('TRAMITE_ERR_RESPONSE_TOO_LARGE');
    await new Promise((r) => setTimeout(r, 200));
    expect(huge.written).toBeLessThan(100 * MB);
    expect(rssMb() - before).toBeLessThan(150);
    await huge.stop();
  });

  it('refuses an answer that declares 600 MB before reading any of it', async () => {
    const huge = new HugeAnswerServer({ declareLength: true, contentType: 'text/xml' });
    const url = await huge.start();
    const res = await request(url);
    const err = await readBoundedBody(res.body, {
      maxBytes: 5 * MB,
      source: 'test server',
      declaredLength: res.headers['content-length'],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResponseTooLargeError);
    expect((err as Error).message).toContain(`${HUGE} bytes`);
    await new Promise((r) => setTimeout(r, 200));
    expect(huge.written).toBeLessThan(100 * MB);
    await huge.stop();
  });
});

describe('a back office answering 600 MB', () => {
  it('is refused with TRAMITE_ERR_RESPONSE_TOO_LARGE, and memory stays low', async () => {
    const huge = new HugeAnswerServer({ declareLength: false, contentType: 'application/xml' });
    const url = await huge.start();
    const http = new BackOfficeHttp();
    const before = rssMb();
    const err = await deliverToBackOffice(
      url,
      { id: 'x', from: 'SPC/A', to: 'SPC/B', service: 'S', profile: 'sincrono', payload: '<a/>' },
      30_000,
      5 * MB,
      http,
    ).catch((e: unknown) => e);
    await http.close();
    expect((err as { code?: string }).code).toBe('TRAMITE_ERR_RESPONSE_TOO_LARGE');
    await new Promise((r) => setTimeout(r, 200));
    expect(huge.written).toBeLessThan(100 * MB);
    expect(rssMb() - before).toBeLessThan(150);
    await huge.stop();
  });
});

describe('a peer answering 600 MB to an envelope', () => {
  let dev: DevNode;
  let huge: HugeAnswerServer;

  beforeAll(async () => {
    huge = new HugeAnswerServer({ declareLength: false, contentType: 'text/xml' });
    const url = await huge.start();
    dev = await startDevNode(['SPC/ComuneA'], (c) => {
      c.peers = [{ name: 'huge', url, parties: ['SPC/Remoto'] }];
      c.services = [{ provider: 'SPC/Remoto', name: 'Servizio', profile: 'oneway', confermaRicezione: true }];
    });
  });

  afterAll(async () => {
    await dev?.running.close();
    await huge?.stop();
  });

  it('has the delivery attempt fail with TRAMITE_ERR_RESPONSE_TOO_LARGE while the node stays small', async () => {
    const before = rssMb();
    const auth = { authorization: `Bearer ${dev.tokens['SPC/ComuneA']}` };
    const sent = await request(`${dev.running.baseUrl}/api/v1/messages`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ from: 'SPC/ComuneA', to: 'SPC/Remoto', service: 'Servizio', payload: '<a/>' }),
    });
    const { id } = (await sent.body.json()) as { id: string };
    expect(sent.statusCode).toBe(202);
    let view: { error?: { code: string } | null } = {};
    for (let i = 0; i < 300 && !view.error; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const res = await request(`${dev.running.baseUrl}/api/v1/messages/${encodeURIComponent(id)}`, { headers: auth });
      view = (await res.body.json()) as typeof view;
    }
    expect(view.error?.code).toBe('TRAMITE_ERR_RESPONSE_TOO_LARGE');
    expect(huge.requests).toBeGreaterThanOrEqual(1);
    expect(huge.written / huge.requests).toBeLessThan(100 * MB);
    expect(rssMb() - before).toBeLessThan(200);
  });
});
