// The queries of the audit export (audit/bundle/): which batches a time range
// covers, the covered batches' rows and events, and the public keys that
// signed them. Read-only: the export seals through audit/batches.ts, in the
// same transaction, and reads here what that left.
import type Database from 'better-sqlite3-multiple-ciphers';
import type { ReadableDb } from './handles.js';

/**
 * An audit_batches row as the signed-manifest check reads it (the columns of
 * STORED_BATCH_COLUMNS in audit/signed-check.ts). Duplicates the batch row of
 * audit/batches.ts until one batch query module holds both.
 */
export interface StoredBatchRow {
  batch_seq: number;
  kind: string;
  first_seq: number | null;
  last_seq: number | null;
  event_count: number;
  tree_size: number;
  root: string;
  frontier: string;
  manifest: string;
  manifest_hash: string;
  key_id: string;
}

const BATCH_COLUMNS = 'batch_seq, kind, first_seq, last_seq, event_count, tree_size, root, frontier, manifest, manifest_hash, key_id';

/** An audit_events row as the export writes it out: its canonical record text, as stored and signed. */
export interface EventRow {
  seq: number;
  record: string;
  hash: string;
}

/** An audit_signing_keys row. */
export interface SigningKeyRow {
  key_id: string;
  algorithm: 'Ed25519';
  /** SubjectPublicKeyInfo, DER. */
  public_key: Buffer;
  created_at: number;
  retired_at: number | null;
  replaced_by: string | null;
}

/** The lowest and highest of something in a range; both null when the range holds none. */
export interface SeqSpan {
  lo: number | null;
  hi: number | null;
}

// One prepared statement per query and connection: the export's loops ask the same question many times.
const statements = new WeakMap<Database.Database, Map<string, Database.Statement>>();
function statement(db: ReadableDb, sql: string): Database.Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let prepared = cache.get(sql);
  if (!prepared) cache.set(sql, (prepared = db.prepare(sql)));
  return prepared;
}

