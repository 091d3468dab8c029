// Released migrations are never edited: add a new numbered file instead.
// Sign-in lockouts, kept in the encrypted store so that a restart does not
// reset them. One row per throttled key: a directory or evaluation account
// (`account:<id>`), a card (`card:<serial>`), or a name that maps to no
// account here (`name:<keyed hash of the normalised name>`, never the text,
// which is often a password typed into the wrong field).
//
// accounts.verifier_at: when a directory account's offline verifier was made,
// i.e. its last online sign-in with a password. last_online_at also moves on
// a card lookup, which proves nothing about the password; the verifier's age,
// and so how long it is kept, is counted from verifier_at.
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

ALTER TABLE accounts ADD COLUMN verifier_at INTEGER;
UPDATE accounts SET verifier_at = last_online_at WHERE kind = 'directory' AND password_hash IS NOT NULL;
`;
