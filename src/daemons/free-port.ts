import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Where Linux starts handing out ports to outgoing connections (and to listen on port 0), when /proc cannot say. */
const DEFAULT_EPHEMERAL_START = 32768;
/** Lowest port handed out: clear of well-known services and of the ports people usually pick by hand. */
const LOWEST = 20000;
/** Ports tried below the ephemeral range before leaving the choice to the OS. */
const TRIES = 32;

/**
 * A TCP port on 127.0.0.1 that nobody listens on right now, released at once for the caller to bind.
 *
 * It is picked at random below the OS's ephemeral range: a port the OS picks (listen on port 0) comes
 * from the same range as the local ports of outgoing connections, so a client connecting anywhere in
 * the meantime (Redis, HTTP keep-alive) could take it before the caller binds it, which parallel test
 * files did now and then (EADDRINUSE). Another process may still take it, so a launcher that cannot
 * listen on port 0 itself retries with another port when the bind fails (see child-daemon.ts).
 */
export async function freePort(): Promise<number> {
  const below = ephemeralRangeStart();
  if (below > LOWEST) {
    for (let i = 0; i < TRIES; i++) {
      const candidate = LOWEST + Math.floor(Math.random() * (below - LOWEST));
      if ((await listenOnce(candidate)) !== undefined) return candidate;
    }
  }
  const port = await listenOnce(0);
  if (port === undefined) throw new RangeError('no free TCP port on 127.0.0.1');
  return port;
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

/** Listens on `port` and closes again: the port bound, or undefined when it is taken. */
function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', () => resolve(undefined));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const address = probe.address();
      const bound = typeof address === 'object' && address ? address.port : undefined;
      probe.close(() => resolve(bound));
    });
  });
}

function ephemeralRangeStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 0 ? first : DEFAULT_EPHEMERAL_START;
  } catch {
    return DEFAULT_EPHEMERAL_START;
  }
}
