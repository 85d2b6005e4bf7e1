import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TramiteError } from '../../src/core/errors.js';
import type { AdapterLogger } from '../sdk/index.js';
import { DuplicateReferenceError, type EventRecord, type EventState } from './ina-event-queue.js';
import type { InaErrore } from './ina-mapping.js';
import { RegistryEventError } from './registry-event.js';

const MAX_BODY = 256 * 1024;
const EVENTS_PATH = '/ina-saia/eventi';

/** An event as the registry software sees it (GET, and the JSON POSTed to the back office). */
export interface EventView {
  readonly id: string;
  readonly stato: EventState;
  readonly tipo: string;
  readonly motivo?: string;
  readonly codiceFiscale: string;
  readonly riferimentoComune?: string;
  readonly tentativi: number;
  readonly messageId?: string;
  /** When INA accepted it. */
  readonly esito?: { readonly idOperazioneIna: string; readonly dataOraEsito: string };
  /** When INA rejected it. */
  readonly errori?: readonly InaErrore[];
  readonly dataOraEsito?: string;
  /** The latest transport failure (while QUEUED) or why it FAILED. */
  readonly ultimoErrore?: { readonly code: string; readonly message: string };
  readonly prossimoTentativo?: string;
  readonly creato: string;
  readonly aggiornato: string;
}

export function eventView(r: EventRecord): EventView {
  const e = r.event;
  return {
    id: r.id,
    stato: r.state,
    tipo: e.tipo,
    ...(e.tipo !== 'rettifica' ? { motivo: e.motivo } : {}),
    codiceFiscale: e.soggetto.codiceFiscale,
    ...(e.riferimentoComune !== undefined ? { riferimentoComune: e.riferimentoComune } : {}),
    tentativi: r.attempts,
    ...(r.messageId !== undefined ? { messageId: r.messageId } : {}),
    ...(r.esito?.stato === 'ACCETTATA' ? { esito: { idOperazioneIna: r.esito.idOperazioneIna, dataOraEsito: r.esito.dataOraEsito } } : {}),
    ...(r.esito?.stato === 'RESPINTA' ? { errori: r.esito.errori, dataOraEsito: r.esito.dataOraEsito } : {}),
    ...(r.lastError !== undefined && r.state !== 'ACCEPTED' && r.state !== 'REJECTED' ? { ultimoErrore: r.lastError } : {}),
    ...(r.nextAttemptAt !== undefined ? { prossimoTentativo: r.nextAttemptAt } : {}),
    creato: r.createdAt,
    aggiornato: r.updatedAt,
  };
}

/** What the API needs from the adapter. */
export interface InaSaiaApiBackend {
  /** Validates and queues an event (throws RegistryEventError or DuplicateReferenceError). */
  submit(body: unknown): { record: EventRecord; created: boolean };
  get(id: string): EventRecord | undefined;
  byPerson(codiceFiscale: string): EventRecord[];
}

/**
 * The registry software's API (JSON over HTTP, loopback by default):
 *   POST /ina-saia/eventi                      a registry event → 202 { id, stato } (200 for a repeated riferimentoComune)
 *   GET  /ina-saia/eventi/{id}                 the event's state and outcome
 *   GET  /ina-saia/eventi?codiceFiscale=…      one person's events, in order
 * Refusals: 400 with { error: { code, message, field, problems } }, 409 for a riferimentoComune reused
 * with different content, 401 without a valid token (when tokens are configured), 404.
 */
export class InaSaiaHttpApi {
  private server: Server | undefined;

  constructor(
    private readonly backend: InaSaiaApiBackend,
    private readonly log: AdapterLogger,
    /** SHA-256 digests (sha256:<hex>) of the accepted bearer tokens; none: no authentication (loopback use). */
    private readonly tokenHashes: readonly string[] = [],
  ) {}

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
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    try {
      if (!this.authorised(req)) {
        return send(401, { error: { code: 'TRAMITE_ERR_UNAUTHENTICATED', message: 'present a token as "Authorization: Bearer <token>"' } }, { 'www-authenticate': 'Bearer' });
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === EVENTS_PATH && req.method === 'POST') {
        const { record, created } = this.backend.submit(await readJson(req));
        return send(created ? 202 : 200, { id: record.id, stato: record.state }, { location: `${EVENTS_PATH}/${record.id}` });
      }
      if (url.pathname === EVENTS_PATH && req.method === 'GET') {
        const codiceFiscale = url.searchParams.get('codiceFiscale');
        if (!codiceFiscale) return send(400, { error: { code: 'TRAMITE_ERR_BAD_REQUEST', message: 'give ?codiceFiscale=…', field: 'codiceFiscale' } });
        return send(200, { eventi: this.backend.byPerson(codiceFiscale.replace(/\s+/g, '').toUpperCase()).map(eventView) });
      }
      const one = new RegExp(`^${EVENTS_PATH}/([A-Za-z0-9._:-]{1,64})$`).exec(url.pathname);
      if (one && req.method === 'GET') {
        const record = this.backend.get(one[1]!);
        return record ? send(200, eventView(record)) : send(404, { error: { code: 'TRAMITE_ERR_NOT_FOUND', message: `no event ${one[1]}` } });
      }
      return send(404, { error: { code: 'TRAMITE_ERR_NOT_FOUND', message: `${req.method ?? ''} ${url.pathname} is not part of this API` } });
    } catch (err) {
      if (err instanceof RegistryEventError) {
        return send(400, { error: { code: err.code, message: err.message, field: err.field, problems: err.problems } });
      }
      if (err instanceof DuplicateReferenceError) {
        return send(409, { error: { code: err.code, message: err.message, field: err.field, id: err.existingId } });
      }
      if (err instanceof TramiteError && err.code === 'TRAMITE_ERR_BAD_REQUEST') return send(400, { error: { code: err.code, message: err.message } });
      this.log.error({ err: (err as Error).message }, 'ina-saia: API request failed');
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
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new TramiteError('TRAMITE_ERR_BAD_REQUEST', `body larger than ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new TramiteError('TRAMITE_ERR_BAD_REQUEST', 'the body is not JSON');
  }
}
