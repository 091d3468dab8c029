// Walks the local audit chain and reports the first event that is not what it
// claims to be. Used at start-up, by `enclave audit verify` and by the UI.
//
// One pass over the events, in sequence order: each must match its hash and
// follow the one before (the hash chain), and, alongside, the RFC 6962 tree
// over them is built incrementally and compared with the root of every stored
// signed manifest at its tree size, each manifest checked for its signature
// and its chain to the one before (signed-check.ts). So a tail cut off with
// the chain head in meta rewound, or a chain rewritten and re-hashed from some
// event on, shows against the signed roots even though the chain alone looks
// whole. Events after the newest manifest are not signed yet: for them only
// the hash chain and the head in meta speak.
//
// Pruned events (delivered to every SIEM, past retention) cannot be
// recomputed. The tree resumes from the stored frontier of the batch that
// ends where pruning stopped, trusted because it reproduces that batch's
// signed root; manifests before it are checked for signature and chain only.
import type { AuditVerifyReport } from '../../shared/api.js';
import { auditBatches, auditEvents, meta as metaTable, type ReadableDb } from '../store/index.js';
import { PRUNED_HASH_KEY, PRUNED_THROUGH_SEQ_KEY } from './batches.js';
import { HEAD_HASH_KEY, HEAD_SEQ_KEY } from './log.js';
import type { BatchManifest } from './manifest.js';
import { MerkleFrontier } from './merkle.js';
import { checkEventRow, loadSigningKeys, ManifestChainChecker, rootMismatch, trustedFrontier, type ChainProblem, type StoredBatchRow } from './signed-check.js';

