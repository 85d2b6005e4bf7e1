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
CREATE TABLE IF NOT EXISTS messages (
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
  PRIMARY KEY (id, direction)
);
CREATE INDEX IF NOT EXISTS messages_state ON messages (direction, state);
CREATE INDEX IF NOT EXISTS messages_created ON messages (created_at);
CREATE TABLE IF NOT EXISTS checkpoints (
  seq ${int} PRIMARY KEY,
  head_hash TEXT NOT NULL,
  time TEXT NOT NULL,
  node TEXT NOT NULL,
  signer_cert TEXT NOT NULL,
  signature TEXT NOT NULL,
  tsa_token ${bytes}
);
`;
}
