/**
 * What TLS costs a peer connection, measured against a running node's listener as a peer connects to
 * it (its client certificate, the pinned CA): a full mutual-TLS handshake, a resumed one (the session
 * ticket of an earlier connection), and a request on a connection kept alive, which pays no handshake.
 * Wall-clock ms each, the medians of `rounds` sequential tries; the client's CPU is in the same process.
 */
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { Agent, request } from 'undici';
import { percentile } from './bench-stats.js';

export interface HandshakeCost {
  readonly rounds: number;
  readonly protocol: string;
  readonly fullMs: number;
  readonly resumedMs: number;
  /** How many of the resumed tries the server really resumed. */
  readonly resumedRate: number;
  readonly keepAliveRequestMs: number;
  readonly newConnectionRequestMs: number;
}

export async function measureHandshakes(
  baseUrl: string,
  tls: { ca: string; cert: string; key: string },
  rounds = 200,
): Promise<HandshakeCost> {
  const { hostname, port } = new URL(baseUrl);
  const options: ConnectionOptions = { host: hostname, port: Number(port), servername: 'localhost', ...tls };
  const full: number[] = [];
  const resumed: number[] = [];
  let reused = 0;
  let protocol = '';
  let session: Buffer | undefined;
  for (let i = 0; i < rounds; i++) {
    const a = await handshake(options);
    full.push(a.ms);
    protocol = a.protocol;
    session = a.session ?? session;
    if (!session) continue;
    const b = await handshake({ ...options, session });
    resumed.push(b.ms);
    if (b.reused) reused += 1;
  }
  const keepAlive = new Agent({ connect: tls, keepAliveTimeout: 30_000 });
  const fresh: number[] = [];
  const kept: number[] = [];
  try {
    await timedGet(`${baseUrl}/health`, keepAlive); // opens the connection
    for (let i = 0; i < rounds; i++) kept.push(await timedGet(`${baseUrl}/health`, keepAlive));
    for (let i = 0; i < Math.min(rounds, 100); i++) {
      const once = new Agent({ connect: tls, pipelining: 0 });
      fresh.push(await timedGet(`${baseUrl}/health`, once));
      await once.close();
    }
  } finally {
    await keepAlive.close();
  }
  const median = (xs: number[]) => percentile(Float64Array.from(xs).sort(), 50);
  return {
    rounds,
    protocol,
    fullMs: median(full),
    resumedMs: median(resumed),
    resumedRate: resumed.length ? reused / resumed.length : 0,
    keepAliveRequestMs: median(kept),
    newConnectionRequestMs: median(fresh),
  };
}

/** One handshake, to 'secureConnect'; then waits briefly for the TLS 1.3 session ticket, which comes after. */
function handshake(options: ConnectionOptions): Promise<{ ms: number; reused: boolean; protocol: string; session?: Buffer }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    let ms = 0;
    let session: Buffer | undefined;
    const socket: TLSSocket = connect(options, () => {
      ms = Number(process.hrtime.bigint() - start) / 1e6;
      const reused = socket.isSessionReused();
      const protocol = socket.getProtocol() ?? '';
      const finish = () => {
        socket.destroy();
        resolve({ ms, reused, protocol, ...(session ? { session } : {}) });
      };
      if (session || reused) finish();
      else {
        socket.once('session', (s: Buffer) => {
          session = s;
          finish();
        });
        setTimeout(finish, 200);
      }
    });
    socket.on('session', (s: Buffer) => (session = s));
    socket.once('error', reject);
  });
}

async function timedGet(url: string, dispatcher: Agent): Promise<number> {
  const start = process.hrtime.bigint();
  const res = await request(url, { dispatcher });
  await res.body.dump();
  return Number(process.hrtime.bigint() - start) / 1e6;
}
