// Released migrations are never edited: add a new numbered file instead.
// Sign-in lockouts, kept in the encrypted store so that a restart does not
// reset them. One row per throttled key: a directory or evaluation account
// (`account:<id>`), a card (`card:<serial>`), or a name that maps to no
// account here (`name:<keyed hash of the normalised name>`, never the text,
// which is often a password typed into the wrong field).
export const sql = `
CREATE TABLE sign_in_lockouts (
  key              TEXT PRIMARY KEY,
  -- failures since the last lockout (or success)
  failures         INTEGER NOT NULL CHECK (failures >= 0),
  -- lockouts in a row without a successful sign-in: each one lasts twice as long as the one before
  lockouts         INTEGER NOT NULL DEFAULT 0 CHECK (lockouts >= 0),
  locked_until     INTEGER,
  last_failure_at  INTEGER NOT NULL
) STRICT;
`;
