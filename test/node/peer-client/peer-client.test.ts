/**
 * The peer client against real loopback servers: one Agent per peer, reused across exchanges; and
 * the one mapping of what a peer can do wrong into the bus's errors — silent (timeout), unreachable,
 * busy, failing, refusing with a Fault, answering too much — retriable or final.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildFaultEnvelope, faultElement } from '../../../envelopes/busta/fault.js';
import { DEFAULT_XML_LIMITS } from '../../../envelopes/xml/hardened-xml.js';
import { DeliveryError } from '../../../src/core/errors.js';
import { PeerClient } from '../../../src/node/peer-client/peer-client.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A loopback peer: counts the connections and requests it gets, answers with `handler`. */
class LoopbackPeer {
  connections = 0;
  requests = 0;
  readonly server: Server;
  constructor(handler: Handler) {
    this.server = createServer((req, res) => {
      this.requests++;
      req.resume();
      req.on('end', () => handler(req, res));
    });
    this.server.on('connection', () => this.connections++);
  }
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/tramite/envelope`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

const running: LoopbackPeer[] = [];
const clients: PeerClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

async function peer(handler: Handler): Promise<{ peer: LoopbackPeer; url: string }> {
  const p = new LoopbackPeer(handler);
  running.push(p);
  return { peer: p, url: await p.start() };
}

function client(opts: { timeoutMs?: number; maxAnswerBytes?: number; connectionsPerPeer?: number } = {}): PeerClient {
  const c = new PeerClient({ ...opts, maxAnswerBytes: opts.maxAnswerBytes ?? 1024 * 1024 });
  clients.push(c);
  return c;
}

const answer =
  (status: number, body = '', type = 'text/xml'): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  };

const exchange = (c: PeerClient, url: string, expectsReply = true): Promise<unknown> =>
  c.exchange(url, '<envelope/>', { soapAction: 'Servizio', expectsReply, limits: DEFAULT_XML_LIMITS });

/** What an exchange threw, as a DeliveryError (fails the test when it did not throw one). */
async function refusal(promise: Promise<unknown>): Promise<DeliveryError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeliveryError);
  return err as DeliveryError;
}

const egovFault = (code: string): string =>
  buildFaultEnvelope(
    faultElement(
      {
        contestoCodifica: 'ErroreIntestazione',
        codiceEccezione: code,
        rilevanza: 'GRAVE',
        posizione: 'IntestazioneMessaggio/Servizio',
        message: `${code} - no such service`,
        reason: 'test',
      },
      { now: new Date('2026-12-06T10:00:00Z'), porta: 'PortaTest' },
    ),
  );

describe('the peer client', () => {
  it('keeps one Agent per peer and reuses its connection across exchanges', async () => {
    const a = await peer(answer(202));
    const b = await peer(answer(202));
    const c = client({ connectionsPerPeer: 1 });
    for (let i = 0; i < 3; i++) expect(await exchange(c, a.url, false)).toBeUndefined();
    expect(a.peer.requests).toBe(3);
    expect(a.peer.connections).toBe(1);
    expect(c.agentFor(a.url)).toBe(c.agentFor(`${new URL(a.url).origin}/other/path`));
    expect(c.agentFor(b.url)).not.toBe(c.agentFor(a.url));
    await exchange(c, b.url, false);
    expect(b.peer.connections).toBe(1);
  });

  it('keeps connections alive with its default limits too: fewer connections than exchanges', async () => {
    const { peer: p, url } = await peer(answer(202));
    const c = client();
    for (let i = 0; i < 6; i++) await exchange(c, url, false);
    expect(p.requests).toBe(6);
    expect(p.connections).toBeLessThan(6);
  });

  it('turns a peer that never answers into a retriable TRAMITE_ERR_PEER_UNREACHABLE after its timeout', async () => {
    const { url } = await peer(() => undefined);
    const started = Date.now();
    const err = await refusal(exchange(client({ timeoutMs: 300 }), url));
    expect(err).toMatchObject({ code: 'TRAMITE_ERR_PEER_UNREACHABLE', retriable: true });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('turns a closed port into a retriable TRAMITE_ERR_PEER_UNREACHABLE', async () => {
    const { peer: p, url } = await peer(answer(200));
    await p.stop();
    running.splice(running.indexOf(p), 1);
    expect(await refusal(exchange(client(), url))).toMatchObject({ code: 'TRAMITE_ERR_PEER_UNREACHABLE', retriable: true });
  });

  it('retries a busy peer (503), whatever its body says', async () => {
    const { url } = await peer(answer(503, egovFault('EGOV_IT_105')));
    const err = await refusal(exchange(client(), url));
    expect(err).toMatchObject({ code: 'TRAMITE_ERR_PEER_UNREACHABLE', retriable: true });
    expect(err.message).toContain('busy');
  });

  it('retries a 5xx without a body, and gives up at once on a 4xx without one', async () => {
    const five = await peer(answer(500));
    const four = await peer(answer(404));
    expect(await refusal(exchange(client(), five.url))).toMatchObject({ code: 'TRAMITE_ERR_PEER_UNREACHABLE', retriable: true });
    expect(await refusal(exchange(client(), four.url))).toMatchObject({ code: 'TRAMITE_ERR_RECEIPT_INVALID', retriable: false });
  });

  it('waits for a reply still pending (202 without a body) when one is due', async () => {
    const { url } = await peer(answer(202));
    const err = await refusal(exchange(client(), url, true));
    expect(err).toMatchObject({ code: 'TRAMITE_ERR_PEER_UNREACHABLE', retriable: true });
    expect(err.message).toContain('reply pending');
  });

  it("decodes a peer's SOAP Fault into its EGOV_IT code, final", async () => {
    const { url } = await peer(answer(500, egovFault('EGOV_IT_105')));
    const err = await refusal(exchange(client(), url));
    expect(err).toMatchObject({ code: 'EGOV_IT_105', retriable: false });
    expect(err.eccezioni).toEqual([{ codiceEccezione: 'EGOV_IT_105', posizione: '' }]);
  });

  it('refuses an answer that is not an envelope: final after a 4xx, retried after a 5xx', async () => {
    const four = await peer(answer(400, 'not xml at all'));
    const five = await peer(answer(502, '<html>bad gateway</html>', 'text/html'));
    expect(await refusal(exchange(client(), four.url))).toMatchObject({ code: 'TRAMITE_ERR_RECEIPT_INVALID', retriable: false });
    expect(await refusal(exchange(client(), five.url))).toMatchObject({ code: 'TRAMITE_ERR_RECEIPT_INVALID', retriable: true });
  });

  it('refuses an answer larger than the bound without reading it whole', async () => {
    let written = 0;
    const { url } = await peer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      const chunk = Buffer.alloc(64 * 1024, 0x3c);
      const pump = (): void => {
        while (written < 64 * 1024 * 1024 && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      pump();
    });
    const err = await refusal(exchange(client({ maxAnswerBytes: 256 * 1024 }), url));
    expect(err).toMatchObject({ code: 'TRAMITE_ERR_RESPONSE_TOO_LARGE', retriable: true });
    await new Promise((r) => setTimeout(r, 100));
    expect(written).toBeLessThan(32 * 1024 * 1024);
  });

  it('contacts no peer once closed', async () => {
    const { peer: p, url } = await peer(answer(202));
    const c = client();
    await exchange(c, url, false);
    await c.close();
    expect(await refusal(exchange(c, url, false))).toMatchObject({ code: 'TRAMITE_ERR_PEER_UNREACHABLE', retriable: true });
    expect(p.requests).toBe(1);
  });
});
