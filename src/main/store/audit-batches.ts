// audit_batches: one row per sealed batch, its signed manifest (canonical
// JSON) and the Merkle frontier after it. Parsing and checking the manifest is
// the audit service's; these are the rows as stored.
import type { ReadableDb, WritableDb } from './handles.js';
import { prepared } from './prepared.js';

/** An audit_batches row as stored: the one batch row type (the sealer writes it, the verifier and the outbox read it). */
export interface AuditBatchRow {
  batch_seq: number;
  kind: 'events' | 'heartbeat';
  first_seq: number | null;
  last_seq: number | null;
  event_count: number;
  tree_size: number;
  root: string;
  frontier: string;
  manifest: string;
  manifest_hash: string;
  key_id: string;
  /** 1 when the batch holds a break-glass sign-in (sent first), else 0. */
  priority: number;
  created_at: number;
}

/** The columns the signed check compares with the manifest (all but delivery's). */
export type SignedBatchRow = Omit<AuditBatchRow, 'priority' | 'created_at'>;

/** SignedBatchRow's columns, for a SELECT. */
export const SIGNED_BATCH_COLUMNS = 'batch_seq, kind, first_seq, last_seq, event_count, tree_size, root, frontier, manifest, manifest_hash, key_id';

/** The newest batch, or undefined before the first seal. */
export function newest(db: ReadableDb): AuditBatchRow | undefined {
  return prepared(db, 'SELECT * FROM audit_batches ORDER BY batch_seq DESC LIMIT 1').get() as AuditBatchRow | undefined;
}

/** The newest batch's tree size (how many events are sealed), or undefined before the first seal. Read at every event. */
export function newestTreeSize(db: ReadableDb): number | undefined {
  return (prepared(db, 'SELECT tree_size FROM audit_batches ORDER BY batch_seq DESC LIMIT 1').get() as Pick<AuditBatchRow, 'tree_size'> | undefined)?.tree_size;
}

export function bySeq(db: ReadableDb, batchSeq: number): AuditBatchRow | undefined {
  return prepared(db, 'SELECT * FROM audit_batches WHERE batch_seq = ?').get(batchSeq) as AuditBatchRow | undefined;
}

export function insert(db: WritableDb, row: AuditBatchRow): void {
  prepared(
    db,
    `INSERT INTO audit_batches (batch_seq, kind, first_seq, last_seq, event_count, tree_size, root, frontier, manifest, manifest_hash, key_id, priority, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(row.batch_seq, row.kind, row.first_seq, row.last_seq, row.event_count, row.tree_size, row.root, row.frontier, row.manifest, row.manifest_hash, row.key_id, row.priority, row.created_at);
}

/** Every batch's signed columns, in batch order, read as they are iterated (the chain walk). */
export function allSigned(db: ReadableDb): IterableIterator<SignedBatchRow> {
  return db.prepare(`SELECT ${SIGNED_BATCH_COLUMNS} FROM audit_batches ORDER BY batch_seq`).iterate() as IterableIterator<SignedBatchRow>;
}

/** The batch whose events include seq (the first such by last_seq), or null while it waits to be sealed. */
export function sealing(db: ReadableDb, seq: number): number | null {
  const row = prepared(db, "SELECT batch_seq FROM audit_batches WHERE kind = 'events' AND last_seq >= ? AND first_seq <= ? ORDER BY last_seq LIMIT 1").get(seq, seq) as
    Pick<AuditBatchRow, 'batch_seq'> | undefined;
  return row?.batch_seq ?? null;
}

/** The newest batch that holds events (not a heartbeat), or null. */
export function newestWithEvents(db: ReadableDb): number | null {
  return (prepared(db, "SELECT max(batch_seq) AS b FROM audit_batches WHERE kind = 'events'").get() as { b: number | null }).b;
}

/** The last event sealed by the batches up to batchSeq, or null when none of them holds events. */
export function lastSeqThrough(db: ReadableDb, batchSeq: number): number | null {
  return (prepared(db, "SELECT max(last_seq) AS s FROM audit_batches WHERE kind = 'events' AND batch_seq <= ?").get(batchSeq) as { s: number | null }).s;
}

/**
 * The most events any stored batch claims are sealed, by its tree_size column
 * and by its manifest's JSON (when the JSON is valid): a row edited to claim
 * less in one place still claims the other.
 */
export function claimedTreeSize(db: ReadableDb): { columns: number | null; signed: number | null } {
  return prepared(db, "SELECT max(tree_size) AS columns, max(CASE WHEN json_valid(manifest) THEN CAST(json_extract(manifest, '$.tree_size') AS INTEGER) END) AS signed FROM audit_batches").get() as {
    columns: number | null;
    signed: number | null;
  };
}

/** The newest batch up to throughBatch sealed at or before createdBy (ms), or null: what local retention lets go. */
export function newestSealedBy(db: ReadableDb, throughBatch: number, createdBy: number): number | null {
  return (prepared(db, 'SELECT max(batch_seq) AS b FROM audit_batches WHERE batch_seq <= ? AND created_at <= ?').get(throughBatch, createdBy) as { b: number | null }).b;
}

/** How many events a batch holds, or undefined when there is no such batch. */
export function eventCount(db: ReadableDb, batchSeq: number): number | undefined {
  return (prepared(db, 'SELECT event_count FROM audit_batches WHERE batch_seq = ?').get(batchSeq) as Pick<AuditBatchRow, 'event_count'> | undefined)?.event_count;
}
