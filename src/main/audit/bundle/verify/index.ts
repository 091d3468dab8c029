// The bundle verifier that anyone (the SIEM team, an outside auditor) runs on
// an audit export with nothing but the bundle folder and the key id IT
// registered for the workstation. Pure: reads only the folder, imports
// nothing from the store, so it runs the same on any machine.
//
// What a valid bundle proves (each part checked by its own module):
// - keys.ts: every manifest is signed by the expected key, or by a key that a
//   batch signed by a trusted key introduced through an audit.key_rotate event;
// - manifests.ts: the manifests form one chain (prev_manifest_hash /
//   prev_signature, or a stated key-rotation start) with contiguous batch
//   numbers, and each covered one's signed root is the recomputed tree's;
// - events.ts, tree.ts: the events are exactly the events of the covered
//   batches, in order, gap-free, each matching its hash and chained to the one
//   before, and their Merkle tree continues the anchor's frontier;
// - proofs.ts: each selected event has an inclusion proof against its batch's root;
// - selection.ts: the selection is exactly the covered events that match the
//   stated filter, and events.csv is exactly those events rendered for people;
// - range.ts: the range is closed at both ends, by the anchor manifest before
//   the covered batches and the signed closing manifest after them.
// The report (report.ts) states the time range proven complete
// (`provenRange`), so an auditor compares it with what was asked for:
// bundle.json itself is not signed, and a filter edited there shows in that range.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE_FILES, BUNDLE_FORMAT, BundleHeaderSchema, type BundleHeader, type ProvenRange } from '../format.js';
import { EventState, checkEventLine, type EventLedger, type ReadEvent } from './events.js';
import { FAULT_KEY, FaultLog, span } from './faults.js';
import { KeyRing, readKeys } from './keys.js';
import { readManifests, type ManifestChain } from './manifests.js';
import { ProofChecker } from './proofs.js';
import { checkClosing, openCoverage, type Coverage } from './range.js';
import { describeIssue, fileLines, readJsonFile } from './read.js';
import { MAX_REPORTED_FAULTS, type BundleVerifyReport } from './report.js';
import { CsvChecker, SelectionCheck, selectionOf } from './selection.js';

export { describeBundleReport, type BundleFault, type BundleProblem, type BundleVerifyReport, type BatchRangeStatus, type EventRangeStatus } from './report.js';

export interface VerifyBundleOptions {
  /** Key ids (hex SHA-256 of the SPKI) the verifier trusts: the ones IT registered for the workstation. */
  expectedKeyIds: readonly string[];
}

/** What a verification has found so far: each part is there once its step was reached. */
interface Findings {
  faults: FaultLog;
  header?: BundleHeader;
  selected?: ReadonlySet<string>;
  keys?: KeyRing;
  coverage?: Coverage;
  proofs?: ProofChecker;
  provenRange?: ProvenRange | null;
}

export function verifyAuditBundle(dir: string, options: VerifyBundleOptions): BundleVerifyReport {
  const expected = new Set(options.expectedKeyIds.map((id) => id.toLowerCase()));
  const found: Findings = { faults: new FaultLog() };
  const { faults } = found;
  if (expected.size === 0) {
    faults.file(FAULT_KEY.noExpectedKey, 'wrong_key', BUNDLE_FILES.manifests, 'no expected key id was given: a bundle can only be verified against the key id IT registered for the workstation');
  }
  const path = (file: string) => join(dir, file);
  try {
    found.header = readHeader(path(BUNDLE_FILES.header), faults) ?? undefined;
    if (!found.header) return reportOf(found);
    found.selected = selectionOf(found.header, faults);
    const listed = readKeys(path(BUNDLE_FILES.keys), faults);
    if (!listed) return reportOf(found);
    found.keys = new KeyRing({ listed, expectedKeyIds: expected });
    const slots = readManifests(path(BUNDLE_FILES.manifests), faults);
    if (!slots) return reportOf(found);
    found.coverage = openCoverage({ header: found.header, slots, keys: found.keys, faults });
    checkEvents(found as Required<Findings>, path);
  } catch (error) {
    // A file that cannot be read (a folder in its place, an I/O error) is a fault of the bundle, not a crash of the verifier.
    faults.file(FAULT_KEY.bundle, 'malformed', '(bundle)', `the bundle could not be read: ${(error as Error).message}`);
  }
  return reportOf(found);
}

