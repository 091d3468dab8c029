// Released migrations are never edited: add a new numbered file instead.
// Free text a person typed that an audit event is about (a break-glass reason,
// a user name mistyped at sign-in, a card's label, a search term): the signed
// record carries only its length and a keyed hash (HMAC-SHA-256 with the
// workstation's secret, kept in meta), and the text itself stays here, on
// this workstation, for the compliance screen. Never in a SIEM message or an
// export bundle. A row goes with its event: however audit_events rows are
// deleted (pruning after delivery, quarantine), the cascade deletes the text.
export const sql = `
CREATE TABLE audit_private_text (
  event_seq INTEGER NOT NULL REFERENCES audit_events(seq) ON DELETE CASCADE,
  field     TEXT NOT NULL,
  text      TEXT NOT NULL,
  PRIMARY KEY (event_seq, field)
) STRICT;
`;
