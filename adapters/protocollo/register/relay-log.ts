import { openAdapterStore, type AdapterDatabase, type LegacyStoreMigration } from '../../sdk/index.js';
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

const MIGRATIONS: readonly LegacyStoreMigration[] = [
  `CREATE TABLE IF NOT EXISTS relayed (
     direction TEXT NOT NULL, message_id TEXT NOT NULL, registration TEXT NOT NULL, identificatore TEXT NOT NULL, party TEXT NOT NULL,
     PRIMARY KEY (direction, message_id));
   CREATE INDEX IF NOT EXISTS relayed_by_registration ON relayed (direction, registration)`,
];

/**
 * What the SOAP relay remembers: which bus message carried which registration, so that a
 * ConfermaMessaggioInoltro from the protocol system finds the bus message and party it answers, and a
 * bus message is handed to the protocol system once.
 */
export class RelayLog {
  private readonly db: AdapterDatabase;

  constructor(file: string) {
    // No fsync per commit: as it always was: the register itself (FULL) is what keeps numbers unique.
    this.db = openAdapterStore(file, MIGRATIONS, { durability: 'normal' });
  }

  record(doc: RelayedDocument): void {
    this.db
      .prepare('INSERT OR IGNORE INTO relayed (direction, message_id, registration, identificatore, party) VALUES (?, ?, ?, ?, ?)')
      .run(doc.direction, doc.messageId, registrationKey(doc.identificatore), JSON.stringify(doc.identificatore), doc.party);
  }

  byMessage(direction: 'out' | 'in', messageId: string): RelayedDocument | undefined {
    const row = this.db.prepare('SELECT * FROM relayed WHERE direction = ? AND message_id = ?').get(direction, messageId) as
      Row | undefined;
    return row && toDocument(row);
  }

  byRegistration(direction: 'out' | 'in', id: Identificatore): RelayedDocument | undefined {
    const row = this.db
      .prepare('SELECT * FROM relayed WHERE direction = ? AND registration = ? ORDER BY rowid DESC LIMIT 1')
      .get(direction, registrationKey(id)) as Row | undefined;
    return row && toDocument(row);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

interface Row {
  direction: string;
  message_id: string;
  identificatore: string;
  party: string;
}

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
