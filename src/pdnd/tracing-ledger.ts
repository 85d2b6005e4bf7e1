/**
 * Each day's PDND traffic, per tenant, for the tracing obligation (reference §5.8): one row per
 * (date, purpose, HTTP status, voucher jti) with its count, and each day's upload state: what was sent
 * (its request total, so a day that grew after its upload is seen) and PDND's verdict on it. Kept in the
 * adapter SDK's store: the SQLite file `<dataDir>/pdnd-tracing.sqlite` by default, a schema of the log's
 * PostgreSQL when the log is there (every node process then counts into one ledger). `normal`
 * durability: a counter lost in a power cut is a count off by a few, and recording costs no fsync.
 */
import type { AdapterStore, AdapterStoreOpener, StoreMigration } from '../../adapters/sdk/store/adapter-store.js';
import { SqliteAdapterStore } from '../../adapters/sdk/store/sqlite-adapter-store.js';
import { StoreLease } from '../../adapters/sdk/store/store-lease.js';

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
  /** The total of requests_count in the file `tracingId` names: below the day's total, the day grew after its upload. */
  readonly uploadedRequests: number | undefined;
  /** PDND's state of that file as last polled (COMPLETED, ERROR, REPLACED, PENDING…); undefined until polled. */
  readonly pdndState: string | undefined;
  /** How many times PDND's state was asked since the upload. */
  readonly polls: number;
  /** The problems PDND found in the file (its state ERROR). */
  readonly problems: readonly string[];
}

/** One upload attempt's step, as the uploader records it: the verdict fields start again at each step. */
export type UploadStep = Pick<TracingUpload, 'tenant' | 'date' | 'state' | 'attempts' | 'tracingId' | 'lastError'> & {
  readonly uploadedRequests?: number;
};

/** PDND's answer about an uploaded file; `state` changes the local state too (an ERROR makes the day `rejected`). */
export interface UploadVerdict {
  readonly pdndState: string;
  readonly problems: readonly string[];
  readonly state?: UploadState;
}

/** A (tenant, day) with traffic, its totals, and its upload (undefined: never tried). */
export interface TracingDay {
  readonly tenant: string;
  readonly date: string;
  readonly requests: number;
  readonly upload: TracingUpload | undefined;
  /** Uploaded, and traffic was recorded for the day afterwards (a late record): due again. */
  readonly grownSinceUpload: boolean;
}

/** What GET /health's details show of tracing. */
export interface TracingSummary {
  readonly lastUploaded?: { tenant: string; date: string; tracingId: string | undefined; pdndState: string | undefined };
  /** Due days (before the cutoff) not uploaded yet: never tried, waiting for a retry, or grown since their upload. */
  readonly pending: number;
  readonly failed: number;
  readonly rejected: number;
}

export interface TrafficRow {
  readonly date: string;
  readonly purposeId: string;
  readonly status: number;
  readonly tokenId: string;
  readonly count: number;
}

/**
 * SQLite's steps are the ones files were made with before the store was shared (their user_version
 * says which ran); PostgreSQL's make the same tables.
 */
