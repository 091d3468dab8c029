// Both ends of the range. The anchor manifest before the covered batches
// holds nothing inside the filter's time range and its signed root is the
// frontier the events continue (so nothing was cut off the front); the signed
// closing manifest after them, chained to the last covered one, holds nothing
// inside it either (so nothing was cut off the end). Events are written and
// sealed in sequence, so every event after the closing batch came later
// still (by the workstation's clock: a clock set back defeats this, as it
// defeats any time filter). Without a `to` the range ends at the export: the
// closing manifest is the heartbeat the export sealed.
import { anchorProblem, BUNDLE_FILES, BUNDLE_FORMAT, closingProblem, provenRangeOf, type BundleHeader, type ProvenRange } from '../format.js';
import type { BatchManifest } from '../../manifest.js';
import { MerkleFrontier } from '../../merkle.js';
import { EventLedger } from './events.js';
import { FAULT_KEY, short, type FaultLog } from './faults.js';
import type { KeyRing } from './keys.js';
import { chainProblem, checkSignature, hostProblem, ManifestChain, type ManifestSlot } from './manifests.js';
import type { BatchRangeStatus, BundleProblem } from './report.js';
import { RecomputedTree } from './tree.js';

/** A bundle claiming more events than this is refused as malformed rather than allocated for. */
const MAX_EVENTS = 50_000_000;

export interface CoverageOptions {
  header: BundleHeader;
  /** Every line of manifests.jsonl: the anchor's and the closing one are taken out. */
  slots: ManifestSlot[];
  keys: KeyRing;
  faults: FaultLog;
}

/** What the events are checked against: the tree from the anchor's frontier, the covered manifests, and the closing one set aside. */
export interface Coverage {
  tree: RecomputedTree;
  ledger: EventLedger;
  chain: ManifestChain;
  /** The closing manifest's line (the last of manifests.jsonl), when it is there. */
  closing: ManifestSlot | null;
}

/** Checks the anchor (the first line of manifests.jsonl, unless the coverage starts at enrolment) and sets up the coverage after it. */
export function openCoverage(options: CoverageOptions): Coverage {
  const { header, slots, keys, faults } = options;
  const frontier = MerkleFrontier.fromJSON(header.anchor.frontier);
  const tree = new RecomputedTree(frontier);
  const anchorKey = frontier.size + 0.1;
  const anchorBatch = header.anchor.batch_seq;
  let anchor: BatchManifest | null = null;
  let anchorStatus: BatchRangeStatus | null = null;

  if (anchorBatch === null) {
    if (frontier.size !== 0) {
      faults.file(anchorKey, 'malformed', BUNDLE_FILES.header, `bundle.json names no anchor manifest but a Merkle frontier of ${frontier.size} events`);
      tree.markBroken();
    }
  } else {
    const first = slots[0];
    if (!first || first.manifest?.batch_seq !== anchorBatch) {
      anchorStatus = 'missing';
      faults.batch(
        anchorKey,
        'missing',
        anchorBatch,
        BUNDLE_FILES.manifests,
        1,
        `line 1 should be the anchor manifest of batch ${anchorBatch} (bundle.json), but ${first ? (first.manifest ? `holds batch ${first.manifest.batch_seq}` : first.error!) : 'the file is empty'}`,
      );
    } else {
      slots.shift();
      anchor = first.manifest;
      anchorStatus = checkAnchor(anchor, first.line, anchorKey, frontier, options);
      // The events continue the frontier: one the anchor does not sign gives no root to trust.
      if (!frontierHoldsRoot(anchor, frontier)) tree.markBroken();
    }
  }

  const closing = takeClosing(header, slots);
  const chain = new ManifestChain({ header, slots, keys, faults });
  if (anchorBatch !== null && anchorStatus !== null) chain.setStatus(anchorBatch, anchorStatus);
  if (anchor) {
    chain.previous = anchor;
    chain.batchesChecked += 1;
  }

  let lastSeq = Math.max(header.coverage?.last_seq ?? 0, chain.claimedTreeSize);
  if (lastSeq - frontier.size > MAX_EVENTS) {
    faults.file(FAULT_KEY.bundle, 'malformed', BUNDLE_FILES.manifests, `the bundle claims ${lastSeq - frontier.size} events, more than a verifier accepts`);
    lastSeq = frontier.size;
  }
  return { tree, ledger: new EventLedger(frontier.size, Math.max(lastSeq, frontier.size)), chain, closing };
}

