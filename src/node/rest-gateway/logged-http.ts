import type { LoggedHttpMessage } from '../../core/rest-exchange.js';
import { redactBearer } from './voucher-redaction.js';
import type { HeaderList } from './forwarded-headers.js';

/** Headers for the log: lower-case, in order, a voucher in Authorization redacted (it is a bearer token). */
export function headersForLog(
  headers: HeaderList | Record<string, string | string[] | undefined>,
  voucher: boolean,
): Array<[string, string]> {
  const list: HeaderList = Array.isArray(headers)
    ? headers
    : Object.entries(headers).flatMap(([n, v]) =>
        v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x): [string, string] => [n, x]),
      );
  return list.map(([n, v]) => {
    const name = n.toLowerCase();
    return [name, name === 'authorization' && voucher ? redactBearer(v) : v];
  });
}

export function loggedRequest(method: string, target: string, headers: Array<[string, string]>, body: Uint8Array): LoggedHttpMessage {
  return { method, target, headers, body };
}

export function loggedResponse(status: number, headers: Array<[string, string]>, body: Uint8Array): LoggedHttpMessage {
  return { status, headers, body };
}
