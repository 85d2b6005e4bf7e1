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
import { Ajv } from 'ajv';
import { TramiteError } from '../../src/core/errors.js';
import { AdapterHttpServer, describeAjvErrors, type AdapterLogger, type HttpCall, type HttpReply } from '../sdk/index.js';
import { contentTypeOf, type ResultFormat } from './siatel-bulk-result.js';
import type { SiatelQueryKind, SiatelRequest } from './siatel-mapping.js';
import type { SiatelOperations } from './siatel-operations.js';
import {
  massivaBodySchema,
  residenzaBodySchema,
  verificaBodySchema,
  type MassivaBody,
  type ResidenzaBody,
  type VerificaBody,
} from './siatel-options.js';
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

export function siatelHttpApi(operations: SiatelOperations, log: AdapterLogger, tokenHashes: readonly string[] = []): AdapterHttpServer {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true });
  const validateVerifica = ajv.compile<VerificaBody>(verificaBodySchema);
  const validateResidenza = ajv.compile<ResidenzaBody>(residenzaBodySchema);
  const validateMassiva = ajv.compile<MassivaBody>(massivaBodySchema);

  const queryRequest = async (call: HttpCall, kind: SiatelQueryKind): Promise<SiatelRequest> => {
    if (kind === 'verificaResidenza') {
      const b = await call.json(validateResidenza);
      return { interrogazione: kind, operatore: b.operatore, codiceFiscale: b.codiceFiscale, comune: b.comune.toUpperCase() };
    }
    const b = await call.json(validateVerifica);
    return { interrogazione: kind, operatore: b.operatore, codiceFiscale: b.codiceFiscale };
  };

  /** JSON, or a text file of codes (one a line; blank lines skipped) with the rest in the query string. */
  const bulkBody = async (call: HttpCall): Promise<MassivaBody> => {
    if (!/^text\/plain\b/i.test(call.headers['content-type'] ?? '')) return call.json(validateMassiva);
    const fromText: Record<string, unknown> = {
      codiciFiscali: (await call.text())
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line !== ''),
    };
    for (const name of ['operatore', 'interrogazione', 'comune']) {
      const value = call.url.searchParams.get(name);
      if (value !== null) fromText[name] = value;
    }
    if (!validateMassiva(fromText)) throw new TramiteError('TRAMITE_ERR_BAD_REQUEST', describeAjvErrors(validateMassiva));
    return fromText as unknown as MassivaBody;
  };

  const routes = async (call: HttpCall): Promise<HttpReply> => {
    const url = call.url;
    const kind = QUERY_PATHS[url.pathname];
    if (call.method === 'POST' && kind) return { status: 200, body: await operations.query(await queryRequest(call, kind)) };
    if (call.method === 'POST' && url.pathname === '/siatel/massive') {
      const body = await bulkBody(call);
      const job = await operations.submitBulk({
        operatore: body.operatore,
        interrogazione: body.interrogazione,
        codiciFiscali: body.codiciFiscali,
        ...(body.comune !== undefined ? { comune: body.comune.toUpperCase() } : {}),
      });
      const progress = `/siatel/massive/${job.id}`;
      return {
        status: 202,
        body: { id: job.id, stato: job.stato, totale: job.totale, avanzamento: progress },
        headers: { location: progress },
      };
    }
    const job = JOB_PATH.exec(url.pathname);
    if (call.method === 'GET' && job && !job[2]) {
      const progress = await operations.progress(job[1]!);
      if (!progress) return { status: 404, body: notFound(job[1]!) };
      const ended = progress.stato !== 'in_corso';
      return {
        status: 200,
        body: {
          ...progress,
          ...(ended
            ? { risultato: { csv: `${url.pathname}/risultato?formato=csv`, jsonl: `${url.pathname}/risultato?formato=jsonl` } }
            : {}),
        },
      };
    }
    if (call.method === 'GET' && job && job[2]) {
      const format = resultFormat(url.searchParams.get('formato'));
      const result = await operations.result(job[1]!, format);
      if (!result) return { status: 404, body: notFound(job[1]!) };
      if (result.file === undefined) {
        const p = await operations.progress(job[1]!);
        return {
          status: 409,
          body: {
            error: {
              code: 'TRAMITE_ERR_NOT_FOUND',
              message: `bulk request ${job[1]} is still in progress (${p?.completati ?? 0}/${p?.totale ?? 0}): its result file is written when it ends`,
            },
          },
        };
      }
      return {
        status: 200,
        raw: { contentType: contentTypeOf(format), data: result.file },
        headers: { 'content-disposition': `attachment; filename="siatel-${job[1]}.${format}"` },
      };
    }
    if (call.method === 'GET' && url.pathname === '/siatel/stato') {
      const one = url.searchParams.get('operatore');
      if (one !== null && !OPERATORE.test(one))
        throw new TramiteError('TRAMITE_ERR_BAD_REQUEST', `operatore "${one}" is not 1 to 64 letters, digits, ".", "_" or "-"`);
      if (one !== null) return { status: 200, body: await operations.status(one) };
      const operatori = [];
      for (const op of await operations.operators()) operatori.push(await operations.status(op));
      return { status: 200, body: { operatori } };
    }
    return {
      status: 404,
      body: { error: { code: 'TRAMITE_ERR_NOT_FOUND', message: `${call.method} ${url.pathname} is not part of this API` } },
    };
  };

  return new AdapterHttpServer(routes, {
    name: 'SIATEL',
    log,
    tokenHashes,
    maxBodyBytes: MAX_BODY,
    // A query SIATEL did not answer: its own status (502 refused, 503 unavailable) and what SIATEL said.
    errorReply: (err) =>
      err instanceof SiatelQueryError
        ? {
            status: err.httpStatus,
            body: { error: { code: err.code, message: err.message, ...(err.siatel ? { siatel: err.siatel } : {}) } },
          }
        : undefined,
  });
}

function notFound(id: string) {
  return { error: { code: 'TRAMITE_ERR_NOT_FOUND', message: `no bulk request ${id}` } };
}

function resultFormat(value: string | null): ResultFormat {
  if (value === null || value === 'csv') return 'csv';
  if (value === 'jsonl') return 'jsonl';
  throw new TramiteError('TRAMITE_ERR_BAD_REQUEST', `formato must be csv or jsonl, not "${value}"`);
}
