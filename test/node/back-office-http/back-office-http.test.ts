/**
 * The client for the node's own parties' servers (back offices, status webhooks) against a real
 * loopback server: one keep-alive Agent, the answer read within its bound (or drained and dropped),
 * and failures that read the same for every caller.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BackOfficeHttp, type BackOfficePost } from '../../../src/node/back-office-http/back-office-http.js';

class LoopbackServer {
  connections = 0;
  readonly bodies: string[] = [];
  readonly server: Server;
  constructor(answer: (res: ServerResponse) => void) {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        this.bodies.push(body);
        answer(res);
      });
    });
    this.server.on('connection', () => this.connections++);
  }
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/inbox`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

const servers: LoopbackServer[] = [];
const clients: BackOfficeHttp[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function server(answer: (res: ServerResponse) => void): Promise<{ server: LoopbackServer; url: string }> {
  const s = new LoopbackServer(answer);
  servers.push(s);
  return { server: s, url: await s.start() };
}

function client(opts: ConstructorParameters<typeof BackOfficeHttp>[0] = {}): BackOfficeHttp {
  const c = new BackOfficeHttp(opts);
  clients.push(c);
  return c;
}

const post = (url: string, over: Partial<BackOfficePost> = {}): BackOfficePost => ({
  url,
  source: `back office at ${url}`,
  body: '{"id":"x"}',
  headers: { 'content-type': 'application/json' },
  timeoutMs: 5000,
  maxAnswerBytes: 1024,
  ...over,
});

const big = (res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'application/xml' });
  res.end(Buffer.alloc(64 * 1024, 0x61));
};

describe('the back-office HTTP client', () => {
  it('posts the body and returns status, content type and text, over one kept-alive connection', async () => {
    const { server: s, url } = await server((res) => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end('<ok/>');
    });
    const c = client({ connectionsPerOrigin: 1 });
    for (let i = 0; i < 3; i++) expect(await c.post(post(url))).toEqual({ status: 200, contentType: 'application/xml', text: '<ok/>' });
    expect(s.bodies).toEqual(['{"id":"x"}', '{"id":"x"}', '{"id":"x"}']);
    expect(s.connections).toBe(1);
  });

  it('leaves what a status means to the caller: a 500 is an answer, not an error', async () => {
    const { url } = await server((res) => {
      res.writeHead(500);
      res.end('down');
    });
    expect(await client().post(post(url))).toMatchObject({ status: 500, text: 'down' });
  });

  it('refuses an answer over the bound with TRAMITE_ERR_RESPONSE_TOO_LARGE, or drops it when told to discard', async () => {
    const { url } = await server(big);
    await expect(client().post(post(url))).rejects.toMatchObject({ code: 'TRAMITE_ERR_RESPONSE_TOO_LARGE' });
    expect(await client().post(post(url, { discardAnswer: true }))).toEqual({ status: 200, contentType: 'application/xml', text: '' });
  });

  it('names the server it could not reach (TRAMITE_ERR_PEER_UNREACHABLE), and one that never answers after its timeout', async () => {
    const { server: s, url } = await server(() => undefined);
    await expect(client().post(post(url, { timeoutMs: 300, source: 'webhook at x' }))).rejects.toMatchObject({
      code: 'TRAMITE_ERR_PEER_UNREACHABLE',
      message: expect.stringContaining('webhook at x could not be reached'),
    });
    await s.stop();
    servers.splice(servers.indexOf(s), 1);
    await expect(client().post(post(url))).rejects.toMatchObject({ code: 'TRAMITE_ERR_PEER_UNREACHABLE' });
  });
});
