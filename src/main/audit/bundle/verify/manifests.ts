// manifests.jsonl: the signed batch manifests, the anchor first and the
// closing one last. Each covered manifest is checked once the events it seals
// have been read: its signature by a trusted key, its host, its place in one
// chain (prev_manifest_hash / prev_signature, or a stated key rotation), its
// summary of its events, and its signed root against the recomputed tree.
import { existsSync } from 'node:fs';
import { BUNDLE_FILES, type BundleHeader } from '../format.js';
import { BatchManifestSchema, manifestHash, type BatchManifest } from '../../manifest.js';
import { FAULT_KEY, short, span, type FaultLog } from './faults.js';
import type { EventLedger } from './events.js';
import type { KeyRing, RotationClaim } from './keys.js';
import { describeIssue, fileLines } from './read.js';
import { rangesOf, type BatchRangeStatus, type BundleProblem, type BundleRange } from './report.js';
import type { RecomputedTree } from './tree.js';

/** One line of manifests.jsonl. */
export interface ManifestSlot {
  line: number;
  manifest: BatchManifest | null;
  /** Why the line is not a manifest. */
  error: string | null;
  /** The batch number the line claims, when it can be read at all. */
  claimedBatch: number | null;
}

/** Reads manifests.jsonl line by line, each parsed or with why not; null (and a fault) when it is missing. */
export function readManifests(path: string, faults: FaultLog): ManifestSlot[] | null {
  if (!existsSync(path)) {
    faults.file(FAULT_KEY.headerFile, 'missing', BUNDLE_FILES.manifests, `${BUNDLE_FILES.manifests} is missing`);
    return null;
  }
  const slots: ManifestSlot[] = [];
  let line = 0;
  for (const text of fileLines(path)) {
    line += 1;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      slots.push({ line, manifest: null, error: 'the line is not valid JSON', claimedBatch: null });
      continue;
    }
    const claimed = (json as { batch_seq?: unknown } | null)?.batch_seq;
    const claimedBatch = typeof claimed === 'number' && Number.isSafeInteger(claimed) && claimed > 0 ? claimed : null;
    const parsed = BatchManifestSchema.safeParse(json);
    if (!parsed.success) {
      slots.push({ line, manifest: null, error: `the line is not a batch manifest (${describeIssue(parsed.error)})`, claimedBatch });
      continue;
    }
    slots.push({ line, manifest: parsed.data, error: null, claimedBatch });
  }
  return slots;
}

/** Records a manifest's signature fault, if any; returns the batch status it gives ('valid' when none). */
export function checkSignature(m: BatchManifest, line: number, key: number, keys: KeyRing, faults: FaultLog): BatchRangeStatus {
  const problem = keys.signatureProblem(m);
  if (!problem) return 'valid';
  faults.batch(key, problem.problem, m.batch_seq, BUNDLE_FILES.manifests, line, problem.detail);
  return problem.problem;
}

/** The batch's host, when it is not the bundle's. */
export function hostProblem(m: BatchManifest, header: BundleHeader): string | null {
  return m.origin.host_id !== header.host.id ? `batch ${m.batch_seq} was sealed on host ${m.origin.host_id}, not on the bundle's host ${header.host.id}` : null;
}

/**
 * Why manifest m does not continue the chain after `previous`: it names
 * another manifest, or claims a key rotation that `previous` (or an
 * audit.key_rotate event in its batch) does not bear out, or claims to start
 * the chain. `name` is how the detail names m. Null when it continues it.
 */
export function chainProblem(m: BatchManifest, previous: BatchManifest, name: string, rotations: readonly RotationClaim[], anchorBatchSeq: number | null): string | null {
  if (m.prev_manifest_hash !== null) {
    if (m.prev_manifest_hash !== manifestHash(previous) || m.prev_signature !== previous.signature) {
      return `${name} does not chain to batch ${previous.batch_seq}: its prev_manifest_hash / prev_signature name another manifest`;
    }
    return null;
  }
  if (m.start?.reason === 'key_rotation') {
    if (m.start.previous_key_id !== previous.key_id || m.key_id === previous.key_id) {
      return `${name} claims a key rotation from key ${short(m.start.previous_key_id ?? '(none)')}, but batch ${previous.batch_seq} is signed by key ${short(previous.key_id)}`;
    }
    if (previous.first_seq !== null && previous.batch_seq !== anchorBatchSeq) {
      const announced = rotations.some((r) => r.seq >= previous.first_seq! && r.seq <= previous.last_seq! && r.oldKeyId === previous.key_id && r.newKeyId === m.key_id);
      if (!announced) return `${name} starts a new chain with key ${short(m.key_id)}, but batch ${previous.batch_seq} holds no audit.key_rotate event naming it`;
    }
    return null;
  }
  return `${name} claims to start the chain (${m.start?.reason ?? 'no reason'}) after batch ${previous.batch_seq}`;
}