export function verifyAuditChain(db: ReadableDb): AuditVerifyReport {
  // Events delivered to every SIEM destination and past retention were pruned; the chain resumes after them.
  const meta = (key: string) => metaTable.get(db, key);
  const prunedThrough = Number(meta(PRUNED_THROUGH_SEQ_KEY) ?? '0');
  let expected = prunedThrough + 1;
  let prevHash: string | null = meta(PRUNED_HASH_KEY) ?? null;
  let checked = 0;

  const manifests = new ManifestChainChecker(loadSigningKeys(db));
  const batches = auditBatches.allSigned(db);
  let waiting: StoredBatchRow | undefined = batches.next().value as StoredBatchRow | undefined;
  /** The tree over the events walked so far; null while pruning hides where it starts. */
  let tree: MerkleFrontier | null = prunedThrough === 0 ? new MerkleFrontier() : null;
  let newestEvents: BatchManifest | null = null;

  const report = (firstBad: ChainProblem | null): AuditVerifyReport => ({
    ok: firstBad === null,
    // A signed root that does not hold condemns events already walked: only those before the problem count as verified.
    eventsChecked: firstBad === null ? checked : Math.min(checked, Math.max(0, firstBad.sequence - 1 - prunedThrough)),
    headSequence: expected - 1,
    headHash: prevHash,
    manifestsChecked: manifests.checked,
    signedThroughSequence: manifests.previous?.tree_size ?? 0,
    firstBad,
  });

  /** Checks the next stored manifest against the events walked so far (the tree is at its tree size, or before the kept events). */
  const checkManifest = (row: StoredBatchRow): ChainProblem | null => {
    const result = manifests.next(row);
    if ('problem' in result) return result.problem;
    const m = result.manifest;
    if (m.kind === 'events') newestEvents = m;
    if (m.tree_size < prunedThrough) return null;
    if (tree === null) {
      // The first batch that ends where pruning stopped anchors the kept events.
      tree = m.tree_size === prunedThrough ? trustedFrontier(row, m) : null;
      if (tree) return null;
      return {
        sequence: Math.max(1, prunedThrough),
        problem: 'missing',
        batchSeq: m.batch_seq,
        detail:
          m.tree_size === prunedThrough
            ? `events up to ${prunedThrough} were pruned, and the stored Merkle frontier of batch ${m.batch_seq}, where they end, does not reproduce its signed root: the pruned events cannot be vouched for`
            : `events up to ${prunedThrough} are recorded as pruned, but no signed batch ends there: the pruning record was altered`,
      };
    }
    return tree.root().toString('hex') === m.root ? null : rootMismatch(tree, row, m);
  };
  /** Every stored manifest whose tree ends at or before `size`. */
  const settle = (size: number): ChainProblem | null => {
    while (waiting && waiting.tree_size <= size) {
      const problem = checkManifest(waiting);
      if (problem) return problem;
      waiting = batches.next().value as StoredBatchRow | undefined;
    }
    return null;
  };

  try {
    for (const row of auditEvents.all(db)) {
      const signedProblem = settle(expected - 1);
      if (signedProblem) return report(signedProblem);
      if (row.seq !== expected) {
        return report({ sequence: expected, problem: 'missing', detail: row.seq > expected ? `events ${expected}–${row.seq - 1} are missing` : `sequence ${row.seq} appears out of order` });
      }
      const step = checkEventRow(row, prevHash);
      if ('problem' in step) return report(step.problem);
      (tree as MerkleFrontier | null)?.append(Buffer.from(row.hash, 'hex'));
      prevHash = row.hash;
      checked += 1;
      expected += 1;
    }
    const last = expected - 1;
    const signedProblem = settle(last);
    if (signedProblem) return report(signedProblem);

    // A signed manifest that reaches past the last stored event: the events it signed were cut off.
    if (waiting) {
      const beyond = waiting;
      const result = manifests.next(beyond);
      if ('problem' in result) return report(result.problem);
      return report({
        sequence: last + 1,
        problem: 'missing',
        batchSeq: beyond.batch_seq,
        detail: `the log ends at ${last} but signed batch ${beyond.batch_seq} covers events up to ${beyond.tree_size}: events ${last + 1}–${beyond.tree_size} are missing`,
      });
    }
    if (prunedThrough > 0 && tree === null) {
      return report({ sequence: prunedThrough, problem: 'missing', detail: `events up to ${prunedThrough} are recorded as pruned, but no signed batch ends there: the pruning record was altered` });
    }
    // Pruning always keeps the newest signed batch's events, so it stays an anchor.
    const newest = newestEvents as BatchManifest | null;
    if (newest !== null && prunedThrough >= newest.first_seq!) {
      return report({
        sequence: newest.first_seq!,
        problem: 'missing',
        batchSeq: newest.batch_seq,
        detail: `events up to ${prunedThrough} are recorded as pruned, but pruning always keeps the newest signed batch (${newest.batch_seq}, events ${newest.first_seq}–${newest.last_seq}): events were deleted`,
      });
    }

    // Deleting the newest unsealed events leaves a valid chain; the head kept in meta shows the cut.
    const headSeq = Number(meta(HEAD_SEQ_KEY) ?? '0');
    const headHash = meta(HEAD_HASH_KEY) ?? null;
    if (headSeq > last) {
      return report({ sequence: last + 1, problem: 'missing', detail: `the log ends at ${last} but ${headSeq} events were written: events ${last + 1}–${headSeq} are missing` });
    }
    if (headSeq === last && headHash !== prevHash) {
      return report({ sequence: last, problem: 'modified', detail: 'the newest event is not the one that was written last' });
    }
    return report(null);
  } finally {
    batches.return?.();
  }
}

export function describeVerifyReport(report: AuditVerifyReport): string {
  const signed = report.manifestsChecked !== undefined ? `, ${report.manifestsChecked} signed batches checked, signed through ${report.signedThroughSequence ?? 0}` : '';
  if (report.ok) {
    return `audit intact: ${report.eventsChecked} events checked, head ${report.headSequence} ${report.headHash ?? '(empty)'}${signed}`;
  }
  const bad = report.firstBad;
  const batch = bad?.batchSeq !== undefined ? ` (signed batch ${bad.batchSeq})` : '';
  return `audit NOT intact: event ${bad?.sequence} ${bad?.problem}${batch} — ${bad?.detail} (${report.eventsChecked} events before it verified)`;
}
