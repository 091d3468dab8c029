// proofs.jsonl: an RFC 6962 inclusion proof for each selected event, in
// sequence order, against the root its batch's manifest signs. A proof is
// checked once the recomputed tree reaches its size.
import { existsSync } from 'node:fs';
import { BUNDLE_FILES, InclusionProofLineSchema, type InclusionProofLine } from '../format.js';
import type { BatchManifest } from '../../manifest.js';
import { checkInclusion, MerkleProofError } from '../../merkle.js';
import type { AuditRecord } from '../../record.js';
import { FAULT_KEY, type FaultLog } from './faults.js';
import { EventState, OUTSIDE, type EventLedger } from './events.js';
import { describeIssue, fileLines } from './read.js';
import type { BundleProblem } from './report.js';
import type { RecomputedTree } from './tree.js';

/** Proofs kept while their event has not come yet (it may be out of order). */
const MAX_EARLY_PROOFS = 10_000;

interface ProofAt {
  line: number;
  proof: InclusionProofLine;
}

/**
 * Does the proof lead from the event's leaf to the root its manifest signs?
 * Where the recomputed tree has that root, the proof holds exactly when it is
 * the tree's own audit path for the leaf (RFC 6962 paths are unique), which
 * costs no hashing; elsewhere (a broken tree, a root mismatch) it is checked
 * on its own (checkInclusion).
 */
export function proofLeadsToRoot(seq: number, proof: InclusionProofLine, manifest: BatchManifest, tree: RecomputedTree, recomputedRoot: string | null): boolean {
  if (recomputedRoot === manifest.root && tree.leafHex(seq) === proof.leaf_hash) {
    const path = tree.inclusionProof(seq, proof.tree_size);
    return path.length === proof.path.length && path.every((hash, i) => hash.toString('hex') === proof.path[i]);
  }
  try {
    checkInclusion(
      seq - 1,
      proof.tree_size,
      Buffer.from(proof.leaf_hash, 'hex'),
      proof.path.map((h) => Buffer.from(h, 'hex')),
      Buffer.from(manifest.root, 'hex'),
    );
    return true;
  } catch (error) {
    if (error instanceof MerkleProofError) return false;
    throw error;
  }
}

/** Why a proof cannot be the selected event's in its batch's tree (before any hashing), or null. */
export function proofClaimProblem(seq: number, record: AuditRecord, proof: InclusionProofLine, manifest: BatchManifest | undefined): string | null {
  if (proof.event_id !== record.event.id || proof.leaf_hash !== record.event.hash || proof.leaf_index !== seq - 1) return 'it names another event, leaf or index';
  if (!manifest) return `it names batch ${proof.batch_seq}, whose manifest is not in the bundle`;
  if (manifest.first_seq === null || seq < manifest.first_seq || seq > manifest.last_seq!) return `batch ${proof.batch_seq} does not seal event ${seq}`;
  if (proof.tree_size !== manifest.tree_size) return `its tree size ${proof.tree_size} is not batch ${manifest.batch_seq}'s ${manifest.tree_size}`;
  return null;
}

export interface ProofCheckOptions {
  path: string;
  faults: FaultLog;
  ledger: EventLedger;
  tree: RecomputedTree;
  manifestOf(batchSeq: number): BatchManifest | undefined;
}

/** Reads proofs.jsonl alongside events.jsonl and checks each selected event's proof. */
export class ProofChecker {
  readonly #o: ProofCheckOptions;
  readonly #exists: boolean;
  readonly #lines: Generator<string> | null;
  #lineNo = 0;
  #next: ProofAt | null = null;
  /** Proofs met before their event, which may still come (out of order); an event that never comes is reported as missing, not its proof. */
  readonly #early = new Map<number, ProofAt>();
  /** Proofs waiting for the tree to reach their size. */
  readonly #queue: { seq: number; line: number; proof: InclusionProofLine; manifest: BatchManifest }[] = [];
  /** Batches with an invalid proof of one of their events. */
  readonly batchesWithBadProofs = new Set<number>();
  checked = 0;

