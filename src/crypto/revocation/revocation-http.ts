import { request } from 'undici';
import { readBoundedBody } from '../../core/bounded-body.js';
import { TramiteError } from '../../core/errors.js';

export interface RevocationFetchOptions {
  /** The whole exchange (connect, headers, body) must end within this many milliseconds. */
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** An OCSP request (POST application/ocsp-request); absent: a GET (a CRL). */
  readonly ocspRequest?: Uint8Array;
}

/** A fetch that gave nothing: no status from that source (the checker may try another, or judge by its policy). */
function unreachable(message: string, cause?: unknown): TramiteError {
  return new TramiteError('TRAMITE_ERR_CERT_STATUS_UNKNOWN', message, cause === undefined ? undefined : { cause });
}

/**
 * Fetches a CRL or asks an OCSP responder, over plain HTTP only (RFC 5280 §4.2.1.13 and RFC 6960
 * Appendix A: both are signed objects, TLS adds nothing and would make revocation of the TLS
 * certificates themselves circular). Bounded in time and size: the URL comes from a trusted CA's
 * certificate, but the server behind it may still be slow or large.
 */
export async function fetchRevocationData(url: string, opts: RevocationFetchOptions): Promise<Uint8Array> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw unreachable(`"${url}" is not a URL`);
  }
  if (parsed.protocol !== 'http:') throw unreachable(`${url}: only http:// addresses are fetched`);
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    const res = await request(parsed, {
      method: opts.ocspRequest ? 'POST' : 'GET',
      signal,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      ...(opts.ocspRequest
        ? { headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' }, body: opts.ocspRequest }
        : {}),
    });
    if (res.statusCode !== 200) {
      res.body.destroy();
      throw unreachable(`${url} answered HTTP ${res.statusCode}`);
    }
    return await readBoundedBody(res.body, { maxBytes: opts.maxBytes, source: url, declaredLength: res.headers['content-length'] });
  } catch (cause) {
    if (cause instanceof TramiteError && cause.code === 'TRAMITE_ERR_CERT_STATUS_UNKNOWN') throw cause;
    const why = signal.aborted ? `no answer within ${opts.timeoutMs} ms` : (cause as Error).message;
    throw unreachable(`${url}: ${why}`, cause);
  }
}