/** Does the anchor manifest sign the frontier bundle.json gives? */
function frontierHoldsRoot(anchor: BatchManifest, frontier: MerkleFrontier): boolean {
  return anchor.tree_size === frontier.size && anchor.root === frontier.root().toString('hex');
}

/** The anchor manifest: signed, its root the frontier's, from the bundle's host, wholly before the range. Returns its status. */
function checkAnchor(anchor: BatchManifest, line: number, key: number, frontier: MerkleFrontier, options: CoverageOptions): BatchRangeStatus {
  const { header, keys, faults } = options;
  let status = checkSignature(anchor, line, key, keys, faults);
  if (!frontierHoldsRoot(anchor, frontier)) {
    faults.batch(
      key,
      'root_mismatch',
      anchor.batch_seq,
      BUNDLE_FILES.header,
      null,
      `the Merkle frontier in bundle.json (${frontier.size} events) does not have the anchor manifest's signed root (batch ${anchor.batch_seq}, ${anchor.tree_size} events)`,
    );
    if (status === 'valid') status = 'root_mismatch';
  }
  const host = hostProblem(anchor, header);
  if (host) faults.batch(key, 'wrong_host', anchor.batch_seq, BUNDLE_FILES.manifests, line, host);
  checkAnchorOutsideRange(anchor, line, key, header, faults);
  return status;
}

/**
 * The export starts the coverage at the first batch with an event (or a
 * heartbeat) in the time range, so the anchor lies wholly before it: its
 * first and last events (or its heartbeat time) are before `from`. Otherwise
 * batches were cut off the front and their events are missing from the
 * selection. Only a range clipped by local pruning (which bundle.json says,
 * and the report shows) starts later.
 */
function checkAnchorOutsideRange(anchor: BatchManifest, line: number, key: number, header: BundleHeader, faults: FaultLog): void {
  if (header.coverage?.pruned_through_seq) return;
  const problem = anchorProblem(anchor, header.filter);
  if (problem) {
    faults.batch(
      key,
      'selection_mismatch',
      anchor.batch_seq,
      BUNDLE_FILES.manifests,
      line,
      `the bundle does not prove its range is complete from its start: the anchor, batch ${anchor.batch_seq}, does not lie wholly before the range (${problem}), so the coverage should have begun with it: batches were cut off the front and events inside the filter's time range may be left out`,
    );
  }
}

/**
 * The closing manifest is the last line of manifests.jsonl, the batch that
 * bundle.json names as closing_batch_seq. It is set aside here: its events
 * are not in the bundle, and it is checked once the covered batches are.
 */
function takeClosing(header: BundleHeader, slots: ManifestSlot[]): ManifestSlot | null {
  const closingSeq = header.closing_batch_seq;
  const last = slots.at(-1);
  if (closingSeq === null || closingSeq === undefined || !last) return null;
  if ((last.manifest?.batch_seq ?? last.claimedBatch) !== closingSeq) return null;
  return slots.pop()!;
}

export interface ClosingCheck {
  header: BundleHeader;
  closing: ManifestSlot | null;
  chain: ManifestChain;
  ledger: EventLedger;
  keys: KeyRing;
  faults: FaultLog;
}

/**
 * The end of the range: the signed manifest right after the covered batches
 * (after the anchor when nothing is covered), chained to the last of them,
 * whose batch holds nothing inside the time range. Without it, trailing
 * batches could be dropped with their events, bundle.json edited to match,
 * and what is left would still verify. Returns the range proven complete,
 * or null when the closing manifest does not hold.
 */
