import { ProtocolloError } from '../../../src/core/errors.js';
import type { Identificatore } from '../segnatura/segnatura-model.js';
import { openAdapterStore, romeDateTime, type AdapterDatabase, type LegacyStoreMigration } from '../../sdk/index.js';

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

const MIGRATIONS: readonly LegacyStoreMigration[] = [
  `CREATE TABLE IF NOT EXISTS registrations (
     registro TEXT NOT NULL, anno INTEGER NOT NULL, numero INTEGER NOT NULL,
     direction TEXT NOT NULL, data TEXT NOT NULL, ora TEXT NOT NULL, oggetto TEXT NOT NULL,
     state TEXT NOT NULL, message_id TEXT, counterpart TEXT, anomalia TEXT, party TEXT, updated_at TEXT NOT NULL,
     PRIMARY KEY (registro, anno, numero));
   CREATE UNIQUE INDEX IF NOT EXISTS registrations_in_message ON registrations (direction, message_id) WHERE message_id IS NOT NULL`,
  // Added after the first release (NULL: all checked). Registers written before the numbered migrations
  // may have it already, so only where it is missing.
  (db) => {
    const columns = db.prepare('PRAGMA table_info(registrations)').all() as Array<{ name: string }>;
    if (!columns.some((c) => c.name === 'unchecked')) db.exec('ALTER TABLE registrations ADD COLUMN unchecked TEXT');
  },
];

/**
 * The registro di protocollo of one AOO register: progressive numbers per register and calendar year
 * (Europe/Rome), zero-padded to 7 digits, never reused — even across restarts, concurrent requests and
 * several processes sharing the file (SQLite: numbering runs in an immediate transaction). Registering a number,
 * building the document that carries it and signing it are one step: `register` runs `build` inside the
 * transaction that takes the number, and a number whose document could not be built is never issued.
 */
/** What a registration records besides its number. */
export interface RegisterEntry {
  readonly direction: 'out' | 'in';
  readonly oggetto: string;
  readonly messageId?: string;
  readonly counterpart?: Identificatore;
  readonly party?: string;
  readonly unchecked?: readonly string[];
}

interface Numbering {
  readonly identificatore: Identificatore;
  readonly next: number;
  readonly anno: number;
  readonly data: string;
  readonly ora: string;
}

/** How often registerAsync builds a document again when another process took its number meanwhile. */
const MAX_NUMBERING_ATTEMPTS = 5;

export class ProtocolRegister {
  /** registerAsync's queue: this process numbers one sealed document at a time. */
  private serial: Promise<unknown> = Promise.resolve();
  private readonly db: AdapterDatabase;

  private constructor(
    file: string,
    readonly aoo: RegisterIdentity,
    private readonly clock: { now(): Date },
  ) {
    this.db = openAdapterStore(file, MIGRATIONS);
  }

  static open(file: string, aoo: RegisterIdentity, clock: { now(): Date } = { now: () => new Date() }): ProtocolRegister {
    return new ProtocolRegister(file, aoo, clock);
  }

  /**
   * Takes the next number and runs `build` with the Identificatore; the number is committed only if
   * `build` returns. `build` is synchronous on purpose: the write lock is held only for the instant of
   * numbering and building, never across I/O (validate the document's shape beforehand).
   */
  register<T>(entry: RegisterEntry, build: (id: Identificatore) => T): { registration: Registration; result: T } {
    return this.db
      .transaction(() => {
        const numbering = this.numbering(this.clock.now());
        const result = build(numbering.identificatore);
        return { registration: this.insert(entry, numbering), result };
      })
      .immediate();
  }

  /**
   * `register` for a `build` that waits, such as a seal signed on an HSM: the number is read, the
   * document built and signed outside the write lock, and the number committed only if nobody took it
   * meanwhile (another process sharing the file); otherwise the document is built again with the next
   * number. This process's own requests go one at a time, so they never race each other. A number whose
   * document could not be built is still never issued.
   */
  registerAsync<T>(entry: RegisterEntry, build: (id: Identificatore) => Promise<T>): Promise<{ registration: Registration; result: T }> {
    const run = this.serial.then(async () => {
      for (let attempt = 0; attempt < MAX_NUMBERING_ATTEMPTS; attempt++) {
        const numbering = this.numbering(this.clock.now());
        const result = await build(numbering.identificatore);
        const registration = this.db
          .transaction(() => (this.nextNumber(numbering.anno) === numbering.next ? this.insert(entry, numbering) : undefined))
          .immediate();
        if (registration) return { registration, result };
      }
      throw new ProtocolloError(
        '000_Irricevibile',
        `register ${this.aoo.codiceRegistro}: the next number was taken by another process ${MAX_NUMBERING_ATTEMPTS} times while the document was sealed`,
      );
    });
    this.serial = run.catch(() => undefined);
    return run;
  }

