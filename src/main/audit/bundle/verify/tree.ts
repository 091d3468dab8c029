// The Merkle tree recomputed from the anchor's frontier and the events'
// hashes, leaf by leaf in sequence order, and its roots for the manifests and
// the inclusion proofs to be checked against.
import { MerkleProofBuilder, type Hash, type MerkleFrontier } from '../../merkle.js';

/** Out-of-order events waiting for a gap before them to fill; past this, the tree is declared broken. */
const MAX_PENDING_LEAVES = 1_000_000;

export class RecomputedTree {
  readonly #tree: MerkleProofBuilder;
  /** Recomputed roots by tree size (hex), for the proofs. */
  readonly #roots = new Map<number, string>();
  /** Leaves that came before the gap before them filled. */
  readonly #pending = new Map<number, Hash>();
  #broken = false;
  /** The first batch whose signed root the recomputed tree missed: every later root misses too, so those are not checked. */
  #divergedAt: number | null = null;

  constructor(anchor: MerkleFrontier) {
    this.#tree = new MerkleProofBuilder(anchor);
  }

  /** The tree size so far (the anchor's and the leaves appended). */
  get size(): number {
    return this.#tree.size;
  }

  /** Once a leaf is unknown (an unreadable event), no root after it can be recomputed. */
  get broken(): boolean {
    return this.#broken;
  }

  markBroken(): void {
    this.#broken = true;
  }

  get diverged(): boolean {
    return this.#divergedAt !== null;
  }

  markDiverged(batchSeq: number): void {
    this.#divergedAt = batchSeq;
  }

  /** The leaf of event seq, hex (it must have been appended). */
  leafHex(seq: number): string {
    return this.#tree.leaf(seq - 1).toString('hex');
  }

  inclusionProof(seq: number, treeSize: number): Hash[] {
    return this.#tree.inclusionProof(seq - 1, treeSize);
  }

  /**
   * Appends event seq's leaf in sequence order; an early one waits for the gap
   * before it. Calls afterEach after every leaf appended (the one given and
   * those that waited for it); returns whether any was.
   */
  add(seq: number, leaf: Hash, afterEach: () => void): boolean {
    if (this.#broken) return false;
    if (seq !== this.#tree.size + 1) {
      if (seq > this.#tree.size + 1 && !this.#pending.has(seq)) {
        if (this.#pending.size >= MAX_PENDING_LEAVES) this.#broken = true;
        else this.#pending.set(seq, leaf);
      }
      return false;
    }
    this.#tree.append(leaf);
    afterEach();
    for (let next = this.#pending.get(this.#tree.size + 1); next; next = this.#pending.get(this.#tree.size + 1)) {
      this.#pending.delete(this.#tree.size + 1);
      this.#tree.append(next);
      afterEach();
    }
    return true;
  }

  /** The recomputed root of the first `treeSize` events (hex), or null when the tree cannot give it. */
  rootAt(treeSize: number): string | null {
    if (this.#broken || treeSize < this.#tree.start || treeSize > this.#tree.size) return null;
    let root = this.#roots.get(treeSize);
    if (root === undefined) {
      root = this.#tree.root(treeSize).toString('hex');
      this.#roots.set(treeSize, root);
    }
    return root;
  }
}
