import type { MessageRecord } from '../core/message-record.js';
import type { RestExchange } from '../core/rest-exchange.js';
import { httpMessageBytes } from './http-message-bytes.js';
import type { LogEntryInput } from './log-entry.js';

/**
 * A REST exchange as the log keeps it: a `rest-request` record (at the time the request came in) and,
 * when there was one, a `rest-response` record (at `loggedAt`), each with its HTTP/1.1 bytes; and the
 * projection's message row, so the exchange is listed like a message (profile 'modi-rest', sincrono).
 * The chained facts leave out the target: a path or query may name a person, and only the bytes
 * (and the row's copy) are dropped by retention — the chain never is.
 */
export function restExchangeEntries(x: RestExchange, loggedAt: string): { entries: LogEntryInput[]; fields: Record<string, unknown> } {
  const base = { messageId: x.id, direction: x.direction, from: x.from, to: x.to, service: x.service, state: x.status };
  const method = x.request.method ?? '';
  const httpStatus = x.response?.status;
  const entries: LogEntryInput[] = [
    {
      ...base,
      time: x.createdAt,
      kind: 'rest-request',
      detail: plainJson({ ...x.detail, api: 'modi-rest', version: x.version, method }),
      envelope: httpMessageBytes(x.request),
    },
  ];
  if (x.response)
    entries.push({
      ...base,
      // Never before the request: the two records keep their order in time as in the chain.
      time: loggedAt < x.createdAt ? x.createdAt : loggedAt,
      kind: 'rest-response',
      detail: plainJson({ api: 'modi-rest', ...(httpStatus !== undefined ? { httpStatus } : {}) }),
      envelope: httpMessageBytes(x.response),
    });
  const error = errorOf(x.detail.error);
  const record: MessageRecord = {
    id: x.id,
    direction: x.direction,
    envelopeProfile: 'modi-rest',
    collaboration: 'sincrono',
    from: x.from,
    to: x.to,
    service: x.service,
    confermaRicezione: false,
    createdAt: x.createdAt,
    updatedAt: entries[entries.length - 1]!.time,
    status: x.status,
    attempts: 0,
    ...(error ? { error } : {}),
    rest: {
      version: x.version,
      method,
      ...(x.request.target !== undefined ? { target: x.request.target } : {}),
      ...(httpStatus !== undefined ? { httpStatus } : {}),
    },
  };
  return { entries, fields: record as unknown as Record<string, unknown> };
}

/** The gateway's error fact as the message row's error, when it has the {code, message} shape. */
function errorOf(value: unknown): MessageRecord['error'] | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const { code, message } = value as Record<string, unknown>;
  return typeof code === 'string' && typeof message === 'string' ? { code, message } : undefined;
}

/** What the chain hashes must be plain JSON: undefined dropped, dates as strings. */
function plainJson(value: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}