/** A value of the meta table (the workstation's host id, how far events were pruned). */
export function metaValue(db: ReadableDb, key: string): string | undefined {
  return (statement(db, 'SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
}

/** One batch's row, or undefined when it is not on this workstation. */
export function batchRow(db: ReadableDb, batchSeq: number): StoredBatchRow | undefined {
  return statement(db, `SELECT ${BATCH_COLUMNS} FROM audit_batches WHERE batch_seq = ?`).get(batchSeq) as StoredBatchRow | undefined;
}

/** The rows of batches first..last that are on this workstation, in order (a gap shows as a skipped number). */
export function batchRows(db: ReadableDb, first: number, last: number): IterableIterator<StoredBatchRow> {
  return db.prepare(`SELECT ${BATCH_COLUMNS} FROM audit_batches WHERE batch_seq BETWEEN ? AND ? ORDER BY batch_seq`).iterate(first, last) as IterableIterator<StoredBatchRow>;
}

/** One batch's signed manifest as stored (JSON text), or undefined when it is not here. */
export function batchManifestText(db: ReadableDb, batchSeq: number): string | undefined {
  return (statement(db, 'SELECT manifest FROM audit_batches WHERE batch_seq = ?').get(batchSeq) as { manifest: string } | undefined)?.manifest;
}

/** One batch's kind ('events' or 'heartbeat'), or undefined when it is not here. */
export function batchKind(db: ReadableDb, batchSeq: number): string | undefined {
  return (statement(db, 'SELECT kind FROM audit_batches WHERE batch_seq = ?').get(batchSeq) as { kind: string } | undefined)?.kind;
}

/** The newest batch: its number and the tree size it signs. */
export function newestBatch(db: ReadableDb): { batchSeq: number; treeSize: number } | undefined {
  const row = statement(db, 'SELECT batch_seq, tree_size FROM audit_batches ORDER BY batch_seq DESC LIMIT 1').get() as { batch_seq: number; tree_size: number } | undefined;
  return row ? { batchSeq: row.batch_seq, treeSize: row.tree_size } : undefined;
}

/** The first batch whose tree reaches treeSize events, or null. */
export function firstBatchReaching(db: ReadableDb, treeSize: number): number | null {
  return (statement(db, 'SELECT min(batch_seq) AS b FROM audit_batches WHERE tree_size >= ?').get(treeSize) as { b: number | null }).b;
}

/** The events batch that seals event seq, or null. */
export function eventsBatchHolding(db: ReadableDb, seq: number): number | null {
  const row = statement(db, "SELECT batch_seq FROM audit_batches WHERE kind = 'events' AND last_seq >= ? AND first_seq <= ? ORDER BY last_seq LIMIT 1").get(seq, seq) as { batch_seq: number } | undefined;
  return row?.batch_seq ?? null;
}

/** The first and last heartbeat batch sealed in [from, to] (UTC milliseconds). */
export function heartbeatsSealedIn(db: ReadableDb, from: number, to: number): SeqSpan {
  return statement(db, "SELECT min(batch_seq) AS lo, max(batch_seq) AS hi FROM audit_batches WHERE kind = 'heartbeat' AND created_at >= ? AND created_at <= ?").get(from, to) as SeqSpan;
}

/** The newest event time (ISO, from the manifests) of the events batches first..last, or null when they hold none. */
export function newestEventTimeOfBatches(db: ReadableDb, first: number, last: number): string | null {
  return (statement(db, "SELECT max(json_extract(manifest, '$.newest')) AS t FROM audit_batches WHERE kind = 'events' AND batch_seq BETWEEN ? AND ?").get(first, last) as { t: string | null }).t;
}

/** The first batch wholly after `to` (UTC milliseconds): a heartbeat sealed after it, or an events batch whose oldest event is. */
export function firstBatchAfter(db: ReadableDb, to: number): number | undefined {
  const row = statement(db, "SELECT batch_seq FROM audit_batches WHERE (kind = 'heartbeat' AND created_at > ?) OR (kind = 'events' AND json_extract(manifest, '$.oldest') > ?) ORDER BY batch_seq LIMIT 1").get(
    to,
    new Date(to).toISOString(),
  ) as { batch_seq: number } | undefined;
  return row?.batch_seq;
}

/** Events first..last that are on this workstation, in order (a gap shows as a skipped number). */
export function eventRows(db: ReadableDb, first: number, last: number): IterableIterator<EventRow> {
  return db.prepare('SELECT seq, record, hash FROM audit_events WHERE seq BETWEEN ? AND ? ORDER BY seq').iterate(first, last) as IterableIterator<EventRow>;
}

/** One event's time (UTC milliseconds), or undefined when it is not here. */
export function eventTime(db: ReadableDb, seq: number): number | undefined {
  return (statement(db, 'SELECT ts FROM audit_events WHERE seq = ?').get(seq) as { ts: number } | undefined)?.ts;
}

/** The lowest event sequence number still kept here, or null when none is. */
export function oldestKeptEventSeq(db: ReadableDb): number | null {
  return (statement(db, 'SELECT min(seq) AS s FROM audit_events').get() as { s: number | null }).s;
}

/** The first and last event, up to throughSeq, written in [from, to] (UTC milliseconds). */
export function eventsWrittenIn(db: ReadableDb, throughSeq: number, from: number, to: number): SeqSpan {
  return statement(db, 'SELECT min(seq) AS lo, max(seq) AS hi FROM audit_events WHERE seq <= ? AND ts >= ? AND ts <= ?').get(throughSeq, from, to) as SeqSpan;
}

/** A signing key's row, or undefined when the key is gone. */
export function signingKey(db: ReadableDb, keyId: string): SigningKeyRow | undefined {
  return statement(db, 'SELECT key_id, algorithm, public_key, created_at, retired_at, replaced_by FROM audit_signing_keys WHERE key_id = ?').get(keyId) as SigningKeyRow | undefined;
}