export interface ManifestChainOptions {
  header: BundleHeader;
  /** The covered manifests' lines, in file order (anchor and closing taken out). */
  slots: ManifestSlot[];
  keys: KeyRing;
  faults: FaultLog;
}

/** The covered manifests, closed in order as their events arrive, and each batch's status. */
export class ManifestChain {
  readonly #o: ManifestChainOptions;
  #slotIndex = 0;
  readonly #byBatch = new Map<number, BatchManifest>();
  /** Where each covered batch begins and ends, to compare its oldest/newest with its events. */
  readonly boundarySeqs = new Set<number>();
  readonly #status = new Map<number, BatchRangeStatus>();
  /** Manifests checked (the anchor and the closing one included). */
  batchesChecked = 0;
  /** The last manifest accepted in sequence (the anchor to begin with). */
  previous: BatchManifest | null = null;
  expectedBatch: number;
  /** The highest tree size whose signed root, by a trusted key, was recomputed from the events. */
  confirmedThrough = 0;

  constructor(options: ManifestChainOptions) {
    this.#o = options;
    this.expectedBatch = (options.header.anchor.batch_seq ?? 0) + 1;
    for (const slot of options.slots) {
      const m = slot.manifest;
      if (!m) continue;
      if (!this.#byBatch.has(m.batch_seq)) this.#byBatch.set(m.batch_seq, m);
      if (m.first_seq !== null) this.boundarySeqs.add(m.first_seq);
      if (m.last_seq !== null) this.boundarySeqs.add(m.last_seq);
    }
  }

  /** The highest tree size a covered manifest claims. */
  get claimedTreeSize(): number {
    let size = 0;
    for (const slot of this.#o.slots) size = Math.max(size, slot.manifest?.tree_size ?? 0);
    return size;
  }

  /** How many covered manifest lines there are (readable or not). */
  get lines(): number {
    return this.#o.slots.length;
  }

  manifestOf(batchSeq: number): BatchManifest | undefined {
    return this.#byBatch.get(batchSeq);
  }

  statusOf(batchSeq: number): BatchRangeStatus | undefined {
    return this.#status.get(batchSeq);
  }

  setStatus(batchSeq: number, status: BatchRangeStatus): void {
    this.#status.set(batchSeq, status);
  }

  ranges(): BundleRange<BatchRangeStatus>[] {
    return rangesOf([...this.#status.entries()].sort((a, b) => a[0] - b[0]));
  }

  /** Records a signature fault, returning the batch status it gives ('valid' when none). */
  checkSignature(m: BatchManifest, line: number, key: number): BatchRangeStatus {
    return checkSignature(m, line, key, this.#o.keys, this.#o.faults);
  }

  checkHost(m: BatchManifest, line: number, key: number): void {
    const problem = hostProblem(m, this.#o.header);
    if (problem) this.#o.faults.batch(key, 'wrong_host', m.batch_seq, BUNDLE_FILES.manifests, line, problem);
  }

  /** The covered batch whose range holds a sequence number (by the manifests, in order). */
  batchOf(seq: number): number | null {
    const slots = this.#o.slots;
    for (let i = Math.max(0, this.#slotIndex - 1); i < slots.length; i++) {
      const m = slots[i]!.manifest;
      if (m && m.first_seq !== null && m.first_seq <= seq && seq <= m.last_seq!) return m.batch_seq;
    }
    for (const m of this.#byBatch.values()) if (m.first_seq !== null && m.first_seq <= seq && seq <= m.last_seq!) return m.batch_seq;
    return null;
  }

  /** Closes, in order, every manifest whose events have all been seen (all of them at the end). */
  closeReady(atEnd: boolean, tree: RecomputedTree, ledger: EventLedger): void {
    const { slots, faults } = this.#o;
    while (this.#slotIndex < slots.length) {
      const slot = slots[this.#slotIndex]!;
      const key = (this.previous?.tree_size ?? ledger.anchorSize) + 0.5;
      if (!slot.manifest) {
        if (slot.claimedBatch !== null) this.#status.set(slot.claimedBatch, 'malformed');
        faults.batch(key, 'malformed', slot.claimedBatch, BUNDLE_FILES.manifests, slot.line, slot.error!);
        this.#slotIndex += 1;
        continue;
      }
      const m = slot.manifest;
      if (m.batch_seq < this.expectedBatch) {
        if (this.#status.get(m.batch_seq) === 'missing') {
          this.#status.set(m.batch_seq, 'reordered');
          faults.batch(
            Math.max(0, m.tree_size - m.event_count) + 0.5,
            'reordered',
            m.batch_seq,
            BUNDLE_FILES.manifests,
            slot.line,
            `batch ${m.batch_seq} is out of order: it is at line ${slot.line}, after batch ${this.expectedBatch - 1}`,
          );
        } else {
          faults.batch(key, 'reordered', m.batch_seq, BUNDLE_FILES.manifests, slot.line, `batch ${m.batch_seq} appears a second time`);
        }
        this.#slotIndex += 1;
        continue;
      }
      if (m.batch_seq > this.expectedBatch && this.#isStray(m, slot.line, key)) {
        this.#slotIndex += 1;
        continue;
      }
      // Wait for its events: for the tree to reach its size, or (once the tree is broken) for the file to pass it.
      if (!atEnd && (tree.broken ? ledger.seenThrough < m.tree_size : tree.size < m.tree_size)) return;
      this.#close(m, slot.line, key, tree, ledger);
      this.#slotIndex += 1;
    }
  }

  /**
   * A manifest ahead of its place is a stray when the next line carries on
   * where the sequence is: it replaced the batch expected here (which is then
   * missing), or was moved or copied in. Only its signature is checked.
   * Otherwise the batches before it are missing (a dropped manifest).
   */
  #isStray(m: BatchManifest, line: number, key: number): boolean {
    const next = this.#o.slots.slice(this.#slotIndex + 1).find((slot) => slot.manifest !== null)?.manifest;
    const expected = this.expectedBatch;
    if (!next || (next.batch_seq !== expected && next.batch_seq !== expected + 1)) return false;
    this.checkSignature(m, line, key);
    if (this.#status.get(m.batch_seq) === undefined) this.#status.set(m.batch_seq, 'reordered');
    if (next.batch_seq === expected) {
      this.#o.faults.batch(key, 'reordered', m.batch_seq, BUNDLE_FILES.manifests, line, `batch ${m.batch_seq} is out of place: line ${line} holds it before batch ${expected}`);
    } else {
      this.#status.set(expected, 'missing');
      this.#o.faults.batch(
        key,
        'missing',
        expected,
        BUNDLE_FILES.manifests,
        line,
        `line ${line} holds batch ${m.batch_seq} where batch ${expected} belongs: the manifest of batch ${expected} is missing`,
      );
      this.expectedBatch = expected + 1;
    }
    return true;
  }

  /** Checks one covered manifest whose events have been read. */
  #close(m: BatchManifest, line: number, key: number, tree: RecomputedTree, ledger: EventLedger): void {
    const { header, faults, keys } = this.#o;
    this.batchesChecked += 1;
    const previous = this.previous;
    const previousSize = previous?.tree_size ?? ledger.anchorSize;
    const problems: BatchRangeStatus[] = [];
    const fault = (problem: BundleProblem & BatchRangeStatus, detail: string) => {
      problems.push(problem);
      faults.batch(key, problem, m.batch_seq, BUNDLE_FILES.manifests, line, detail);
    };

    // Chained to the manifest just before it, or after a gap (whose batches were dropped, or seen out of place).
    const contiguous = previous !== null ? previous.batch_seq === m.batch_seq - 1 : m.batch_seq === this.expectedBatch;
    const gap: number[] = [];
    for (let b = this.expectedBatch; b < m.batch_seq; b++) if (this.#status.get(b) !== 'reordered') gap.push(b);
    if (gap.length > 0) {
      for (const b of gap) this.#status.set(b, 'missing');
      faults.batch(
        key,
        'missing',
        gap[0]!,
        BUNDLE_FILES.manifests,
        line,
        `line ${line} holds batch ${m.batch_seq} where batch ${gap[0]} belongs: the manifest${gap.length > 1 ? 's' : ''} of ${gap.length > 1 ? `batches ${gap.join(', ')} are` : `batch ${gap[0]} is`} missing`,
      );
    }

    const signature = this.checkSignature(m, line, key);
    if (signature !== 'valid') problems.push(signature);
    this.checkHost(m, line, key);

    // The chain: to the manifest before, or a stated start.
    if (contiguous && previous) {
      const broken = chainProblem(m, previous, `batch ${m.batch_seq}`, ledger.rotations, header.anchor.batch_seq);
      if (broken) fault('broken_chain', broken);
    } else if (!previous && header.anchor.batch_seq === null && m.batch_seq === this.expectedBatch) {
      if (m.batch_seq !== 1 || m.start?.reason !== 'enrolment')
        fault('broken_chain', `the first manifest is batch ${m.batch_seq}, not the enrolment manifest (batch 1, start reason enrolment), and bundle.json names no anchor`);
    }

    // Its place in the sequence and its own summary of its events.
    for (const summary of summaryProblems(m, previous, previousSize, contiguous, ledger)) fault('events_mismatch', summary);

    // The signed root, recomputed from the anchor's frontier and the events.
    let rootChecked = false;
    const recomputed = tree.size === m.tree_size && !tree.diverged ? tree.rootAt(m.tree_size) : null;
    if (recomputed !== null) {
      rootChecked = true;
      if (recomputed !== m.root) {
        tree.markDiverged(m.batch_seq);
        problems.push('root_mismatch');
        // After its events in the report, so that a broken link between two of them is named first.
        faults.batch(
          m.tree_size + 0.6,
          'root_mismatch',
          m.batch_seq,
          BUNDLE_FILES.manifests,
          line,
          `the events up to ${m.tree_size} do not hash to the root signed in batch ${m.batch_seq}: ${m.event_count > 0 ? `one of ${span(m.first_seq!, m.last_seq!, 'event')}` : 'an event before it'} was altered and re-hashed, added or removed (later batches' roots cannot be checked)`,
        );
      }
    } else if (!tree.broken && tree.size > m.tree_size) {
      fault('root_mismatch', `batch ${m.batch_seq} signs a tree of ${m.tree_size} events, but the events before it already number ${tree.size}`);
    }

    const status = problems[0] ?? (rootChecked ? 'valid' : 'unverified');
    this.#status.set(m.batch_seq, status);
    if (status === 'valid') {
      this.confirmedThrough = Math.max(this.confirmedThrough, m.tree_size);
      keys.trustRotations(m, ledger.rotations, faults);
    }
    if (m.batch_seq >= this.expectedBatch) {
      this.previous = m;
      this.expectedBatch = m.batch_seq + 1;
    }
  }
}

/** Where a covered manifest's account of its events (where they start, their times) disagrees with the chain and the events. */
function summaryProblems(m: BatchManifest, previous: BatchManifest | null, previousSize: number, contiguous: boolean, ledger: EventLedger): string[] {
  if (m.kind === 'heartbeat') {
    return m.tree_size !== previousSize && contiguous
      ? [`heartbeat batch ${m.batch_seq} says the tree has ${m.tree_size} events, but batch ${previous?.batch_seq ?? '(anchor)'} left it at ${previousSize}`]
      : [];
  }
  const problems: string[] = [];
  if (contiguous && m.first_seq !== previousSize + 1) problems.push(`batch ${m.batch_seq} starts at event ${m.first_seq}, but the batch before it ends at event ${previousSize}`);
  const oldest = ledger.boundaryTimes.get(m.first_seq!);
  const newest = ledger.boundaryTimes.get(m.last_seq!);
  if ((oldest !== undefined && oldest !== m.oldest) || (newest !== undefined && newest !== m.newest)) {
    problems.push(`batch ${m.batch_seq} gives its events' times as ${m.oldest} – ${m.newest}, but events ${m.first_seq} and ${m.last_seq} say ${oldest ?? '?'} – ${newest ?? '?'}`);
  }
  return problems;
}