  private nextNumber(anno: number): number {
    const row = this.db
      .prepare('SELECT COALESCE(MAX(numero), 0) + 1 AS next FROM registrations WHERE registro = ? AND anno = ?')
      .get(this.aoo.codiceRegistro, anno) as { next: number };
    return row.next;
  }

  private numbering(at: Date): Numbering {
    const { data, ora, anno } = romeDateTime(at);
    const next = this.nextNumber(anno);
    const identificatore: Identificatore = {
      codiceAmministrazione: this.aoo.codiceAmministrazione,
      codiceAOO: this.aoo.codiceAOO,
      codiceRegistro: this.aoo.codiceRegistro,
      numeroRegistrazione: String(next).padStart(7, '0'),
      dataRegistrazione: data,
      oraRegistrazione: ora,
    };
    return { identificatore, next, anno, data, ora };
  }

  private insert(entry: RegisterEntry, n: Numbering): Registration {
    this.db
      .prepare(
        'INSERT INTO registrations (registro, anno, numero, direction, data, ora, oggetto, state, message_id, counterpart, anomalia, party, unchecked, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)',
      )
      .run(
        this.aoo.codiceRegistro,
        n.anno,
        n.next,
        entry.direction,
        n.data,
        n.ora,
        entry.oggetto,
        'REGISTRATA',
        entry.messageId ?? null,
        entry.counterpart ? JSON.stringify(entry.counterpart) : null,
        entry.party ?? null,
        entry.unchecked?.length ? JSON.stringify(entry.unchecked) : null,
        this.clock.now().toISOString(),
      );
    return this.byNumber(String(n.anno), n.identificatore.numeroRegistrazione)!;
  }

  /** The registration of a received bus message, if it was registered already (retries register once). */
  byMessage(direction: 'out' | 'in', messageId: string): Registration | undefined {
    const row = this.db.prepare('SELECT * FROM registrations WHERE direction = ? AND message_id = ?').get(direction, messageId) as
      Row | undefined;
    return row ? this.toRegistration(row) : undefined;
  }

  byNumber(anno: string, numero: string): Registration | undefined {
    const row = this.db
      .prepare('SELECT * FROM registrations WHERE registro = ? AND anno = ? AND numero = ?')
      .get(this.aoo.codiceRegistro, Number(anno), Number(numero)) as Row | undefined;
    return row ? this.toRegistration(row) : undefined;
  }

  /** Records what became of a registration (sent, confirmed, refused, cancelled). */
  update(
    id: Pick<Identificatore, 'dataRegistrazione' | 'numeroRegistrazione'>,
    change: { state: RegistrationState; messageId?: string; counterpart?: Identificatore; anomalia?: string },
  ): Registration {
    const anno = Number(id.dataRegistrazione.slice(0, 4));
    const res = this.db
      .prepare(
        'UPDATE registrations SET state = ?, message_id = COALESCE(?, message_id), counterpart = COALESCE(?, counterpart), anomalia = COALESCE(?, anomalia), updated_at = ? WHERE registro = ? AND anno = ? AND numero = ?',
      )
      .run(
        change.state,
        change.messageId ?? null,
        change.counterpart ? JSON.stringify(change.counterpart) : null,
        change.anomalia ?? null,
        this.clock.now().toISOString(),
        this.aoo.codiceRegistro,
        anno,
        Number(id.numeroRegistrazione),
      );
    if (res.changes === 0)
      throw new ProtocolloError(
        '007_ErroreIdentificatoreNonTrovato',
        `no registration ${id.numeroRegistrazione} of ${anno} in register ${this.aoo.codiceRegistro}`,
      );
    return this.byNumber(String(anno), id.numeroRegistrazione)!;
  }

  /** Our incoming registration of the counterpart's `identificatore` (to apply its cancellation). */
  byCounterpart(identificatore: Identificatore): Registration | undefined {
    const rows = this.db
      .prepare("SELECT * FROM registrations WHERE direction = 'in' AND counterpart IS NOT NULL ORDER BY anno DESC, numero DESC")
      .all() as Row[];
    const key = (i: Identificatore) =>
      [i.codiceAmministrazione, i.codiceAOO, i.codiceRegistro, i.numeroRegistrazione, i.dataRegistrazione].join('|');
    const row = rows.find((r) => key(JSON.parse(r.counterpart!) as Identificatore) === key(identificatore));
    return row ? this.toRegistration(row) : undefined;
  }

  list(limit = 100): Registration[] {
    return (
      this.db
        .prepare('SELECT * FROM registrations WHERE registro = ? ORDER BY anno DESC, numero DESC LIMIT ?')
        .all(this.aoo.codiceRegistro, limit) as Row[]
    ).map((r) => this.toRegistration(r));
  }

  close(): void {
    if (this.db.open) this.db.close();
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

interface Row {
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
}
