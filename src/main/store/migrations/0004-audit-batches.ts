// Released migrations are never edited: add a new numbered file instead.
// Signed audit batches and their delivery (shared/design/audit-and-siem.md).
//
// audit_batches: one row per sealed batch. manifest is its canonical JSON with
// the signature; frontier is the Merkle tree's right edge after it, so the next
// seal (and an export) continues from here without re-reading older events.
// priority marks a batch holding a break-glass sign-in: it is sent first.
//
// siem_cursors / siem_confirmations: per destination, the highest batch_seq
// confirmed with every earlier one confirmed too, plus the few confirmed out of
// order (priority batches). A batch's events leave the workstation only when
// every configured destination confirmed it and local retention has passed;
// audit.pruned_* in meta then anchors the chain where the kept events begin.
//
// audit_quarantine: events of a corrupt, unsealed tail found at start, kept
// (never silently discarded) and reported as audit.corruption_detected.
export const sql = `
-- The compliance screen's search and the export narrow by time and action.
CREATE INDEX audit_events_by_ts ON audit_events (ts);
CREATE INDEX audit_events_by_action ON audit_events (action, seq);

CREATE TABLE audit_batches (
  batch_seq     INTEGER PRIMARY KEY,
  kind          TEXT NOT NULL CHECK (kind IN ('events', 'heartbeat')),
  first_seq     INTEGER,
  last_seq      INTEGER,
  event_count   INTEGER NOT NULL,
  tree_size     INTEGER NOT NULL,
  root          TEXT NOT NULL,
  frontier      TEXT NOT NULL,
  manifest      TEXT NOT NULL,
  manifest_hash TEXT NOT NULL,
  key_id        TEXT NOT NULL REFERENCES audit_signing_keys(key_id),
  priority      INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_batches_by_last_seq ON audit_batches (last_seq);
CREATE INDEX audit_batches_priority ON audit_batches (batch_seq) WHERE priority = 1;

CREATE TABLE siem_cursors (
  destination_id      TEXT PRIMARY KEY,
  confirmed_through   INTEGER NOT NULL,
  last_success_at     INTEGER,
  last_failure_at     INTEGER,
  last_failure        TEXT,
  updated_at          INTEGER NOT NULL
) STRICT;

CREATE TABLE siem_confirmations (
  destination_id TEXT NOT NULL,
  batch_seq      INTEGER NOT NULL,
  confirmed_at   INTEGER NOT NULL,
  PRIMARY KEY (destination_id, batch_seq)
) STRICT;

CREATE TABLE audit_quarantine (
  seq            INTEGER NOT NULL,
  id             TEXT,
  ts             INTEGER,
  action         TEXT,
  record         TEXT,
  hash           TEXT,
  problem        TEXT NOT NULL,
  quarantined_at INTEGER NOT NULL
) STRICT;
`;
