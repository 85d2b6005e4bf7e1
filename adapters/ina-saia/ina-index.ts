/**
 * The INA simulator's tiny index: who is registered where, in the adapter's store, plus every esito
 * given (so a repeated communication gets the same answer and is never applied twice). `decide` holds
 * INA's rules for an event against the person's current entry; `apply` runs it and records the esito in
 * one transaction under the index's lock, so concurrent communications cannot interleave, in this
 * process or another sharing the store.
 */
import type { AdapterStore, AdapterStoreOpener, StoreQueries, StoreMigration } from '../sdk/index.js';
import type { InaErrore } from './ina-mapping.js';
import type { Famiglia, Indirizzo, RegistryEvent, StatoCivile } from './registry-event.js';

/** A person as INA knows them. */
export interface IndexedPerson {
  readonly codiceFiscale: string;
  readonly stato: 'RESIDENTE' | 'CANCELLATO' | 'DECEDUTO';
  /** Belfiore code of the Comune of residence (or of the last one, once cancelled). */
  readonly codiceComune: string;
  readonly cognome: string;
  readonly nome: string;
  readonly sesso?: string;
  readonly dataNascita?: string;
  readonly luogoNascita?: string;
  readonly indirizzo?: Indirizzo;
  readonly famiglia?: Famiglia;
  readonly cittadinanza?: string;
  readonly statoCivile?: StatoCivile;
  /** dataEvento of the latest event applied: INA cannot apply an older one after it. */
  readonly ultimaDataEvento: string;
}

export type Decision =
  | { readonly accepted: true; readonly person: IndexedPerson }
  | { readonly accepted: false; readonly errori: readonly [InaErrore, ...InaErrore[]] };

/** The simulator's error codes (docs/ina-saia.md lists them). */
export const INA_ERRORS = {
  schema: 'SCHEMA_NON_VALIDO',
  seal: 'FIRMA_NON_VALIDA',
  content: 'DATI_NON_VALIDI',
  alreadyRegistered: 'SOGGETTO_GIA_ISCRITTO',
  notRegistered: 'SOGGETTO_NON_ISCRITTO',
  deceased: 'SOGGETTO_DECEDUTO',
  otherComune: 'COMUNE_NON_COMPETENTE',
  names: 'GENERALITA_DIFFORMI',
  outOfOrder: 'DATA_EVENTO_ANTERIORE',
} as const;

const reject = (codice: string, descrizione: string, campo?: string): Decision => ({
  accepted: false,
  errori: [{ codice, descrizione, ...(campo ? { campo } : {}) }],
});

/** INA's rules for one event of `codiceComune` against the person's entry (undefined: unknown to INA). */
export function decide(codiceComune: string, event: RegistryEvent, current: IndexedPerson | undefined): Decision {
  const s = event.soggetto;
  if (event.tipo === 'iscrizione') {
    if (current?.stato === 'DECEDUTO') return reject(INA_ERRORS.deceased, 'the person is registered as deceased', 'soggetto.codiceFiscale');
    if (current && (event.motivo === 'nascita' || current.stato === 'RESIDENTE')) {
      return reject(
        INA_ERRORS.alreadyRegistered,
        `the codice fiscale is already registered${current.stato === 'RESIDENTE' ? ` as resident in ${current.codiceComune}` : ''}`,
        'soggetto.codiceFiscale',
      );
    }
    if (current && event.dataEvento < current.ultimaDataEvento) return outOfOrder(event, current);
    return {
      accepted: true,
      person: {
        codiceFiscale: s.codiceFiscale,
        stato: 'RESIDENTE',
        codiceComune,
        cognome: event.soggetto.cognome,
        nome: event.soggetto.nome,
        sesso: event.soggetto.sesso,
        dataNascita: event.soggetto.dataNascita,
        luogoNascita: event.soggetto.luogoNascita,
        indirizzo: event.indirizzo,
        famiglia: event.famiglia,
        ultimaDataEvento: event.dataEvento,
      },
    };
  }

  // Every other event changes a person resident in the sending Comune, identified by the same names.
  if (!current || current.stato === 'CANCELLATO')
    return reject(INA_ERRORS.notRegistered, 'the codice fiscale is not registered as resident', 'soggetto.codiceFiscale');
  if (current.stato === 'DECEDUTO') return reject(INA_ERRORS.deceased, 'the person is registered as deceased', 'soggetto.codiceFiscale');
  if (current.codiceComune !== codiceComune)
    return reject(
      INA_ERRORS.otherComune,
      `the person is resident in ${current.codiceComune}, not ${codiceComune}`,
      'soggetto.codiceFiscale',
    );
  for (const field of ['cognome', 'nome'] as const) {
    if (s[field].toUpperCase() !== current[field].toUpperCase())
      return reject(INA_ERRORS.names, `${field} differs from the one INA holds`, `soggetto.${field}`);
  }
  if (event.dataEvento < current.ultimaDataEvento) return outOfOrder(event, current);

  const next = { ...current, ultimaDataEvento: event.dataEvento };
  switch (event.tipo) {
    case 'cancellazione':
      return { accepted: true, person: { ...next, stato: event.motivo === 'morte' ? 'DECEDUTO' : 'CANCELLATO' } };
    case 'mutazione':
      if (event.motivo === 'indirizzo') return { accepted: true, person: { ...next, indirizzo: event.indirizzo } };
      if (event.motivo === 'famiglia') return { accepted: true, person: { ...next, famiglia: event.famiglia } };
      return { accepted: true, person: { ...next, ...event.datiPersonali } };
    case 'rettifica':
      return { accepted: true, person: { ...next, ...event.rettifiche } };
  }
}

