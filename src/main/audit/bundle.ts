// The audit export: a self-contained folder that proves, on any machine, with
// nothing but the workstation's registered key id, which events match a
// filter and that none is missing or altered (format and checks in
// bundle-verify.ts). Exports sealed events only: it seals what is waiting
// first, in the export's own transaction.
//
// A bundle covers whole batches: every batch whose events (or, for a
// heartbeat, whose sealing time) fall in the time range, made contiguous,
// between two signed manifests that close the range — the anchor batch just
// before them, wholly before the range, and the closing batch just after
// them, wholly after it (a heartbeat sealed by the export when no batch
// follows the range yet). Only the two manifests go in, not their events. It
// holds every event of the covered batches, not only the selected ones, so
// the verifier can re-apply the filter and prove that the selection is
// complete, from the anchor to the closing batch. Audit records carry no
// prompt, answer or other typed text (only lengths, keyed hashes and
// metadata; the typed text kept for the compliance screen, audit_private_text,
// is never read here), so this discloses no conversation; they may carry
// patient references (MRN or pseudonym), so the bundle is written readable by
// its owner only.
import { createPublicKey } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { AuditFilter, type AuditExportResult } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import type { WritableDb as Db } from '../store/index.js';
import { lastBatch, PRUNED_THROUGH_SEQ_KEY, sealNextBatch, type SealOptions } from './batches.js';
import {
  anchorProblem,
  BUNDLE_FILES,
  BUNDLE_FORMAT,
  BUNDLE_KEYS_FORMAT,
  closingProblem,
  CSV_BOM,
  CSV_LINE_END,
  csvEventLine,
  csvHeaderLine,
  FrontierJsonSchema,
  provenRangeOf,
  type BundleHeader,
  type BundleKeys,
  type FrontierJson,
  type InclusionProofLine,
  type ProvenRange,
} from './bundle-verify.js';
import type { AuditLog } from './log.js';
import { BatchManifestSchema, type BatchManifest } from './manifest.js';
import { MerkleFrontier, MerkleProofBuilder } from './merkle.js';
import { matchesAuditFilter, statedAuditFilter } from './query.js';
import { AuditRecordSchema, canonicalJson, type AuditEventInput, type AuditRecord } from './record.js';
import { checkEventRow, loadSigningKeys, ManifestChainChecker, rootMismatch, STORED_BATCH_COLUMNS, trustedFrontier, type ChainProblem, type StoredBatchRow } from './signed-check.js';

/** What the export wrote, with the coverage the CLI reports. */
export interface BundleExportResult extends AuditExportResult {
  coverage: BundleHeader['coverage'];
  /** The batch after the covered ones whose signed manifest closes the range. */
  closingBatchSeq: number;
  /** The time range the bundle proves complete (what the verifier reports when it holds). */
  provenRange: ProvenRange;
  /** The filter the bundle states: a `to` at or after the export is left out (the range ends at the export). */
  filter: AuditFilter;
  /** Batches this export sealed itself: waiting events, and the heartbeat that closes the range. */
  sealedBatches: number;
}

export interface ExportMeta {
  /** Who exported: the signed-in compliance officer, or the OS account for the CLI. */
  exportedBy: string;
  now: number;
  /**
   * How to seal waiting events and, where no batch follows the range yet, the
   * heartbeat that closes it. Without it: the identity the newest batch names.
   */
  seal?: SealOptions;
}

/** What the export walks: only what it needs of each covered batch (a long history has many). */
interface CoveredBatch {
  batchSeq: number;
  firstSeq: number | null;
  lastSeq: number | null;
  treeSize: number;
  /** Its signed manifest and stored row, for the root check when its last event is written. */
  manifest: BatchManifest;
  row: StoredBatchRow;
}

/**
 * The export's refusal to vouch for events the signed manifests do not: the
 * bundle would not verify, and a bundle is what an auditor trusts.
 */
