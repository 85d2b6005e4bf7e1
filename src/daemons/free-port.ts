import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that nobody listens on right now: the OS picks it (listen on port 0) and it
 * is released at once. Another process may take it before the caller binds it, so a launcher that
 * cannot listen on port 0 itself retries with another port when the bind fails (see child-daemon.ts).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** `count` distinct free loopback ports (for a server that listens on several). */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}