const MIGRATIONS: readonly StoreMigration[] = [
  {
    sqlite: `CREATE TABLE IF NOT EXISTS pdnd_traffic (
     tenant TEXT NOT NULL, date TEXT NOT NULL, purpose_id TEXT NOT NULL, status INTEGER NOT NULL,
     token_id TEXT NOT NULL, requests_count INTEGER NOT NULL,
     PRIMARY KEY (tenant, date, purpose_id, status, token_id)) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS pdnd_tracing_upload (
     tenant TEXT NOT NULL, date TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
     tracing_id TEXT, last_error TEXT, updated_at TEXT NOT NULL,
     PRIMARY KEY (tenant, date)) WITHOUT ROWID;`,
    postgres: `CREATE TABLE IF NOT EXISTS pdnd_traffic (
     tenant TEXT NOT NULL, date TEXT NOT NULL, purpose_id TEXT NOT NULL, status INTEGER NOT NULL,
     token_id TEXT NOT NULL, requests_count BIGINT NOT NULL,
     PRIMARY KEY (tenant, date, purpose_id, status, token_id));
   CREATE TABLE IF NOT EXISTS pdnd_tracing_upload (
     tenant TEXT NOT NULL, date TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
     tracing_id TEXT, last_error TEXT, updated_at TEXT NOT NULL,
     PRIMARY KEY (tenant, date));`,
  },
  // What an upload sent and what PDND said of it; each day's request total kept as requests are recorded,
  // so finding the days due reads one row per day, not every row of the history.
  {
    sqlite: `ALTER TABLE pdnd_tracing_upload ADD COLUMN uploaded_requests INTEGER;
   ALTER TABLE pdnd_tracing_upload ADD COLUMN pdnd_state TEXT;
   ALTER TABLE pdnd_tracing_upload ADD COLUMN polls INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE pdnd_tracing_upload ADD COLUMN problems TEXT;
   CREATE INDEX IF NOT EXISTS pdnd_tracing_upload_by_state ON pdnd_tracing_upload (state, date);
   CREATE TABLE IF NOT EXISTS pdnd_tracing_day (
     tenant TEXT NOT NULL, date TEXT NOT NULL, requests INTEGER NOT NULL,
     PRIMARY KEY (tenant, date)) WITHOUT ROWID;
   INSERT OR IGNORE INTO pdnd_tracing_day SELECT tenant, date, SUM(requests_count) FROM pdnd_traffic GROUP BY tenant, date;`,
    postgres: `ALTER TABLE pdnd_tracing_upload ADD COLUMN uploaded_requests BIGINT, ADD COLUMN pdnd_state TEXT,
     ADD COLUMN polls INTEGER NOT NULL DEFAULT 0, ADD COLUMN problems TEXT;
   CREATE INDEX IF NOT EXISTS pdnd_tracing_upload_by_state ON pdnd_tracing_upload (state, date);
   CREATE TABLE IF NOT EXISTS pdnd_tracing_day (
     tenant TEXT NOT NULL, date TEXT NOT NULL, requests BIGINT NOT NULL, PRIMARY KEY (tenant, date));`,
  },
];

/** The store's name: `<dataDir>/pdnd-tracing.sqlite`, as the ledger's file was always called. */
export const TRACING_STORE = 'pdnd-tracing';

type UploadRow = {
  tenant: string;
  date: string;
  state: UploadState;
  attempts: number;
  tracing_id: string | null;
  last_error: string | null;
  updated_at: string;
  uploaded_requests: number | null;
  pdnd_state: string | null;
  polls: number;
  problems: string | null;
};

/** A day's total and its upload's columns, all NULL when it has none. */
type DayRow = { tenant: string; date: string; requests: number } & {
  [K in Exclude<keyof UploadRow, 'tenant' | 'date'>]: UploadRow[K] | null;
};

/** The CSV of a day's rows, columns in the order PDND's tracing manual gives. */
export function tracingCsv(rows: readonly TrafficRow[]): string {
  const lines = rows.map((r) => [r.date, r.purposeId, r.status, r.tokenId, r.count].join(','));
  return [TRACING_CSV_COLUMNS.join(','), ...lines].join('\n') + '\n';
}

