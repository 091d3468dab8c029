// Released migrations are never edited: add a new numbered file instead.
// Per-person display preferences (text size, theme), and the acceptances of
// policy's acceptable-use statement: who accepted which text (by its SHA-256,
// never the text) and when. Both belong to an account of this workstation and
// go with it.
export const sql = `
CREATE TABLE user_preferences (
  account_id  TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  text_scale  INTEGER NOT NULL DEFAULT 100 CHECK (text_scale BETWEEN 80 AND 200),
  theme       TEXT NOT NULL DEFAULT 'system' CHECK (theme IN ('system', 'light', 'dark')),
  updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE attestations (
  id           INTEGER PRIMARY KEY,
  account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  -- SHA-256 (hex) of the statement as shown, line endings normalised
  text_sha256  TEXT NOT NULL CHECK (length(text_sha256) = 64),
  accepted_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX attestations_by_account ON attestations (account_id, text_sha256, accepted_at DESC);
`;
