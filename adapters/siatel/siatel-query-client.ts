/**
 * One SIATEL query, the way the adapter makes every query (interactive or bulk):
 * 1. the codice fiscale is checked locally; a code that cannot be one is answered here, NON_VALIDO
 *    with the reason and `fonte: 'locale'`, without a query and without touching the quota;
 * 2. the operator's quota admits the query (it waits, in order, never refuses);
 * 3. one sincrono bus message to the Agenzia's party and service, whose reply siatel-mapping reads.
 *    It expires (Scadenza) when its caller stops waiting or, if sooner, half a second (half the quota's
 *    day-end margin) before its Italian day ends: SIATEL counts a query on the day it arrives, so one
 *    delayed past the day the quota counted it in (the Agenzia's node down, a process killed and its
 *    delivery taken over later) would count on a day the quota may fill all the same, and the operator
 *    be blocked. Expired, it is refused instead — by this node's delivery, or EGOV_IT_301 at the
 *    Agenzia's — and the caller may ask again.
 */
import type { ErrorCode } from '../../src/core/error-codes.js';
import { TramiteError } from '../../src/core/errors.js';
import type { BusClient, MessageState } from '../sdk/index.js';
import { checkCodiceFiscale } from '../sdk/index.js';
import { stoppingError } from './siatel-clock.js';
import {
  SiatelXmlError,
  isSiatelErrore,
  readSiatelAnswer,
  validateSiatelSchema,
  siatelAction,
  writeSiatelRequest,
  type SiatelAnswer,
  type SiatelErrore,
  type SiatelEsito,
  type SiatelRequest,
} from './siatel-mapping.js';
import type { SiatelQuota } from './siatel-quota.js';

/** Real ms of arrival window a query needs to be worth sending (the bus refuses a Scadenza already past). */
const MIN_SEND_WINDOW_MS = 100;

export type QueryOutcome = SiatelEsito & {
  /** Who answered: SIATEL, or the adapter itself for a code that cannot be a codice fiscale. */
  readonly fonte: 'SIATEL' | 'locale';
  /** The bus message of the query (SIATEL answers only). */
  readonly messageId?: string;
};

/** A query SIATEL did not answer: it refused it (`siatel` says how), or no answer came. */
export class SiatelQueryError extends TramiteError {
  constructor(
    code: ErrorCode,
    message: string,
    /** Whether the same query may succeed later (no answer came, or SIATEL was unavailable). */
    readonly retriable: boolean,
    /** The HTTP status the API answers with. */
    readonly httpStatus: number,
    readonly siatel?: SiatelErrore['errore'],
  ) {
    super(code, message);
  }
}

export interface NextAdmission {
  /** When the first query waiting (or the next one made) is expected to be admitted. */
  readonly at: string;
  readonly limite: 'nessuno' | 'minuto' | 'giorno';
}

export class SiatelQueryClient {
  /** Admission instants of the last minute, per operator: for the next-admission estimate only. */

  constructor(
    private readonly deps: {
      readonly bus: BusClient;
      readonly quota: SiatelQuota;
      readonly siatel: { readonly party: string; readonly service: string };
      readonly timeoutMs: number;
      /** The real clock (the node's, whatever the quota's): the century of birth years in the local check, and the Scadenza. */
      readonly realNow: () => Date;
      /** Aborted when the adapter stops: a query the quota admits after that is not sent. */
      readonly signal: AbortSignal;
    },
  ) {}

