// The audit export: a self-contained folder that proves, on any machine, with
// nothing but the workstation's registered key id, which events match a
// filter and that none is missing or altered (format in format.ts, checks in
// verify/). Exports sealed events only: it seals what is waiting
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
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { AuditFilter, type AuditExportResult } from '../../../shared/api.js';
import { EnclaveError } from '../../../shared/errors.js';
import { type auditBatches, auditBundle, meta as metaTable, type WritableDb } from '../../store/index.js';
import type { SealOptions } from '../batches.js';
import type { AuditLog } from '../log.js';
import type { BatchManifest } from '../manifest.js';
import { MerkleFrontier, MerkleProofBuilder } from '../merkle.js';
import { matchesAuditFilter, statedAuditFilter } from '../query.js';
import { canonicalJson, type AuditEventInput } from '../record.js';
import { checkEventRow, loadSigningKeys, ManifestChainChecker, rootMismatch, trustedFrontier, type ChainProblem } from '../signed-check.js';
import {
  BUNDLE_FILES,
  BUNDLE_FORMAT,
  CSV_BOM,
  CSV_LINE_END,
  csvEventLine,
  csvHeaderLine,
  FrontierJsonSchema,
  provenRangeOf,
  type BundleHeader,
  type FrontierJson,
  type InclusionProofLine,
  type ProvenRange,
} from './format.js';
import { LineWriter, readme, writeFile, writeHeader, writeKeys } from './output.js';
import { firstEventTime, planBundle, rangeOfExport } from './plan.js';

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
  row: auditBatches.SignedBatchRow;
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

/**
 * Writes the bundle for `filter` into `outDir` (which must not exist, or be
 * empty) and returns what it holds. Synchronous, so a caller can run it inside
 * the transaction that also writes the audit.export event: the bundle and
 * its audit record stand or fall together.
 */
export function exportAuditBundle(db: WritableDb, filterInput: AuditFilter, outDir: string, meta: ExportMeta): BundleExportResult {
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
      // The handle of audit.run's transaction, which writes (typed Db until log.ts hands a WritableDb).
      (db) => exportAuditBundle(db as WritableDb, stated.filter, directory, { exportedBy: who.exportedBy, now: now(), seal }),
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

function writeBundle(db: WritableDb, requested: AuditFilter, directory: string, meta: ExportMeta): BundleExportResult {
  const filter = rangeOfExport(requested, meta.now);
  const plan = planBundle(db, filter, meta);
  const coverage = plan.covered;
  const hostId = metaTable.get(db, 'host.id') ?? 'unknown';
  const anchorRow = plan.anchor !== null ? auditBundle.batchRow(db, plan.anchor) : undefined;
  if (plan.anchor !== null && !anchorRow) throw new EnclaveError('export_failed', `Audit batch ${plan.anchor} is not on this workstation, so the bundle has no anchor.`);
  // Everything written is checked against the signed manifests on the way (signature, chain, Merkle roots): the bundle is refused, not written wrong.
  const signed = new ManifestChainChecker(loadSigningKeys(db), { fromAnyBatch: true });
  const checkManifest = (row: auditBatches.SignedBatchRow): BatchManifest => {
    const result = signed.next(row);
    if ('problem' in result) throw unsignedEvents(result.problem);
    return result.manifest;
  };
  let anchorFrontier: FrontierJson = { size: 0, nodes: [] };
  if (anchorRow) {
    const anchor = checkManifest(anchorRow);
    const trusted = trustedFrontier(anchorRow, anchor);
    if (!trusted) {
      throw unsignedEvents({
        sequence: Math.max(1, anchor.tree_size),
        problem: 'modified',
        batchSeq: anchor.batch_seq,
        detail: `the stored Merkle frontier of batch ${anchor.batch_seq} does not reproduce its signed root`,
      });
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
      const rows = auditBundle.batchRows(db, coverage.first, coverage.last);
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
      return unsignedEvents({
        sequence: seq,
        problem: 'missing',
        ...(batch ? { batchSeq: batch.batchSeq } : {}),
        detail: `event ${seq} is not on this workstation${batch ? `, though batch ${batch.batchSeq} signed events ${batch.firstSeq}–${batch.lastSeq}` : ''}`,
      });
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
      const rows = auditBundle.eventRows(db, firstSeq, lastSeq);
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
    const closingRow = auditBundle.batchRow(db, plan.closing.batch_seq);
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
