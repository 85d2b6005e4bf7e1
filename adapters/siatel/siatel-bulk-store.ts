/**
 * What the SIATEL adapter keeps across restarts besides the quota: bulk jobs with one row per line
 * of the submitted file (its answer once known, so a restart resumes at the first line without one
 * and never asks SIATEL again about a line already answered), and the operators it has queried for
 * (so health and status can list them after a restart). In the adapter's store (SQLite in its folder,
 * or PostgreSQL shared by the node's processes); a job is run by one process at a time, the holder of
 * its lease.
 */
import { randomUUID } from 'node:crypto';
import { StoreLease, type AdapterStore, type AdapterStoreOpener, type StoreDialect, type StoreMigration } from '../sdk/index.js';
import type { SiatelErrorCode, SiatelQueryKind } from './siatel-mapping.js';
import type { QueryOutcome } from './siatel-query-client.js';

/** The answer to one line: answered, or not by SIATEL (after the retries, or because the operator was blocked). */
export type BulkItemResult =
  | QueryOutcome
  | {
      readonly interrogazione: SiatelQueryKind;
      readonly codiceFiscale: string;
      readonly fonte: 'SIATEL';
      readonly esito: 'ERRORE';
      readonly motivo: string;
      readonly errore?: SiatelErrorCode;
    };

export type BulkJobState = 'in_corso' | 'completato' | 'interrotto';

export interface BulkJob {
  readonly id: string;
  readonly operatore: string;
  readonly interrogazione: SiatelQueryKind;
  readonly comune?: string;
  readonly stato: BulkJobState;
  /** Why the job was interrupted. */
  readonly motivo?: string;
  readonly creatoIl: string;
  readonly completatoIl?: string;
  readonly totale: number;
}

export interface BulkItem {
  readonly riga: number;
  /** The line as submitted. */
  readonly inserito: string;
  /** Normalized (no spaces, upper case): what is queried, and what duplicates share. */
  readonly codice: string;
  readonly tentativi: number;
  readonly risultato?: BulkItemResult;
}

export interface BulkProgress {
  readonly completati: number;
  readonly locali: number;
  readonly errori: number;
}

type JobRow = {
  id: string;
  operatore: string;
  interrogazione: SiatelQueryKind;
  comune: string | null;
  stato: BulkJobState;
  motivo: string | null;
  creato_il: string;
  completato_il: string | null;
  totale: number;
};

type ItemRow = {
  riga: number;
  inserito: string;
  codice: string;
  tentativi: number;
  risultato: string | null;
};

/** The store's name: on SQLite the file `siatel-bulk.sqlite` the adapter has always used. */
export const BULK_STORE = 'siatel-bulk';

export const BULK_MIGRATIONS: readonly StoreMigration[] = [
  {
    sqlite: `
      CREATE TABLE IF NOT EXISTS bulk_jobs (
        id TEXT PRIMARY KEY,
        operatore TEXT NOT NULL,
        interrogazione TEXT NOT NULL,
        comune TEXT,
        stato TEXT NOT NULL CHECK (stato IN ('in_corso', 'completato', 'interrotto')),
        motivo TEXT,
        creato_il TEXT NOT NULL,
        completato_il TEXT,
        totale INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS bulk_items (
        job_id TEXT NOT NULL REFERENCES bulk_jobs (id),
        riga INTEGER NOT NULL,
        inserito TEXT NOT NULL,
        codice TEXT NOT NULL,
        tentativi INTEGER NOT NULL DEFAULT 0,
        risultato TEXT,
        PRIMARY KEY (job_id, riga)
      );
      CREATE INDEX IF NOT EXISTS bulk_items_by_code ON bulk_items (job_id, codice);
      CREATE TABLE IF NOT EXISTS operators (operatore TEXT PRIMARY KEY, ultimo_uso TEXT NOT NULL);
  `,
    // The same tables; `seq` keeps the order jobs were made in, which SQLite's rowid gives.
    postgres: `
      CREATE TABLE bulk_jobs (
        id TEXT PRIMARY KEY,
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        operatore TEXT NOT NULL,
        interrogazione TEXT NOT NULL,
        comune TEXT,
        stato TEXT NOT NULL CHECK (stato IN ('in_corso', 'completato', 'interrotto')),
        motivo TEXT,
        creato_il TEXT NOT NULL,
        completato_il TEXT,
        totale INTEGER NOT NULL
      );
      CREATE TABLE bulk_items (
        job_id TEXT NOT NULL REFERENCES bulk_jobs (id),
        riga INTEGER NOT NULL,
        inserito TEXT NOT NULL,
        codice TEXT NOT NULL,
        tentativi INTEGER NOT NULL DEFAULT 0,
        risultato TEXT,
        PRIMARY KEY (job_id, riga)
      );
      CREATE INDEX bulk_items_by_code ON bulk_items (job_id, codice);
      CREATE TABLE operators (operatore TEXT PRIMARY KEY, ultimo_uso TEXT NOT NULL);
  `,
  },
];

