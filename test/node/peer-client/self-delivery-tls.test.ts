/**
 * Delivery to a party of this node's own goes to its own envelope URL over TLS, accepting back only its
 * own certificate. A new connection after an idle one closed must still see that certificate: a
 * resumed TLS session shows none, and the node would refuse itself for good (every attempt
 * TRAMITE_ERR_PEER_TLS). The node's real TLS material, from tramite init's files.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_XML_LIMITS } from '../../../envelopes/xml/hardened-xml.js';
import { initNode } from '../../../src/config/init-node.js';
import { loadConfig } from '../../../src/config/load-config.js';
import type { TlsMaterial } from '../../../src/config/config-types.js';
import { PeerClient } from '../../../src/node/peer-client/peer-client.js';

let dir: string;
let server: Server;
let url: string;
let tls: TlsMaterial;
const sockets = { opened: 0, closed: 0, resumed: 0 };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-self-tls-'));
  const config = loadConfig(initNode({ dir, parties: ['SPC/ComuneA'], port: 0 }).configFile);
  tls = config.node.listen.tls!.material;
  server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(202).end());
  });
  // Idle connections close quickly (the server's Keep-Alive hint is what the client goes by).
  server.keepAliveTimeout = 100;
  server.on('secureConnection', (socket) => {
    sockets.opened++;
    if (socket.isSessionReused()) sockets.resumed++;
    socket.on('close', () => sockets.closed++);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/tramite/envelope`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('delivery to itself over TLS', () => {
  it('still recognises its own certificate on a new connection after the idle one closed', async () => {
    const client = new PeerClient({ maxAnswerBytes: 1024 * 1024, keepAliveMs: 50, self: { url: () => url, tls } });
    try {
      const send = () => client.exchange(url, '<envelope/>', { soapAction: 'Servizio', expectsReply: false, limits: DEFAULT_XML_LIMITS });
      for (let i = 0; i < 3; i++) {
        await expect(send()).resolves.toBeUndefined();
        // Wait for the idle connection to close, so the next exchange opens a new one.
        const closed = sockets.closed;
        await expect.poll(() => sockets.closed, { timeout: 5000, interval: 20 }).toBeGreaterThan(closed);
      }
      expect(sockets.opened).toBe(3);
      expect(sockets.resumed).toBe(0);
    } finally {
      await client.close();
    }
  });
});