function outOfOrder(event: RegistryEvent, current: IndexedPerson): Decision {
  return reject(
    INA_ERRORS.outOfOrder,
    `dataEvento ${event.dataEvento} is before the latest event INA applied for the person (${current.ultimaDataEvento})`,
    'dataEvento',
  );
}

/** The store's name: on SQLite the file `ina-index.sqlite` the simulator has always used. */
export const INDEX_STORE = 'ina-index';

export const INDEX_MIGRATIONS: readonly StoreMigration[] = [
  {
    sqlite: `CREATE TABLE IF NOT EXISTS persone (codice_fiscale TEXT PRIMARY KEY, person_json TEXT NOT NULL, updated_at TEXT NOT NULL);
   CREATE TABLE IF NOT EXISTS esiti (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, mittente TEXT NOT NULL, id_comunicazione TEXT NOT NULL,
     accettata INTEGER NOT NULL, esito_xml TEXT NOT NULL, created_at TEXT NOT NULL,
     UNIQUE (mittente, id_comunicazione))`,
    // seq is given by `apply` (the operation number in the esito), never generated.
    postgres: `CREATE TABLE persone (codice_fiscale TEXT PRIMARY KEY, person_json TEXT NOT NULL, updated_at TEXT NOT NULL);
   CREATE TABLE esiti (
     seq BIGINT PRIMARY KEY, mittente TEXT NOT NULL, id_comunicazione TEXT NOT NULL,
     accettata INTEGER NOT NULL, esito_xml TEXT NOT NULL, created_at TEXT NOT NULL,
     UNIQUE (mittente, id_comunicazione))`,
  },
];

export class InaIndex {
  private constructor(private readonly store: AdapterStore) {}

  static async open(openStore: AdapterStoreOpener): Promise<InaIndex> {
    return new InaIndex(await openStore(INDEX_STORE, INDEX_MIGRATIONS));
  }

  /** The esito already given to `mittente` for this communication, if any. */
  answered(mittente: string, idComunicazione: string, q: StoreQueries = this.store): Promise<string | undefined> {
    return q
      .get<{ esito_xml: string }>('SELECT esito_xml FROM esiti WHERE mittente = ? AND id_comunicazione = ?', [mittente, idComunicazione])
      .then((row) => row?.esito_xml);
  }

  async person(codiceFiscale: string, q: StoreQueries = this.store): Promise<IndexedPerson | undefined> {
    const row = await q.get<{ person_json: string }>('SELECT person_json FROM persone WHERE codice_fiscale = ?', [codiceFiscale]);
    return row ? (JSON.parse(row.person_json) as IndexedPerson) : undefined;
  }

  /**
   * In one transaction: a communication answered meanwhile gets its earlier esito; otherwise the
   * decision is taken on the current entry (`decision` sees it), applied when accepted, and the esito
   * written by `esitoXml` (given INA's operation number when accepted) is recorded and returned.
   */
  apply(
    communication: { readonly mittente: string; readonly idComunicazione: string; readonly codiceFiscale?: string },
    decision: (current: IndexedPerson | undefined) => Decision,
    esitoXml: (d: Decision, operationNumber: number) => string,
    now: Date,
  ): Promise<string> {
    const { mittente, idComunicazione, codiceFiscale } = communication;
    return this.store.transaction(async (tx) => {
      // One lock for the whole index: the operation numbers are one sequence, and a person's entry is read, then written.
      await tx.lock('index');
      const earlier = await this.answered(mittente, idComunicazione, tx);
      if (earlier !== undefined) return earlier;
      const d = decision(codiceFiscale !== undefined ? await this.person(codiceFiscale, tx) : undefined);
      if (d.accepted) {
        await tx.run(
          'INSERT INTO persone (codice_fiscale, person_json, updated_at) VALUES (?, ?, ?) ON CONFLICT (codice_fiscale) DO UPDATE SET person_json = excluded.person_json, updated_at = excluded.updated_at',
          [d.person.codiceFiscale, JSON.stringify(definedOnly(d.person)), now.toISOString()],
        );
      }
      const next = (await tx.get<{ n: number }>('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM esiti'))!.n;
      const xml = esitoXml(d, next);
      await tx.run('INSERT INTO esiti (seq, mittente, id_comunicazione, accettata, esito_xml, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
        next,
        mittente,
        idComunicazione,
        d.accepted ? 1 : 0,
        xml,
        now.toISOString(),
      ]);
      return xml;
    });
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}

function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
