import { connect } from 'node:net';

/**
 * How a launcher knows its child server is ready for clients:
 *  - `port`: something accepts a TCP connection on host:port;
 *  - `line`: the child prints a line matching `match` on its stdout or stderr;
 *  - `probe`: the launcher's own check (a protocol greeting, a query) answers true. A probe that
 *    throws counts as "not yet", its message kept for the error if the deadline passes.
 */
export type Readiness =
  | { readonly kind: 'port'; readonly port: number; readonly host?: string }
  | { readonly kind: 'line'; readonly match: RegExp }
  | { readonly kind: 'probe'; readonly probe: () => Promise<boolean>; readonly what: string };

/** Words for an error message: what the launcher was waiting for. */
export function describeReadiness(ready: Readiness): string {
  switch (ready.kind) {
    case 'port':
      return `a connection on ${ready.host ?? '127.0.0.1'}:${ready.port}`;
    case 'line':
      return `a line matching ${String(ready.match)}`;
    case 'probe':
      return ready.what;
  }
}

/** Whether a TCP connection to host:port is accepted now; gives up after `timeoutMs`. */
export function acceptsConnections(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
