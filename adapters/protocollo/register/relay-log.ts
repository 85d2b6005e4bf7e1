import type { AdapterStore, AdapterStoreOpener, StoreMigration } from '../../sdk/index.js';
import type { Identificatore } from '../segnatura/segnatura-model.js';

/** One document relayed between the AOO's own protocol system (SOAP) and the bus. */
export interface RelayedDocument {
  /** out: the protocol system sent it, the bus carried it away; in: it came from the bus to the protocol system. */
  readonly direction: 'out' | 'in';
  readonly messageId: string;
  /** The sending AOO's registration (from its Segnatura). */
  readonly identificatore: Identificatore;
  /** The bus party of the other AOO. */
  readonly party: string;
}

/**
 * The store `relay` (`relay.sqlite`, as before the AdapterStore). The SQLite file's first step is the
 * released one, unchanged; its second gives the table an explicit insertion order (`seq`, the rowid it
 * had) that PostgreSQL can have too — "the latest relay of a registration" was `ORDER BY rowid`.
 */
const MIGRATIONS: readonly StoreMigration[] = [
  {
    sqlite: `CREATE TABLE IF NOT EXISTS relayed (
     direction TEXT NOT NULL, message_id TEXT NOT NULL, registration TEXT NOT NULL, identificatore TEXT NOT NULL, party TEXT NOT NULL,
     PRIMARY KEY (direction, message_id));
   CREATE INDEX IF NOT EXISTS relayed_by_registration ON relayed (direction, registration)`,
    postgres: `CREATE TABLE relayed (
     seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     direction TEXT NOT NULL, message_id TEXT NOT NULL, registration TEXT NOT NULL, identificatore TEXT NOT NULL, party TEXT NOT NULL,
     UNIQUE (direction, message_id));
   CREATE INDEX relayed_by_registration ON relayed (direction, registration)`,
  },
  {
    sqlite: `CREATE TABLE relayed_seq (
     seq INTEGER PRIMARY KEY,
     direction TEXT NOT NULL, message_id TEXT NOT NULL, registration TEXT NOT NULL, identificatore TEXT NOT NULL, party TEXT NOT NULL,
     UNIQUE (direction, message_id));
   INSERT INTO relayed_seq (seq, direction, message_id, registration, identificatore, party)
     SELECT rowid, direction, message_id, registration, identificatore, party FROM relayed;
   DROP TABLE relayed;
   ALTER TABLE relayed_seq RENAME TO relayed;
   CREATE INDEX relayed_by_registration ON relayed (direction, registration)`,
  },
];

/**
 * What the SOAP relay remembers: which bus message carried which registration, so that a
 * ConfermaMessaggioInoltro from the protocol system finds the bus message and party it answers, and a
 * bus message is handed to the protocol system once.
 */
export class RelayLog {
  private constructor(private readonly store: AdapterStore) {}

  static async open(openStore: AdapterStoreOpener): Promise<RelayLog> {
    // No fsync per commit, as it always was: the register itself (full durability) is what keeps numbers unique.
    return new RelayLog(await openStore('relay', MIGRATIONS, { durability: 'normal' }));
  }

  async record(doc: RelayedDocument): Promise<void> {
    await this.store.run(
      'INSERT INTO relayed (direction, message_id, registration, identificatore, party) VALUES (?, ?, ?, ?, ?) ON CONFLICT (direction, message_id) DO NOTHING',
      [doc.direction, doc.messageId, registrationKey(doc.identificatore), JSON.stringify(doc.identificatore), doc.party],
    );
  }

  async byMessage(direction: 'out' | 'in', messageId: string): Promise<RelayedDocument | undefined> {
    const row = await this.store.get<Row>('SELECT * FROM relayed WHERE direction = ? AND message_id = ?', [direction, messageId]);
    return row && toDocument(row);
  }

  async byRegistration(direction: 'out' | 'in', id: Identificatore): Promise<RelayedDocument | undefined> {
    const row = await this.store.get<Row>('SELECT * FROM relayed WHERE direction = ? AND registration = ? ORDER BY seq DESC LIMIT 1', [
      direction,
      registrationKey(id),
    ]);
    return row && toDocument(row);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

// A type alias, as the store's SqlRow needs.
type Row = {
  direction: string;
  message_id: string;
  identificatore: string;
  party: string;
};

function toDocument(r: Row): RelayedDocument {
  return {
    direction: r.direction as 'out' | 'in',
    messageId: r.message_id,
    identificatore: JSON.parse(r.identificatore) as Identificatore,
    party: r.party,
  };
}

/** A registration is named by administration, AOO, register, year and number. */
function registrationKey(i: Identificatore): string {
  return [i.codiceAmministrazione, i.codiceAOO, i.codiceRegistro, i.dataRegistrazione.slice(0, 4), i.numeroRegistrazione].join('|');
}