/** bundle.json, or null (and a fault) when it cannot be read or is not a bundle header. */
function readHeader(path: string, faults: FaultLog): BundleHeader | null {
  const read = readJsonFile(path);
  if (!read.ok) {
    faults.file(FAULT_KEY.headerFile, 'malformed', BUNDLE_FILES.header, `${BUNDLE_FILES.header} cannot be read: ${read.why}`);
    return null;
  }
  const parsed = BundleHeaderSchema.safeParse(read.value);
  if (!parsed.success) {
    faults.file(FAULT_KEY.headerFile, 'malformed', BUNDLE_FILES.header, `${BUNDLE_FILES.header} is not an ${BUNDLE_FORMAT} header (${describeIssue(parsed.error)})`);
    return null;
  }
  return parsed.data;
}

/** Reads events.jsonl once, checking each event, its selection, proof and CSV row, and closing each manifest once its events are in. */
function checkEvents(found: Required<Findings>, path: (file: string) => string): void {
  const { header, faults, keys, coverage } = found;
  const { tree, ledger, chain } = coverage;
  const proofs = new ProofChecker({ path: path(BUNDLE_FILES.proofs), faults, ledger, tree, manifestOf: (batchSeq) => chain.manifestOf(batchSeq) });
  found.proofs = proofs;
  const csv = new CsvChecker(path(BUNDLE_FILES.csv), faults);
  const selection = new SelectionCheck({ selected: found.selected, filter: header.filter, faults, proofs, csv, batchOf: (seq) => chain.batchOf(seq) });
  const closeReady = (atEnd: boolean) => chain.closeReady(atEnd, tree, ledger);
  closeReady(false);

  const eventsPath = path(BUNDLE_FILES.events);
  if (!existsSync(eventsPath)) {
    faults.file(FAULT_KEY.bundle, 'missing', BUNDLE_FILES.events, `${BUNDLE_FILES.events} is missing`);
  } else {
    let expected = ledger.anchorSize + 1;
    let previous: ReadEvent | null = null;
    const anchorNodes = header.anchor.frontier.nodes;
    // The hash of the anchor's last event is on its frontier only when that event is a subtree of its own.
    const anchorLastLeaf = anchorNodes.length > 0 && anchorNodes.at(-1)![0] === 1 ? anchorNodes.at(-1)![1] : null;
    let line = 0;
    for (const text of fileLines(eventsPath)) {
      line += 1;
      ledger.linesRead += 1;
      const position = expected;
      const event = checkEventLine(text, line, position, {
        ledger,
        faults,
        previous,
        anchorLastLeaf,
        boundarySeqs: chain.boundarySeqs,
        onAltered: (record, at) => selection.skipAltered(record, at),
        onEvent: (seq, at, record) => selection.check(seq, at, record),
      });
      previous = event;
      if (event) {
        expected = Math.max(expected, event.seq + 1);
        ledger.seenThrough = Math.max(ledger.seenThrough, event.seq);
        if (tree.add(event.seq, Buffer.from(event.hash, 'hex'), () => closeReady(false))) proofs.drain(false);
      } else if (ledger.statusOf(position) === EventState.missing) {
        // Unreadable: its leaf is unknown, so no root after it can be recomputed.
        ledger.set(position, EventState.modified);
        tree.markBroken();
        expected = position + 1;
        ledger.seenThrough = Math.max(ledger.seenThrough, position);
      }
      closeReady(false);
    }
  }
  closeReady(true);
  proofs.drain(true);
  proofs.finish();
  csv.finish();

  found.provenRange = checkClosing({ header, closing: coverage.closing, chain, ledger, keys, faults });
  selection.finish();
  checkCoverageClaims(header, chain, ledger, faults);
  checkAllSealed(chain, ledger, faults);
  ledger.settle(chain.confirmedThrough, faults);
  for (const batch of proofs.batchesWithBadProofs) if (chain.statusOf(batch) === 'valid') chain.setStatus(batch, 'proof_invalid');
}

