import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';
import { TramiteError } from '../../src/core/errors.js';
import type { AdapterLogger } from '../sdk/index.js';
import { annullamentoRequestSchema, inoltroRequestSchema, type AnnullamentoRequest, type InoltroRequest } from './protocollo-options.js';
import type { ProtocolloAoo } from './protocollo-aoo.js';

const MAX_BODY = 20 * 1024 * 1024;

/**
 * The AOO's back-office API (JSON over HTTP, loopback by default):
 * POST /protocollo/inoltri — register, seal and send a document (202 with its Identificatore);
 * POST /protocollo/annullamenti — cancel a registration; GET /protocollo/registrazioni[/{anno}/{numero}].
 * Bodies are validated at this edge into typed values; refusals carry a stable code.
 */
export class ProtocolloHttpApi {
  private server: Server | undefined;
  private readonly validateInoltro: ValidateFunction<InoltroRequest>;
  private readonly validateAnnullamento: ValidateFunction<AnnullamentoRequest>;

  constructor(
    private readonly aoo: ProtocolloAoo,
    private readonly log: AdapterLogger,
    /** SHA-256 digests of the accepted bearer tokens; none: no authentication (loopback use). */
    private readonly tokenHashes: readonly string[] = [],
  ) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true });
    this.validateInoltro = ajv.compile<InoltroRequest>(inoltroRequestSchema);
    this.validateAnnullamento = ajv.compile<AnnullamentoRequest>(annullamentoRequestSchema);
  }

  get address(): string | undefined {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return a ? `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : undefined;
  }

  async listen(host: string, port: number): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    try {
      if (!this.authorised(req)) {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }).end(JSON.stringify({ error: { code: 'TRAMITE_ERR_UNAUTHENTICATED', message: 'present a back-office token as "Authorization: Bearer <token>"' } }));
        return;
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'POST' && url.pathname === '/protocollo/inoltri') {
        const body = await this.body(req, this.validateInoltro);
        const { registrazione, messageId } = await this.aoo.inoltra(body);
        return send(202, { identificatore: registrazione.identificatore, stato: registrazione.state, messageId });
      }
      if (req.method === 'POST' && url.pathname === '/protocollo/annullamenti') {
        return send(200, await this.aoo.annulla(await this.body(req, this.validateAnnullamento)));
      }
      if (req.method === 'GET' && url.pathname === '/protocollo/registrazioni') {
        return send(200, { registrazioni: this.aoo.register.list(Math.min(Number(url.searchParams.get('limit') ?? 100) || 100, 1000)) });
      }
      const one = /^\/protocollo\/registrazioni\/(\d{4})\/(\d{7,})$/.exec(url.pathname);
      if (req.method === 'GET' && one) {
        const reg = this.aoo.register.byNumber(one[1]!, one[2]!);
        return reg ? send(200, reg) : send(404, { error: { code: '007_ErroreIdentificatoreNonTrovato', message: `no registration ${one[2]} of ${one[1]}` } });
      }
      return send(404, { error: { code: 'TRAMITE_ERR_NOT_FOUND', message: `${req.method ?? ''} ${url.pathname} is not part of this API` } });
    } catch (err) {
      if (err instanceof TramiteError) {
        const status = err.code === 'TRAMITE_ERR_BAD_REQUEST' ? 400 : err.code.startsWith('TRAMITE_ERR_FORBIDDEN') ? 403 : 422;
        this.log.warn({ code: err.code, err: err.message }, 'protocol request refused');
        return send(status, { error: { code: err.code, message: err.message } });
      }
      this.log.error({ err: (err as Error).message }, 'protocol request failed');
      return send(500, { error: { code: 'TRAMITE_ERR_ADAPTER_UNAVAILABLE', message: 'internal error' } });
    }
  }

  private authorised(req: IncomingMessage): boolean {
    if (this.tokenHashes.length === 0) return true;
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return false;
    const digest = createHash('sha256').update(token, 'utf8').digest();
    return this.tokenHashes.some((h) => timingSafeEqual(Buffer.from(h.replace(/^sha256:/, ''), 'hex'), digest));
  }

  private async body<T>(req: IncomingMessage, validate: ValidateFunction<T>): Promise<T> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) throw new TramiteError('TRAMITE_ERR_BAD_REQUEST', `body larger than ${MAX_BODY} bytes`);
      chunks.push(c as Buffer);
    }
    let value: unknown;
    try {
      value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new TramiteError('TRAMITE_ERR_BAD_REQUEST', 'the body is not JSON');
    }
    if (!validate(value)) {
      throw new TramiteError('TRAMITE_ERR_BAD_REQUEST', (validate.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? e.keyword}${e.params && 'additionalProperty' in e.params ? ` "${String(e.params['additionalProperty'])}"` : ''}`).join('; '));
    }
    return value;
  }
}
