// Durable delivery state per destination (migration 0004): a cursor — every
// batch up to confirmed_through is confirmed — plus the few batches confirmed
// ahead of it (break-glass batches jump the queue). All of it lives in the same
// SQLCipher database as the events, so a crash anywhere leaves either "sent and
// recorded" or "to be sent again": at least once, never lost.
import type { Db } from '../store/index.js';

/** meta: the last batch whose events were pruned after every destination confirmed them. */
export const PRUNED_THROUGH_BATCH_KEY = 'audit.pruned_through_batch';

export interface CursorRow {
  destination_id: string;
  confirmed_through: number;
  last_success_at: number | null;
  last_failure_at: number | null;
  last_failure: string | null;
  updated_at: number;
}

export function prunedThroughBatch(db: Db): number {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(PRUNED_THROUGH_BATCH_KEY) as { value: string } | undefined;
  return Number(row?.value ?? '0');
}

/** A destination seen for the first time starts with every batch still on the workstation. */
export function ensureCursor(db: Db, destinationId: string, now: number): CursorRow {
  db.prepare('INSERT INTO siem_cursors (destination_id, confirmed_through, updated_at) VALUES (?, ?, ?) ON CONFLICT(destination_id) DO NOTHING').run(destinationId, prunedThroughBatch(db), now);
  return db.prepare('SELECT * FROM siem_cursors WHERE destination_id = ?').get(destinationId) as CursorRow;
}

/** Every batch up to this one is confirmed by the destination (0: none yet, or a destination never seen). */
export function confirmedThrough(db: Db, destinationId: string): number {
  return (db.prepare('SELECT confirmed_through FROM siem_cursors WHERE destination_id = ?').get(destinationId) as { confirmed_through: number } | undefined)?.confirmed_through ?? 0;
}

/** The batch to send next: the oldest unconfirmed break-glass batch, else the oldest unconfirmed batch. */
export function nextBatchFor(db: Db, destinationId: string): number | null {
  const cursor = (db.prepare('SELECT confirmed_through FROM siem_cursors WHERE destination_id = ?').get(destinationId) as { confirmed_through: number } | undefined)?.confirmed_through ?? 0;
  const unconfirmed = `batch_seq > ? AND batch_seq NOT IN (SELECT batch_seq FROM siem_confirmations WHERE destination_id = ?)`;
  const priority = db.prepare(`SELECT batch_seq FROM audit_batches WHERE priority = 1 AND ${unconfirmed} ORDER BY batch_seq LIMIT 1`).get(cursor, destinationId) as { batch_seq: number } | undefined;
  if (priority) return priority.batch_seq;
  const next = db.prepare(`SELECT batch_seq FROM audit_batches WHERE ${unconfirmed} ORDER BY batch_seq LIMIT 1`).get(cursor, destinationId) as { batch_seq: number } | undefined;
  return next?.batch_seq ?? null;
}

/** Records a confirmed batch and moves the cursor over every contiguous confirmation. */
export function confirmBatch(db: Db, destinationId: string, batchSeq: number, now: number): void {
  db.prepare('INSERT INTO siem_confirmations (destination_id, batch_seq, confirmed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(destinationId, batchSeq, now);
  let cursor = (db.prepare('SELECT confirmed_through FROM siem_cursors WHERE destination_id = ?').get(destinationId) as { confirmed_through: number }).confirmed_through;
  const isConfirmed = db.prepare('SELECT 1 FROM siem_confirmations WHERE destination_id = ? AND batch_seq = ?');
  while (isConfirmed.get(destinationId, cursor + 1) !== undefined) cursor += 1;
  db.prepare('DELETE FROM siem_confirmations WHERE destination_id = ? AND batch_seq <= ?').run(destinationId, cursor);
  db.prepare('UPDATE siem_cursors SET confirmed_through = ?, last_success_at = ?, updated_at = ? WHERE destination_id = ?').run(cursor, now, now, destinationId);
}

export function recordFailure(db: Db, destinationId: string, failure: { code: string; message: string }, now: number): void {
  db.prepare('UPDATE siem_cursors SET last_failure_at = ?, last_failure = ?, updated_at = ? WHERE destination_id = ?').run(now, JSON.stringify(failure), now, destinationId);
}

/** Batches sealed but not yet confirmed by this destination. */
export function queuedBatches(db: Db, destinationId: string): number {
  const cursor = (db.prepare('SELECT confirmed_through FROM siem_cursors WHERE destination_id = ?').get(destinationId) as { confirmed_through: number } | undefined)?.confirmed_through ?? 0;
  const row = db
    .prepare('SELECT (SELECT count(*) FROM audit_batches WHERE batch_seq > ?) - (SELECT count(*) FROM siem_confirmations WHERE destination_id = ? AND batch_seq > ?) AS queued')
    .get(cursor, destinationId, cursor) as { queued: number };
  return row.queued;
}

/**
 * The batches right after `batchSeq` that this destination still lacks, while
 * they keep the cursor's order and stay under the limits: what a transport
 * that confirms several batches at once (syslog) may carry in one go.
 */
export function followingBatches(db: Db, destinationId: string, batchSeq: number, limits: { batches: number; events: number }): number[] {
  const cursor = (db.prepare('SELECT confirmed_through FROM siem_cursors WHERE destination_id = ?').get(destinationId) as { confirmed_through: number } | undefined)?.confirmed_through ?? 0;
  // Only on the in-order path: a break-glass batch sent ahead of the queue goes alone.
  if (batchSeq !== cursor + 1) return [];
  const rows = db
    .prepare(
      `SELECT batch_seq, event_count FROM audit_batches
       WHERE batch_seq > ? AND batch_seq NOT IN (SELECT batch_seq FROM siem_confirmations WHERE destination_id = ?)
       ORDER BY batch_seq LIMIT ?`,
    )
    .all(batchSeq, destinationId, limits.batches - 1) as { batch_seq: number; event_count: number }[];
  const first = db.prepare('SELECT event_count FROM audit_batches WHERE batch_seq = ?').get(batchSeq) as { event_count: number } | undefined;
  let events = first?.event_count ?? 0;
  const following: number[] = [];
  for (const row of rows) {
    if (row.batch_seq !== batchSeq + following.length + 1 || events + row.event_count > limits.events) break;
    events += row.event_count;
    following.push(row.batch_seq);
  }
  return following;
}