export function checkClosing(check: ClosingCheck): ProvenRange | null {
  const { header, chain, ledger, keys, faults } = check;
  const previous = chain.previous;
  const previousSize = previous?.tree_size ?? ledger.anchorSize;
  const key = previousSize + 0.7;
  const after = ledger.newestTime ?? (header.filter.from !== undefined ? new Date(header.filter.from).toISOString() : null);
  const lead = `the bundle does not prove its range is complete after ${after ?? 'its start'}`;
  const expectedBatch = previous ? previous.batch_seq + 1 : (header.anchor.batch_seq ?? 0) + 1;
  const problems: BatchRangeStatus[] = [];
  const fail = (problem: BundleProblem, batchStatus: BatchRangeStatus, batchSeq: number, line: number | null, why: string) => {
    problems.push(batchStatus);
    faults.batch(key, problem, batchSeq, BUNDLE_FILES.manifests, line, `${lead}: ${why}`);
  };
  /** The closing batch's status in the report, unless a covered batch of that number already has one. */
  const settle = (batchSeq: number, status: BatchRangeStatus = problems[0] ?? 'valid') => {
    const known = chain.statusOf(batchSeq);
    if (known === undefined || known === 'valid') chain.setStatus(batchSeq, status);
  };

  const named = header.closing_batch_seq ?? null;
  if (named === null) {
    const old = header.format !== BUNDLE_FORMAT ? ` (an ${header.format} bundle has none; export it again)` : '';
    fail('missing', 'missing', expectedBatch, null, `the signed batch that follows the range is missing: bundle.json names no closing batch${old}`);
    settle(expectedBatch);
    return null;
  }
  const slot = check.closing;
  if (!slot) {
    fail('missing', 'missing', named, null, `the signed batch that follows the range is missing: bundle.json names batch ${named}, but ${BUNDLE_FILES.manifests} does not end with its manifest`);
    settle(named);
    return null;
  }
  chain.batchesChecked += 1;
  if (!slot.manifest) {
    fail('malformed', 'malformed', named, slot.line, `the manifest of batch ${named}, which follows the range, cannot be read: ${slot.error}`);
    settle(named);
    return null;
  }
  const m = slot.manifest;
  const line = slot.line;
  if (m.batch_seq !== expectedBatch) {
    fail(
      'missing',
      'missing',
      expectedBatch,
      line,
      `the signed batch that follows the range is missing: ${BUNDLE_FILES.manifests} closes with batch ${m.batch_seq}, but the batch after ${previous ? `batch ${previous.batch_seq}` : 'the start'} is batch ${expectedBatch}`,
    );
    settle(expectedBatch, 'missing');
    // The manifest in its place is out of place, whatever its signature says.
    settle(m.batch_seq, keys.signatureProblem(m)?.problem ?? 'reordered');
    return null;
  }

  const signature = keys.signatureProblem(m);
  if (signature) fail(signature.problem, signature.problem, m.batch_seq, line, signature.detail);
  chain.checkHost(m, line, key);

  // Chained to the last covered manifest (or the anchor), or a key rotation that batch announced.
  if (previous) {
    const broken = chainProblem(m, previous, `batch ${m.batch_seq}, which follows the range,`, ledger.rotations, header.anchor.batch_seq);
    if (broken) fail('broken_chain', 'broken_chain', m.batch_seq, line, broken);
  } else if (header.anchor.batch_seq === null && m.start?.reason !== 'enrolment') {
    fail('broken_chain', 'broken_chain', m.batch_seq, line, `batch ${m.batch_seq} is the first manifest and follows nothing, but it is not the enrolment manifest`);
  }

  // It continues the tree where the covered batches left it.
  if (m.kind === 'heartbeat') {
    if (m.tree_size !== previousSize || (previous && previous.tree_size === m.tree_size && previous.root !== m.root)) {
      fail(
        'events_mismatch',
        'events_mismatch',
        m.batch_seq,
        line,
        `heartbeat batch ${m.batch_seq}, which follows the range, signs a tree of ${m.tree_size} events (root ${short(m.root)}), not the ${previousSize} events the covered batches end with`,
      );
    }
  } else if (m.first_seq !== previousSize + 1) {
    fail('events_mismatch', 'events_mismatch', m.batch_seq, line, `batch ${m.batch_seq}, which follows the range, starts at event ${m.first_seq}, but the covered events end at event ${previousSize}`);
  }

  // And it holds nothing inside the range.
  const inside = closingProblem(m, header.filter, ledger.newestTime);
  if (inside)
    fail(
      'selection_mismatch',
      'inside_range',
      m.batch_seq,
      line,
      `batch ${m.batch_seq}, the signed batch that follows the range, cannot close it: ${inside}. Batches were cut off the end, and events in the range may be left out`,
    );

  settle(m.batch_seq);
  if (problems.length > 0) return null;
  const clipped = header.coverage?.pruned_through_seq ? (ledger.firstTime ?? previous?.newest ?? previous?.created ?? null) : null;
  const from = clipped !== null && header.filter.from !== undefined && Date.parse(clipped) < header.filter.from ? null : clipped;
  return provenRangeOf(header.filter, m, from);
}