/** bundle.json's account of the coverage against the manifests and the events. */
function checkCoverageClaims(header: BundleHeader, chain: ManifestChain, ledger: EventLedger, faults: FaultLog): void {
  const lastBatch = chain.previous && chain.previous.batch_seq !== header.anchor.batch_seq ? chain.previous : null;
  if (header.coverage) {
    if (lastBatch && header.coverage.last_batch_seq > lastBatch.batch_seq) {
      for (let b = lastBatch.batch_seq + 1; b <= header.coverage.last_batch_seq; b++) chain.setStatus(b, 'missing');
      faults.batch(
        lastBatch.tree_size + 0.5,
        'missing',
        lastBatch.batch_seq + 1,
        BUNDLE_FILES.manifests,
        null,
        `bundle.json covers batches up to ${header.coverage.last_batch_seq}, but ${BUNDLE_FILES.manifests} ends at batch ${lastBatch.batch_seq}`,
      );
    }
    if (header.coverage.events !== ledger.linesRead) {
      faults.file(FAULT_KEY.end, 'malformed', BUNDLE_FILES.header, `bundle.json says ${header.coverage.events} events are covered; ${BUNDLE_FILES.events} holds ${ledger.linesRead}`);
    }
  } else if (chain.lines > 0 || ledger.linesRead > 0) {
    faults.file(FAULT_KEY.end, 'malformed', BUNDLE_FILES.header, 'bundle.json says nothing is covered, but the bundle holds manifests or events');
  }
}

/** Events that no manifest of the bundle seals. */
function checkAllSealed(chain: ManifestChain, ledger: EventLedger, faults: FaultLog): void {
  const sealedThrough = chain.previous?.tree_size ?? ledger.anchorSize;
  if (ledger.lastSeq > sealedThrough) {
    faults.add(sealedThrough + 0.5, {
      problem: 'missing',
      sequence: sealedThrough + 1,
      batchSeq: null,
      file: BUNDLE_FILES.manifests,
      line: null,
      detail: `${span(sealedThrough + 1, ledger.lastSeq, 'event')} are not sealed by any manifest in ${BUNDLE_FILES.manifests}`,
    });
  }
}

function reportOf(found: Findings): BundleVerifyReport {
  const { faults, header, coverage } = found;
  const sorted = faults.sorted();
  const ledger = coverage?.ledger;
  const covered = ledger !== undefined && ledger.size > 0;
  return {
    ok: faults.count === 0,
    header: header
      ? {
          created: header.created,
          exportedBy: header.exported_by,
          hostId: header.host.id,
          hostName: header.host.name,
          filter: header.filter,
          prunedThroughSeq: header.coverage?.pruned_through_seq ?? null,
        }
      : null,
    firstSeq: covered ? ledger.anchorSize + 1 : null,
    lastSeq: covered ? ledger.lastSeq : null,
    eventsChecked: ledger?.linesRead ?? 0,
    batchesChecked: coverage?.chain.batchesChecked ?? 0,
    selectedEvents: found.selected?.size ?? 0,
    proofsChecked: found.proofs?.checked ?? 0,
    trustedKeyIds: found.keys?.signers ?? [],
    provenRange: faults.count === 0 ? (found.provenRange ?? null) : null,
    closingBatchSeq: coverage?.closing?.manifest?.batch_seq ?? header?.closing_batch_seq ?? null,
    eventRanges: ledger?.ranges() ?? [],
    batchRanges: coverage?.chain.ranges() ?? [],
    firstFault: sorted[0] ?? null,
    faults: sorted.slice(0, MAX_REPORTED_FAULTS),
    faultCount: faults.count,
  };
}
