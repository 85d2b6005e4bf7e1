/**
 * The SQLite message log's writer thread: it holds the log's write connection and commits each group
 * of appends (or of acceptToken calls) the node sends it (one transaction, one fsync), and purges expired
 * tokens a window at a time, off the node's event loop. The messages are those of sqlite-writer-thread.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { TramiteError } from '../core/errors.js';
import { SqliteLogWriter, setWritePragmas } from './sqlite-log-writer.js';
import { SqliteTokenWriter } from './sqlite-token-writer.js';
import type { WriterReply, WriterRequest } from './sqlite-writer-thread.js';

const { location } = workerData as { location: string };
const db = new Database(location);
setWritePragmas(db);
const writer = new SqliteLogWriter(db);
/** Made on the first token request: a thread that only appends never prepares statements on the tokens table. */
let tokens: SqliteTokenWriter | undefined;
const tokenWriter = () => (tokens ??= new SqliteTokenWriter(db));

function described(error: unknown): { code: string; message: string } {
  return error instanceof TramiteError
    ? { code: error.code, message: error.message }
    : { code: 'TRAMITE_ERR_LOG_UNAVAILABLE', message: (error as Error).message };
}

function handled(req: Exclude<WriterRequest, { kind: 'close' }>): WriterReply {
  switch (req.kind) {
    case 'commit':
      return {
        id: req.id,
        outcomes: writer
          .commitGroup(req.group)
          .map((o) => (o.ok ? { ok: true, records: o.value } : { ok: false, error: described(o.error) })),
      };
    case 'accept-tokens':
      return {
        id: req.id,
        taken: tokenWriter()
          .acceptGroup(req.group)
          .map((o) => (o.ok ? { ok: true, taken: o.value } : { ok: false, error: described(o.error) })),
      };
    case 'purge-tokens':
      return { id: req.id, purged: tokenWriter().purgeWindow(req.nowMs, req.limit) };
  }
}

parentPort!.on('message', (req: WriterRequest) => {
  if (req.kind === 'close') {
    db.close();
    parentPort!.close();
    return;
  }
  let reply: WriterReply;
  try {
    reply = handled(req);
  } catch (error) {
    reply = { id: req.id, failed: described(error) };
  }
  parentPort!.postMessage(reply);
});
