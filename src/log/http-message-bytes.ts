import { STATUS_CODES } from 'node:http';
import { TramiteError } from '../core/errors.js';
import type { LoggedHttpMessage } from '../core/rest-exchange.js';

/** A logged HTTP message read back: the start line, the headers in order, the body bytes. */
export interface ParsedHttpMessage {
  readonly startLine: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array;
}

const CRLF = '\r\n';
const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
// Node hands header values over as latin1 strings: written and read back as latin1, they keep their bytes.
const TEXT = 'latin1';

/**
 * A REST request or response as the bytes the message log keeps: an HTTP/1.1 message — start line
 * ("POST /rest/… HTTP/1.1" or "HTTP/1.1 200 OK"), one "name: value" line per header in order, a blank
 * line, the exact body bytes — so an auditor reads it with any tool and the Digest re-computes over it.
 */
export function httpMessageBytes(message: LoggedHttpMessage): Uint8Array {
  const lines = [startLine(message)];
  for (const [name, value] of message.headers) {
    // A CR or LF would let one header pose as another (or end the head early) in the logged form.
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n]/.test(value))
      throw new TramiteError(
        'TRAMITE_ERR_INVALID_ARGUMENT',
        `header ${JSON.stringify(name.slice(0, 40))} cannot be written to an HTTP message`,
      );
    lines.push(`${name}: ${value}`);
  }
  const head = Buffer.from(lines.join(CRLF) + CRLF + CRLF, TEXT);
  return Buffer.concat([head, message.body]);
}

function startLine(m: LoggedHttpMessage): string {
  if (m.status !== undefined) {
    if (!Number.isInteger(m.status) || m.status < 100 || m.status > 999)
      throw new TramiteError('TRAMITE_ERR_INVALID_ARGUMENT', `HTTP status ${m.status} is not a three-digit code`);
    return `HTTP/1.1 ${m.status} ${STATUS_CODES[m.status] ?? ''}`.trimEnd();
  }
  if (!m.method || !m.target || /[\s]/.test(m.method) || /[\s]/.test(m.target))
    throw new TramiteError('TRAMITE_ERR_INVALID_ARGUMENT', 'a logged request needs a method and a target without spaces');
  return `${m.method} ${m.target} HTTP/1.1`;
}

/** Reads back what httpMessageBytes wrote; refuses bytes that are not such a message. */
export function parseHttpMessageBytes(bytes: Uint8Array): ParsedHttpMessage {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = buf.indexOf(HEADER_END);
  if (end < 0) throw new TramiteError('TRAMITE_ERR_INVALID_ARGUMENT', 'the logged bytes hold no HTTP head (no blank line)');
  const [first, ...rest] = buf.subarray(0, end).toString(TEXT).split(CRLF);
  const headers = rest.map((line): [string, string] => {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new TramiteError('TRAMITE_ERR_INVALID_ARGUMENT', 'the logged HTTP head has a line that is no header');
    // Exactly as written ("name: value"): a signed header's value is compared byte for byte.
    return [line.slice(0, colon).toLowerCase(), line.slice(line[colon + 1] === ' ' ? colon + 2 : colon + 1)];
  });
  return { startLine: first!, headers, body: new Uint8Array(buf.subarray(end + HEADER_END.length)) };
}
