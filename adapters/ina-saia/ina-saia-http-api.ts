import { AdapterHttpServer, type AdapterLogger, type HttpCall, type HttpReply } from '../sdk/index.js';
import { DuplicateReferenceError, type EventRecord, type EventState } from './ina-event-queue.js';
import type { InaErrore } from './ina-mapping.js';
import { RegistryEventError } from './registry-event.js';

const MAX_BODY = 256 * 1024;
const EVENTS_PATH = '/ina-saia/eventi';
const ONE_EVENT = new RegExp(`^${EVENTS_PATH}/([A-Za-z0-9._:-]{1,64})$`);

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
  submit(body: unknown): Promise<{ record: EventRecord; created: boolean }>;
  get(id: string): Promise<EventRecord | undefined>;
  byPerson(codiceFiscale: string): Promise<EventRecord[]>;
}

/**
 * The registry software's API (JSON over HTTP, loopback by default):
 *   POST /ina-saia/eventi                      a registry event → 202 { id, stato } (200 for a repeated riferimentoComune)
 *   GET  /ina-saia/eventi/{id}                 the event's state and outcome
 *   GET  /ina-saia/eventi?codiceFiscale=…      one person's events, in order
 * Refusals: 400 with { error: { code, message, field, problems } }, 409 for a riferimentoComune reused
 * with different content, 401 without a valid token (when tokens are configured), 404.
 */
/** The registry software's API: POST and GET events, validated by the backend at this edge. */
export function inaSaiaHttpApi(backend: InaSaiaApiBackend, log: AdapterLogger, tokenHashes: readonly string[] = []): AdapterHttpServer {
  const routes = async (call: HttpCall): Promise<HttpReply> => {
    const path = call.url.pathname;
    if (path === EVENTS_PATH && call.method === 'POST') {
      const { record, created } = await backend.submit(await call.json());
      return {
        status: created ? 202 : 200,
        body: { id: record.id, stato: record.state },
        headers: { location: `${EVENTS_PATH}/${record.id}` },
      };
    }
    if (path === EVENTS_PATH && call.method === 'GET') {
      const codiceFiscale = call.url.searchParams.get('codiceFiscale');
      if (!codiceFiscale)
        return {
          status: 400,
          body: { error: { code: 'TRAMITE_ERR_BAD_REQUEST', message: 'give ?codiceFiscale=…', field: 'codiceFiscale' } },
        };
      return { status: 200, body: { eventi: (await backend.byPerson(codiceFiscale.replace(/\s+/g, '').toUpperCase())).map(eventView) } };
    }
    const one = ONE_EVENT.exec(path);
    if (one && call.method === 'GET') {
      const record = await backend.get(one[1]!);
      return record
        ? { status: 200, body: eventView(record) }
        : { status: 404, body: { error: { code: 'TRAMITE_ERR_NOT_FOUND', message: `no event ${one[1]}` } } };
    }
    return { status: 404, body: { error: { code: 'TRAMITE_ERR_NOT_FOUND', message: `${call.method} ${path} is not part of this API` } } };
  };
  return new AdapterHttpServer(routes, {
    name: 'ina-saia',
    log,
    tokenHashes,
    maxBodyBytes: MAX_BODY,
    // An invalid event names every problem and its field; a reused reference names the event that has it.
    errorReply: (err) =>
      err instanceof RegistryEventError
        ? { status: 400, body: { error: { code: err.code, message: err.message, field: err.field, problems: err.problems } } }
        : err instanceof DuplicateReferenceError
          ? { status: 409, body: { error: { code: err.code, message: err.message, field: err.field, id: err.existingId } } }
          : undefined,
  });
}
