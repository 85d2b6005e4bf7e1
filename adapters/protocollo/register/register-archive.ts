/**
 * The archive of received documents: each registered document's files (Segnatura.xml and the documents,
 * byte for byte) in the register's own store, keyed by register, year, number and file name — so every
 * node process, on any host, reads what any of them received, and a document is archived in the same
 * transaction as its registration (never a number without its files, never the files twice).
 */
import { ProtocolloError } from '../../../src/core/errors.js';
import type { StoreMigration, StoreQueries } from '../../sdk/index.js';
import { PROTOCOLLO_MESSAGE_LIMITS, type ProtocolloFile } from '../transport/protocollo-files.js';

/** The register's migration step that adds the archive (SQLite BLOB, PostgreSQL BYTEA). */
export const ARCHIVE_MIGRATION: StoreMigration = {
  sqlite: `CREATE TABLE IF NOT EXISTS archive (
     registro TEXT NOT NULL, anno INTEGER NOT NULL, numero INTEGER NOT NULL,
     nome_file TEXT NOT NULL, posizione INTEGER NOT NULL, mime_type TEXT NOT NULL, content BLOB NOT NULL,
     PRIMARY KEY (registro, anno, numero, nome_file))`,
  postgres: `CREATE TABLE archive (
     registro TEXT NOT NULL, anno INTEGER NOT NULL, numero INTEGER NOT NULL,
     nome_file TEXT NOT NULL, posizione INTEGER NOT NULL, mime_type TEXT NOT NULL, content BYTEA NOT NULL,
     PRIMARY KEY (registro, anno, numero, nome_file))`,
};

/** Which registration the files belong to. */
export interface ArchiveKey {
  readonly registro: string;
  readonly anno: number;
  readonly numero: number;
}

/**
 * What one document may put in the archive: no more than the adapter reads in one message (the payload
 * limit of readProtocolloFiles bounds the decoded bytes; its element limit the number of files). A
 * message that passed the reader always fits; the check keeps any other path to the archive as bounded.
 */
export function checkArchiveBound(files: readonly ProtocolloFile[]): void {
  const bytes = files.reduce((sum, f) => sum + f.content.byteLength, 0);
  if (files.length > PROTOCOLLO_MESSAGE_LIMITS.maxElements || bytes > PROTOCOLLO_MESSAGE_LIMITS.maxBytes)
    throw new ProtocolloError(
      '000_Irricevibile',
      `a document of ${files.length} files and ${bytes} bytes exceeds what one message may carry ` +
        `(${PROTOCOLLO_MESSAGE_LIMITS.maxElements} files, ${PROTOCOLLO_MESSAGE_LIMITS.maxBytes} bytes)`,
    );
}

/** Archives a registration's files, inside the registration's transaction. */
export async function writeArchive(tx: StoreQueries, key: ArchiveKey, files: readonly ProtocolloFile[]): Promise<void> {
  for (const [posizione, f] of files.entries())
    await tx.run('INSERT INTO archive (registro, anno, numero, nome_file, posizione, mime_type, content) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      key.registro,
      key.anno,
      key.numero,
      f.nomeFile,
      posizione,
      f.mimeType,
      f.content,
    ]);
}

/** A registration's archived files, in the message's order (none: not a received document, or received before the archive moved here). */
export async function readArchive(q: StoreQueries, key: ArchiveKey): Promise<ProtocolloFile[]> {
  const rows = await q.all<{ nome_file: string; mime_type: string; content: Uint8Array }>(
    'SELECT nome_file, mime_type, content FROM archive WHERE registro = ? AND anno = ? AND numero = ? ORDER BY posizione',
    [key.registro, key.anno, key.numero],
  );
  return rows.map((r) => ({
    nomeFile: r.nome_file,
    mimeType: r.mime_type,
    content: Buffer.isBuffer(r.content) ? r.content : Buffer.from(r.content),
  }));
}
