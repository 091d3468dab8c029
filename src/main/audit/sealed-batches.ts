// What the audit service hands the SIEM outbox: sealed batches to read whole,
// the state of sealing for the status bar, and the pruning of events every
// destination confirmed. The outbox states what it needs (siem/types.ts,
// SealedBatchSource) and the core hands it this; siem knows no audit table.
import { auditBatches, type Store } from '../store/index.js';
import { lastBatch, pendingEvents, pruneSealedEvents, readBatch, batchEventTexts } from './batches.js';
import type { AuditLog } from './log.js';
import type { BatchManifest } from './manifest.js';
import { AuditRecordSchema, type AuditRecord } from './record.js';

/** A sealed batch with its events in order, each as stored (the canonical JSON that was hashed) and parsed. */
export interface SealedBatchContents {
  batchSeq: number;
  manifest: BatchManifest;
  /** In sequence order; empty for a heartbeat. */
  events: { seq: number; text: string; record: AuditRecord }[];
}

export interface SealingState {
  /** Events written but not sealed yet. */
  pendingEvents: number;
  lastBatchSeq: number | null;
  lastSealedAt: number | null;
}

export interface SealedBatches {
  /** The whole batch, or null when it is not there or cannot be read whole (a damaged store). */
  read(batchSeq: number): SealedBatchContents | null;
  sealing(): SealingState;
  /**
   * Deletes the local events of sealed batches up to `confirmedThrough` that
   * were sealed at or before `sealedBy` (retention passed), and audits it
   * (audit.prune) in the same transaction. Null when nothing was deleted.
   */
  pruneDelivered(confirmedThrough: number, sealedBy: number, retentionDays: number): { events: number; throughSeq: number } | null;
}

export function sealedBatches(store: Store, audit: AuditLog): SealedBatches {
  return {
    read(batchSeq) {
      const db = store.reader;
      const batch = readBatch(db, batchSeq);
      if (!batch) return null;
      const events = [];
      for (const { seq, record } of batchEventTexts(db, batch.manifest)) {
        events.push({ seq, text: record, record: AuditRecordSchema.parse(JSON.parse(record)) });
      }
      if (events.length !== batch.manifest.event_count) return null;
      return { batchSeq, manifest: batch.manifest, events };
    },
    sealing() {
      const db = store.reader;
      const last = lastBatch(db);
      return { pendingEvents: pendingEvents(db).count, lastBatchSeq: last?.batchSeq ?? null, lastSealedAt: last?.createdAt ?? null };
    },
    pruneDelivered(confirmedThrough, sealedBy, retentionDays) {
      return audit.runOptional(
        (db) => {
          const retained = auditBatches.newestSealedBy(db, confirmedThrough, sealedBy);
          if (retained === null) return null;
          return pruneSealedEvents(db, retained);
        },
        (pruned) => ({ action: 'audit.prune', outcome: 'success', detail: { through_sequence: pruned.throughSeq, events: pruned.events, retention_days: retentionDays } }),
      );
    },
  };
}
