/**
 * A PDND Interoperabilità simulator for tests and the demo, spoken to exactly as PDND is:
 *
 *  - `POST /token.oauth2`: client_credentials with a client assertion (client-assertion-check.ts);
 *    answers `{access_token, token_type: "Bearer", expires_in}` with an RS256 voucher (typ at+jwt) whose
 *    claims are PDND's: iss, sub = client_id, client_id, aud (the e-service audience), iat = nbf, exp =
 *    iat + the e-service's voucher lifespan, jti, purposeId, producerId, consumerId, eserviceId,
 *    descriptorId, and the assertion's digest. An "API interoperabilità" client gets a voucher for the
 *    simulator's own API (aud `<issuer>/m2m`), without purpose;
 *  - `GET /.well-known/jwks.json`: the voucher signing keys (current and recently rotated);
 *  - `GET /keys/{kid}`: a client's uploaded public key as a JWK (INTEGRITY_REST_02 / AUDIT_REST_02 lookup);
 *  - `GET /clients/{clientId}/keys`: the keys a client uploaded (whose a kid is);
 *  - `POST /tracings/submit?date=YYYY-MM-DD` (text/csv), `GET /tracings[?date=]`, `GET /tracings/{id}`:
 *    the tracing files of the tenant whose API voucher authorises the call (state PENDING for
 *    `tracingProcessingSeconds` after the upload, then COMPLETED, ERROR with its errors, or REPLACED);
 *  - `POST /simulator/rotate-key`, `POST /simulator/fail-uploads?count=N`: test controls (a new current
 *    signing key; the next N tracing uploads answered 503, as a PDND outage would).
 *
 * Request bodies are bounded (64 KiB for tokens, `maxTracingBytes` for CSVs); refusals are JSON.
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompactSign, compactVerify, createLocalJWKSet, type JWK } from 'jose';
import { type Clock, systemClock } from '../core/clock.js';
import { TramiteError } from '../core/errors.js';
import { checkClientAssertion } from './client-assertion-check.js';
import { OAuthRefusal } from './oauth-refusal.js';
import type { SimulatorRegistry } from './simulator-registry.js';
import { type TracingSubmission, TracingSubmissions } from './tracing-submissions.js';
import { VoucherSigningKeys } from './voucher-signing-keys.js';

export interface PdndSimulatorOptions {
  readonly registry: SimulatorRegistry;
  readonly host?: string;
  /** 0 (default): any free port. */
  readonly port?: number;
  /** Voucher `iss` (PDND: `interop.pagopa.it`, `uat.interop.pagopa.it`). */
  readonly issuer?: string;
  /** The client assertion `aud` accepted; default `<issuer host>/client-assertion` as PDND's `auth.…/client-assertion`. */
  readonly assertionAudience?: string;
  /** Where submitted tracing CSVs and their index are kept; absent: memory only. */
  readonly dataDir?: string;
  /** How long a rotated-out signing key stays in the JWKS (default 1 day). */
  readonly retainRotatedKeySeconds?: number;
  /** Lifespan of API interoperabilità vouchers (default 600 s). */
  readonly apiVoucherLifespanSeconds?: number;
  readonly skewSeconds?: number;
  readonly maxTracingBytes?: number;
  /** PDND processes tracing files asynchronously: for this long after its upload a file reads PENDING (default 0). */
  readonly tracingProcessingSeconds?: number;
  readonly clock?: Clock;
}

export interface PdndSimulatorEndpoints {
  readonly url: string;
  readonly tokenEndpoint: string;
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly assertionAudience: string;
  /** The aud of API interoperabilità vouchers (for tracing and /keys). */
  readonly apiAudience: string;
}

const MAX_TOKEN_REQUEST_BYTES = 64 * 1024;

class HttpRefusal extends TramiteError {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super('TRAMITE_ERR_INVALID_ARGUMENT', String(body.detail ?? body.error ?? status));
  }
}

export class PdndSimulator {
  readonly keys: VoucherSigningKeys;
  readonly tracings: TracingSubmissions;
  readonly issuer: string;
  readonly assertionAudience: string;
  readonly apiAudience: string;
  /** Token requests answered (issued or refused), for tests and the demo's output. */
  tokenRequests = 0;
  private readonly clock: Clock;
  private readonly usedJtis = new Map<string, number>();
  private failUploads = 0;
  private server: Server | undefined;

  constructor(private readonly opts: PdndSimulatorOptions) {
    this.clock = opts.clock ?? systemClock;
    this.issuer = opts.issuer ?? 'pdnd-simulator.tramite.local';
    this.assertionAudience = opts.assertionAudience ?? `auth.${this.issuer}/client-assertion`;
    this.apiAudience = `${this.issuer}/m2m`;
    this.keys = new VoucherSigningKeys(this.clock, opts.retainRotatedKeySeconds ?? 86_400);
    this.tracings = new TracingSubmissions(opts.dataDir);
  }

