// Released migrations are never edited: add a new numbered file instead.
// The workstation's audit signing keys (Ed25519). The private key lives only
// here, inside the SQLCipher database, whose own key is wrapped by the OS key
// store: it is never on disk in the clear. A rotation retires the old key and
// names its successor; the newest unretired key signs.
export const sql = `
CREATE TABLE audit_signing_keys (
  key_id       TEXT PRIMARY KEY,              -- SHA-256 of the public key's SubjectPublicKeyInfo (DER), hex
  algorithm    TEXT NOT NULL CHECK (algorithm IN ('Ed25519')),
  public_key   BLOB NOT NULL,                 -- SubjectPublicKeyInfo, DER
  private_key  BLOB NOT NULL,                 -- PKCS #8, DER
  created_at   INTEGER NOT NULL,
  retired_at   INTEGER,
  replaced_by  TEXT REFERENCES audit_signing_keys(key_id)
) STRICT;
CREATE UNIQUE INDEX audit_signing_keys_one_current ON audit_signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;
`;
