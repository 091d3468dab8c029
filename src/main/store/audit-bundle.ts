// The queries of the audit export (audit/bundle/): which batches a time range
// covers, the covered batches' rows and events, and the public keys that
// signed them. Read-only: the export seals through audit/batches.ts, in the
// same transaction, and reads here what that left.
import { SIGNED_BATCH_COLUMNS, type SignedBatchRow } from './audit-batches.js';
import type { ReadableDb } from './handles.js';
import { prepared as statement } from './prepared.js';

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

/** One batch's row, or undefined when it is not on this workstation. */
export function batchRow(db: ReadableDb, batchSeq: number): SignedBatchRow | undefined {
  return statement(db, `SELECT ${SIGNED_BATCH_COLUMNS} FROM audit_batches WHERE batch_seq = ?`).get(batchSeq) as SignedBatchRow | undefined;
}

/** The rows of batches first..last that are on this workstation, in order (a gap shows as a skipped number). */
export function batchRows(db: ReadableDb, first: number, last: number): IterableIterator<SignedBatchRow> {
  return db.prepare(`SELECT ${SIGNED_BATCH_COLUMNS} FROM audit_batches WHERE batch_seq BETWEEN ? AND ? ORDER BY batch_seq`).iterate(first, last) as IterableIterator<SignedBatchRow>;
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
  const row = statement(
    db,
    "SELECT batch_seq FROM audit_batches WHERE (kind = 'heartbeat' AND created_at > ?) OR (kind = 'events' AND json_extract(manifest, '$.oldest') > ?) ORDER BY batch_seq LIMIT 1",
  ).get(to, new Date(to).toISOString()) as { batch_seq: number } | undefined;
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
