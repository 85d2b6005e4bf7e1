/**
 * The message log's tables, one definition for both stores: SQLite and PostgreSQL differ only in the
 * names of the integer and byte types.
 */
export function logSchema(dialect: 'sqlite' | 'postgres'): string {
  const int = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  const bytes = dialect === 'sqlite' ? 'BLOB' : 'BYTEA';
  return `
CREATE TABLE IF NOT EXISTS log_records (
  seq ${int} PRIMARY KEY,
  time TEXT NOT NULL,
  kind TEXT NOT NULL,
  message_id TEXT NOT NULL,
  direction TEXT NOT NULL,
  ref_id TEXT,
  conversation_id TEXT,
  from_party TEXT NOT NULL,
  to_party TEXT NOT NULL,
  service TEXT NOT NULL,
  action TEXT,
  state TEXT NOT NULL,
  detail TEXT,
  envelope ${bytes},
  envelope_digest TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_records_message ON log_records (message_id);
CREATE INDEX IF NOT EXISTS log_records_time ON log_records (time);
${messagesTable(dialect)}
CREATE TABLE IF NOT EXISTS checkpoints (
  seq ${int} PRIMARY KEY,
  head_hash TEXT NOT NULL,
  time TEXT NOT NULL,
  node TEXT NOT NULL,
  signer_cert TEXT NOT NULL,
  signature TEXT NOT NULL,
  tsa_token ${bytes}
);
${acceptedTokensTable(dialect)}
${ALARMS_TABLE}`;
}

/**
 * The node's alarms (src/node/alarms): kept in the log store so they survive a restart and are one for
 * every process sharing the log. `active_key` is `rule subject` while the alarm is raised or
 * acknowledged and NULL once cleared: unique (NULLs are distinct in both databases), so raising is an
 * atomic claim of (rule, subject) and a cleared alarm does not stop the next raise. Not hash-chained:
 * an acknowledgement is also an operator record in the chain.
 */
export const ALARMS_TABLE = `CREATE TABLE IF NOT EXISTS alarms (
  id TEXT PRIMARY KEY,
  rule TEXT NOT NULL,
  subject TEXT NOT NULL,
  active_key TEXT UNIQUE,
  severity TEXT NOT NULL,
  state TEXT NOT NULL,
  raised_at TEXT NOT NULL,
  summary TEXT NOT NULL,
  facts TEXT,
  acknowledged_at TEXT,
  acknowledged_by TEXT,
  acknowledged_note TEXT,
  cleared_at TEXT,
  notified_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alarms_raised ON alarms (raised_at);
`;

/**
 * Single-use token ids (a ModI REST jti) the node has accepted, each held until its token expires: the
 * replay filter, in the log so it survives a restart and is one for every process sharing the log.
 * An expired row may be taken again; purgeExpiredTokens removes the rest by the expiry index.
 */
export function acceptedTokensTable(dialect: 'sqlite' | 'postgres'): string {
  const int = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return `CREATE TABLE IF NOT EXISTS accepted_tokens (
  namespace TEXT NOT NULL,
  id TEXT NOT NULL,
  expires_ms ${int} NOT NULL,
  PRIMARY KEY (namespace, id)
);
CREATE INDEX IF NOT EXISTS accepted_tokens_expiry ON accepted_tokens (expires_ms);
`;
}

/**
 * The projection: one row per message. Keyed by sender too — an inbound id is unique only per
 * sender (another party may send the same id), outbound ids are the node's own. messages_counts covers
 * the metrics' grouped count (LogStore.messageCounts): it is read instead of the rows, ten times faster
 * over a million messages.
 */
export function messagesTable(dialect: 'sqlite' | 'postgres'): string {
  const int = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return `CREATE TABLE IF NOT EXISTS messages (
  id TEXT NOT NULL,
  direction TEXT NOT NULL,
  state TEXT NOT NULL,
  from_party TEXT NOT NULL,
  to_party TEXT NOT NULL,
  service TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  envelope_seq ${int},
  reply_seq ${int},
  fields TEXT NOT NULL,
  PRIMARY KEY (id, direction, from_party)
);
CREATE INDEX IF NOT EXISTS messages_state ON messages (direction, state);
CREATE INDEX IF NOT EXISTS messages_created ON messages (created_at);
CREATE INDEX IF NOT EXISTS messages_counts ON messages (direction, from_party, to_party, service, state, created_at);
`;
}

/**
 * Logs made before the projection was keyed by sender have PRIMARY KEY (id, direction): widen it.
 * Only the projection changes; the hash-chained records (which always named the sender) are untouched.
 */
export const POSTGRES_SENDER_KEY_MIGRATION = `
DO $$
DECLARE pk_name text; pk_columns int;
BEGIN
  SELECT conname, array_length(conkey, 1) INTO pk_name, pk_columns FROM pg_constraint WHERE conrelid = 'messages'::regclass AND contype = 'p';
  IF pk_columns = 2 THEN
    EXECUTE format('ALTER TABLE messages DROP CONSTRAINT %I, ADD PRIMARY KEY (id, direction, from_party)', pk_name);
  END IF;
END $$;
`;

/** SQLite cannot change a primary key in place: the old projection is copied into the new table. */
export const SQLITE_SENDER_KEY_MIGRATION = `
DROP INDEX IF EXISTS messages_state;
DROP INDEX IF EXISTS messages_created;
ALTER TABLE messages RENAME TO messages_keyed_by_id;
${messagesTable('sqlite')}
INSERT INTO messages (id, direction, state, from_party, to_party, service, created_at, updated_at, envelope_seq, reply_seq, fields)
  SELECT id, direction, state, from_party, to_party, service, created_at, updated_at, envelope_seq, reply_seq, fields FROM messages_keyed_by_id;
DROP TABLE messages_keyed_by_id;
`;
