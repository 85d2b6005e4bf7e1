/**
 * The SQLite message log's writer thread: it holds the log's write connection and commits each group
 * of appends the node sends it (one transaction, one fsync), off the node's event loop. The messages
 * are those of sqlite-writer-thread.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { TramiteError } from '../core/errors.js';
import { SqliteLogWriter, setWritePragmas } from './sqlite-log-writer.js';
import type { WriterReply, WriterRequest } from './sqlite-writer-thread.js';

const { location } = workerData as { location: string };
const db = new Database(location);
setWritePragmas(db);
const writer = new SqliteLogWriter(db);

function described(error: unknown): { code: string; message: string } {
  return error instanceof TramiteError
    ? { code: error.code, message: error.message }
    : { code: 'TRAMITE_ERR_LOG_UNAVAILABLE', message: (error as Error).message };
}

parentPort!.on('message', (req: WriterRequest) => {
  if (req.kind === 'close') {
    db.close();
    parentPort!.close();
    return;
  }
  let reply: WriterReply;
  try {
    const outcomes = writer.commitGroup(req.group);
    reply = {
      id: req.id,
      outcomes: outcomes.map((o) => (o.ok ? { ok: true, records: o.value } : { ok: false, error: described(o.error) })),
    };
  } catch (error) {
    reply = { id: req.id, failed: described(error) };
  }
  parentPort!.postMessage(reply);
});
