/**
 * A TCP proxy on 127.0.0.1 that sits between an HTTP client and its server, for fault tests that must
 * pick the exact moment of a failure: it forwards each accepted connection to the target, counts
 * the bytes of the first HTTP request and response on it, and, by the policy in force when the
 * connection was accepted, can
 *  - hold the server's response (read and kept, never forwarded — nor the server's FIN), or
 *  - forward only the first N bytes of the request, then stop reading from the client (backpressure,
 *    as on a stalled path: what was already read past N is dropped, the rest stays in the client's
 *    socket buffers or its own memory).
 * Waiters (`until`, `whenResponsesHeld`, `whenRequestsStalled`) resolve when the traffic reaches a
 * given point, so a test acts on what went over the wire, not on timings. A client closing its side
 * is mirrored to the server (FIN after what was forwarded; a reset as a reset); `cut()` tears every
 * connection down at once.
 *
 * Only the first request/response of a connection is measured: in the holding modes a connection
 * never completes its first exchange, so the client never reuses it.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export interface ProxyPolicy {
  /** Request bytes forwarded per connection before the proxy stalls it (Infinity: all). */
  readonly forwardRequestBytes: number;
  /** Whether the server's bytes reach the client (false: held in the proxy). */
  readonly forwardResponse: boolean;
}

export const PASS_THROUGH: ProxyPolicy = { forwardRequestBytes: Infinity, forwardResponse: true };

/** What the proxy saw of one connection. */
export interface ProxiedConnection {
  readonly id: number;
  readonly policy: ProxyPolicy;
  /** Request bytes read from the client, and passed on to the server. */
  requestBytesRead: number;
  requestBytesForwarded: number;
  /** Size of the first HTTP request (head + Content-Length body), once its head was read. */
  requestLength: number | undefined;
  /** Response bytes read from the server, and passed on to the client. */
  responseBytesRead: number;
  responseBytesForwarded: number;
  /** Size of the first HTTP response (head + Content-Length body), once its head was read. */
  responseLength: number | undefined;
  /** Status code of the first response, once its head was read. */
  responseStatus: number | undefined;
  /** The client stopped being read: it has more to send than the policy lets through. */
  stalled: boolean;
  closed: boolean;
}

interface Waiter {
  readonly check: () => boolean;
  readonly resolve: () => void;
}

export class InterposingProxy {
  readonly connections: ProxiedConnection[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly waiters = new Set<Waiter>();
  private policy: ProxyPolicy = PASS_THROUGH;
  private target: { host: string; port: number } | undefined;

  private constructor(private readonly server: Server) {}

  /** Listens on a free loopback port; the target may be set later (before the first connection). */
  static async start(target?: { host?: string; port: number }): Promise<InterposingProxy> {
    const server = createServer({ allowHalfOpen: true });
    const proxy = new InterposingProxy(server);
    if (target) proxy.setTarget(target.port, target.host);
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  setTarget(port: number, host = '127.0.0.1'): void {
    this.target = { host, port };
  }

  /** Connections accepted from now on follow `policy`; those already open keep theirs. */
  setPolicy(policy: ProxyPolicy): void {
    this.policy = policy;
  }

  passThrough(): void {
    this.setPolicy(PASS_THROUGH);
  }

  /** Requests go through whole; every response is kept in the proxy. */
  holdResponses(): void {
    this.setPolicy({ forwardRequestBytes: Infinity, forwardResponse: false });
  }

  /** Each request gets only its first `bytes` bytes through, then the client is no longer read. */
  stallRequestsAfter(bytes: number): void {
    this.setPolicy({ forwardRequestBytes: bytes, forwardResponse: true });
  }

  /** Connections still open at either end. */
  openConnections(): ProxiedConnection[] {
    return this.connections.filter((c) => !c.closed);
  }

  /** Resolves once `check` holds; it is tested now and after every bit of traffic. */
  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add({ check, resolve }));
  }

  /** `n` connections whose whole first response reached the proxy while none of it went on. */
  whenResponsesHeld(n: number): Promise<ProxiedConnection[]> {
    const held = () =>
      this.connections.filter(
        (c) =>
          !c.policy.forwardResponse &&
          c.responseLength !== undefined &&
          c.responseBytesRead >= c.responseLength &&
          c.responseBytesForwarded === 0,
      );
    return this.until(() => held().length >= n).then(held);
  }

