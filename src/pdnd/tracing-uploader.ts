/**
 * Uploads a tenant's day of PDND traffic (tracing-ledger.ts's CSV) to the PDND tracing API:
 * `POST {tracingUrl}/tracings/submit?date=YYYY-MM-DD`, text/csv, authorised by an "API interoperabilità"
 * voucher. Transient failures (unreachable, timeout, 5xx, 429) are retried with doubling delays; a 4xx
 * or a file PDND reports as wrong is `rejected` (retrying the same bytes cannot help). Every step is in
 * the ledger, so `upload(tenant, date)` shows the state at any time and a restart resumes from it.
 * PDND processes a file after taking it: `verdict(tenant, tracingId)` asks its state (GET /tracings/{id}).
 */
import { type Dispatcher, request } from 'undici';
import { type Clock, systemClock } from '../core/clock.js';
import { TramiteError } from '../core/errors.js';
import { readBoundedBody } from '../core/bounded-body.js';
import { type TracingLedger, type TracingUpload, tracingCsv } from './tracing-ledger.js';

export interface TracingUploaderOptions {
  readonly ledger: TracingLedger;
  /** The tracing API base, e.g. https://api.uat.tracing.interop.pagopa.it */
  readonly tracingUrl: string;
  /** The tenant's API interoperabilità voucher (a VoucherCache of that client, with no purpose). */
  readonly voucher: (tenant: string) => Promise<string>;
  /** Attempts before `failed` (default 5). */
  readonly attempts?: number;
  /** First retry delay, doubled each time (default 2 s). */
  readonly retryDelayMs?: number;
  readonly timeoutMs?: number;
  readonly dispatcher?: Dispatcher;
  readonly clock?: Clock;
}

class TransientUploadError extends TramiteError {}

/** PDND took the file and found errors in it: its tracingId says which (GET /tracings/{id}). */
class RejectedFileError extends TramiteError {
  readonly tracingId: string;
  constructor(code: 'TRAMITE_ERR_PDND_TRACING_UPLOAD', message: string, opts: { tracingId: string }) {
    super(code, message);
    this.tracingId = opts.tracingId;
  }
}

export class TracingUploader {
  private readonly clock: Clock;

  constructor(private readonly opts: TracingUploaderOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  /** Uploads the day's CSV, retrying; resolves with the final state (uploaded, rejected or failed). */
  async upload(tenant: string, date: string): Promise<TracingUpload> {
    const { ledger } = this.opts;
    const max = this.opts.attempts ?? 5;
    // One read: the file sent and the total recorded with it describe the same rows.
    const rows = await ledger.rows(tenant, date);
    const csv = tracingCsv(rows);
    const uploadedRequests = rows.reduce((n, r) => n + r.count, 0);
    let delay = this.opts.retryDelayMs ?? 2000;
    for (let attempt = 1; ; attempt++) {
      await ledger.setUpload(
        { tenant, date, state: 'uploading', attempts: attempt, tracingId: undefined, lastError: undefined },
        this.clock.now(),
      );
      try {
        const tracingId = await this.submit(tenant, date, csv);
        await ledger.setUpload(
          { tenant, date, state: 'uploaded', attempts: attempt, tracingId, lastError: undefined, uploadedRequests },
          this.clock.now(),
        );
        break;
      } catch (err) {
        const lastError = (err as Error).message;
        const transient = err instanceof TransientUploadError;
        const state = !transient ? 'rejected' : attempt >= max ? 'failed' : 'pending';
        const tracingId = err instanceof RejectedFileError ? err.tracingId : undefined;
        await ledger.setUpload(
          { tenant, date, state, attempts: attempt, tracingId, lastError, ...(tracingId !== undefined ? { uploadedRequests } : {}) },
          this.clock.now(),
        );
        if (state !== 'pending') break;
        await new Promise((r) => setTimeout(r, delay));
        delay *= 2;
      }
    }
    return (await ledger.upload(tenant, date))!;
  }

  /**
   * PDND's state of an uploaded file and the problems it lists (GET {tracingUrl}/tracings/{id}). Throws
   * TRAMITE_ERR_PDND_TRACING_STATE when the state cannot be read; the caller asks again later.
   */
  async verdict(tenant: string, tracingId: string): Promise<{ state: string; problems: string[] }> {
    const url = `${this.opts.tracingUrl.replace(/\/$/, '')}/tracings/${encodeURIComponent(tracingId)}`;
    let status: number;
    let text: string;
    try {
      const voucher = await this.opts.voucher(tenant);
      const res = await request(url, {
        headers: { authorization: `Bearer ${voucher}`, accept: 'application/json' },
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
        ...(this.opts.dispatcher ? { dispatcher: this.opts.dispatcher } : {}),
      });
      status = res.statusCode;
      text = (await readBoundedBody(res.body, { maxBytes: 256 * 1024, source: `PDND tracing ${url}` })).toString('utf8');
    } catch (cause) {
      throw new TramiteError('TRAMITE_ERR_PDND_TRACING_STATE', `PDND tracing ${url}: ${(cause as Error).message}`, { cause });
    }
    let body: { state?: unknown; errors?: unknown } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (status !== 200 || typeof body?.state !== 'string')
      throw new TramiteError('TRAMITE_ERR_PDND_TRACING_STATE', `PDND tracing ${url}: HTTP ${status} ${text.slice(0, 200)}`);
    const problems = Array.isArray(body.errors) ? body.errors.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))) : [];
    return { state: body.state, problems: problems.slice(0, 100) };
  }

  private async submit(tenant: string, date: string, csv: string): Promise<string> {
    const url = `${this.opts.tracingUrl.replace(/\/$/, '')}/tracings/submit?date=${date}`;
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    let status: number;
    let text: string;
    try {
      const voucher = await this.opts.voucher(tenant);
      const res = await request(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${voucher}`, 'content-type': 'text/csv', accept: 'application/json' },
        body: csv,
        signal: AbortSignal.timeout(timeoutMs),
        ...(this.opts.dispatcher ? { dispatcher: this.opts.dispatcher } : {}),
      });
      status = res.statusCode;
      text = (await readBoundedBody(res.body, { maxBytes: 64 * 1024, source: `PDND tracing ${url}` })).toString('utf8');
    } catch (cause) {
      // No voucher, unreachable, too slow: all may pass.
      throw new TransientUploadError('TRAMITE_ERR_PDND_TRACING_UPLOAD', `PDND tracing ${url}: ${(cause as Error).message}`, { cause });
    }
    if (status >= 500 || status === 429)
      throw new TransientUploadError('TRAMITE_ERR_PDND_TRACING_UPLOAD', `PDND tracing ${url}: HTTP ${status} ${text.slice(0, 200)}`);
    let body: { tracingId?: unknown; errors?: unknown } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (status !== 200 || typeof body?.tracingId !== 'string')
      throw new TramiteError('TRAMITE_ERR_PDND_TRACING_UPLOAD', `PDND tracing ${url}: HTTP ${status} ${text.slice(0, 200)}`);
    if (body.errors === true)
      throw new RejectedFileError(
        'TRAMITE_ERR_PDND_TRACING_UPLOAD',
        `PDND tracing ${url}: tracing ${body.tracingId} has errors in the file`,
        {
          tracingId: body.tracingId,
        },
      );
    return body.tracingId;
  }
}
