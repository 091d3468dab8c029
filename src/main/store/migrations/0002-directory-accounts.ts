// Released migrations are never edited: add a new numbered file instead.
// Directory accounts: an Active Directory user who signed in here gets a row
// (id = objectGUID), so their chats belong to them, and an offline verifier
// (a slow salted hash of the password from the last online sign-in) for
// signing in while no domain controller answers. SQLite cannot change a CHECK
// constraint in place, so the table is rebuilt (SQLite's documented 12-step
// procedure; the store runs migrations with foreign keys off and checks them).
export const sql = `
CREATE TABLE accounts_new (
  id               TEXT PRIMARY KEY,
  -- evaluation: the chosen name; directory: the UPN, lower-case
  username         TEXT NOT NULL UNIQUE COLLATE NOCASE,
  display_name     TEXT NOT NULL,
  -- evaluation: the password's scrypt hash; directory: the offline verifier, or NULL
  password_hash    TEXT,
  roles            TEXT NOT NULL,
  kind             TEXT NOT NULL CHECK (kind IN ('evaluation', 'directory')),
  created_at       INTEGER NOT NULL,
  sam_account_name TEXT COLLATE NOCASE,
  directory_dn     TEXT,
  last_online_at   INTEGER,
  -- member of a break-glass group at the last online sign-in (for emergency access while the DCs are down)
  break_glass      INTEGER NOT NULL DEFAULT 0 CHECK (break_glass IN (0, 1)),
  -- SHA-256 of the smart-card certificate this account last signed in with
  card_sha256      TEXT,
  CHECK (kind <> 'evaluation' OR password_hash IS NOT NULL),
  CHECK (kind <> 'directory' OR (sam_account_name IS NOT NULL AND directory_dn IS NOT NULL))
) STRICT;

INSERT INTO accounts_new (id, username, display_name, password_hash, roles, kind, created_at)
  SELECT id, username, display_name, password_hash, roles, kind, created_at FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;
CREATE INDEX accounts_by_sam_account_name ON accounts (sam_account_name) WHERE sam_account_name IS NOT NULL;
`;
