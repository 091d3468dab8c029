// The RFC 6962 Merkle tree over every audit event since enrolment (RFC 9162
// section 2.1 for the proof algorithms). Leaves are the events' own hashes:
// event.hash is already SHA-256(0x00 ‖ JCS(event)), the RFC's leaf hash.
// Interior nodes are SHA-256(0x01 ‖ left ‖ right). Small and ours, as the
// design asks; checked against Certificate Transparency's published vectors.
import { createHash } from 'node:crypto';

export type Hash = Buffer;

export const EMPTY_ROOT: Hash = createHash('sha256').digest();

export function leafHash(data: Uint8Array): Hash {
  return createHash('sha256').update(Buffer.from([0x00])).update(data).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Hash {
  return createHash('sha256').update(Buffer.from([0x01])).update(left).update(right).digest();
}

/** The largest power of two smaller than n (n > 1): where RFC 6962 splits a tree. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes. */
export function rootOf(leaves: readonly Hash[]): Hash {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0]!;
  const k = split(leaves.length);
  return nodeHash(rootOf(leaves.slice(0, k)), rootOf(leaves.slice(k)));
}

/** PATH(m, D[n]): the audit path proving leaf m is in the tree of these leaves. */
export function inclusionProof(index: number, leaves: readonly Hash[]): Hash[] {
  if (index < 0 || index >= leaves.length) throw new RangeError(`leaf ${index} is not in a tree of ${leaves.length}`);
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return index < k ? [...inclusionProof(index, leaves.slice(0, k)), rootOf(leaves.slice(k))] : [...inclusionProof(index - k, leaves.slice(k)), rootOf(leaves.slice(0, k))];
}

