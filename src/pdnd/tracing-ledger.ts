/**
 * Each day's PDND traffic, per tenant, for the tracing obligation (reference §5.8): one row per
 * (date, purpose, HTTP status, voucher jti) with its count, in a SQLite file (adapters/sdk's opener:
 * WAL, numbered migrations), and each day's upload state. `normal` durability: a counter lost in a
 * power cut is a count off by a few, never a corrupt file, and recording costs no fsync per request.
 */
import { type AdapterDatabase, openAdapterStore } from '../../adapters/sdk/adapter-store.js';

export const TRACING_CSV_COLUMNS = ['date', 'purpose_id', 'status', 'token_id', 'requests_count'] as const;

export type UploadState = 'pending' | 'uploading' | 'uploaded' | 'rejected' | 'failed';

export interface TracingUpload {
  readonly tenant: string;
  readonly date: string;
  readonly state: UploadState;
  readonly attempts: number;
  readonly tracingId: string | undefined;
  readonly lastError: string | undefined;
  readonly updatedAt: string;
}

export interface TrafficRow {
  readonly date: string;
  readonly purposeId: string;
  readonly status: number;
  readonly tokenId: string;
  readonly count: number;
}

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS pdnd_traffic (
     tenant TEXT NOT NULL, date TEXT NOT NULL, purpose_id TEXT NOT NULL, status INTEGER NOT NULL,
     token_id TEXT NOT NULL, requests_count INTEGER NOT NULL,
     PRIMARY KEY (tenant, date, purpose_id, status, token_id)) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS pdnd_tracing_upload (
     tenant TEXT NOT NULL, date TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
     tracing_id TEXT, last_error TEXT, updated_at TEXT NOT NULL,
     PRIMARY KEY (tenant, date)) WITHOUT ROWID;`,
];

/** The UTC day of an instant (PDND's tracing day; the node's clock is UTC). */
export function tracingDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export class TracingLedger {
  private readonly db: AdapterDatabase;
  private readonly insert;

  constructor(file: string) {
    this.db = openAdapterStore(file, MIGRATIONS, { durability: 'normal' });
    this.insert = this.db.prepare(
      `INSERT INTO pdnd_traffic VALUES (?, ?, ?, ?, ?, 1)
       ON CONFLICT (tenant, date, purpose_id, status, token_id) DO UPDATE SET requests_count = requests_count + 1`,
    );
  }

  /** One PDND request answered (provider side) or made (consumer side). */
  record(entry: { tenant: string; at: Date; purposeId: string; status: number; voucherJti: string }): void {
    this.insert.run(entry.tenant, tracingDay(entry.at), entry.purposeId, entry.status, entry.voucherJti);
  }

  rows(tenant: string, date: string): TrafficRow[] {
    return (
      this.db
        .prepare(
          `SELECT date, purpose_id, status, token_id, requests_count FROM pdnd_traffic
           WHERE tenant = ? AND date = ? ORDER BY purpose_id, status, token_id`,
        )
        .all(tenant, date) as { date: string; purpose_id: string; status: number; token_id: string; requests_count: number }[]
    ).map((r) => ({ date: r.date, purposeId: r.purpose_id, status: r.status, tokenId: r.token_id, count: r.requests_count }));
  }

  /** The day's CSV, columns in the order PDND's tracing manual gives. */
  csv(tenant: string, date: string): string {
    const lines = this.rows(tenant, date).map((r) => [r.date, r.purposeId, r.status, r.tokenId, r.count].join(','));
    return [TRACING_CSV_COLUMNS.join(','), ...lines].join('\n') + '\n';
  }

  /** Tenants with traffic on `date`. */
  tenants(date: string): string[] {
    return (
      this.db.prepare('SELECT DISTINCT tenant FROM pdnd_traffic WHERE date = ? ORDER BY tenant').all(date) as { tenant: string }[]
    ).map((r) => r.tenant);
  }

  setUpload(u: Omit<TracingUpload, 'updatedAt'>, at: Date): void {
    this.db
      .prepare(
        `INSERT INTO pdnd_tracing_upload VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant, date) DO UPDATE SET state = excluded.state, attempts = excluded.attempts,
           tracing_id = excluded.tracing_id, last_error = excluded.last_error, updated_at = excluded.updated_at`,
      )
      .run(u.tenant, u.date, u.state, u.attempts, u.tracingId ?? null, u.lastError ?? null, at.toISOString());
  }

  upload(tenant: string, date: string): TracingUpload | undefined {
    const r = this.db.prepare('SELECT * FROM pdnd_tracing_upload WHERE tenant = ? AND date = ?').get(tenant, date) as
      | {
          tenant: string;
          date: string;
          state: UploadState;
          attempts: number;
          tracing_id: string | null;
          last_error: string | null;
          updated_at: string;
        }
      | undefined;
    return r
      ? {
          tenant: r.tenant,
          date: r.date,
          state: r.state,
          attempts: r.attempts,
          tracingId: r.tracing_id ?? undefined,
          lastError: r.last_error ?? undefined,
          updatedAt: r.updated_at,
        }
      : undefined;
  }

  close(): void {
    this.db.close();
  }
}