  async query(request: SiatelRequest): Promise<QueryOutcome> {
    const check = checkCodiceFiscale(request.codiceFiscale, { today: this.deps.realNow() });
    if (!check.valid) return answeredLocally(request, check.normalized, check.reason);
    const normalized: SiatelRequest = { ...request, codiceFiscale: check.normalized };

    const expiresAt = await this.admit(request.operatore);
    if (this.deps.signal.aborted) throw stoppingError();
    let state: MessageState;
    try {
      state = await this.deps.bus.sendAndWait(
        {
          to: this.deps.siatel.party,
          service: this.deps.siatel.service,
          action: siatelAction(request.interrogazione),
          payload: writeSiatelRequest(normalized),
          expiresAt: expiresAt.toISOString(),
        },
        { timeoutMs: this.deps.timeoutMs },
      );
    } catch (err) {
      // The bus refuses a Scadenza already past: this process stalled between the admission and the send.
      if (expiresAt.getTime() <= this.deps.realNow().getTime())
        throw new SiatelQueryError(
          'TRAMITE_ERR_ADAPTER_UNAVAILABLE',
          `the query's Scadenza (${expiresAt.toISOString()}) passed before it could be sent; ask again`,
          true,
          503,
        );
      throw err;
    }
    if (state.status === 'FAILED') {
      throw new SiatelQueryError(
        'TRAMITE_ERR_ADAPTER_UNAVAILABLE',
        `the SIATEL query ${state.id} failed on the bus: ${state.error?.code ?? 'unknown'} ${state.error?.message ?? ''}`.trim(),
        true,
        502,
      );
    }
    if (state.status !== 'DELIVERED') {
      throw new SiatelQueryError(
        'TRAMITE_ERR_ADAPTER_UNAVAILABLE',
        `no answer from SIATEL within ${this.deps.timeoutMs} ms (message ${state.id}, ${state.status})`,
        true,
        504,
      );
    }
    if (state.reply === undefined)
      throw new SiatelQueryError('TRAMITE_ERR_ADAPTER_UNAVAILABLE', `SIATEL delivered ${state.id} but gave no answer`, true, 502);

    // The schema first (a warm validator: well under a millisecond), then the strict typed reader.
    const validation = await validateSiatelSchema(state.reply);
    if (!validation.valid)
      throw new SiatelQueryError(
        'TRAMITE_ERR_ADAPTER_REFUSED',
        `SIATEL's answer to ${state.id} does not match the schema: ${validation.errors.join('; ')}`,
        false,
        502,
      );
    let answer: SiatelAnswer;
    try {
      answer = readSiatelAnswer(state.reply, request.interrogazione);
    } catch (err) {
      if (err instanceof SiatelXmlError)
        throw new SiatelQueryError(
          'TRAMITE_ERR_ADAPTER_REFUSED',
          `SIATEL's answer to ${state.id} is not readable: ${err.message}`,
          false,
          502,
        );
      throw err;
    }
    if (isSiatelErrore(answer)) {
      const { codice, descrizione } = answer.errore;
      throw new SiatelQueryError(
        'TRAMITE_ERR_ADAPTER_REFUSED',
        `SIATEL answered ${codice}: ${descrizione}`,
        codice === 'SERVIZIO_NON_DISPONIBILE',
        502,
        answer.errore,
      );
    }
    // An answer about someone else must never pass for this one's.
    const sameComune =
      answer.interrogazione !== 'verificaResidenza' ||
      normalized.interrogazione !== 'verificaResidenza' ||
      answer.comune === normalized.comune;
    if (answer.codiceFiscale !== normalized.codiceFiscale || !sameComune) {
      throw new SiatelQueryError(
        'TRAMITE_ERR_ADAPTER_REFUSED',
        `SIATEL's answer to ${state.id} is about ${answer.codiceFiscale}, not ${normalized.codiceFiscale}`,
        false,
        502,
      );
    }
    return { ...answer, fonte: 'SIATEL', messageId: state.id };
  }

  /**
   * Waits for the operator's quota; answers the query's Scadenza (see the top of this file). A query
   * whose arrival window closed meanwhile (a stalled process: at admission it is half a second or more)
   * is admitted again, on the new day: its first admission is a code lost.
   */
  private async admit(operatore: string): Promise<Date> {
    for (;;) {
      const admittedAt = await this.deps.quota.acquire(operatore, 1);
      const left = this.deps.quota.arrivalWindowMs(admittedAt);
      if (left >= MIN_SEND_WINDOW_MS) return new Date(this.deps.realNow().getTime() + Math.min(this.deps.timeoutMs, left));
    }
  }

  /** When the quota will admit the operator's next query, and which limit holds it: the quota's own computation. */
  async nextAdmission(operatore: string): Promise<NextAdmission> {
    const next = await this.deps.quota.nextAdmission(operatore);
    return { at: next.at.toISOString(), limite: next.limit === 'day' ? 'giorno' : next.limit === 'minute' ? 'minuto' : 'nessuno' };
  }
}

/** The answer to a code that cannot be a codice fiscale: no query, NON_VALIDO, and why. */
function answeredLocally(request: SiatelRequest, codiceFiscale: string, motivo: string): QueryOutcome {
  switch (request.interrogazione) {
    case 'verificaCodiceFiscale':
    case 'datiAnagrafici':
      return { interrogazione: request.interrogazione, codiceFiscale, esito: 'NON_VALIDO', motivo, fonte: 'locale' };
    case 'verificaResidenza':
      return {
        interrogazione: request.interrogazione,
        codiceFiscale,
        comune: request.comune,
        esito: 'NON_VALIDO',
        motivo,
        fonte: 'locale',
      };
  }
}
