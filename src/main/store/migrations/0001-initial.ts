// Released migrations are never edited: add a new numbered file instead.
export const sql = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE accounts (
  id            TEXT PRIMARY KEY,
  username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
  display_name  TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  roles         TEXT NOT NULL,
  kind          TEXT NOT NULL CHECK (kind IN ('evaluation')),
  created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE chat_sessions (
  id          TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES accounts(id),
  title       TEXT NOT NULL,
  workload_id TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  ended_at    INTEGER
) STRICT;
CREATE INDEX chat_sessions_by_user ON chat_sessions (user_id, updated_at DESC);

CREATE TABLE chat_messages (
  id          TEXT PRIMARY KEY,
  session_id  TEXT NOT NULL REFERENCES chat_sessions(id) ON DELETE CASCADE,
  role        TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
  content     TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('complete', 'cancelled', 'failed')),
  reply_to    TEXT REFERENCES chat_messages(id),
  model_id    TEXT,
  created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX chat_messages_by_session ON chat_messages (session_id, created_at);

-- Models an evaluator added on first run. Managed deployments list models in policy.
CREATE TABLE evaluation_models (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  path          TEXT NOT NULL,
  sha256        TEXT NOT NULL,
  size_bytes    INTEGER NOT NULL,
  is_test_model INTEGER NOT NULL,
  created_at    INTEGER NOT NULL
) STRICT;

-- So a multi-gigabyte model is not re-hashed at every start. ctime is part of
-- the key because, unlike mtime, no user-space call can set it back.
CREATE TABLE model_hash_cache (
  path       TEXT PRIMARY KEY,
  size_bytes INTEGER NOT NULL,
  mtime_ms   INTEGER NOT NULL,
  ctime_ms   INTEGER NOT NULL,
  sha256     TEXT NOT NULL,
  hashed_at  INTEGER NOT NULL
) STRICT;

-- The audit log. record is the canonical JSON of the event, hash is its
-- event.hash, kept in a column so the verifier can cross-check both.
CREATE TABLE audit_events (
  seq    INTEGER PRIMARY KEY,
  id     TEXT NOT NULL UNIQUE,
  ts     INTEGER NOT NULL,
  action TEXT NOT NULL,
  record TEXT NOT NULL,
  hash   TEXT NOT NULL
) STRICT;
`;
