/**
 * Obtaining a time-stamp: the options checked, the request encoded, the HTTP exchange, the answer
 * checked against the request. Every failure is TRAMITE_ERR_TSA.
 */
import { encodeTimestampRequest } from './timestamp-request.js';
import { tokenFromResponse } from './timestamp-response.js';
import { asTsaError, tsaError } from './tsa-error.js';
import { postTimestampQuery } from './tsa-http-exchange.js';

export type TsaHashAlgorithm = 'SHA-256';

export interface RequestTimestampOptions {
  /** Whole exchange (connect, send, answer), in milliseconds. Default 10 000. */
  readonly timeoutMs?: number;
  /** Digest of the data sent as messageImprint; only SHA-256 is supported. */
  readonly hashAlgorithm?: TsaHashAlgorithm;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Obtains an RFC 3161 time-stamp token over `data` from the TSA at `url` and returns the token's DER
 * (the TimeStampToken ContentInfo, not the whole TimeStampResp). The answer is checked against the
 * request (status, messageImprint, nonce, certificates present); its signature is not: that is
 * `verifyTimestampToken`'s job, with the trust anchors the caller configures.
 */
export async function requestTimestamp(url: string, data: Uint8Array, opts: RequestTimestampOptions = {}): Promise<Uint8Array> {
  return asTsaError(() => requestTimestampUnguarded(url, data, opts), `time-stamp request to ${url} failed`);
}

async function requestTimestampUnguarded(url: string, data: Uint8Array, opts: RequestTimestampOptions): Promise<Uint8Array> {
  const hashAlgorithm = opts.hashAlgorithm ?? 'SHA-256';
  if (hashAlgorithm !== 'SHA-256') throw tsaError(`unsupported TSA hash algorithm "${String(hashAlgorithm)}": only SHA-256 is supported`);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw tsaError(`TSA timeout must be a positive number of milliseconds, got ${timeoutMs}`);
  let target: URL;
  try {
    target = new URL(url);
  } catch (cause) {
    throw tsaError(`TSA URL "${url}" is not a valid URL`, cause);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw tsaError(`TSA URL "${url}" must be http: or https:, not ${target.protocol}`);
  }

  const query = encodeTimestampRequest(data);
  const raw = await postTimestampQuery(url, query.der, timeoutMs);
  return tokenFromResponse(url, raw, query);
}
