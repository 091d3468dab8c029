// Durable delivery state per destination (migration 0004): a cursor — every
// batch up to confirmed_through is confirmed — plus the few batches confirmed
// ahead of it (break-glass batches jump the queue). All of it lives in the same
// SQLCipher database as the events, so a crash anywhere leaves either "sent and
// recorded" or "to be sent again": at least once, never lost. The rules of
// delivery are here; the queries are the store's (store/siem-cursors.ts).
import { auditBatches, meta, siemCursors, type ReadableDb, type WritableDb } from '../store/index.js';

/** meta: the last batch whose events were pruned after every destination confirmed them. */
export const PRUNED_THROUGH_BATCH_KEY = 'audit.pruned_through_batch';

export type CursorRow = siemCursors.SiemCursorRow;

export function prunedThroughBatch(db: ReadableDb): number {
  return Number(meta.get(db, PRUNED_THROUGH_BATCH_KEY) ?? '0');
}

/** A destination seen for the first time starts with every batch still on the workstation. */
export function ensureCursor(db: WritableDb, destinationId: string, now: number): CursorRow {
  siemCursors.insertIfMissing(db, destinationId, prunedThroughBatch(db), now);
  return siemCursors.byDestination(db, destinationId)!;
}

/** Every batch up to this one is confirmed by the destination (0: none yet, or a destination never seen). */
export function confirmedThrough(db: ReadableDb, destinationId: string): number {
  return siemCursors.confirmedThrough(db, destinationId) ?? 0;
}

/** The batch to send next: the oldest unconfirmed break-glass batch, else the oldest unconfirmed batch. */
export function nextBatchFor(db: ReadableDb, destinationId: string): number | null {
  const cursor = confirmedThrough(db, destinationId);
  return siemCursors.firstUnconfirmed(db, destinationId, cursor, { priorityOnly: true }) ?? siemCursors.firstUnconfirmed(db, destinationId, cursor, { priorityOnly: false });
}

/** Records a confirmed batch and moves the cursor over every contiguous confirmation. */
export function confirmBatch(db: WritableDb, destinationId: string, batchSeq: number, now: number): void {
  siemCursors.insertConfirmation(db, destinationId, batchSeq, now);
  let cursor = siemCursors.confirmedThrough(db, destinationId);
  if (cursor === undefined) throw new Error(`SIEM destination ${destinationId} has no delivery cursor (ensureCursor makes it when delivery starts).`);
  while (siemCursors.isConfirmed(db, destinationId, cursor + 1)) cursor += 1;
  siemCursors.deleteConfirmationsThrough(db, destinationId, cursor);
  siemCursors.setConfirmedThrough(db, destinationId, cursor, now);
}

export function recordFailure(db: WritableDb, destinationId: string, failure: { code: string; message: string }, now: number): void {
  siemCursors.setFailure(db, destinationId, JSON.stringify(failure), now);
}

/** Batches sealed but not yet confirmed by this destination. */
export function queuedBatches(db: ReadableDb, destinationId: string): number {
  return siemCursors.countUnconfirmedAfter(db, destinationId, confirmedThrough(db, destinationId));
}

/**
 * The batches right after `batchSeq` that this destination still lacks, while
 * they keep the cursor's order and stay under the limits: what a transport
 * that confirms several batches at once (syslog) may carry in one go.
 */
export function followingBatches(db: ReadableDb, destinationId: string, batchSeq: number, limits: { batches: number; events: number }): number[] {
  const cursor = confirmedThrough(db, destinationId);
  // Only on the in-order path: a break-glass batch sent ahead of the queue goes alone.
  if (batchSeq !== cursor + 1) return [];
  const rows = siemCursors.unconfirmedAfter(db, destinationId, batchSeq, limits.batches - 1);
  let events = auditBatches.eventCount(db, batchSeq) ?? 0;
  const following: number[] = [];
  for (const row of rows) {
    if (row.batch_seq !== batchSeq + following.length + 1 || events + row.event_count > limits.events) break;
    events += row.event_count;
    following.push(row.batch_seq);
  }
  return following;
}
