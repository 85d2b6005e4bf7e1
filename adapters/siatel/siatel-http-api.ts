/**
 * The Comune's back-office API for SIATEL (JSON over HTTP, loopback by default):
 *   POST /siatel/verifiche          {operatore, codiceFiscale}          → the answer (sincrono)
 *   POST /siatel/dati-anagrafici    {operatore, codiceFiscale}          → the answer
 *   POST /siatel/residenza          {operatore, codiceFiscale, comune}  → the answer
 *   POST /siatel/massive            {operatore, codiciFiscali, interrogazione?, comune?}, or a text/plain
 *                                   body, one code a line, with ?operatore=…[&interrogazione=…&comune=…]
 *                                   → 202 and the job's id
 *   GET  /siatel/massive/{id}       → progress
 *   GET  /siatel/massive/{id}/risultato[?formato=csv|jsonl] → the result file, once the job has ended
 *   GET  /siatel/stato[?operatore=…] → each operator's quota: queries this minute, codes today, queued
 * Bodies are validated at this edge into typed values; refusals carry a stable code.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';
import { TramiteError } from '../../src/core/errors.js';
import type { AdapterLogger } from '../sdk/index.js';
import { contentTypeOf, type ResultFormat } from './siatel-bulk-result.js';
import type { SiatelQueryKind, SiatelRequest } from './siatel-mapping.js';
import type { SiatelOperations } from './siatel-operations.js';
import { massivaBodySchema, residenzaBodySchema, verificaBodySchema, type MassivaBody, type ResidenzaBody, type VerificaBody } from './siatel-options.js';
import { SiatelQueryError } from './siatel-query-client.js';

/** Room for the largest bulk request (10,000 lines) with generous spacing. */
const MAX_BODY = 2 * 1024 * 1024;
const OPERATORE = new RegExp(verificaBodySchema.properties.operatore.pattern);
const JOB_PATH = /^\/siatel\/massive\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\/risultato)?$/;

const QUERY_PATHS: Readonly<Record<string, SiatelQueryKind>> = {
  '/siatel/verifiche': 'verificaCodiceFiscale',
  '/siatel/dati-anagrafici': 'datiAnagrafici',
  '/siatel/residenza': 'verificaResidenza',
};

export class SiatelHttpApi {
  private server: Server | undefined;
  /** Set by `close`: answers still being written then end their connection, so close need not wait for keep-alive. */
  private closing = false;
  private readonly validateVerifica: ValidateFunction<VerificaBody>;
  private readonly validateResidenza: ValidateFunction<ResidenzaBody>;
  private readonly validateMassiva: ValidateFunction<MassivaBody>;