  /** `n` connections stalled part-way through their request's body. */
  whenRequestsStalled(n: number): Promise<ProxiedConnection[]> {
    const stalled = () =>
      this.connections.filter((c) => c.stalled && c.requestLength !== undefined && c.requestBytesForwarded < c.requestLength);
    return this.until(() => stalled().length >= n).then(stalled);
  }

  /** Tears down every connection, both ends, at once. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private notify(): void {
    for (const w of [...this.waiters]) {
      if (w.check()) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
  }

  private accept(client: Socket): void {
    const target = this.target;
    if (!target) {
      client.destroy();
      return;
    }
    const c: ProxiedConnection = {
      id: this.connections.length + 1,
      policy: this.policy,
      requestBytesRead: 0,
      requestBytesForwarded: 0,
      requestLength: undefined,
      responseBytesRead: 0,
      responseBytesForwarded: 0,
      responseLength: undefined,
      responseStatus: undefined,
      stalled: false,
      closed: false,
    };
    this.connections.push(c);
    const upstream = connect({ port: target.port, host: target.host, allowHalfOpen: true });
    this.sockets.add(client);
    this.sockets.add(upstream);
    const requestHead = new HeadReader();
    const responseHead = new HeadReader();
    const pending: Buffer[] = []; // request bytes read before the upstream connected

    const forwardRequest = (chunk: Buffer) => {
      if (upstream.connecting) pending.push(chunk);
      else if (!upstream.destroyed) upstream.write(chunk);
    };
    upstream.once('connect', () => {
      for (const b of pending.splice(0)) upstream.write(b);
      if (client.readableEnded && !upstream.writableEnded) upstream.end();
    });

    client.on('data', (chunk: Buffer) => {
      c.requestBytesRead += chunk.length;
      const head = requestHead.feed(chunk);
      if (head && c.requestLength === undefined) c.requestLength = head.headLength + head.contentLength;
      const room = c.policy.forwardRequestBytes - c.requestBytesForwarded;
      const through = room >= chunk.length ? chunk : chunk.subarray(0, Math.max(0, room));
      if (through.length > 0) {
        forwardRequest(through);
        c.requestBytesForwarded += through.length;
      }
      if (through.length < chunk.length) {
        // The rest of this chunk is dropped and the client is no longer read: what it still has to
        // send stays in its own buffers, as behind a stalled path.
        c.stalled = true;
        client.pause();
      }
      this.notify();
    });
    upstream.on('data', (chunk: Buffer) => {
      c.responseBytesRead += chunk.length;
      const head = responseHead.feed(chunk);
      if (head && c.responseLength === undefined) {
        c.responseLength = head.headLength + head.contentLength;
        c.responseStatus = head.status;
      }
      if (c.policy.forwardResponse && !client.destroyed) {
        client.write(chunk);
        c.responseBytesForwarded += chunk.length;
      }
      this.notify();
    });

    // A side that finishes is mirrored to the other; the server's FIN is held with its bytes.
    client.on('end', () => {
      if (!upstream.connecting && !upstream.writableEnded) upstream.end();
      // The client is gone: a held response will never be delivered, so this side closes too.
      if (!c.policy.forwardResponse && !client.writableEnded) client.end();
    });
    upstream.on('end', () => {
      if (c.policy.forwardResponse && !client.writableEnded) client.end();
    });
    // A reset (or any error) on one side becomes a reset on the other.
    const reset = () => {
      for (const s of [client, upstream]) if (!s.destroyed) s.resetAndDestroy();
    };
    client.on('error', reset);
    upstream.on('error', reset);
    const onClose = (s: Socket) => {
      this.sockets.delete(s);
      c.closed = client.destroyed && upstream.destroyed;
      this.notify();
    };
    client.on('close', () => onClose(client));
    upstream.on('close', () => onClose(upstream));
  }
}

/** Reads an HTTP/1.1 message head off the first bytes of a stream: its size, Content-Length, status. */
class HeadReader {
  private buf = Buffer.alloc(0);
  private done: { headLength: number; contentLength: number; status: number | undefined } | undefined;

  feed(chunk: Buffer): { headLength: number; contentLength: number; status: number | undefined } | undefined {
    if (this.done) return this.done;
    this.buf = Buffer.concat([this.buf, chunk]);
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const head = this.buf.subarray(0, end).toString('latin1');
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
    this.done = { headLength: end + 4, contentLength: length ? Number(length) : 0, status: status ? Number(status) : undefined };
    this.buf = Buffer.alloc(0);
    return this.done;
  }
}
