import { ProtocolloError } from '../../../src/core/errors.js';
import type { Identificatore } from '../segnatura/segnatura-model.js';
import { romeDateTime, type AdapterStore, type AdapterStoreOpener, type StoreMigration } from '../../sdk/index.js';
import type { ProtocolloFile } from '../transport/protocollo-files.js';
import { ARCHIVE_MIGRATION, checkArchiveBound, readArchive, writeArchive } from './register-archive.js';

/** The AOO and register a party numbers its documents in. */
export interface RegisterIdentity {
  readonly codiceAmministrazione: string;
  readonly codiceAOO: string;
  readonly codiceRegistro: string;
}

export type RegistrationState = 'REGISTRATA' | 'INVIATA' | 'CONSEGNATA' | 'CONFERMATA' | 'ECCEZIONE' | 'ANNULLATA';

/** One entry of the register. */
export interface Registration {
  readonly identificatore: Identificatore;
  readonly direction: 'out' | 'in';
  readonly oggetto: string;
  readonly state: RegistrationState;
  /** The bus message that carried it (out: sent; in: received). */
  readonly messageId?: string;
  /** The counterpart's registration (in: the sender's; out: the receiver's, from its ConfermaRicezione). */
  readonly counterpart?: Identificatore;
  /** The anomaly code and text of a NotificaEccezione, sent (in) or received (out). */
  readonly anomalia?: string;
  /** The bus party of the other AOO (where confirmations and cancellations go). */
  readonly party?: string;
  /**
   * In: documents registered without being checked — a 2013 or 2001 Segnatura gave them no Impronta and
   * the AOO accepts that (the adapter's withoutImpronta option). Absent when every document was checked.
   */
  readonly unchecked?: readonly string[];
  readonly updatedAt: string;
}

/** The register's columns, as the SQLite file has had them since the first release (step 2 added `unchecked`). */
const REGISTRATIONS_POSTGRES = `CREATE TABLE registrations (
     registro TEXT NOT NULL, anno INTEGER NOT NULL, numero INTEGER NOT NULL,
     direction TEXT NOT NULL, data TEXT NOT NULL, ora TEXT NOT NULL, oggetto TEXT NOT NULL,
     state TEXT NOT NULL, message_id TEXT, counterpart TEXT, anomalia TEXT, party TEXT, updated_at TEXT NOT NULL,
     unchecked TEXT,
     PRIMARY KEY (registro, anno, numero));
   CREATE UNIQUE INDEX registrations_in_message ON registrations (direction, message_id) WHERE message_id IS NOT NULL`;

/**
 * The store `registro` (`registro.sqlite`, as before the AdapterStore: a node upgraded in place opens
 * its register as it is). The SQLite steps are the released ones, unchanged; PostgreSQL, which never
 * had the old table, creates the final one at step 1.
 */
export const REGISTER_MIGRATIONS: readonly StoreMigration[] = [
  {
    sqlite: `CREATE TABLE IF NOT EXISTS registrations (
     registro TEXT NOT NULL, anno INTEGER NOT NULL, numero INTEGER NOT NULL,
     direction TEXT NOT NULL, data TEXT NOT NULL, ora TEXT NOT NULL, oggetto TEXT NOT NULL,
     state TEXT NOT NULL, message_id TEXT, counterpart TEXT, anomalia TEXT, party TEXT, updated_at TEXT NOT NULL,
     PRIMARY KEY (registro, anno, numero));
   CREATE UNIQUE INDEX IF NOT EXISTS registrations_in_message ON registrations (direction, message_id) WHERE message_id IS NOT NULL`,
    postgres: REGISTRATIONS_POSTGRES,
  },
  {
    // Added after the first release (NULL: all checked). Registers written before the numbered migrations
    // may have it already, so only where it is missing.
    sqlite: async (db) => {
      const columns = await db.all<{ name: string }>('PRAGMA table_info(registrations)');
      if (!columns.some((c) => c.name === 'unchecked')) await db.run('ALTER TABLE registrations ADD COLUMN unchecked TEXT');
    },
  },
  // The archive of received documents, formerly files in the adapter's folder (register-archive.ts).
  ARCHIVE_MIGRATION,
];