  constructor(options: ProofCheckOptions) {
    this.#o = options;
    this.#exists = existsSync(options.path);
    if (!this.#exists) options.faults.file(FAULT_KEY.bundle, 'missing', BUNDLE_FILES.proofs, `${BUNDLE_FILES.proofs} is missing`);
    this.#lines = this.#exists ? fileLines(options.path) : null;
    this.#advance();
  }

  /** Checks the proof of selected event seq: its claims now, its path once the tree reaches its size. */
  check(seq: number, record: AuditRecord): void {
    const found = this.#take(seq);
    if (!found) return;
    this.checked += 1;
    const { proof, line } = found;
    const manifest = this.#o.manifestOf(proof.batch_seq);
    const why = proofClaimProblem(seq, record, proof, manifest);
    if (why) this.#invalid(seq, line, proof.batch_seq, why);
    else this.#queue.push({ seq, line, proof, manifest: manifest! });
  }

  /** Steps past the proof of a selected event that was altered (its fault says it all). */
  skip(seq: number): void {
    this.#take(seq);
  }

  /** Checks queued proofs whose tree the events have reached (all of them at the end). */
  drain(atEnd: boolean): void {
    const { tree } = this.#o;
    while (this.#queue.length > 0) {
      const { seq, line, proof, manifest } = this.#queue[0]!;
      const root = tree.rootAt(proof.tree_size);
      if (root === null && !atEnd && !tree.broken) return;
      this.#queue.shift();
      if (!proofLeadsToRoot(seq, proof, manifest, tree, root)) this.#invalid(seq, line, proof.batch_seq, `it does not lead to the root signed in batch ${proof.batch_seq}`);
    }
  }

  /** The proofs left after the last selected event: each is for an event not selected, or outside the bundle. */
  finish(): void {
    for (let current = this.#next; current; current = this.#next) {
      this.#passOver(current);
      this.#advance();
    }
  }

  #fault(seq: number | null, line: number | null, detail: string, problem: BundleProblem = 'proof_invalid', batchSeq: number | null = null): void {
    this.#o.faults.add(seq === null ? FAULT_KEY.end : seq + 0.3, { problem, sequence: seq, batchSeq, file: BUNDLE_FILES.proofs, line, detail });
  }

  #invalid(seq: number, line: number, batchSeq: number, why: string): void {
    this.batchesWithBadProofs.add(batchSeq);
    this.#fault(seq, line, `the inclusion proof of event ${seq} is invalid: ${why}`, 'proof_invalid', batchSeq);
  }

  /** Reads on to the next line that is a proof. */
  #advance(): void {
    this.#next = null;
    if (!this.#lines) return;
    for (let step = this.#lines.next(); !step.done; step = this.#lines.next()) {
      this.#lineNo += 1;
      let parsed: ReturnType<typeof InclusionProofLineSchema.safeParse>;
      try {
        parsed = InclusionProofLineSchema.safeParse(JSON.parse(step.value));
      } catch {
        this.#fault(null, this.#lineNo, 'the line is not valid JSON', 'malformed');
        continue;
      }
      if (!parsed.success) {
        this.#fault(null, this.#lineNo, `the line is not an inclusion proof (${describeIssue(parsed.error)})`, 'malformed');
        continue;
      }
      this.#next = { line: this.#lineNo, proof: parsed.data };
      return;
    }
  }

  #passOver(found: ProofAt): void {
    const seq = found.proof.seq;
    const status = this.#o.ledger.statusOf(seq);
    if (status === EventState.missing) {
      if (this.#early.size < MAX_EARLY_PROOFS) this.#early.set(seq, found);
      return;
    }
    this.#fault(
      seq,
      found.line,
      status === OUTSIDE ? `a proof for event ${seq}, which is outside the covered events` : `a proof for event ${seq}, which is not selected (or is out of sequence order)`,
    );
  }

  /** The proof of a selected event: the next in the file, after passing over those of earlier events. */
  #take(seq: number): ProofAt | null {
    let current = this.#next;
    while (current && current.proof.seq < seq) {
      this.#passOver(current);
      this.#advance();
      current = this.#next;
    }
    if (current && current.proof.seq === seq) {
      this.#advance();
      return current;
    }
    const held = this.#early.get(seq);
    if (held) {
      this.#early.delete(seq);
      return held;
    }
    if (this.#exists) this.#fault(seq, null, `there is no inclusion proof for selected event ${seq}`, 'missing');
    return null;
  }
}
