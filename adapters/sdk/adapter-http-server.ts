import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ValidateFunction } from 'ajv';
import { TramiteError } from '../../src/core/errors.js';
import { tokenMatches } from '../../src/core/token-hash.js';
import type { AdapterLogger } from './adapter.js';
import { isStoreUnavailable } from './store/adapter-store.js';

/** One request as an adapter's handler sees it: the body is read (bounded) only when asked for. */
export interface HttpCall {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  /** The body as text (UTF-8); larger than the server's limit → TRAMITE_ERR_BAD_REQUEST. */
  text(): Promise<string>;
  /** The body as JSON, validated by `validate` (ajv, defaults applied) into a typed value; without it, unchecked. */
  json<T = unknown>(validate?: ValidateFunction<T>): Promise<T>;
}

/** A JSON answer (`body`), or a file (`raw`). */
export interface HttpReply {
  readonly status: number;
  readonly body?: unknown;
  readonly raw?: { readonly contentType: string; readonly data: string | Buffer };
  readonly headers?: Readonly<Record<string, string>>;
}

export interface AdapterHttpServerOptions {
  /** Names the API in logs (`protocollo`, `siatel`…). */
  readonly name: string;
  readonly log: AdapterLogger;
  /** `sha256:<hex>` of the accepted bearer tokens; none: no authentication (keep the API on loopback). */
  readonly tokenHashes?: readonly string[];
  readonly maxBodyBytes?: number;
  /** The adapter's own errors as replies (tried first); the rest by code: see `replyFor`. */
  readonly errorReply?: (err: unknown) => HttpReply | undefined;
}

/** The `listen` options an adapter with a back-office API offers, as a JSON Schema fragment. */
export const listenOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['port'],
  description: 'Where the adapter serves its back-office API.',
  properties: {
    host: { type: 'string', default: '127.0.0.1', description: 'Interface; loopback unless the back office is elsewhere.' },
    port: { type: 'integer', minimum: 0, maximum: 65535, description: 'TCP port (0: any free port).' },
    apiTokens: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' },
      description:
        'SHA-256 of the tokens the back office presents as "Authorization: Bearer <token>" (sha256:<hex>). Without it the API trusts whoever reaches the listening address: keep it on loopback.',
    },
  },
} as const;

/**
 * The plumbing every adapter's small JSON API needs, once: listen and close (answers in flight end
 * their connection, so close does not wait for keep-alive), bearer tokens compared in constant time,
 * bodies read with a size bound and validated at the edge, typed errors turned into replies with their
 * stable code. The adapter writes only its routes.
 */
export class AdapterHttpServer {
  private server: Server | undefined;
  private closing = false;

  constructor(
    private readonly handler: (call: HttpCall) => Promise<HttpReply>,
    private readonly options: AdapterHttpServerOptions,
  ) {}

  get address(): string | undefined {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return a ? `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : undefined;
  }

  async listen(host: string, port: number): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.closing = false;
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    this.closing = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await closed;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: HttpReply;
    try {
      reply = this.authorised(req)
        ? await this.handler(this.call(req))
        : {
            status: 401,
            body: {
              error: { code: 'TRAMITE_ERR_UNAUTHENTICATED', message: 'present a back-office token as "Authorization: Bearer <token>"' },
            },
            headers: { 'www-authenticate': 'Bearer' },
          };
    } catch (err) {
      reply = this.options.errorReply?.(err) ?? replyFor(err);
      if (reply.status >= 500 && !(err instanceof TramiteError))
        this.options.log.error({ err: (err as Error).message }, `${this.options.name} request failed`);
      else this.options.log.warn({ status: reply.status, err: (err as Error).message }, `${this.options.name} request refused`);
    }
    const headers: Record<string, string> = {
      ...(reply.raw ? { 'content-type': reply.raw.contentType } : { 'content-type': 'application/json' }),
      ...reply.headers,
      ...(this.closing ? { connection: 'close' } : {}),
    };
    res
      .writeHead(reply.status, headers)
      .end(reply.raw ? reply.raw.data : reply.body === undefined ? undefined : JSON.stringify(reply.body));
  }

  private call(req: IncomingMessage): HttpCall {
    const max = this.options.maxBodyBytes ?? 1024 * 1024;
    let body: Promise<string> | undefined;
    const text = () =>
      (body ??= (async () => {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const c of req) {
          size += (c as Buffer).length;
          if (size > max) throw new TramiteError('TRAMITE_ERR_BAD_REQUEST', `body larger than ${max} bytes`);
          chunks.push(c as Buffer);
        }
        return Buffer.concat(chunks).toString('utf8');
      })());
    return {
      method: req.method ?? 'GET',
      url: new URL(req.url ?? '/', 'http://localhost'),
      headers: req.headers,
      text,
      json: async <T>(validate?: ValidateFunction<T>): Promise<T> => {
        let value: unknown;
        try {
          value = JSON.parse(await text());
        } catch (err) {
          if (err instanceof TramiteError) throw err;
          throw new TramiteError('TRAMITE_ERR_BAD_REQUEST', 'the body is not JSON');
        }
        if (validate && !validate(value)) throw new TramiteError('TRAMITE_ERR_BAD_REQUEST', describeAjvErrors(validate));
        return value as T;
      },
    };
  }

  private authorised(req: IncomingMessage): boolean {
    const hashes = this.options.tokenHashes ?? [];
    if (hashes.length === 0) return true;
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return false;
    return tokenMatches(token, hashes);
  }
}

/** Typed errors by code: 400 bad request, 401, 404, 409 conflict, 503 unavailable (a store away too), 422 the rest; anything untyped 500. */
export function replyFor(err: unknown): HttpReply {
  if (!(err instanceof TramiteError))
    return { status: 500, body: { error: { code: 'TRAMITE_ERR_ADAPTER_UNAVAILABLE', message: 'internal error' } } };
  // The adapter's database restarting: the client is to come back, not to take it as a refusal of its request.
  if (isStoreUnavailable(err))
    return {
      status: 503,
      headers: { 'retry-after': '5' },
      // Its message names the database and schema: not for the client.
      body: { error: { code: err.code, message: "the adapter's store is unavailable for now; retry after Retry-After" } },
    };
  const byCode: Partial<Record<string, number>> = {
    TRAMITE_ERR_BAD_REQUEST: 400,
    TRAMITE_ERR_UNAUTHENTICATED: 401,
    TRAMITE_ERR_FORBIDDEN: 403,
    TRAMITE_ERR_NOT_FOUND: 404,
    '007_ErroreIdentificatoreNonTrovato': 404,
    TRAMITE_ERR_ADAPTER_UNAVAILABLE: 503,
  };
  return { status: byCode[err.code] ?? 422, body: { error: { code: err.code, message: err.message } } };
}

/** ajv's errors as one line naming each field: `/oggetto must NOT have fewer than 1 characters; …`. */
export function describeAjvErrors(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .map((e) => {
      const named = (e.params as Record<string, unknown>)['additionalProperty'] ?? (e.params as Record<string, unknown>)['missingProperty'];
      return `${e.instancePath || '(body)'} ${e.message ?? e.keyword}${typeof named === 'string' ? ` "${named}"` : ''}`;
    })
    .join('; ');
}