function unsignedEvents(problem: ChainProblem): EnclaveError {
  const where = problem.batchSeq !== undefined ? `signed batch ${problem.batchSeq}, event ${problem.sequence}` : `event ${problem.sequence}`;
  return new EnclaveError(
    'audit_corrupt',
    `The audit bundle was not written: the events here do not match the signed batches (${where} ${problem.problem}: ${problem.detail}). Run enclave audit verify on the database; the SIEM holds the signed copy.`,
  );
}

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

/** The batches a bundle holds: anchor, covered, closing. */
interface BundlePlan {
  anchor: number | null;
  covered: { first: number; last: number } | null;
  closing: BatchManifest;
  prunedThroughSeq: number | null;
  /** Batches sealed on the way. */
  sealed: number;
}

/**
 * Writes the bundle for `filter` into `outDir` (which must not exist, or be
 * empty) and returns what it holds. Synchronous, so a caller can run it inside
 * the transaction that also writes the audit.export event: the bundle and
 * its audit record stand or fall together.
 */
export function exportAuditBundle(db: Db, filterInput: AuditFilter, outDir: string, meta: ExportMeta): BundleExportResult {
  const parsedFilter = AuditFilter.safeParse(filterInput);
  if (!parsedFilter.success) throw new EnclaveError('invalid_input', parsedFilter.error.issues[0]?.message ?? 'The filter is not valid.');
  const filter = parsedFilter.data;
  const directory = resolve(outDir);
  const createdDirectory = prepareDirectory(directory);
  try {
    return writeBundle(db, filter, directory, meta);
  } catch (error) {
    removeAuditBundle(directory, createdDirectory);
    if (error instanceof EnclaveError) throw error;
    throw new EnclaveError('export_failed', `The audit bundle could not be written to ${directory}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The export as an audited action, for the app and the CLI alike: the bundle
 * is written inside the transaction that writes its audit.export event, so if
 * the event cannot be written the bundle is removed again; a failed export is
 * audited as a failure (as far as the disk allows).
 */
export function exportAuditedBundle(
  audit: AuditLog,
  filter: AuditFilter,
  outDir: string,
  who: { user: NonNullable<AuditEventInput['user']>; exportedBy: string },
  now: () => number,
  seal: SealOptions,
): BundleExportResult {
  const directory = resolve(outDir);
  const existed = existsSync(directory);
  // The bundle states (and its verifier re-applies) the filter as recorded: a typed name that names no account, by its keyed token.
  const stated = statedAuditFilter(audit, filter);
  const detail = { ...stated.detail, out_dir: directory };
  const event = (outcome: 'success' | 'failure', extra: AuditEventInput['detail'], reason?: string): AuditEventInput => ({
    action: 'audit.export',
    outcome,
    ...(reason !== undefined ? { reason } : {}),
    user: who.user,
    detail: { ...detail, ...extra },
    ...(stated.privateText ? { privateText: stated.privateText } : {}),
  });
  try {
    return audit.run(
      (db) => exportAuditBundle(db, stated.filter, directory, { exportedBy: who.exportedBy, now: now(), seal }),
      (r) => event('success', { selected_events: r.selectedEvents, covered_events: r.coveredEvents, batches: r.batches, closing_batch: r.closingBatchSeq, complete_to: r.provenRange.to }),
    );
  } catch (error) {
    removeAuditBundle(directory, !existed);
    try {
      audit.record(event('failure', {}, error instanceof EnclaveError ? error.code : 'internal'));
    } catch {
      // The failure reaches the caller either way.
    }
    throw error;
  }
}

/**
 * Deletes what an export wrote (on failure, or when its audit record could
 * not be written): the bundle's own files, and the folder when the export
 * made it. Nothing else in the folder is touched.
 */
export function removeAuditBundle(directory: string, removeDirectory: boolean): void {
  for (const file of Object.values(BUNDLE_FILES)) rmSync(join(directory, file), { force: true });
  if (removeDirectory) {
    try {
      rmdirSync(directory);
    } catch {
      // Not empty or already gone: leave it.
    }
  }
}

/** Refuses a folder that holds anything; makes it (owner-only) if absent. Returns whether it was made. */
function prepareDirectory(directory: string): boolean {
  if (existsSync(directory)) {
    if (!statSync(directory).isDirectory()) throw new EnclaveError('invalid_input', `${directory} exists and is not a folder.`);
    if (readdirSync(directory).length > 0) throw new EnclaveError('invalid_input', `${directory} is not empty; choose a new or empty folder for the bundle.`);
    return false;
  }
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  return true;
}

/** Buffered line-by-line writing to a new owner-only file. */
class LineWriter {
  readonly #fd: number;
  #buffer: string[] = [];
  #buffered = 0;

  constructor(path: string) {
    this.#fd = openSync(path, 'wx', 0o600);
  }

  write(text: string): void {
    this.#buffer.push(text);
    this.#buffered += text.length;
    if (this.#buffered >= 1 << 20) this.flush();
  }

  flush(): void {
    if (this.#buffer.length === 0) return;
    writeSync(this.#fd, this.#buffer.join(''));
    this.#buffer = [];
    this.#buffered = 0;
  }

  close(): void {
    try {
      this.flush();
    } finally {
      closeSync(this.#fd);
    }
  }
}

function writeBundle(db: Db, requested: AuditFilter, directory: string, meta: ExportMeta): BundleExportResult {
  const filter = rangeOfExport(requested, meta.now);
  const plan = planBundle(db, filter, meta);
  const coverage = plan.covered;
  const hostId = (db.prepare("SELECT value FROM meta WHERE key = 'host.id'").get() as { value: string } | undefined)?.value ?? 'unknown';
  const readBatchRow = db.prepare(`SELECT ${STORED_BATCH_COLUMNS} FROM audit_batches WHERE batch_seq = ?`);
  const anchorRow = plan.anchor !== null ? (readBatchRow.get(plan.anchor) as StoredBatchRow | undefined) : undefined;
  if (plan.anchor !== null && !anchorRow) throw new EnclaveError('export_failed', `Audit batch ${plan.anchor} is not on this workstation, so the bundle has no anchor.`);
  // Everything written is checked against the signed manifests on the way (signature, chain, Merkle roots): the bundle is refused, not written wrong.
  const signed = new ManifestChainChecker(loadSigningKeys(db), { fromAnyBatch: true });
  const checkManifest = (row: StoredBatchRow): BatchManifest => {
    const result = signed.next(row);
    if ('problem' in result) throw unsignedEvents(result.problem);
    return result.manifest;
  };
  let anchorFrontier: FrontierJson = { size: 0, nodes: [] };
  if (anchorRow) {
    const anchor = checkManifest(anchorRow);
    const trusted = trustedFrontier(anchorRow, anchor);
    if (!trusted) {
      throw unsignedEvents({ sequence: Math.max(1, anchor.tree_size), problem: 'modified', batchSeq: anchor.batch_seq, detail: `the stored Merkle frontier of batch ${anchor.batch_seq} does not reproduce its signed root` });
    }
    anchorFrontier = FrontierJsonSchema.parse(trusted.toJSON());
  }

  const writers: LineWriter[] = [];
  const open = (file: string) => {
    const writer = new LineWriter(join(directory, file));
    writers.push(writer);
    return writer;
  };
  try {
    const manifests = open(BUNDLE_FILES.manifests);
    const events = open(BUNDLE_FILES.events);
    const proofs = open(BUNDLE_FILES.proofs);
    const csv = open(BUNDLE_FILES.csv);
    csv.write(CSV_BOM + csvHeaderLine() + CSV_LINE_END);

    // Manifests: the anchor, then the covered batches, then the closing one; each in canonical JSON, whose SHA-256 is the manifest hash the next one chains to.
    const keyIds = new Set<string>();
    const covered: CoveredBatch[] = [];
    let coveredBatches = 0;
    if (anchorRow) {
      manifests.write(canonicalJson(JSON.parse(anchorRow.manifest)) + '\n');
      keyIds.add(anchorRow.key_id);
    }
    if (coverage) {
      const rows = db.prepare(`SELECT ${STORED_BATCH_COLUMNS} FROM audit_batches WHERE batch_seq BETWEEN ? AND ? ORDER BY batch_seq`).iterate(coverage.first, coverage.last) as IterableIterator<StoredBatchRow>;
      let expectedBatch = coverage.first;
      for (const row of rows) {
        if (row.batch_seq !== expectedBatch) throw new EnclaveError('export_failed', `Audit batch ${expectedBatch} is not on this workstation, so the bundle cannot be made.`);
        expectedBatch += 1;
        const manifest = checkManifest(row);
        manifests.write(canonicalJson(JSON.parse(row.manifest)) + '\n');
        keyIds.add(row.key_id);
        // A heartbeat's root is its predecessor's (checked with its chain); only batches with events are kept for the root check.
        if (manifest.kind === 'events') covered.push({ batchSeq: row.batch_seq, firstSeq: row.first_seq, lastSeq: row.last_seq, treeSize: row.tree_size, manifest, row: { ...row, manifest: '' } });
        coveredBatches += 1;
      }
      if (expectedBatch !== coverage.last + 1) throw new EnclaveError('export_failed', `Audit batch ${expectedBatch} is not on this workstation, so the bundle cannot be made.`);
    }

    // Events: every event of the covered batches, as stored; the selection, its proofs and its CSV rows on the way.
    const firstSeq = anchorFrontier.size + 1;
    const lastSeq = covered.at(-1)?.treeSize ?? anchorFrontier.size;
    const prover = new MerkleProofBuilder(MerkleFrontier.fromJSON(anchorFrontier));
    const tree = MerkleFrontier.fromJSON(anchorFrontier);
    /** The batch that signed an event. */
    const batchHolding = (seq: number) => covered.find((b) => b.lastSeq !== null && b.firstSeq !== null && b.firstSeq <= seq && seq <= b.lastSeq);
    const missing = (seq: number) => {
      const batch = batchHolding(seq);
      return unsignedEvents({ sequence: seq, problem: 'missing', ...(batch ? { batchSeq: batch.batchSeq } : {}), detail: `event ${seq} is not on this workstation${batch ? `, though batch ${batch.batchSeq} signed events ${batch.firstSeq}–${batch.lastSeq}` : ''}` });
    };
    // The event before the first covered one is outside the bundle (or pruned): the chain is checked from the first covered event on, the Merkle roots cover its link.
    let prevHash: string | null | undefined = anchorFrontier.size === 0 ? null : undefined;
    const selectedIds: string[] = [];
    let batchIndex = 0;
    let waitingForProof: { seq: number; id: string; hash: string }[] = [];
    const flushProofs = (batch: CoveredBatch) => {
      for (const event of waitingForProof) {
        // Keys in code-unit order, so JSON.stringify writes the line's canonical (JCS) form.
        const proof: InclusionProofLine = {
          batch_seq: batch.batchSeq,
          event_id: event.id,
          leaf_hash: event.hash,
          leaf_index: event.seq - 1,
          path: prover.inclusionProof(event.seq - 1, batch.treeSize).map((h) => h.toString('hex')),
          seq: event.seq,
          tree_size: batch.treeSize,
        };
        proofs.write(JSON.stringify(proof) + '\n');
      }
      waitingForProof = [];
    };
    let expectedSeq = firstSeq;
    if (lastSeq >= firstSeq) {
      const rows = db.prepare('SELECT seq, record, hash FROM audit_events WHERE seq BETWEEN ? AND ? ORDER BY seq').iterate(firstSeq, lastSeq) as IterableIterator<{ seq: number; record: string; hash: string }>;
      for (const row of rows) {
        if (row.seq !== expectedSeq) throw missing(expectedSeq);
        expectedSeq += 1;
        // The batch that seals this event (heartbeats seal none).
        while (batchIndex < covered.length && (covered[batchIndex]!.lastSeq === null || covered[batchIndex]!.lastSeq! < row.seq)) batchIndex += 1;
        const batch = covered[batchIndex];
        if (!batch) throw new EnclaveError('export_failed', `Audit event ${row.seq} is in no covered batch; run enclave audit verify on the database.`);
        const step = checkEventRow(row, prevHash);
        if ('problem' in step) throw unsignedEvents({ ...step.problem, batchSeq: batch.batchSeq });
        const record = step.record;
        prevHash = row.hash;
        events.write(row.record + '\n');
        const leaf = Buffer.from(row.hash, 'hex');
        prover.append(leaf);
        tree.append(leaf);
        if (matchesAuditFilter(record, filter)) {
          selectedIds.push(record.event.id);
          waitingForProof.push({ seq: row.seq, id: record.event.id, hash: row.hash });
          csv.write(csvEventLine(record, batch.batchSeq) + CSV_LINE_END);
        }
        if (row.seq === batch.lastSeq) {
          if (tree.root().toString('hex') !== batch.manifest.root) throw unsignedEvents(rootMismatch(tree, batch.row, batch.manifest));
          flushProofs(batch);
        }
      }
    }
    if (expectedSeq !== lastSeq + 1) throw missing(expectedSeq);

    // The closing manifest: the end of the range, proven. Its events are not the bundle's; it must chain to the last covered one.
    const closingRow = readBatchRow.get(plan.closing.batch_seq) as StoredBatchRow | undefined;
    if (!closingRow) throw new EnclaveError('export_failed', `Audit batch ${plan.closing.batch_seq}, which closes the range, is not on this workstation.`);
    checkManifest(closingRow);
    manifests.write(canonicalJson(plan.closing) + '\n');
    keyIds.add(plan.closing.key_id);
    const firstCoveredTime = plan.prunedThroughSeq !== null ? firstEventTime(db, firstSeq, lastSeq) : null;
    const clippedFrom = firstCoveredTime !== null && (filter.from === undefined || Date.parse(firstCoveredTime) >= filter.from) ? firstCoveredTime : null;
    const provenRange = provenRangeOf(filter, plan.closing, clippedFrom);

    writeKeys(db, directory, [...keyIds]);
    const header: BundleHeader = {
      format: BUNDLE_FORMAT,
      created: new Date(meta.now).toISOString(),
      exported_by: meta.exportedBy,
      host: { id: hostId, name: hostname() },
      filter,
      anchor: { batch_seq: anchorRow?.batch_seq ?? null, frontier: anchorFrontier },
      coverage: coverage
        ? {
            first_batch_seq: coverage.first,
            last_batch_seq: coverage.last,
            batches: coveredBatches,
            first_seq: lastSeq >= firstSeq ? firstSeq : null,
            last_seq: lastSeq >= firstSeq ? lastSeq : null,
            events: Math.max(0, lastSeq - firstSeq + 1),
            pruned_through_seq: plan.prunedThroughSeq,
          }
        : null,
      closing_batch_seq: plan.closing.batch_seq,
      selection: { count: selectedIds.length, event_ids: [] },
    };
    writeFile(directory, BUNDLE_FILES.readme, readme(header, [...keyIds], plan.closing, provenRange));
    for (const writer of writers.splice(0)) writer.close();
    // Last, so that a bundle cut short has no header and cannot pass for complete.
    writeHeader(directory, header, selectedIds);
    return {
      directory,
      csvFile: join(directory, BUNDLE_FILES.csv),
      selectedEvents: selectedIds.length,
      coveredEvents: header.coverage?.events ?? 0,
      batches: coveredBatches,
      keyIds: [...keyIds],
      coverage: header.coverage,
      closingBatchSeq: plan.closing.batch_seq,
      provenRange,
      filter,
      sealedBatches: plan.sealed,
    };
  } finally {
    for (const writer of writers) {
      try {
        writer.close();
      } catch {
        // Closing after a failure: the caller removes the files anyway.
      }
    }
  }
}

/**
 * The range as the bundle states it. A `to` at or after the export is left
 * out: what has not happened yet cannot be proven, and the range then ends at
 * the export — the closing heartbeat it seals. A range that starts after now
 * holds nothing yet.
 */
function rangeOfExport(filter: AuditFilter, now: number): AuditFilter {
  if (filter.from !== undefined && filter.from > now) {
    throw new EnclaveError('invalid_input', `The range starts at ${new Date(filter.from).toISOString()}, after now: there is nothing to export yet.`);
  }
  if (filter.to === undefined || filter.to < now) return filter;
  const { to: _afterTheExport, ...untilNow } = filter;
  return untilNow;
}

/** Sealing as the newest batch names this workstation, for a caller that gave no seal options. */
function sealingAsLastBatch(db: Db, now: number): SealOptions {
  const origin = lastBatch(db)?.manifest.origin;
  const hostId = origin?.host_id ?? (db.prepare("SELECT value FROM meta WHERE key = 'host.id'").get() as { value: string } | undefined)?.value ?? 'unknown';
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
function planBundle(db: Db, filter: AuditFilter, meta: ExportMeta): BundlePlan {
  const seal = meta.seal ?? sealingAsLastBatch(db, meta.now);
  let sealed = 0;
  while (sealNextBatch(db, seal)) sealed += 1;

  const found = findCoverage(db, filter);
  if (found.kind === 'pruned') {
    throw new EnclaveError('export_failed', 'The events in this time range were removed from this workstation after the SIEM confirmed them, so they cannot be exported from here; the SIEM holds them.');
  }
  const readManifest = db.prepare('SELECT manifest FROM audit_batches WHERE batch_seq = ?');
  const manifestOf = (batchSeq: number): BatchManifest | null => {
    const row = readManifest.get(batchSeq) as { manifest: string } | undefined;
    return row ? BatchManifestSchema.parse(JSON.parse(row.manifest)) : null;
  };
  const sealHeartbeat = (): BatchManifest => {
    const batch = sealNextBatch(db, { ...seal, heartbeat: true });
    if (!batch) throw new EnclaveError('export_failed', 'No heartbeat batch could be sealed to close the range.');
    sealed += 1;
    return batch.manifest;
  };
  const newestOf = db.prepare("SELECT max(json_extract(manifest, '$.newest')) AS t FROM audit_batches WHERE kind = 'events' AND batch_seq BETWEEN ? AND ?");
  const newestCovered = (first: number, last: number) => (newestOf.get(first, last) as { t: string | null }).t;
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
    const after =
      filter.to === undefined
        ? undefined
        : (db
            .prepare("SELECT batch_seq FROM audit_batches WHERE (kind = 'heartbeat' AND created_at > ?) OR (kind = 'events' AND json_extract(manifest, '$.oldest') > ?) ORDER BY batch_seq LIMIT 1")
            .get(filter.to, new Date(filter.to).toISOString()) as { batch_seq: number } | undefined);
    closing = (after ? manifestOf(after.batch_seq) : null) ?? sealHeartbeat();
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
        throw new EnclaveError('export_failed', 'The events in this time range were removed from this workstation after the SIEM confirmed them, so they cannot be exported from here; the SIEM holds them.');
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
function firstEventTime(db: Db, firstSeq: number, lastSeq: number): string | null {
  if (lastSeq < firstSeq) return null;
  const row = db.prepare('SELECT ts FROM audit_events WHERE seq = ?').get(firstSeq) as { ts: number } | undefined;
  return row ? new Date(row.ts).toISOString() : null;
}

/**
 * Which batches the bundle covers: those holding an event in the time range
 * and the heartbeats sealed in it, made contiguous; never before the events
 * this workstation still keeps (older ones were pruned after the SIEM
 * confirmed them, and the SIEM holds them). A range that begins right after
 * a key rotation reaches back to the batch holding the audit.key_rotate
 * event, so the old key's signature still vouches for the new key.
 */
function findCoverage(db: Db, filter: AuditFilter): Coverage {
  const newest = db.prepare('SELECT batch_seq, tree_size FROM audit_batches ORDER BY batch_seq DESC LIMIT 1').get() as { batch_seq: number; tree_size: number } | undefined;
  if (!newest) return { kind: 'none', earliest: 1, keptFrom: 0 };
  const from = filter.from ?? 0;
  const to = filter.to ?? Number.MAX_SAFE_INTEGER;

  // Events before keptFrom are gone from this workstation: the anchor must be at or after it.
  const prunedThrough = Number((db.prepare('SELECT value FROM meta WHERE key = ?').get(PRUNED_THROUGH_SEQ_KEY) as { value: string } | undefined)?.value ?? '0');
  const minKept = (db.prepare('SELECT min(seq) AS s FROM audit_events').get() as { s: number | null }).s;
  const keptFrom = Math.max(prunedThrough, (minKept ?? newest.tree_size + 1) - 1);
  const earliest = keptFrom === 0 ? 1 : ((db.prepare('SELECT min(batch_seq) AS b FROM audit_batches WHERE tree_size >= ?').get(keptFrom) as { b: number | null }).b ?? newest.batch_seq) + 1;

  const events = db.prepare('SELECT min(seq) AS lo, max(seq) AS hi FROM audit_events WHERE seq <= ? AND ts >= ? AND ts <= ?').get(newest.tree_size, from, to) as { lo: number | null; hi: number | null };
  const sealing = db.prepare("SELECT batch_seq FROM audit_batches WHERE kind = 'events' AND last_seq >= ? AND first_seq <= ? ORDER BY last_seq LIMIT 1");
  const batchOf = (seq: number | null) => (seq === null ? null : ((sealing.get(seq, seq) as { batch_seq: number } | undefined)?.batch_seq ?? null));
  const heartbeats = db.prepare("SELECT min(batch_seq) AS lo, max(batch_seq) AS hi FROM audit_batches WHERE kind = 'heartbeat' AND created_at >= ? AND created_at <= ?").get(from, to) as { lo: number | null; hi: number | null };
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

  const manifestOf = db.prepare('SELECT manifest FROM audit_batches WHERE batch_seq = ?');
  const startsAfterRotation = (batchSeq: number) => BatchManifestSchema.parse(JSON.parse((manifestOf.get(batchSeq) as { manifest: string }).manifest)).start?.reason === 'key_rotation';
  if (startsAfterRotation(first)) {
    // Back to the old key's last events batch, which holds the rotation event.
    const kinds = db.prepare('SELECT kind FROM audit_batches WHERE batch_seq = ?');
    let candidate = first - 1;
    while (candidate >= earliest && (kinds.get(candidate) as { kind: string } | undefined)?.kind === 'heartbeat') candidate -= 1;
    if (candidate >= earliest) first = candidate;
  }
  return { kind: 'covered', first, last, prunedThroughSeq, earliest, keptFrom };
}

function writeFile(directory: string, file: string, text: string): void {
  const writer = new LineWriter(join(directory, file));
  try {
    writer.write(text);
  } finally {
    writer.close();
  }
}

function writeKeys(db: Db, directory: string, keyIds: string[]): void {
  const read = db.prepare('SELECT key_id, algorithm, public_key, created_at, retired_at, replaced_by FROM audit_signing_keys WHERE key_id = ?');
  const keys: BundleKeys = { format: BUNDLE_KEYS_FORMAT, keys: [] };
  for (const keyId of keyIds) {
    const row = read.get(keyId) as { key_id: string; algorithm: 'Ed25519'; public_key: Buffer; created_at: number; retired_at: number | null; replaced_by: string | null } | undefined;
    // A key that is gone cannot be listed; the verifier then names the manifests it signed.
    if (!row) continue;
    keys.keys.push({
      key_id: row.key_id,
      algorithm: row.algorithm,
      public_key_pem: createPublicKey({ key: row.public_key, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }).toString(),
      created: new Date(row.created_at).toISOString(),
      retired: row.retired_at === null ? null : new Date(row.retired_at).toISOString(),
      replaced_by: row.replaced_by,
    });
  }
  writeFile(directory, BUNDLE_FILES.keys, JSON.stringify(keys, null, 2) + '\n');
}

/** bundle.json, readable, with the selected ids one per line (streamed: there may be 100,000 of them). */
function writeHeader(directory: string, header: BundleHeader, selectedIds: string[]): void {
  const { selection: _replaced, ...rest } = header;
  const writer = new LineWriter(join(directory, BUNDLE_FILES.header));
  try {
    const head = JSON.stringify(rest, null, 2);
    writer.write(`${head.slice(0, -2)},\n  "selection": {\n    "count": ${selectedIds.length},\n    "event_ids": [`);
    selectedIds.forEach((id, i) => writer.write(`${i === 0 ? '' : ','}\n      ${JSON.stringify(id)}`));
    writer.write(`${selectedIds.length > 0 ? '\n    ' : ''}]\n  }\n}\n`);
  } finally {
    writer.close();
  }
}

function readme(header: BundleHeader, keyIds: string[], closing: BatchManifest, proven: ProvenRange): string {
  const range = (ms: number | undefined, open: string) => (ms === undefined ? open : new Date(ms).toISOString());
  const f = header.filter;
  const criteria = [
    `time ${range(f.from, 'the beginning')} to ${range(f.to, 'the export')} (UTC, inclusive)`,
    f.user ? `user ${f.user} (any letter case)` : null,
    f.action ? `action ${f.action}` : null,
    f.outcome ? `outcome ${f.outcome}` : null,
  ].filter(Boolean);
  const c = header.coverage;
  return [
    `Enclave audit export bundle (${BUNDLE_FORMAT})`,
    '',
    `Workstation ${header.host.name} (host id ${header.host.id}), exported ${header.created} by ${header.exported_by}.`,
    `Filter: ${criteria.join('; ')}.`,
    c
      ? `Covers signed batches ${c.first_batch_seq}-${c.last_batch_seq}${c.first_seq !== null ? ` (events ${c.first_seq}-${c.last_seq})` : ''}.`
      : 'No sealed batch has anything in the time range: the bundle covers no batch.',
    `Closed by signed batch ${closing.batch_seq} (${closing.kind === 'heartbeat' ? `a heartbeat sealed ${closing.created}` : `events from ${closing.oldest}`}), which follows the range,`,
    `so it proves the range complete from ${proven.from ?? 'the start of the log'} to ${proven.to}${proven.endsAtExport ? ' (the export)' : ''}.`,
    c?.pruned_through_seq ? `Events up to ${c.pruned_through_seq} were removed from this workstation after the SIEM confirmed them; the SIEM holds them.` : null,
    '',
    'To verify it, on any machine with Enclave installed:',
    '',
    '    enclave audit verify --bundle <this folder> --key-id <the workstation key id>',
    '',
    'Use the key id that IT registered for this workstation (shown on it by',
    '"enclave enroll show"), not one taken from this folder: the bundle is only as',
    `trustworthy as that key. This bundle was signed with: ${keyIds.join(', ') || '(none)'}.`,
    'Verification checks every signature and the chain of manifests, that every',
    'event is unaltered, in order and none is missing, the Merkle roots, an',
    'inclusion proof for each selected event, that the selection is exactly',
    'the covered events matching the filter, and that signed batches close the',
    'range at both ends: the anchor before it and the closing batch after it hold',
    'nothing inside it, so no batch was cut off either end.',
    '',
    'Files:',
    '  events.csv       the selected events, for reading (a value starting with = + - @',
    "                   is shown with a leading ' so spreadsheets do not run it as a formula)",
    '  events.jsonl     every event of the covered batches, canonical JSON as signed',
    '  manifests.jsonl  the signed batch manifests: the anchor batch, the covered ones, and',
    '                   last the closing batch (its events are not in the bundle)',
    '  proofs.jsonl     an RFC 6962 inclusion proof for each selected event',
    '  keys.json        the public keys that signed the manifests',
    '  bundle.json      the filter, the selection, the Merkle frontier of the anchor batch,',
    '                   and which batch closes the range',
    '',
    'Audit records hold no prompt, answer or other typed text: only lengths, keyed',
    'hashes (HMAC-SHA-256 with a secret that never leaves the workstation, so they',
    'cannot be checked by guessing here) and metadata. They may hold patient',
    'references (MRN or pseudonym). Handle this folder as PHI.',
    '',
  ]
    .filter((line): line is string => line !== null)
    .join('\n');
}
