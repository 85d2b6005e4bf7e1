import { TramiteError } from './errors.js';

/**
 * The one way the node reads the body of an HTTP response it did not write (a peer's reply, a back
 * office's answer, a webhook's, a TSA's): never more than `maxBytes` in memory. A body that declares or
 * reaches more is refused with TRAMITE_ERR_RESPONSE_TOO_LARGE and its stream destroyed, so the rest is
 * never read off the socket. Works on any chunk stream (undici's BodyReadable, a node Readable): it
 * consumes what it is given and does no I/O of its own.
 */

/** What the reader needs from a response body: its chunks, and a way to stop it. */
export interface ResponseBodyStream extends AsyncIterable<Uint8Array | string> {
  destroy(error?: Error): unknown;
}

export interface BoundedReadOptions {
  /** Largest body accepted, in bytes. */
  readonly maxBytes: number;
  /** Who answered, for the error message, e.g. "peer at http://…". */
  readonly source: string;
  /** The response's Content-Length header, when it has one: a larger declared size is refused unread. */
  readonly declaredLength?: string | string[] | undefined;
}

export class ResponseTooLargeError extends TramiteError {
  readonly maxBytes: number;
  constructor(source: string, maxBytes: number, declared?: number) {
    super(
      'TRAMITE_ERR_RESPONSE_TOO_LARGE',
      `${source} answered with ${declared !== undefined ? `a body of ${declared} bytes` : 'a body'} larger than the ${maxBytes} bytes accepted`,
    );
    this.maxBytes = maxBytes;
  }
}

export async function readBoundedBody(body: ResponseBodyStream, opts: BoundedReadOptions): Promise<Buffer> {
  const declared = declaredLength(opts.declaredLength);
  if (declared !== undefined && declared > opts.maxBytes) {
    const err = new ResponseTooLargeError(opts.source, opts.maxBytes, declared);
    body.destroy(err);
    throw err;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    size += buf.length;
    if (size > opts.maxBytes) {
      const err = new ResponseTooLargeError(opts.source, opts.maxBytes);
      body.destroy(err);
      throw err;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

/** Reads and drops a body whose content does not matter (a webhook's), within the same bound. */
export async function discardBoundedBody(body: ResponseBodyStream, opts: BoundedReadOptions): Promise<void> {
  try {
    await readBoundedBody(body, opts);
  } catch (err) {
    // Too large is fine here: the stream is destroyed and nothing was kept.
    if (!(err instanceof ResponseTooLargeError)) throw err;
  }
}

function declaredLength(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}
