// Which batches an export holds: the covered ones, the anchor before them and
// the closing batch after them (sealing what is waiting, and a heartbeat to
// close the range when no batch follows it yet). Runs in the export's
// transaction; the queries are store/audit-bundle.ts's.
import { hostname } from 'node:os';
import type { AuditFilter } from '../../../shared/api.js';
import { EnclaveError } from '../../../shared/errors.js';
import { auditBatches, meta, auditBundle, type WritableDb } from '../../store/index.js';
import { lastBatch, PRUNED_THROUGH_SEQ_KEY, sealNextBatch, type SealOptions } from '../batches.js';
import { BatchManifestSchema, type BatchManifest } from '../manifest.js';
import { anchorProblem, closingProblem } from './format.js';

/** What findCoverage found in the time range. */
type Coverage =
  | {
      kind: 'covered';
      first: number;
      last: number;
      /** Set when the range reached back before the events still kept here. */
      prunedThroughSeq: number | null;
      earliest: number;
      keptFrom: number;
    }
  /** No sealed batch has anything in the range. */
  | { kind: 'none'; earliest: number; keptFrom: number }
  /** Everything in the range was pruned here (after SIEM delivery). */
  | { kind: 'pruned' };

/** What planning needs of the export: its time, and how to seal (ExportMeta in write.ts). */
export interface PlanOptions {
  now: number;
  seal?: SealOptions;
}

/** The batches a bundle holds: anchor, covered, closing. */
export interface BundlePlan {
  anchor: number | null;
  covered: { first: number; last: number } | null;
  closing: BatchManifest;
  prunedThroughSeq: number | null;
  /** Batches sealed on the way. */
  sealed: number;
}

/**
 * The range as the bundle states it. A `to` at or after the export is left
 * out: what has not happened yet cannot be proven, and the range then ends at
 * the export — the closing heartbeat it seals. A range that starts after now
 * holds nothing yet.
 */
export function rangeOfExport(filter: AuditFilter, now: number): AuditFilter {
  if (filter.from !== undefined && filter.from > now) {
    throw new EnclaveError('invalid_input', `The range starts at ${new Date(filter.from).toISOString()}, after now: there is nothing to export yet.`);
  }
  if (filter.to === undefined || filter.to < now) return filter;
  const { to: _afterTheExport, ...untilNow } = filter;
  return untilNow;
}

/** Sealing as the newest batch names this workstation, for a caller that gave no seal options. */
function sealingAsLastBatch(db: WritableDb, now: number): SealOptions {
  const origin = lastBatch(db)?.manifest.origin;
  const hostId = origin?.host_id ?? meta.get(db, 'host.id') ?? 'unknown';
  return { maxEvents: 500, institution: origin?.institution ?? 'Enclave', hostId, hostName: origin?.host_name ?? hostname(), now: () => now };
}

/**
 * Seals what is waiting, then chooses the bundle's batches: the covered ones
 * (findCoverage), the anchor before them — wholly before the range, or the
 * coverage reaches back to include it — and the closing batch after them,
 * wholly after the range (closingProblem), sealing a heartbeat for it when no
 * batch follows yet. Where nothing is in the range, anchor and closing are
 * adjacent and together prove that. Runs in the export's transaction.
 */