/** Lines inserted per statement when a job is created (well under either engine's limit on parameters). */
const INSERT_BATCH = 200;

/** A field of the JSON answer in column `risultato`, in the engine's words. */
function resultField(dialect: StoreDialect, field: 'fonte' | 'esito'): string {
  return dialect === 'sqlite' ? `json_extract(risultato, '$.${field}')` : `(risultato::json ->> '${field}')`;
}

export class SiatelBulkStore {
  private readonly made: string;
  private readonly fonte: string;
  private readonly esito: string;

  private constructor(private readonly store: AdapterStore) {
    this.made = store.dialect === 'sqlite' ? 'creato_il, rowid' : 'creato_il, seq';
    this.fonte = resultField(store.dialect, 'fonte');
    this.esito = resultField(store.dialect, 'esito');
  }

  static async open(openStore: AdapterStoreOpener): Promise<SiatelBulkStore> {
    // No fsync per commit: a line is written at every answer; one lost on a power cut is asked again.
    return new SiatelBulkStore(await openStore(BULK_STORE, BULK_MIGRATIONS, { durability: 'normal' }));
  }

  /** Records a job and its lines, atomically: a job is either all there or absent. */
  async createJob(
    job: { operatore: string; interrogazione: SiatelQueryKind; comune?: string; creatoIl: string },
    lines: ReadonlyArray<{ inserito: string; codice: string }>,
  ): Promise<BulkJob> {
    const id = randomUUID();
    await this.store.transaction(async (tx) => {
      await tx.run(
        "INSERT INTO bulk_jobs (id, operatore, interrogazione, comune, stato, creato_il, totale) VALUES (?, ?, ?, ?, 'in_corso', ?, ?)",
        [id, job.operatore, job.interrogazione, job.comune ?? null, job.creatoIl, lines.length],
      );
      for (let from = 0; from < lines.length; from += INSERT_BATCH) {
        const batch = lines.slice(from, from + INSERT_BATCH);
        await tx.run(
          `INSERT INTO bulk_items (job_id, riga, inserito, codice) VALUES ${batch.map(() => '(?, ?, ?, ?)').join(', ')}`,
          batch.flatMap((line, i) => [id, from + i + 1, line.inserito, line.codice]),
        );
      }
    });
    return (await this.job(id))!;
  }

  async job(id: string): Promise<BulkJob | undefined> {
    const row = await this.store.get<JobRow>('SELECT * FROM bulk_jobs WHERE id = ?', [id]);
    return row ? jobOf(row) : undefined;
  }

  async jobsInProgress(operatore?: string): Promise<BulkJob[]> {
    const rows =
      operatore === undefined
        ? await this.store.all<JobRow>(`SELECT * FROM bulk_jobs WHERE stato = 'in_corso' ORDER BY ${this.made}`)
        : await this.store.all<JobRow>(`SELECT * FROM bulk_jobs WHERE stato = 'in_corso' AND operatore = ? ORDER BY ${this.made}`, [
            operatore,
          ]);
    return rows.map(jobOf);
  }

  /** Lines of the job still without an answer. */
  async pendingCount(jobId: string): Promise<number> {
    return (await this.store.get<{ n: number }>('SELECT COUNT(*) AS n FROM bulk_items WHERE job_id = ? AND risultato IS NULL', [jobId]))!.n;
  }

  async progress(jobId: string): Promise<BulkProgress> {
    const row = (await this.store.get<{ completati: number; locali: number; errori: number }>(
      `SELECT COUNT(risultato) AS completati,
              COALESCE(SUM(CASE WHEN ${this.fonte} = 'locale' THEN 1 ELSE 0 END), 0) AS locali,
              COALESCE(SUM(CASE WHEN ${this.esito} = 'ERRORE' THEN 1 ELSE 0 END), 0) AS errori
       FROM bulk_items WHERE job_id = ?`,
      [jobId],
    ))!;
    return { completati: row.completati, locali: row.locali, errori: row.errori };
  }