/** What a registration records besides its number. */
export interface RegisterEntry {
  readonly direction: 'out' | 'in';
  readonly oggetto: string;
  readonly messageId?: string;
  readonly counterpart?: Identificatore;
  readonly party?: string;
  readonly unchecked?: readonly string[];
  /** In: the received files (Segnatura.xml and the documents), archived with the registration. */
  readonly documents?: readonly ProtocolloFile[];
}

/**
 * The registro di protocollo of one AOO register: progressive numbers per register and calendar year
 * (Europe/Rome), zero-padded to 7 digits, issued once and in sequence — across restarts, concurrent
 * requests and every node process sharing the store (one SQLite file, or one PostgreSQL schema shared
 * by processes on several hosts). Taking a number, building the document that carries it and sealing
 * it are one transaction under the register's lock: a number whose document could not be built is
 * never issued, so the sequence has no gaps.
 */
export class ProtocolRegister {
  private constructor(
    private readonly store: AdapterStore,
    readonly aoo: RegisterIdentity,
    private readonly clock: { now(): Date },
  ) {}

  /** Opens (creating or migrating) the store `registro` of the adapter. */
  static async open(
    openStore: AdapterStoreOpener,
    aoo: RegisterIdentity,
    clock: { now(): Date } = { now: () => new Date() },
  ): Promise<ProtocolRegister> {
    return new ProtocolRegister(await openStore('registro', REGISTER_MIGRATIONS), aoo, clock);
  }

  /** Where the register is kept (the file, or the database and schema), for logs. */
  get location(): string {
    return this.store.location;
  }

  /**
   * Takes the next number and runs `build` (the Segnatura, its seal — on an HSM too) with the
   * Identificatore; the number is committed only if `build` returns. The register's lock is held from
   * the number to the commit, so every process's registrations in this register wait for it: keep
   * `build` to building and sealing (validate the document's shape beforehand, send after).
   */
  async register<T>(
    entry: RegisterEntry,
    build: (id: Identificatore) => T | Promise<T>,
  ): Promise<{ registration: Registration; result: T }> {
    if (entry.documents) checkArchiveBound(entry.documents);
    return this.store.transaction(async (tx) => {
      // One lock per register, not per year: the time is read under it, so numbers and times ascend together.
      await tx.lock(`numbering:${this.aoo.codiceRegistro}`);
      const { data, ora, anno } = romeDateTime(this.clock.now());
      const last = await tx.get<{ numero: number | null }>(
        'SELECT MAX(numero) AS numero FROM registrations WHERE registro = ? AND anno = ?',
        [this.aoo.codiceRegistro, anno],
      );
      const numero = (last?.numero ?? 0) + 1;
      const identificatore: Identificatore = {
        codiceAmministrazione: this.aoo.codiceAmministrazione,
        codiceAOO: this.aoo.codiceAOO,
        codiceRegistro: this.aoo.codiceRegistro,
        numeroRegistrazione: String(numero).padStart(7, '0'),
        dataRegistrazione: data,
        oraRegistrazione: ora,
      };
      const result = await build(identificatore);
      const row = await tx.get<Row>(
        `INSERT INTO registrations (registro, anno, numero, direction, data, ora, oggetto, state, message_id, counterpart, anomalia, party, unchecked, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'REGISTRATA', ?, ?, NULL, ?, ?, ?) RETURNING *`,
        [
          this.aoo.codiceRegistro,
          anno,
          numero,
          entry.direction,
          data,
          ora,
          entry.oggetto,
          entry.messageId ?? null,
          entry.counterpart ? JSON.stringify(entry.counterpart) : null,
          entry.party ?? null,
          entry.unchecked?.length ? JSON.stringify(entry.unchecked) : null,
          this.clock.now().toISOString(),
        ],
      );
      // In the registration's transaction: a number is never without its files, and a second hand-over
      // of the message (refused by the message's unique index) archives nothing.
      if (entry.documents) await writeArchive(tx, { registro: this.aoo.codiceRegistro, anno, numero }, entry.documents);
      return { registration: this.toRegistration(row!), result };
    });
  }

  /** The archived files of a received registration (none for one sent, or received before the archive was in the store). */
  documents(anno: string, numero: string): Promise<ProtocolloFile[]> {
    return readArchive(this.store, { registro: this.aoo.codiceRegistro, anno: Number(anno), numero: Number(numero) });
  }

