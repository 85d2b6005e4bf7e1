/**
 * The message log's tables, one definition for both stores: SQLite and PostgreSQL differ only in the
 * names of the integer and byte types.
 */
export function logSchema(dialect: 'sqlite' | 'postgres'): string {
  return `${logTables(dialect)}\n${messageIndexes(dialect)}`;
}

/**
 * The tables alone, for a store opening a log that may be older than its indexes: it migrates the
 * tables first (a column an index needs may be missing), then creates the indexes (messageIndexes).
 */
export function logTables(dialect: 'sqlite' | 'postgres'): string {
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
 * sender (another party may send the same id), outbound ids are the node's own. ref_id and
 * conversation_id repeat the message's RiferimentoMessaggio and Collaborazione (also in `fields`):
 * set once at insert and never updated, they are plain indexed columns rather than expression indexes
 * over the JSON, which every state change rewrites (and which the two databases spell differently).
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
  ref_id TEXT,
  conversation_id TEXT,
  PRIMARY KEY (id, direction, from_party)
);
`;
}

/**
 * The party a message belongs to on this node (the sender of an outbound one, the recipient of an
 * inbound one) and the party on the other side. Written in queries exactly as in the indexes: both
 * databases use an expression index only for the very same expression.
 */
export const OWNER_PARTY = "(CASE direction WHEN 'out' THEN from_party ELSE to_party END)";
export const COUNTERPART_PARTY = "(CASE direction WHEN 'out' THEN to_party ELSE from_party END)";

/**
 * The projection's indexes (the same text for both databases). Each search shape of the console and
 * the APIs — a filter, then newest first — has an index that ends with created_at, so a page (the first
 * or one far down, by keyset) is read off the index's end instead of sorting every match:
 * - messages_created: no filter, a time range alone;
 * - messages_direction_created: a direction (without it SQLite read the direction's half of the
 *   table off another index that starts with direction, and sorted it);
 * - messages_state_created, messages_direction_state: a state, with or without a direction (the latter
 *   also serves the start-up reconciliation, messagesInState, in its order);
 * - messages_service_created: a service;
 * - messages_owner_created, messages_owner_state: a party's own messages (the back-office API always
 *   filters by the caller's parties), alone or with a state;
 * - messages_counterpart_created: the messages exchanged with a peer node's parties;
 * - messages_ref, messages_conversation: related messages (MessageLog.related), partial — most
 *   messages have neither;
 * - messages_counts covers the metrics' grouped count (LogStore.messageCounts): it is read instead of
 *   the rows, ten times faster over a million messages.
 * The id is served by the primary key. messages_state (direction, state) was replaced by
 * messages_direction_state, which ends with created_at.
 * SQLite plans these without statistics (the node never runs ANALYZE): each query names one index by
 * its equality terms, the same plan at any size, which test/log/message-search-plans.test.ts checks.
 * Sampled statistics (PRAGMA optimize) made it worse: they turned the counts since an instant into a
 * skip-scan of messages_counts, twenty times slower than the created_at range.
 * PostgreSQL plans by its statistics, which take columns as independent: it read a direction + state
 * that never meet (in + DELIVERED) by walking the direction's index to its end, a second over a million
 * messages. Extended statistics on the pair (dependencies, most common combinations) tell it.
 */
export function messageIndexes(dialect: 'sqlite' | 'postgres'): string {
  const pairStatistics =
    dialect === 'postgres'
      ? 'CREATE STATISTICS IF NOT EXISTS messages_direction_state_stats (dependencies, mcv) ON direction, state FROM messages;\n'
      : '';
  return `DROP INDEX IF EXISTS messages_state;
CREATE INDEX IF NOT EXISTS messages_created ON messages (created_at);
CREATE INDEX IF NOT EXISTS messages_counts ON messages (direction, from_party, to_party, service, state, created_at);
CREATE INDEX IF NOT EXISTS messages_direction_created ON messages (direction, created_at);
CREATE INDEX IF NOT EXISTS messages_state_created ON messages (state, created_at);
CREATE INDEX IF NOT EXISTS messages_direction_state ON messages (direction, state, created_at);
CREATE INDEX IF NOT EXISTS messages_service_created ON messages (service, created_at);
CREATE INDEX IF NOT EXISTS messages_owner_created ON messages (${OWNER_PARTY}, created_at);
CREATE INDEX IF NOT EXISTS messages_owner_state ON messages (${OWNER_PARTY}, state, created_at);
CREATE INDEX IF NOT EXISTS messages_counterpart_created ON messages (${COUNTERPART_PARTY}, created_at);
CREATE INDEX IF NOT EXISTS messages_ref ON messages (ref_id) WHERE ref_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_conversation ON messages (conversation_id) WHERE conversation_id IS NOT NULL;
${pairStatistics}`;
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
DROP INDEX IF EXISTS messages_counts;
ALTER TABLE messages RENAME TO messages_keyed_by_id;
${messagesTable('sqlite')}
INSERT INTO messages (id, direction, state, from_party, to_party, service, created_at, updated_at, envelope_seq, reply_seq, fields, ref_id, conversation_id)
  SELECT id, direction, state, from_party, to_party, service, created_at, updated_at, envelope_seq, reply_seq, fields,
         json_extract(fields, '$.refId'), json_extract(fields, '$.conversationId') FROM messages_keyed_by_id;
DROP TABLE messages_keyed_by_id;
`;

/**
 * Logs made before the projection had ref_id and conversation_id get the two columns, filled from each
 * row's fields: once (the caller checks the columns are missing, under the write lock).
 */
export const SQLITE_RELATION_COLUMNS_MIGRATION = `
ALTER TABLE messages ADD COLUMN ref_id TEXT;
ALTER TABLE messages ADD COLUMN conversation_id TEXT;
UPDATE messages SET ref_id = json_extract(fields, '$.refId'), conversation_id = json_extract(fields, '$.conversationId')
  WHERE instr(fields, '"refId"') > 0 OR instr(fields, '"conversationId"') > 0;
`;

export const POSTGRES_RELATION_COLUMNS_MIGRATION = `
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'messages'::regclass AND attname = 'ref_id' AND NOT attisdropped) THEN
    ALTER TABLE messages ADD COLUMN ref_id TEXT, ADD COLUMN conversation_id TEXT;
    UPDATE messages SET ref_id = (fields::jsonb) ->> 'refId', conversation_id = (fields::jsonb) ->> 'conversationId'
      WHERE (fields::jsonb) ?| array['refId', 'conversationId'];
  END IF;
END $$;
`;

/**
 * What the node keeps in PostgreSQL besides the log when several processes share it (no shared disk):
 * - message_id_blocks: per PdD and minute (`yyyy-MM-ddTHH:mm`, UTC), how many of the minute's serials
 *   have been handed out; a process reserves a block by raising `reserved` (SharedMessageIdAllocator);
 * - console_sessions: the console's signed-in sessions, keyed by the SHA-256 of the cookie's id (a copy
 *   of the database does not sign anyone in), times in ms since the epoch.
 */
export const POSTGRES_NODE_STATE_TABLES = `
CREATE TABLE IF NOT EXISTS message_id_blocks (
  pdd TEXT NOT NULL,
  minute TEXT NOT NULL,
  reserved INTEGER NOT NULL,
  PRIMARY KEY (pdd, minute)
);
CREATE TABLE IF NOT EXISTS console_sessions (
  id_hash TEXT PRIMARY KEY,
  member TEXT NOT NULL,
  csrf TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  last_seen_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS console_sessions_last_seen ON console_sessions (last_seen_ms);
`;