/** The UTC day of an instant (PDND's tracing day; the node's clock is UTC). */
export function tracingDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export class TracingLedger {
  private readonly store: Promise<AdapterStore>;
  private schedule: StoreLease | undefined;

  /** Opens the ledger's store with `open` (the node's: SQLite in its data dir, or a schema of the log's PostgreSQL). */
  constructor(open: AdapterStoreOpener) {
    this.store = open(TRACING_STORE, MIGRATIONS, { durability: 'normal' });
    this.store.catch(() => undefined); // reported by the first call that needs it
  }

  /** A ledger in one SQLite file (`tramite pdnd tracing --ledger`, tests). */
  static inFile(file: string): TracingLedger {
    return new TracingLedger((_name, migrations, opts) => SqliteAdapterStore.open(file, migrations, opts));
  }

  /** Waits until the store is open (and migrated): its failure, if it fails. */
  async opened(): Promise<void> {
    await this.store;
  }

  /**
   * Takes (or renews) the upload schedule's lease for `ttlMs`: true when this process runs the passes.
   * Every process sharing the ledger records traffic; one at a time uploads it.
   */
  async takeSchedule(ttlMs: number): Promise<boolean> {
    this.schedule ??= new StoreLease(await this.store, 'pdnd-tracing-schedule', ttlMs);
    return this.schedule.acquire();
  }

  /** One PDND request answered (provider side) or made (consumer side); the day's total in the same commit. */
  async record(entry: { tenant: string; at: Date; purposeId: string; status: number; voucherJti: string }): Promise<void> {
    const date = tracingDay(entry.at);
    await (
      await this.store
    ).transaction(async (tx) => {
      await tx.run(
        `INSERT INTO pdnd_traffic VALUES (?, ?, ?, ?, ?, 1)
         ON CONFLICT (tenant, date, purpose_id, status, token_id) DO UPDATE SET requests_count = pdnd_traffic.requests_count + 1`,
        [entry.tenant, date, entry.purposeId, entry.status, entry.voucherJti],
      );
      await tx.run(
        `INSERT INTO pdnd_tracing_day VALUES (?, ?, 1) ON CONFLICT (tenant, date) DO UPDATE SET requests = pdnd_tracing_day.requests + 1`,
        [entry.tenant, date],
      );
    });
  }

  async rows(tenant: string, date: string): Promise<TrafficRow[]> {
    const rows = await (
      await this.store
    ).all<{ date: string; purpose_id: string; status: number; token_id: string; requests_count: number }>(
      `SELECT date, purpose_id, status, token_id, requests_count FROM pdnd_traffic
       WHERE tenant = ? AND date = ? ORDER BY purpose_id, status, token_id`,
      [tenant, date],
    );
    return rows.map((r) => ({ date: r.date, purposeId: r.purpose_id, status: r.status, tokenId: r.token_id, count: r.requests_count }));
  }

  /** The day's CSV, columns in the order PDND's tracing manual gives. */
  async csv(tenant: string, date: string): Promise<string> {
    return tracingCsv(await this.rows(tenant, date));
  }

  /** Tenants with traffic on `date`. */
  async tenants(date: string): Promise<string[]> {
    const rows = await (
      await this.store
    ).all<{ tenant: string }>('SELECT DISTINCT tenant FROM pdnd_traffic WHERE date = ? ORDER BY tenant', [date]);
    return rows.map((r) => r.tenant);
  }

  /** Records an upload attempt's step; PDND's verdict on an earlier file is cleared (it no longer describes the day). */
  async setUpload(u: UploadStep, at: Date): Promise<void> {
    await (
      await this.store
    ).run(
      `INSERT INTO pdnd_tracing_upload (tenant, date, state, attempts, tracing_id, last_error, updated_at, uploaded_requests, pdnd_state, polls, problems)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, NULL)
       ON CONFLICT (tenant, date) DO UPDATE SET state = excluded.state, attempts = excluded.attempts,
         tracing_id = excluded.tracing_id, last_error = excluded.last_error, updated_at = excluded.updated_at,
         uploaded_requests = excluded.uploaded_requests, pdnd_state = NULL, polls = 0, problems = NULL`,
      [u.tenant, u.date, u.state, u.attempts, u.tracingId ?? null, u.lastError ?? null, at.toISOString(), u.uploadedRequests ?? null],
    );
  }

  /** Records PDND's state of the day's uploaded file (one poll). */
  async setVerdict(tenant: string, date: string, v: UploadVerdict, at: Date): Promise<void> {
    await (
      await this.store
    ).run(
      `UPDATE pdnd_tracing_upload SET pdnd_state = ?, problems = ?, polls = polls + 1, state = COALESCE(?, state), updated_at = ?
       WHERE tenant = ? AND date = ?`,
      [v.pdndState, v.problems.length > 0 ? JSON.stringify(v.problems) : null, v.state ?? null, at.toISOString(), tenant, date],
    );
  }

  async upload(tenant: string, date: string): Promise<TracingUpload | undefined> {
    const r = await (await this.store).get<UploadRow>('SELECT * FROM pdnd_tracing_upload WHERE tenant = ? AND date = ?', [tenant, date]);
    return r ? toUpload(r) : undefined;
  }

  /** Upload records, oldest day first, optionally of one day or in one state. */
  async uploads(filter: { date?: string; state?: UploadState } = {}): Promise<TracingUpload[]> {
    const date = filter.date ?? null;
    const state = filter.state ?? null;
    const rows = await (
      await this.store
    ).all<UploadRow>(
      'SELECT * FROM pdnd_tracing_upload WHERE (CAST(? AS TEXT) IS NULL OR date = ?) AND (CAST(? AS TEXT) IS NULL OR state = ?) ORDER BY date, tenant',
      [date, date, state, state],
    );
    return rows.map(toUpload);
  }

  /**
   * Files sent whose PDND state is not final yet (not one of `finalStates`), asked fewer than `maxPolls`
   * times: uploaded ones, and rejected ones whose problems PDND has not listed to us yet.
   */
  async awaitingVerdict(finalStates: readonly string[], maxPolls: number): Promise<TracingUpload[]> {
    const rows = await (
      await this.store
    ).all<UploadRow>(
      `SELECT * FROM pdnd_tracing_upload
       WHERE state IN ('uploaded', 'rejected') AND tracing_id IS NOT NULL AND polls < ?
       ORDER BY date, tenant`,
      [maxPolls],
    );
    return rows.filter((r) => r.pdnd_state === null || !finalStates.includes(r.pdnd_state)).map(toUpload);
  }

  /** Every (tenant, day) with traffic, optionally one day, oldest first, with its upload (for listing). */
  async days(filter: { date?: string } = {}): Promise<TracingDay[]> {
    const date = filter.date ?? null;
    return (await this.dayRows('(CAST(? AS TEXT) IS NULL OR d.date = ?)', [date, date])).map((d) => this.toDay(d));
  }

  /**
   * The (tenant, day) pairs before `beforeDate` (and from `sinceDate`, when given) an upload is due for:
   * never tried, `pending`, an attempt cut short by a restart (`uploading`: the schedule runs one pass at
   * a time, so a pass finding it did not leave it), or uploaded and grown since. `failed`
   * and `rejected` days are not here: the schedule decides when a failed day is tried again, and a
   * rejected one waits for an operator. Oldest first.
   */
  async pendingDays(beforeDate: string, sinceDate?: string): Promise<TracingDay[]> {
    const since = sinceDate ?? null;
    return (
      await this.dayRows(
        `d.date < ? AND (CAST(? AS TEXT) IS NULL OR d.date >= ?) AND (u.state IS NULL OR u.state IN ('pending', 'uploading')
           OR (u.state = 'uploaded' AND d.requests > u.uploaded_requests))`,
        [beforeDate, since, since],
      )
    ).map((d) => this.toDay(d));
  }

  /** The tracing state for GET /health: the last file uploaded, and how many due days are waiting, failed or rejected. */
  async summary(beforeDate: string): Promise<TracingSummary> {
    const store = await this.store;
    const last = await store.get<UploadRow>(
      `SELECT * FROM pdnd_tracing_upload WHERE state = 'uploaded' ORDER BY date DESC, updated_at DESC LIMIT 1`,
    );
    const count = async (state: UploadState): Promise<number> =>
      (await store.get<{ n: number }>('SELECT COUNT(*) AS n FROM pdnd_tracing_upload WHERE state = ?', [state]))!.n;
    return {
      ...(last
        ? {
            lastUploaded: {
              tenant: last.tenant,
              date: last.date,
              tracingId: last.tracing_id ?? undefined,
              pdndState: last.pdnd_state ?? undefined,
            },
          }
        : {}),
      pending: (await this.pendingDays(beforeDate)).length,
      failed: await count('failed'),
      rejected: await count('rejected'),
    };
  }

  private async dayRows(where: string, params: Array<string | null>): Promise<DayRow[]> {
    return (await this.store).all<DayRow>(
      `SELECT d.tenant, d.date, d.requests, u.state, u.attempts, u.tracing_id, u.last_error, u.updated_at,
         u.uploaded_requests, u.pdnd_state, u.polls, u.problems
       FROM pdnd_tracing_day d LEFT JOIN pdnd_tracing_upload u ON u.tenant = d.tenant AND u.date = d.date
       WHERE ${where} ORDER BY d.date, d.tenant`,
      params,
    );
  }

  private toDay(d: DayRow): TracingDay {
    const upload = d.state !== null ? toUpload(d as UploadRow) : undefined;
    const grownSinceUpload = upload?.state === 'uploaded' && upload.uploadedRequests !== undefined && d.requests > upload.uploadedRequests;
    return { tenant: d.tenant, date: d.date, requests: d.requests, upload, grownSinceUpload };
  }

  async close(): Promise<void> {
    await (await this.store.catch(() => undefined))?.close();
  }
}

function toUpload(r: UploadRow): TracingUpload {
  return {
    tenant: r.tenant,
    date: r.date,
    state: r.state,
    attempts: r.attempts,
    tracingId: r.tracing_id ?? undefined,
    lastError: r.last_error ?? undefined,
    updatedAt: r.updated_at,
    uploadedRequests: r.uploaded_requests ?? undefined,
    pdndState: r.pdnd_state ?? undefined,
    polls: r.polls,
    problems: r.problems ? (JSON.parse(r.problems) as string[]) : [],
  };
}