  async start(): Promise<PdndSimulatorEndpoints> {
    if (this.server) throw new TramiteError('TRAMITE_ERR_LIFECYCLE', 'the PDND simulator is already started');
    const server = createServer((req, res) => void this.handle(req, res));
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    this.server = server;
    const { address, port } = server.address() as AddressInfo;
    const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
    return {
      url,
      tokenEndpoint: `${url}/token.oauth2`,
      jwksUrl: `${url}/.well-known/jwks.json`,
      issuer: this.issuer,
      assertionAudience: this.assertionAudience,
      apiAudience: this.apiAudience,
    };
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Makes a new signing key current; the old one stays in the JWKS for the retention. */
  rotateSigningKey(): string {
    return this.keys.rotate();
  }

  /** The next `count` tracing uploads are answered 503 (a PDND outage, for retry tests). */
  failNextUploads(count: number): void {
    this.failUploads = count;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const correlationId = randomUUID();
    try {
      const url = new URL(req.url ?? '/', 'http://simulator');
      const route = `${req.method} ${url.pathname}`;
      if (route === 'POST /token.oauth2') return send(res, 200, await this.token(req));
      if (route === 'GET /.well-known/jwks.json') return send(res, 200, this.keys.jwks(), { 'cache-control': 'max-age=300' });
      if (req.method === 'GET' && url.pathname.startsWith('/keys/')) return send(res, 200, await this.clientKey(req, url));
      if (req.method === 'GET' && /^\/clients\/[^/]+\/keys$/.test(url.pathname)) return send(res, 200, await this.clientKeys(req, url));
      if (route === 'POST /tracings/submit') return send(res, 200, await this.submitTracing(req, url));
      if (route === 'GET /tracings') {
        const tenant = await this.apiCaller(req);
        return send(res, 200, { results: this.tracings.list(tenant, url.searchParams.get('date') ?? undefined).map((t) => this.view(t)) });
      }
      if (req.method === 'GET' && url.pathname.startsWith('/tracings/')) {
        const tenant = await this.apiCaller(req);
        const s = this.tracings.get(decodeURIComponent(url.pathname.slice('/tracings/'.length)));
        if (!s || s.tenantId !== tenant) throw new HttpRefusal(404, { status: 404, detail: 'no such tracing' });
        return send(res, 200, this.view(s));
      }
      if (route === 'POST /simulator/rotate-key') return send(res, 200, { kid: this.rotateSigningKey() });
      if (route === 'POST /simulator/fail-uploads') {
        this.failNextUploads(Number(url.searchParams.get('count') ?? '1') || 0);
        return send(res, 200, { failing: this.failUploads });
      }
      throw new HttpRefusal(404, { status: 404, detail: `no route ${route}` });
    } catch (err) {
      if (err instanceof OAuthRefusal) return send(res, err.status, err.body(correlationId));
      if (err instanceof HttpRefusal) return send(res, err.status, { ...err.body, correlationId });
      send(res, 500, { status: 500, detail: 'internal error', correlationId });
      process.stderr.write(`pdnd-simulator: ${(err as Error).stack ?? String(err)}\n`);
    }
  }

  private async token(req: IncomingMessage): Promise<Record<string, unknown>> {
    this.tokenRequests++;
    if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? ''))
      throw new OAuthRefusal('invalid_request', 'the token request must be application/x-www-form-urlencoded');
    const form = new URLSearchParams((await readBody(req, MAX_TOKEN_REQUEST_BYTES)).toString('utf8'));
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const checked = await checkClientAssertion(form, this.opts.registry, {
      audience: this.assertionAudience,
      nowSeconds: now,
      skewSeconds: this.opts.skewSeconds ?? 60,
      maxLifetimeSeconds: 24 * 3600,
      freshJti: (jti, until) => this.freshJti(jti, until, now),
    });
    const { client } = checked;
    const eservice = checked.purposeId !== undefined ? this.opts.registry.eserviceOf(checked.purposeId) : undefined;
    const lifespan = eservice?.voucherLifespanSeconds ?? this.opts.apiVoucherLifespanSeconds ?? 600;
    const claims: Record<string, unknown> = {
      iss: this.issuer,
      sub: client.clientId,
      client_id: client.clientId,
      aud: eservice?.audience ?? this.apiAudience,
      iat: now,
      nbf: now,
      exp: now + lifespan,
      jti: randomUUID(),
      consumerId: client.tenantId,
      ...(eservice
        ? {
            purposeId: checked.purposeId,
            producerId: eservice.producerId,
            eserviceId: eservice.eserviceId,
            descriptorId: eservice.descriptorId,
          }
        : {}),
      ...(checked.digest ? { digest: checked.digest } : {}),
    };
    const key = this.keys.current;
    const voucher = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: key.kid, use: 'sig' })
      .sign(key.privateKey);
    return { access_token: voucher, token_type: 'Bearer', expires_in: lifespan };
  }

  private freshJti(jti: string, until: number, now: number): boolean {
    if (this.usedJtis.size > 10_000) for (const [k, t] of this.usedJtis) if (t < now) this.usedJtis.delete(k);
    const seen = this.usedJtis.get(jti);
    if (seen !== undefined && seen >= now) return false;
    this.usedJtis.set(jti, until);
    return true;
  }

  /** The tenant an API call is made for: its Bearer voucher must be ours, current, and for the API audience. */
  private async apiCaller(req: IncomingMessage): Promise<string> {
    const auth = req.headers.authorization ?? '';
    const token = /^Bearer ([A-Za-z0-9._-]+)$/.exec(auth)?.[1];
    if (!token) throw new HttpRefusal(401, { status: 401, detail: 'a Bearer voucher of an API interoperabilità client is required' });
    try {
      const { payload } = await compactVerify(token, createLocalJWKSet(this.keys.jwks() as { keys: JWK[] }), { algorithms: ['RS256'] });
      const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
      const now = this.clock.now().getTime() / 1000;
      if (claims.aud !== this.apiAudience || typeof claims.exp !== 'number' || claims.exp <= now || typeof claims.client_id !== 'string')
        throw new HttpRefusal(401, { status: 401, detail: 'the voucher is expired or not for the PDND API' });
      const client = this.opts.registry.clients.get(claims.client_id);
      if (!client || client.kind !== 'api') throw new HttpRefusal(403, { status: 403, detail: 'not an API interoperabilità client' });
      return client.tenantId;
    } catch (err) {
      if (err instanceof HttpRefusal) throw err;
      throw new HttpRefusal(401, { status: 401, detail: 'the voucher does not verify' });
    }
  }

  private async clientKey(req: IncomingMessage, url: URL): Promise<Record<string, unknown>> {
    await this.apiCaller(req);
    const kid = decodeURIComponent(url.pathname.slice('/keys/'.length));
    const key = this.opts.registry.keyByKid(kid);
    if (!key) throw new HttpRefusal(404, { status: 404, detail: `no key ${kid}` });
    return { ...(key.publicKey.export({ format: 'jwk' }) as JWK), kid, alg: 'RS256', use: 'sig' };
  }

  /** The keys a client has uploaded (PDND's `GET /clients/{clientId}/keys`): whose a kid is, for a provider binding a kid to a voucher's client. */
  private async clientKeys(req: IncomingMessage, url: URL): Promise<Record<string, unknown>> {
    await this.apiCaller(req);
    const clientId = decodeURIComponent(url.pathname.split('/')[2]!);
    const client = this.opts.registry.clients.get(clientId);
    if (!client) throw new HttpRefusal(404, { status: 404, detail: `no client ${clientId}` });
    return {
      keys: [...client.keys.entries()].map(([kid, key]) => ({
        ...(key.publicKey.export({ format: 'jwk' }) as JWK),
        kid,
        alg: 'RS256',
        use: 'sig',
      })),
    };
  }

  private async submitTracing(req: IncomingMessage, url: URL): Promise<Record<string, unknown>> {
    const tenant = await this.apiCaller(req);
    if (this.failUploads > 0) {
      this.failUploads--;
      throw new HttpRefusal(503, { status: 503, detail: 'tracing service unavailable (simulated)' });
    }
    const date = url.searchParams.get('date') ?? '';
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`)))
      throw new HttpRefusal(400, { status: 400, detail: 'date must be given as YYYY-MM-DD' });
    if (!/^text\/csv\b/i.test(req.headers['content-type'] ?? ''))
      throw new HttpRefusal(415, { status: 415, detail: 'the body must be text/csv' });
    const csv = (await readBody(req, this.opts.maxTracingBytes ?? 10 * 1024 * 1024)).toString('utf8');
    const s = this.tracings.submit(tenant, date, csv, this.clock.now());
    // Processed asynchronously: the verdict is known only by asking the file's state later.
    if ((this.opts.tracingProcessingSeconds ?? 0) > 0) return { tracingId: s.tracingId };
    return { tracingId: s.tracingId, errors: s.state === 'ERROR' };
  }

  /** A file as PDND shows it: PENDING, without its verdict, while it is being processed. */
  private view(s: TracingSubmission): Record<string, unknown> {
    const processingMs = (this.opts.tracingProcessingSeconds ?? 0) * 1000;
    if (this.clock.now().getTime() < Date.parse(s.submittedAt) + processingMs) return { ...s, state: 'PENDING', errors: [] };
    return { ...s };
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes)
    throw new HttpRefusal(413, { status: 413, error: 'invalid_request', detail: `body larger than ${maxBytes} bytes` });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      req.resume();
      throw new HttpRefusal(413, { status: 413, error: 'invalid_request', detail: `body larger than ${maxBytes} bytes` });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
