/**
 * What the SIATEL adapter keeps across restarts besides the quota: bulk jobs with one row per line
 * of the submitted file (its answer once known, so a restart resumes at the first line without one
 * and never asks SIATEL again about a line already answered), and the operators it has queried for
 * (so health and status can list them after a restart). SQLite in the adapter's data folder.
 */
import { randomUUID } from 'node:crypto';
import { openAdapterStore, type AdapterDatabase, type LegacyStoreMigration } from '../sdk/index.js';
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

interface JobRow {
  id: string;
  operatore: string;
  interrogazione: SiatelQueryKind;
  comune: string | null;
  stato: BulkJobState;
  motivo: string | null;
  creato_il: string;
  completato_il: string | null;
  totale: number;
}

interface ItemRow {
  riga: number;
  inserito: string;
  codice: string;
  tentativi: number;
  risultato: string | null;
}

const MIGRATIONS: readonly LegacyStoreMigration[] = [
  `
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
];

export class SiatelBulkStore {
  private readonly db: AdapterDatabase;

  constructor(file: string) {
    // No fsync per commit: a line is written at every answer; one lost on a power cut is asked again.
    this.db = openAdapterStore(file, MIGRATIONS, { durability: 'normal' });
  }

  /** Records a job and its lines, atomically: a job is either all there or absent. */
  createJob(
    job: { operatore: string; interrogazione: SiatelQueryKind; comune?: string; creatoIl: string },
    lines: ReadonlyArray<{ inserito: string; codice: string }>,
  ): BulkJob {
    const id = randomUUID();
    this.db.transaction(() => {
      this.db
        .prepare(
          "INSERT INTO bulk_jobs (id, operatore, interrogazione, comune, stato, creato_il, totale) VALUES (?, ?, ?, ?, 'in_corso', ?, ?)",
        )
        .run(id, job.operatore, job.interrogazione, job.comune ?? null, job.creatoIl, lines.length);
      const insert = this.db.prepare('INSERT INTO bulk_items (job_id, riga, inserito, codice) VALUES (?, ?, ?, ?)');
      lines.forEach((line, i) => insert.run(id, i + 1, line.inserito, line.codice));
    })();
    return this.job(id)!;
  }

  job(id: string): BulkJob | undefined {
    const row = this.db.prepare('SELECT * FROM bulk_jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row ? jobOf(row) : undefined;
  }

  jobsInProgress(operatore?: string): BulkJob[] {
    const rows = (
      operatore === undefined
        ? this.db.prepare("SELECT * FROM bulk_jobs WHERE stato = 'in_corso' ORDER BY creato_il, rowid").all()
        : this.db.prepare("SELECT * FROM bulk_jobs WHERE stato = 'in_corso' AND operatore = ? ORDER BY creato_il, rowid").all(operatore)
    ) as JobRow[];
    return rows.map(jobOf);
  }

  /** Lines of the job still without an answer. */
  pendingCount(jobId: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM bulk_items WHERE job_id = ? AND risultato IS NULL').get(jobId) as { n: number }).n;
  }

  progress(jobId: string): BulkProgress {
    const row = this.db
      .prepare(
        `SELECT COUNT(risultato) AS completati,
                COALESCE(SUM(json_extract(risultato, '$.fonte') = 'locale'), 0) AS locali,
                COALESCE(SUM(json_extract(risultato, '$.esito') = 'ERRORE'), 0) AS errori
         FROM bulk_items WHERE job_id = ?`,
      )
      .get(jobId) as BulkProgress;
    return { completati: row.completati, locali: row.locali, errori: row.errori };
  }

  /** The first line without an answer. */
  nextPending(jobId: string): BulkItem | undefined {
    const row = this.db
      .prepare(
        'SELECT riga, inserito, codice, tentativi, risultato FROM bulk_items WHERE job_id = ? AND risultato IS NULL ORDER BY riga LIMIT 1',
      )
      .get(jobId) as ItemRow | undefined;
    return row ? itemOf(row) : undefined;
  }

  /** A SIATEL answer already obtained in this job for the same code (a repeated line is not asked again). */
  answeredBefore(jobId: string, codice: string): BulkItemResult | undefined {
    const row = this.db
      .prepare(
        "SELECT risultato FROM bulk_items WHERE job_id = ? AND codice = ? AND risultato IS NOT NULL AND json_extract(risultato, '$.esito') <> 'ERRORE' LIMIT 1",
      )
      .get(jobId, codice) as { risultato: string } | undefined;
    return row ? (JSON.parse(row.risultato) as BulkItemResult) : undefined;
  }

  items(jobId: string): BulkItem[] {
    return (
      this.db
        .prepare('SELECT riga, inserito, codice, tentativi, risultato FROM bulk_items WHERE job_id = ? ORDER BY riga')
        .all(jobId) as ItemRow[]
    ).map(itemOf);
  }

  answer(jobId: string, riga: number, result: BulkItemResult): void {
    this.db.prepare('UPDATE bulk_items SET risultato = ? WHERE job_id = ? AND riga = ?').run(JSON.stringify(result), jobId, riga);
  }

  countAttempt(jobId: string, riga: number): void {
    this.db.prepare('UPDATE bulk_items SET tentativi = tentativi + 1 WHERE job_id = ? AND riga = ?').run(jobId, riga);
  }

  complete(jobId: string, at: string): void {
    this.db.prepare("UPDATE bulk_jobs SET stato = 'completato', completato_il = ? WHERE id = ? AND stato = 'in_corso'").run(at, jobId);
  }

  interrupt(jobId: string, motivo: string): void {
    this.db.prepare("UPDATE bulk_jobs SET stato = 'interrotto', motivo = ? WHERE id = ? AND stato = 'in_corso'").run(motivo, jobId);
  }

  noteOperator(operatore: string, at: string): void {
    this.db
      .prepare(
        'INSERT INTO operators (operatore, ultimo_uso) VALUES (?, ?) ON CONFLICT (operatore) DO UPDATE SET ultimo_uso = excluded.ultimo_uso',
      )
      .run(operatore, at);
  }

  /** Operators queried for since `since` (ISO), most recent first. */
  operatorsSince(since: string): string[] {
    return (
      this.db.prepare('SELECT operatore FROM operators WHERE ultimo_uso >= ? ORDER BY ultimo_uso DESC').all(since) as Array<{
        operatore: string;
      }>
    ).map((r) => r.operatore);
  }

  close(): void {
    if (this.db.open) this.db.close();
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