  /** The first line without an answer. */
  async nextPending(jobId: string): Promise<BulkItem | undefined> {
    const row = await this.store.get<ItemRow>(
      'SELECT riga, inserito, codice, tentativi, risultato FROM bulk_items WHERE job_id = ? AND risultato IS NULL ORDER BY riga LIMIT 1',
      [jobId],
    );
    return row ? itemOf(row) : undefined;
  }

  /** A SIATEL answer already obtained in this job for the same code (a repeated line is not asked again). */
  async answeredBefore(jobId: string, codice: string): Promise<BulkItemResult | undefined> {
    const row = await this.store.get<{ risultato: string }>(
      `SELECT risultato FROM bulk_items WHERE job_id = ? AND codice = ? AND risultato IS NOT NULL AND ${this.esito} <> 'ERRORE' LIMIT 1`,
      [jobId, codice],
    );
    return row ? (JSON.parse(row.risultato) as BulkItemResult) : undefined;
  }

  async items(jobId: string): Promise<BulkItem[]> {
    return (
      await this.store.all<ItemRow>('SELECT riga, inserito, codice, tentativi, risultato FROM bulk_items WHERE job_id = ? ORDER BY riga', [
        jobId,
      ])
    ).map(itemOf);
  }

  /**
   * The lease of one job: who runs it. Its holder is the only process that works the job's lines, and
   * each line's answer is written only while the lease is still held (`answer`).
   */
  lease(jobId: string, ttlMs: number): StoreLease {
    return new StoreLease(this.store, `bulk-job:${jobId}`, ttlMs);
  }

  /** Records a line's answer, if `lease` is still held (false: another process runs the job now, nothing was written). */
  async answer(jobId: string, riga: number, result: BulkItemResult, lease: StoreLease): Promise<boolean> {
    return this.store.transaction(async (tx) => {
      if (!(await lease.heldIn(tx))) return false;
      await tx.run('UPDATE bulk_items SET risultato = ? WHERE job_id = ? AND riga = ?', [JSON.stringify(result), jobId, riga]);
      return true;
    });
  }

  async countAttempt(jobId: string, riga: number): Promise<void> {
    await this.store.run('UPDATE bulk_items SET tentativi = tentativi + 1 WHERE job_id = ? AND riga = ?', [jobId, riga]);
  }

  async complete(jobId: string, at: string): Promise<void> {
    await this.store.run("UPDATE bulk_jobs SET stato = 'completato', completato_il = ? WHERE id = ? AND stato = 'in_corso'", [at, jobId]);
  }

  async interrupt(jobId: string, motivo: string): Promise<void> {
    await this.store.run("UPDATE bulk_jobs SET stato = 'interrotto', motivo = ? WHERE id = ? AND stato = 'in_corso'", [motivo, jobId]);
  }

  async noteOperator(operatore: string, at: string): Promise<void> {
    await this.store.run(
      'INSERT INTO operators (operatore, ultimo_uso) VALUES (?, ?) ON CONFLICT (operatore) DO UPDATE SET ultimo_uso = excluded.ultimo_uso',
      [operatore, at],
    );
  }

  /** Operators queried for since `since` (ISO), most recent first. */
  async operatorsSince(since: string): Promise<string[]> {
    return (
      await this.store.all<{ operatore: string }>('SELECT operatore FROM operators WHERE ultimo_uso >= ? ORDER BY ultimo_uso DESC', [since])
    ).map((r) => r.operatore);
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}

function jobOf(r: JobRow): BulkJob {
  return {
    id: r.id,
    operatore: r.operatore,
    interrogazione: r.interrogazione,
    ...(r.comune !== null ? { comune: r.comune } : {}),
    stato: r.stato,
    ...(r.motivo !== null ? { motivo: r.motivo } : {}),
    creatoIl: r.creato_il,
    ...(r.completato_il !== null ? { completatoIl: r.completato_il } : {}),
    totale: r.totale,
  };
}

function itemOf(r: ItemRow): BulkItem {
  return {
    riga: r.riga,
    inserito: r.inserito,
    codice: r.codice,
    tentativi: r.tentativi,
    ...(r.risultato !== null ? { risultato: JSON.parse(r.risultato) as BulkItemResult } : {}),
  };
}