export function planBundle(db: WritableDb, filter: AuditFilter, meta: PlanOptions): BundlePlan {
  const seal = meta.seal ?? sealingAsLastBatch(db, meta.now);
  let sealed = 0;
  while (sealNextBatch(db, seal)) sealed += 1;

  const found = findCoverage(db, filter);
  if (found.kind === 'pruned') {
    throw new EnclaveError(
      'export_failed',
      'The events in this time range were removed from this workstation after the SIEM confirmed them, so they cannot be exported from here; the SIEM holds them.',
    );
  }
  const manifestOf = (batchSeq: number): BatchManifest | null => {
    const text = auditBundle.batchManifestText(db, batchSeq);
    return text !== undefined ? BatchManifestSchema.parse(JSON.parse(text)) : null;
  };
  const sealHeartbeat = (): BatchManifest => {
    const batch = sealNextBatch(db, { ...seal, heartbeat: true });
    if (!batch) throw new EnclaveError('export_failed', 'No heartbeat batch could be sealed to close the range.');
    sealed += 1;
    return batch.manifest;
  };
  const newestCovered = (first: number, last: number) => auditBundle.newestEventTimeOfBatches(db, first, last);
  const clockTrouble = (what: string, problem: string) =>
    new EnclaveError('export_failed', `The ${what} that follows the range cannot close it: ${problem}. Check this workstation's clock, then export again.`);

  let first: number;
  let last: number;
  let closing: BatchManifest;
  if (found.kind === 'covered') {
    first = found.first;
    last = found.last;
    for (;;) {
      const existing = manifestOf(last + 1);
      const next = existing ?? sealHeartbeat();
      const problem = closingProblem(next, filter, newestCovered(first, last));
      if (problem === null) {
        closing = next;
        break;
      }
      if (!existing) throw clockTrouble('heartbeat', problem);
      // A batch after the range that still holds something in it (the clock was set back): it is covered too.
      last += 1;
    }
  } else {
    // Nothing in the range: the first batch wholly after it closes it, and the one before it is the anchor.
    const after = filter.to === undefined ? undefined : auditBundle.firstBatchAfter(db, filter.to);
    closing = (after !== undefined ? manifestOf(after) : null) ?? sealHeartbeat();
    const problem = closingProblem(closing, filter, null);
    if (problem !== null) throw clockTrouble(`batch ${closing.batch_seq}`, problem);
    first = closing.batch_seq;
    last = closing.batch_seq - 1;
    if (closing.start?.reason === 'key_rotation' && last >= 1) {
      // The batch before holds the audit.key_rotate event that vouches for the closing manifest's key: covered, so the verifier can trust it.
      first = last;
    }
  }

  // The anchor must lie wholly before the range; where it does not (a batch
  // whose span takes in a range with nothing kept in it, a clock set back)
  // the coverage reaches back to include it — down to the events still kept
  // here. Below them, pruning took what the range held: the bundle says so.
  let prunedThroughSeq = found.kind === 'covered' ? found.prunedThroughSeq : null;
  for (let anchor = first > 1 ? manifestOf(first - 1) : null; anchor && anchorProblem(anchor, filter) !== null; anchor = first > 1 ? manifestOf(first - 1) : null) {
    if (first - 1 < found.earliest) {
      if (first > last) {
        throw new EnclaveError(
          'export_failed',
          'The events in this time range were removed from this workstation after the SIEM confirmed them, so they cannot be exported from here; the SIEM holds them.',
        );
      }
      prunedThroughSeq = found.keptFrom;
      break;
    }
    first -= 1;
  }
  // Reaching back can only add older events, unless the clock was set back: then the closing batch may no longer close.
  const reopened = first <= last ? closingProblem(closing, filter, newestCovered(first, last)) : null;
  if (reopened !== null) throw clockTrouble(`batch ${closing.batch_seq}`, reopened);
  return { anchor: first > 1 ? first - 1 : null, covered: first <= last ? { first, last } : null, closing, prunedThroughSeq, sealed };
}

/** The time of the first covered event. */
export function firstEventTime(db: WritableDb, firstSeq: number, lastSeq: number): string | null {
  if (lastSeq < firstSeq) return null;
  const ts = auditBundle.eventTime(db, firstSeq);
  return ts !== undefined ? new Date(ts).toISOString() : null;
}

/**
 * Which batches the bundle covers: those holding an event in the time range
 * and the heartbeats sealed in it, made contiguous; never before the events
 * this workstation still keeps (older ones were pruned after the SIEM
 * confirmed them, and the SIEM holds them). A range that begins right after
 * a key rotation reaches back to the batch holding the audit.key_rotate
 * event, so the old key's signature still vouches for the new key.
 */
function findCoverage(db: WritableDb, filter: AuditFilter): Coverage {
  const newest = auditBundle.newestBatch(db);
  if (!newest) return { kind: 'none', earliest: 1, keptFrom: 0 };
  const from = filter.from ?? 0;
  const to = filter.to ?? Number.MAX_SAFE_INTEGER;

  // Events before keptFrom are gone from this workstation: the anchor must be at or after it.
  const prunedThrough = Number(meta.get(db, PRUNED_THROUGH_SEQ_KEY) ?? '0');
  const minKept = auditBundle.oldestKeptEventSeq(db);
  const keptFrom = Math.max(prunedThrough, (minKept ?? newest.treeSize + 1) - 1);
  const earliest = keptFrom === 0 ? 1 : (auditBundle.firstBatchReaching(db, keptFrom) ?? newest.batchSeq) + 1;

  const events = auditBundle.eventsWrittenIn(db, newest.treeSize, from, to);
  const batchOf = (seq: number | null) => (seq === null ? null : auditBatches.sealing(db, seq));
  const heartbeats = auditBundle.heartbeatsSealedIn(db, from, to);
  const firsts = [batchOf(events.lo), heartbeats.lo].filter((b): b is number => b !== null);
  const lasts = [batchOf(events.hi), heartbeats.hi].filter((b): b is number => b !== null);
  // Nothing kept here is in the range (whether pruning took something from it shows at the anchor: planBundle).
  if (firsts.length === 0 || lasts.length === 0) return { kind: 'none', earliest, keptFrom };
  let first = Math.min(...firsts);
  const last = Math.max(...lasts);
  let prunedThroughSeq: number | null = null;
  if (first < earliest) {
    first = earliest;
    prunedThroughSeq = keptFrom;
  }
  if (first > last) return { kind: 'pruned' };

  const startsAfterRotation = (batchSeq: number) => BatchManifestSchema.parse(JSON.parse(auditBundle.batchManifestText(db, batchSeq)!)).start?.reason === 'key_rotation';
  if (startsAfterRotation(first)) {
    // Back to the old key's last events batch, which holds the rotation event.
    let candidate = first - 1;
    while (candidate >= earliest && auditBundle.batchKind(db, candidate) === 'heartbeat') candidate -= 1;
    if (candidate >= earliest) first = candidate;
  }
  return { kind: 'covered', first, last, prunedThroughSeq, earliest, keptFrom };
}
