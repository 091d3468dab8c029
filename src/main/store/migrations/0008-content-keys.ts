// Released migrations are never edited: add a new numbered file instead.
// Per-person chat keys (identity/content-keys.ts): each person's content keys
// and, for each, its wrappings: under a key derived from their password, or
// to their smart card's public key. Chat sessions record the key their title
// and messages are sealed with; NULL marks a session from before this
// migration, still in plain text, which is sealed at its owner's next sign-in.
export const sql = `
CREATE TABLE content_keys (
  id          TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES accounts(id),
  -- HMAC-SHA-256 of the key id under the key: an unwrapped key is checked against its id
  key_check   BLOB NOT NULL,
  created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX content_keys_by_user ON content_keys (user_id);

CREATE TABLE content_key_wraps (
  id           TEXT PRIMARY KEY,
  key_id       TEXT NOT NULL REFERENCES content_keys(id) ON DELETE CASCADE,
  kind         TEXT NOT NULL CHECK (kind IN ('password', 'card')),
  -- card: SHA-256 of the certificate whose public key it is wrapped to
  card_sha256  TEXT,
  -- JSON: password {"name":"scrypt","N":..,"r":..,"p":..}; card {"name":"rsa-oaep","hash":"sha256"|"sha1"}
  params       TEXT NOT NULL,
  -- password: the scrypt salt and a check value of the derived key
  salt         BLOB,
  kek_check    BLOB,
  wrapped      BLOB NOT NULL,
  -- card: the card's own signature over the wrapping (anyone can encrypt to a public key; only the card signs)
  signature    BLOB,
  created_at   INTEGER NOT NULL,
  CHECK ((kind = 'card') = (card_sha256 IS NOT NULL)),
  CHECK (kind <> 'card' OR signature IS NOT NULL),
  CHECK (kind <> 'password' OR (salt IS NOT NULL AND kek_check IS NOT NULL))
) STRICT;
CREATE INDEX content_key_wraps_by_key ON content_key_wraps (key_id);
CREATE INDEX content_key_wraps_by_card ON content_key_wraps (card_sha256) WHERE card_sha256 IS NOT NULL;

ALTER TABLE chat_sessions ADD COLUMN key_id TEXT REFERENCES content_keys(id);
`;
