/**
 * The RFC 3161 §3.4 HTTP transport: POST application/timestamp-query, expect HTTP 200
 * application/timestamp-reply, read within a bound. The exchange is part of the protocol, not of the
 * log that asks for stamps, so it lives beside the request it carries.
 */
import { request } from 'undici';
import { discardBoundedBody, readBoundedBody, ResponseTooLargeError } from '../../core/bounded-body.js';
import { tsaError } from './tsa-error.js';

/** Largest TimeStampResp read from a TSA; real ones are a few kilobytes (token plus certificates). */
const MAX_RESPONSE_BYTES = 1024 * 1024;

/** POSTs the query and returns the body of an HTTP 200 application/timestamp-reply answer. */
export async function postTimestampQuery(url: string, body: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(timeoutMs);
  let res;
  try {
    res = await request(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal,
    });
  } catch (cause) {
    throw tsaError(`TSA at ${url} could not be reached: ${describeNetworkError(cause, timeoutMs)}`, cause);
  }
  const drain = (): Promise<void> =>
    discardBoundedBody(res.body, { maxBytes: MAX_RESPONSE_BYTES, source: `TSA at ${url}` }).catch(() => undefined);
  if (res.statusCode !== 200) {
    await drain();
    throw tsaError(`TSA at ${url} answered HTTP ${res.statusCode} instead of 200`);
  }
  const type = headerValue(res.headers['content-type']);
  const mediaType = type.split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'application/timestamp-reply') {
    await drain();
    throw tsaError(`TSA at ${url} answered with content-type "${type || '(none)'}" instead of application/timestamp-reply`);
  }
  try {
    return new Uint8Array(
      await readBoundedBody(res.body, {
        maxBytes: MAX_RESPONSE_BYTES,
        source: `TSA at ${url}`,
        declaredLength: res.headers['content-length'],
      }),
    );
  } catch (cause) {
    if (cause instanceof ResponseTooLargeError)
      throw tsaError(`TSA at ${url} sent more than ${MAX_RESPONSE_BYTES} bytes; a TimeStampResp is a few kilobytes`, cause);
    throw tsaError(`reading the answer of the TSA at ${url} failed: ${describeNetworkError(cause, timeoutMs)}`, cause);
  }
}

function describeNetworkError(cause: unknown, timeoutMs: number): string {
  const err = cause as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (
    err?.name === 'TimeoutError' ||
    err?.name === 'AbortError' ||
    err?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    err?.code === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return `no answer within ${timeoutMs} ms`;
  }
  const code = err?.code ?? err?.cause?.code;
  const message = err?.message ?? String(cause);
  return code && !message.includes(code) ? `${code} ${message}` : message;
}

function headerValue(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}