  constructor(
    private readonly operations: SiatelOperations,
    private readonly log: AdapterLogger,
    /** SHA-256 digests of the accepted bearer tokens; none: no authentication (loopback use). */
    private readonly tokenHashes: readonly string[] = [],
  ) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true });
    this.validateVerifica = ajv.compile<VerificaBody>(verificaBodySchema);
    this.validateResidenza = ajv.compile<ResidenzaBody>(residenzaBodySchema);
    this.validateMassiva = ajv.compile<MassivaBody>(massivaBodySchema);
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
    if (!server) return;
    this.closing = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await closed;
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    return this.closing ? { ...extra, connection: 'close' } : extra;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, this.headers({ 'content-type': 'application/json', ...headers })).end(JSON.stringify(body));
    };
    try {
      if (!this.authorised(req)) {
        send(401, { error: { code: 'TRAMITE_ERR_UNAUTHENTICATED', message: 'present a back-office token as "Authorization: Bearer <token>"' } }, { 'www-authenticate': 'Bearer' });
        return;
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      const kind = QUERY_PATHS[url.pathname];
      if (req.method === 'POST' && kind) return send(200, await this.operations.query(await this.queryRequest(req, kind)));
      if (req.method === 'POST' && url.pathname === '/siatel/massive') {
        const body = await this.bulkBody(req, url);
        const job = this.operations.submitBulk({ operatore: body.operatore, interrogazione: body.interrogazione, codiciFiscali: body.codiciFiscali, ...(body.comune !== undefined ? { comune: body.comune.toUpperCase() } : {}) });
        const progress = `/siatel/massive/${job.id}`;
        return send(202, { id: job.id, stato: job.stato, totale: job.totale, avanzamento: progress }, { location: progress });
      }
      const job = JOB_PATH.exec(url.pathname);
      if (req.method === 'GET' && job && !job[2]) {
        const progress = this.operations.progress(job[1]!);
        if (!progress) return send(404, notFound(job[1]!));
        const ended = progress.stato !== 'in_corso';
        return send(200, { ...progress, ...(ended ? { risultato: { csv: `${url.pathname}/risultato?formato=csv`, jsonl: `${url.pathname}/risultato?formato=jsonl` } } : {}) });
      }
      if (req.method === 'GET' && job && job[2]) {
        const format = resultFormat(url.searchParams.get('formato'));
        const result = this.operations.result(job[1]!, format);
        if (!result) return send(404, notFound(job[1]!));
        if (result.file === undefined) {
          const p = this.operations.progress(job[1]!);
          return send(409, { error: { code: 'TRAMITE_ERR_NOT_FOUND', message: `bulk request ${job[1]} is still in progress (${p?.completati ?? 0}/${p?.totale ?? 0}): its result file is written when it ends` } });
        }
        res.writeHead(200, this.headers({ 'content-type': contentTypeOf(format), 'content-disposition': `attachment; filename="siatel-${job[1]}.${format}"` })).end(result.file);
        return;
      }
      if (req.method === 'GET' && url.pathname === '/siatel/stato') {
        const one = url.searchParams.get('operatore');
        if (one !== null && !OPERATORE.test(one)) throw new TramiteError('TRAMITE_ERR_BAD_REQUEST', `operatore "${one}" is not 1 to 64 letters, digits, ".", "_" or "-"`);
        if (one !== null) return send(200, this.operations.status(one));
        return send(200, { operatori: this.operations.operators().map((op) => this.operations.status(op)) });
      }
      return send(404, { error: { code: 'TRAMITE_ERR_NOT_FOUND', message: `${req.method ?? ''} ${url.pathname} is not part of this API` } });
    } catch (err) {
      if (err instanceof SiatelQueryError) {
        this.log.warn({ code: err.code, err: err.message }, 'SIATEL query not answered');
        return send(err.httpStatus, { error: { code: err.code, message: err.message, ...(err.siatel ? { siatel: err.siatel } : {}) } });
      }
      if (err instanceof TramiteError) {
        const status = err.code === 'TRAMITE_ERR_BAD_REQUEST' ? 400 : err.code === 'TRAMITE_ERR_ADAPTER_UNAVAILABLE' ? 503 : 422;
        this.log.warn({ code: err.code, err: err.message }, 'SIATEL request refused');
        return send(status, { error: { code: err.code, message: err.message } });
      }
      this.log.error({ err: (err as Error).message }, 'SIATEL request failed');
      return send(500, { error: { code: 'TRAMITE_ERR_ADAPTER_UNAVAILABLE', message: 'internal error' } });
    }
  }

  private async queryRequest(req: IncomingMessage, kind: SiatelQueryKind): Promise<SiatelRequest> {
    if (kind === 'verificaResidenza') {
      const b = validated(jsonOf(await bodyText(req)), this.validateResidenza);
      return { interrogazione: kind, operatore: b.operatore, codiceFiscale: b.codiceFiscale, comune: b.comune.toUpperCase() };
    }
    const b = validated(jsonOf(await bodyText(req)), this.validateVerifica);
    return { interrogazione: kind, operatore: b.operatore, codiceFiscale: b.codiceFiscale };
  }

  /** JSON, or a text file of codes (one a line; blank lines skipped) with the rest in the query string. */
  private async bulkBody(req: IncomingMessage, url: URL): Promise<MassivaBody> {
    const text = await bodyText(req);
    if (!/^text\/plain\b/i.test(req.headers['content-type'] ?? '')) return validated(jsonOf(text), this.validateMassiva);
    const fromText: Record<string, unknown> = { codiciFiscali: text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '') };
    for (const name of ['operatore', 'interrogazione', 'comune']) {
      const value = url.searchParams.get(name);
      if (value !== null) fromText[name] = value;
    }
    return validated(fromText, this.validateMassiva);
  }

  private authorised(req: IncomingMessage): boolean {
    if (this.tokenHashes.length === 0) return true;
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return false;
    const digest = createHash('sha256').update(token, 'utf8').digest();
    return this.tokenHashes.some((h) => timingSafeEqual(Buffer.from(h.replace(/^sha256:/, ''), 'hex'), digest));
  }
}

function notFound(id: string) {
  return { error: { code: 'TRAMITE_ERR_NOT_FOUND', message: `no bulk request ${id}` } };
}

function resultFormat(value: string | null): ResultFormat {
  if (value === null || value === 'csv') return 'csv';
  if (value === 'jsonl') return 'jsonl';
  throw new TramiteError('TRAMITE_ERR_BAD_REQUEST', `formato must be csv or jsonl, not "${value}"`);
}

async function bodyText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new TramiteError('TRAMITE_ERR_BAD_REQUEST', `body larger than ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new TramiteError('TRAMITE_ERR_BAD_REQUEST', 'the body is not JSON');
  }
}

function validated<T>(value: unknown, validate: ValidateFunction<T>): T {
  if (!validate(value)) {
    throw new TramiteError(
      'TRAMITE_ERR_BAD_REQUEST',
      (validate.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? e.keyword}${e.params && 'additionalProperty' in e.params ? ` "${String(e.params['additionalProperty'])}"` : ''}`).join('; '),
    );
  }
  return value;
}