  /** The registration of a received bus message, if it was registered already (retries register once). */
  async byMessage(direction: 'out' | 'in', messageId: string): Promise<Registration | undefined> {
    const row = await this.store.get<Row>('SELECT * FROM registrations WHERE direction = ? AND message_id = ?', [direction, messageId]);
    return row ? this.toRegistration(row) : undefined;
  }

  async byNumber(anno: string, numero: string): Promise<Registration | undefined> {
    const row = await this.store.get<Row>('SELECT * FROM registrations WHERE registro = ? AND anno = ? AND numero = ?', [
      this.aoo.codiceRegistro,
      Number(anno),
      Number(numero),
    ]);
    return row ? this.toRegistration(row) : undefined;
  }

  /** Records what became of a registration (sent, confirmed, refused, cancelled). */
  async update(
    id: Pick<Identificatore, 'dataRegistrazione' | 'numeroRegistrazione'>,
    change: { state: RegistrationState; messageId?: string; counterpart?: Identificatore; anomalia?: string },
  ): Promise<Registration> {
    const anno = Number(id.dataRegistrazione.slice(0, 4));
    const row = await this.store.get<Row>(
      `UPDATE registrations SET state = ?, message_id = COALESCE(?, message_id), counterpart = COALESCE(?, counterpart),
         anomalia = COALESCE(?, anomalia), updated_at = ?
       WHERE registro = ? AND anno = ? AND numero = ? RETURNING *`,
      [
        change.state,
        change.messageId ?? null,
        change.counterpart ? JSON.stringify(change.counterpart) : null,
        change.anomalia ?? null,
        this.clock.now().toISOString(),
        this.aoo.codiceRegistro,
        anno,
        Number(id.numeroRegistrazione),
      ],
    );
    if (!row)
      throw new ProtocolloError(
        '007_ErroreIdentificatoreNonTrovato',
        `no registration ${id.numeroRegistrazione} of ${anno} in register ${this.aoo.codiceRegistro}`,
      );
    return this.toRegistration(row);
  }

  /** Our incoming registration of the counterpart's `identificatore` (to apply its cancellation). */
  async byCounterpart(identificatore: Identificatore): Promise<Registration | undefined> {
    const rows = await this.store.all<Row>(
      "SELECT * FROM registrations WHERE direction = 'in' AND counterpart IS NOT NULL ORDER BY anno DESC, numero DESC",
    );
    const key = (i: Identificatore) =>
      [i.codiceAmministrazione, i.codiceAOO, i.codiceRegistro, i.numeroRegistrazione, i.dataRegistrazione].join('|');
    const row = rows.find((r) => key(JSON.parse(r.counterpart!) as Identificatore) === key(identificatore));
    return row ? this.toRegistration(row) : undefined;
  }

  async list(limit = 100): Promise<Registration[]> {
    const rows = await this.store.all<Row>('SELECT * FROM registrations WHERE registro = ? ORDER BY anno DESC, numero DESC LIMIT ?', [
      this.aoo.codiceRegistro,
      limit,
    ]);
    return rows.map((r) => this.toRegistration(r));
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private toRegistration(r: Row): Registration {
    return {
      identificatore: {
        codiceAmministrazione: this.aoo.codiceAmministrazione,
        codiceAOO: this.aoo.codiceAOO,
        codiceRegistro: r.registro,
        numeroRegistrazione: String(r.numero).padStart(7, '0'),
        dataRegistrazione: r.data,
        oraRegistrazione: r.ora,
      },
      direction: r.direction as 'out' | 'in',
      oggetto: r.oggetto,
      state: r.state as RegistrationState,
      ...(r.message_id ? { messageId: r.message_id } : {}),
      ...(r.counterpart ? { counterpart: JSON.parse(r.counterpart) as Identificatore } : {}),
      ...(r.anomalia ? { anomalia: r.anomalia } : {}),
      ...(r.party ? { party: r.party } : {}),
      ...(r.unchecked ? { unchecked: JSON.parse(r.unchecked) as string[] } : {}),
      updatedAt: r.updated_at,
    };
  }
}

// A type, not an interface: only a type alias fits the store's SqlRow (a record of columns).
type Row = {
  registro: string;
  anno: number;
  numero: number;
  direction: string;
  data: string;
  ora: string;
  oggetto: string;
  state: string;
  message_id: string | null;
  counterpart: string | null;
  anomalia: string | null;
  party: string | null;
  unchecked: string | null;
  updated_at: string;
};
