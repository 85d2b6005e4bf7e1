import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, freePorts } from '../../src/daemons/free-port.js';

describe('freePort', () => {
  it('gives a loopback port that can be listened on at once', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(1023);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('gives distinct ports when asked for several', async () => {
    const ports = await freePorts(4);
    expect(ports).toHaveLength(4);
    expect(new Set(ports).size).toBe(4);
  });

  it.runIf(existsSync('/proc/sys/net/ipv4/ip_local_port_range'))(
    'picks ports below the range the OS gives outgoing connections, so a client cannot take one before it is bound',
    async () => {
      const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
      for (const port of await freePorts(8)) expect(port).toBeLessThan(ephemeralStart);
    },
  );
});
