// siem_cursors and siem_confirmations: per SIEM destination, the batch up to
// which every batch is confirmed (the cursor), and the few confirmed ahead of
// it (break-glass batches jump the queue). The delivery rules built on these
// (what to send next, how the cursor moves) are the SIEM service's.
import type { ReadableDb, WritableDb } from './handles.js';
import { prepared } from './prepared.js';

/** A siem_cursors row as stored. */
export interface SiemCursorRow {
  destination_id: string;
  confirmed_through: number;
  last_success_at: number | null;
  last_failure_at: number | null;
  /** JSON { code, message } of the last failure. */
  last_failure: string | null;
  updated_at: number;
}

/** A siem_confirmations row as stored: a batch confirmed ahead of the cursor. */
export interface SiemConfirmationRow {
  destination_id: string;
  batch_seq: number;
  confirmed_at: number;
}

/** Adds a destination's cursor at confirmedThrough; one that exists is left as it is. */
export function insertIfMissing(db: WritableDb, destinationId: string, confirmedThrough: number, now: number): void {
  prepared(db, 'INSERT INTO siem_cursors (destination_id, confirmed_through, updated_at) VALUES (?, ?, ?) ON CONFLICT(destination_id) DO NOTHING').run(destinationId, confirmedThrough, now);
}

export function byDestination(db: ReadableDb, destinationId: string): SiemCursorRow | undefined {
  return prepared(db, 'SELECT * FROM siem_cursors WHERE destination_id = ?').get(destinationId) as SiemCursorRow | undefined;
}

/** The destination's cursor, or undefined when it has none yet. */
export function confirmedThrough(db: ReadableDb, destinationId: string): number | undefined {
  return (prepared(db, 'SELECT confirmed_through FROM siem_cursors WHERE destination_id = ?').get(destinationId) as Pick<SiemCursorRow, 'confirmed_through'> | undefined)?.confirmed_through;
}

/** Moves the cursor and records the success. */
export function setConfirmedThrough(db: WritableDb, destinationId: string, confirmedThrough: number, now: number): void {
  prepared(db, 'UPDATE siem_cursors SET confirmed_through = ?, last_success_at = ?, updated_at = ? WHERE destination_id = ?').run(confirmedThrough, now, now, destinationId);
}

/** Records a failed delivery (failure as JSON { code, message }); the cursor stays. */
export function setFailure(db: WritableDb, destinationId: string, failure: string, now: number): void {
  prepared(db, 'UPDATE siem_cursors SET last_failure_at = ?, last_failure = ?, updated_at = ? WHERE destination_id = ?').run(now, failure, now, destinationId);
}

/** Records one confirmed batch; a second confirmation of it changes nothing. */
export function insertConfirmation(db: WritableDb, destinationId: string, batchSeq: number, now: number): void {
  prepared(db, 'INSERT INTO siem_confirmations (destination_id, batch_seq, confirmed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(destinationId, batchSeq, now);
}

export function isConfirmed(db: ReadableDb, destinationId: string, batchSeq: number): boolean {
  return prepared(db, 'SELECT 1 FROM siem_confirmations WHERE destination_id = ? AND batch_seq = ?').get(destinationId, batchSeq) !== undefined;
}

/** Forgets the confirmations the cursor has passed. */
export function deleteConfirmationsThrough(db: WritableDb, destinationId: string, batchSeq: number): void {
  prepared(db, 'DELETE FROM siem_confirmations WHERE destination_id = ? AND batch_seq <= ?').run(destinationId, batchSeq);
}

const UNCONFIRMED = 'batch_seq > ? AND batch_seq NOT IN (SELECT batch_seq FROM siem_confirmations WHERE destination_id = ?)';

/** The oldest batch after afterBatch that the destination has not confirmed; priorityOnly: only among urgent batches (break-glass, a reported answer). */
export function firstUnconfirmed(db: ReadableDb, destinationId: string, afterBatch: number, options: { priorityOnly: boolean }): number | null {
  const sql = options.priorityOnly
    ? `SELECT batch_seq FROM audit_batches WHERE priority = 1 AND ${UNCONFIRMED} ORDER BY batch_seq LIMIT 1`
    : `SELECT batch_seq FROM audit_batches WHERE ${UNCONFIRMED} ORDER BY batch_seq LIMIT 1`;
  return (prepared(db, sql).get(afterBatch, destinationId) as { batch_seq: number } | undefined)?.batch_seq ?? null;
}

/** Up to limit batches after afterBatch that the destination has not confirmed, in order, with their event counts. */
export function unconfirmedAfter(db: ReadableDb, destinationId: string, afterBatch: number, limit: number): { batch_seq: number; event_count: number }[] {
  return prepared(
    db,
    `SELECT batch_seq, event_count FROM audit_batches
     WHERE ${UNCONFIRMED}
     ORDER BY batch_seq LIMIT ?`,
  ).all(afterBatch, destinationId, limit) as { batch_seq: number; event_count: number }[];
}

/** How many batches after afterBatch the destination has not confirmed. */
export function countUnconfirmedAfter(db: ReadableDb, destinationId: string, afterBatch: number): number {
  const row = prepared(db, 'SELECT (SELECT count(*) FROM audit_batches WHERE batch_seq > ?) - (SELECT count(*) FROM siem_confirmations WHERE destination_id = ? AND batch_seq > ?) AS queued').get(
    afterBatch,
    destinationId,
    afterBatch,
  ) as { queued: number };
  return row.queued;
}
