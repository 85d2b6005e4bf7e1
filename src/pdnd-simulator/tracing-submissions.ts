/**
 * The tracing files tenants upload to the simulator: each CSV checked (the columns PDND's tracing
 * manual gives, in order; one row per purpose, status and voucher; every row of the declared day) and
 * kept with its state, in memory and, with a data folder, on disk (the CSV as received and an index),
 * so a restarted simulator still shows them. A newer file for the same tenant and day replaces the
 * older one, as PDND's "replace" does.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { TramiteError } from '../core/errors.js';

export const TRACING_COLUMNS = ['date', 'purpose_id', 'status', 'token_id', 'requests_count'] as const;

export type TracingState = 'COMPLETED' | 'ERROR' | 'REPLACED';

export interface TracingSubmission {
  readonly tracingId: string;
  readonly tenantId: string;
  readonly date: string;
  state: TracingState;
  readonly rows: number;
  readonly errors: readonly string[];
  readonly submittedAt: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const UUIDISH = /^[A-Za-z0-9._:-]{1,200}$/;

/** The problems of one CSV for `date`; empty when it is well-formed. Rows are counted when the header is right. */
export function checkTracingCsv(csv: string, date: string): { errors: string[]; rows: number } {
  const lines = csv.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n');
  const header = lines[0] ?? '';
  if (header !== TRACING_COLUMNS.join(','))
    return { errors: [`the header must be ${TRACING_COLUMNS.join(',')}, not ${JSON.stringify(header.slice(0, 200))}`], rows: 0 };
  const errors: string[] = [];
  const seen = new Set<string>();
  lines.slice(1).forEach((line, i) => {
    const n = i + 2;
    const cells = line.split(',');
    if (cells.length !== TRACING_COLUMNS.length) {
      errors.push(`line ${n}: ${cells.length} columns, expected ${TRACING_COLUMNS.length}`);
      return;
    }
    const [d, purpose, status, token, count] = cells as [string, string, string, string, string];
    if (d !== date) errors.push(`line ${n}: date ${d} is not the day uploaded (${date})`);
    if (!UUIDISH.test(purpose)) errors.push(`line ${n}: purpose_id is not an identifier`);
    if (!/^[1-5]\d\d$/.test(status)) errors.push(`line ${n}: status ${status} is not an HTTP status`);
    if (!UUIDISH.test(token)) errors.push(`line ${n}: token_id is not an identifier`);
    if (!/^[1-9]\d{0,9}$/.test(count)) errors.push(`line ${n}: requests_count ${count} is not a positive integer`);
    const key = `${purpose},${status},${token}`;
    if (seen.has(key)) errors.push(`line ${n}: purpose, status and token_id repeat an earlier row`);
    seen.add(key);
  });
  return { errors: errors.slice(0, 100), rows: lines.length - 1 };
}

export class TracingSubmissions {
  private readonly byId = new Map<string, TracingSubmission>();

  constructor(private readonly dataDir?: string) {
    if (dataDir && existsSync(this.indexFile()))
      for (const s of JSON.parse(readFileSync(this.indexFile(), 'utf8')) as TracingSubmission[]) this.byId.set(s.tracingId, s);
  }

  submit(tenantId: string, date: string, csv: string, at: Date): TracingSubmission {
    if (!DATE.test(date)) throw new TramiteError('TRAMITE_ERR_INVALID_ARGUMENT', `date ${date} is not YYYY-MM-DD`);
    const { errors, rows } = checkTracingCsv(csv, date);
    const submission: TracingSubmission = {
      tracingId: randomUUID(),
      tenantId,
      date,
      state: errors.length === 0 ? 'COMPLETED' : 'ERROR',
      rows,
      errors,
      submittedAt: at.toISOString(),
    };
    if (submission.state === 'COMPLETED')
      for (const s of this.byId.values()) if (s.tenantId === tenantId && s.date === date && s.state === 'COMPLETED') s.state = 'REPLACED';
    this.byId.set(submission.tracingId, submission);
    if (this.dataDir) {
      const folder = join(this.dataDir, 'tracing', tenantId.replace(/[^A-Za-z0-9._-]/g, '_'));
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, `${date}-${submission.tracingId}.csv`), csv);
      this.saveIndex();
    }
    return submission;
  }

  get(tracingId: string): TracingSubmission | undefined {
    return this.byId.get(tracingId);
  }

  list(tenantId: string, date?: string): TracingSubmission[] {
    return [...this.byId.values()].filter((s) => s.tenantId === tenantId && (date === undefined || s.date === date));
  }

  private indexFile(): string {
    return join(this.dataDir!, 'tracings.json');
  }

  private saveIndex(): void {
    const tmp = `${this.indexFile()}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.byId.values()], null, 1));
    renameSync(tmp, this.indexFile());
  }
}