/** RFC 9162 2.1.3.2: does `proof` put `leaf` at `index` in the tree of `size` with `root`? */
export function verifyInclusion(index: number, size: number, leaf: Hash, proof: readonly Hash[], root: Hash): boolean {
  if (index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

/** PROOF(m, D[n]): that the tree of the first m leaves is a prefix of the tree of all of them. */
export function consistencyProof(m: number, leaves: readonly Hash[]): Hash[] {
  if (m < 1 || m > leaves.length) throw new RangeError(`no consistency proof from ${m} to ${leaves.length}`);
  const subproof = (m: number, d: readonly Hash[], complete: boolean): Hash[] => {
    if (m === d.length) return complete ? [] : [rootOf(d)];
    const k = split(d.length);
    return m <= k ? [...subproof(m, d.slice(0, k), complete), rootOf(d.slice(k))] : [...subproof(m - k, d.slice(k), false), rootOf(d.slice(0, k))];
  };
  return subproof(m, leaves, true);
}

/** RFC 9162 2.1.4.2: is the tree of size `first` with `firstRoot` a prefix of the one of size `second`? */
export function verifyConsistency(first: number, second: number, firstRoot: Hash, secondRoot: Hash, proof: readonly Hash[]): boolean {
  if (first < 1 || first > second) return false;
  if (first === second) return proof.length === 0 && firstRoot.equals(secondRoot);
  let path = [...proof];
  // A first tree that is a perfect, left-most subtree is its own first node.
  if ((first & (first - 1)) === 0) path = [firstRoot, ...path];
  if (path.length === 0) return false;
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return fr.equals(firstRoot) && sr.equals(secondRoot) && sn === 0;
}

/**
 * The tree's right edge: the roots of its perfect subtrees, largest first.
 * Appending is O(log n) and so is the root, so sealing a batch never re-reads
 * every event since enrolment. Its hex form is what the store keeps.
 */
export class MerkleFrontier {
  #size: number;
  /** [subtree size, root], sizes strictly decreasing powers of two. */
  #nodes: [number, Hash][];

  constructor(size = 0, nodes: [number, Hash][] = []) {
    this.#size = size;
    this.#nodes = nodes;
  }

  get size(): number {
    return this.#size;
  }

  append(leaf: Hash): void {
    let node: [number, Hash] = [1, leaf];
    while (this.#nodes.length > 0 && this.#nodes.at(-1)![0] === node[0]) {
      const [size, left] = this.#nodes.pop()!;
      node = [size * 2, nodeHash(left, node[1])];
    }
    this.#nodes.push(node);
    this.#size += 1;
  }

  root(): Hash {
    if (this.#nodes.length === 0) return EMPTY_ROOT;
    let root = this.#nodes.at(-1)![1];
    for (let i = this.#nodes.length - 2; i >= 0; i--) root = nodeHash(this.#nodes[i]![1], root);
    return root;
  }

  toJSON(): { size: number; nodes: [number, string][] } {
    return { size: this.#size, nodes: this.#nodes.map(([size, hash]) => [size, hash.toString('hex')]) };
  }

  static fromJSON(value: { size: number; nodes: [number, string][] }): MerkleFrontier {
    const nodes = value.nodes.map(([size, hex]): [number, Hash] => [size, Buffer.from(hex, 'hex')]);
    if (nodes.reduce((sum, [size]) => sum + size, 0) !== value.size) throw new Error('The stored Merkle frontier does not add up to its size.');
    return new MerkleFrontier(value.size, nodes);
  }
}

/**
 * Roots and inclusion proofs for the leaves appended after a known frontier,
 * without the leaves before it: what an export needs to prove each selected
 * event against the signed root of its batch when it holds only the anchor
 * batch's stored frontier and the events after it.
 *
 * It works because of the compact-range property of RFC 6962 trees: every
 * subtree of a tree of size T ≥ A that lies wholly before leaf A is either one
 * of the perfect subtrees on A's frontier or is never needed (a proof for a
 * leaf at or after A only uses, to its left, perfect aligned subtrees whose
 * right neighbour contains A or the leaf, and those are exactly A's frontier
 * nodes; a subtree straddling A splits into frontier nodes and later leaves).
 * Perfect subtrees after A are computed once and cached, so a proof costs
 * O(log² T) hashes at worst, not the O(T) of inclusionProof over all leaves.
 */
export class MerkleProofBuilder {
  /** A: leaves before this index are known only through the frontier. */
  readonly #start: number;
  /** Frontier nodes by the index of their first leaf: [subtree size, root]. */
  readonly #frontier: Map<number, [number, Hash]>;
  /** #levels[h][j - (A >> h)]: the root of the perfect subtree of 2^h leaves starting at leaf j·2^h. Level 0 holds the leaves. */
  readonly #levels: (Hash | undefined)[][] = [[]];
  /** Roots of the incomplete right-edge subtrees already computed, by "start:end". */
  readonly #edges = new Map<string, Hash>();

  constructor(anchor: MerkleFrontier) {
    const { size, nodes } = anchor.toJSON();
    this.#start = size;
    this.#frontier = new Map();
    let offset = 0;
    for (const [nodeSize, hex] of nodes) {
      this.#frontier.set(offset, [nodeSize, Buffer.from(hex, 'hex')]);
      offset += nodeSize;
    }
  }

  /** The anchor's size: the first leaf this builder holds. */
  get start(): number {
    return this.#start;
  }

  /** The tree's size so far (anchor plus appended leaves). */
  get size(): number {
    return this.#start + this.#levels[0]!.length;
  }

  append(leaf: Hash): void {
    this.#levels[0]!.push(leaf);
  }

  /** An appended leaf, by its index in the whole tree. */
  leaf(index: number): Hash {
    const leaf = this.#levels[0]![index - this.#start];
    if (!leaf) throw new RangeError(`leaf ${index} is not among the appended leaves ${this.#start}..${this.size - 1}`);
    return leaf;
  }

  /** MTH of the first `treeSize` leaves, for any treeSize from the anchor's size to the current size. */
  root(treeSize: number): Hash {
    if (!Number.isSafeInteger(treeSize) || treeSize < this.#start || treeSize > this.size) {
      throw new RangeError(`no root for a tree of ${treeSize} from leaves ${this.#start}..${this.size}`);
    }
    return treeSize === 0 ? EMPTY_ROOT : this.#range(0, treeSize);
  }

  /** PATH(index, D[treeSize]) for a leaf after the anchor: equal to inclusionProof(index, leaves.slice(0, treeSize)). */
  inclusionProof(index: number, treeSize: number): Hash[] {
    if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < this.#start || index >= treeSize || treeSize > this.size) {
      throw new RangeError(`no proof for leaf ${index} in a tree of ${treeSize} from leaves ${this.#start}..${this.size}`);
    }
    // Walk down from the root, collecting the sibling at each split; the
    // proof lists them from the leaf up.
    const siblings: Hash[] = [];
    let low = 0;
    let high = treeSize;
    while (high - low > 1) {
      const k = split(high - low);
      if (index < low + k) {
        siblings.push(this.#range(low + k, high));
        high = low + k;
      } else {
        siblings.push(this.#range(low, low + k));
        low += k;
      }
    }
    return siblings.reverse();
  }

  /** MTH of leaves [low, high), a subtree of some RFC 6962 tree (so `low` is aligned to the split). */
  #range(low: number, high: number): Hash {
    const n = high - low;
    if (n <= 2 ** 30 && (n & (n - 1)) === 0 && low % n === 0) return this.#perfect(Math.log2(n), low / n);
    const key = `${low}:${high}`;
    const cached = this.#edges.get(key);
    if (cached) return cached;
    const k = split(n);
    const hash = nodeHash(this.#range(low, low + k), this.#range(low + k, high));
    this.#edges.set(key, hash);
    return hash;
  }

  /** The perfect subtree of 2^height leaves starting at leaf index·2^height. */
  #perfect(height: number, index: number): Hash {
    const width = 2 ** height;
    const first = index * width;
    const end = first + width;
    if (end <= this.#start) {
      const node = this.#frontier.get(first);
      if (!node || node[0] !== width) throw new RangeError(`leaves ${first}..${end - 1} are before the anchor and not a node of its frontier`);
      return node[1];
    }
    if (end > this.size) throw new RangeError(`leaves ${first}..${end - 1} are not all appended yet`);
    const level = (this.#levels[height] ??= []);
    const slot = index - Math.floor(this.#start / width);
    const cached = level[slot];
    if (cached) return cached;
    const hash = height === 0 ? this.#levels[0]![slot]! : nodeHash(this.#perfect(height - 1, 2 * index), this.#perfect(height - 1, 2 * index + 1));
    if (height > 0) level[slot] = hash;
    return hash;
  }
}
