// The RFC 6962 Merkle tree over every audit event since enrolment (RFC 9162
// section 2.1 for the proof algorithms). Leaves are the events' own hashes:
// event.hash is already SHA-256(0x00 ‖ JCS(event)), the RFC's leaf hash.
// Interior nodes are SHA-256(0x01 ‖ left ‖ right). Small and ours, as the
// design asks; checked against Certificate Transparency's published vectors.
import { createHash } from 'node:crypto';

export type Hash = Buffer;

export const EMPTY_ROOT: Hash = createHash('sha256').digest();

export function leafHash(data: Uint8Array): Hash {
  return createHash('sha256')
    .update(Buffer.from([0x00]))
    .update(data)
    .digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Hash {
  return createHash('sha256')
    .update(Buffer.from([0x01]))
    .update(left)
    .update(right)
    .digest();
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

/** Why a Merkle proof does not hold: each check names its own failure, as transparency-dev/merkle's proof package does. */
export type MerkleProofFailure =
  /** A proof in a tree of no leaves (or, for consistency, from one): there is nothing to prove. */
  | 'empty_tree'
  /** The leaf index is not in the tree (or not a whole number). */
  | 'index_out_of_range'
  /** A consistency proof from a larger tree to a smaller one. */
  | 'size_out_of_range'
  /** The proof has more or fewer hashes than the tree's shape calls for. */
  | 'wrong_proof_size'
  /** The proof has the right shape but does not lead to the root. */
  | 'root_mismatch';

export class MerkleProofError extends Error {
  readonly reason: MerkleProofFailure;

  constructor(reason: MerkleProofFailure, message: string) {
    super(message);
    this.name = 'MerkleProofError';
    this.reason = reason;
  }
}

const isTreeIndex = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

const TWO_32 = 2 ** 32;

/** The number of binary digits of n (0 for 0), for any safe integer: 32-bit operators on each half, so trees past 2^31 leaves work too. */
function bitLength(n: number): number {
  return n < TWO_32 ? 32 - Math.clz32(n) : 64 - Math.clz32(Math.floor(n / TWO_32));
}

/** a XOR b for safe non-negative integers. */
function xor(a: number, b: number): number {
  const low = (a ^ b) >>> 0;
  return a < TWO_32 && b < TWO_32 ? low : ((Math.floor(a / TWO_32) ^ Math.floor(b / TWO_32)) >>> 0) * TWO_32 + low;
}

/**
 * How an inclusion proof for leaf `index` in a tree of `size` splits: `inner`
 * hashes below the point where the leaf's path and the tree's right edge
 * meet (as many as the highest bit in which index and size-1 differ), then
 * `border` hashes along that edge (proof/verify.go's decompInclProof).
 */
function decomposeInclusionProof(index: number, size: number): { inner: number; border: number } {
  const inner = bitLength(xor(index, size - 1));
  let border = 0;
  for (let rest = Math.floor(index / 2 ** inner); rest > 0; rest = Math.floor(rest / 2)) border += rest % 2;
  return { inner, border };
}

/** Hashes seed up proof[from..to), the inner part of a path: the sibling is on the left where the index's bit is 1. */
function chainInner(seed: Hash, proof: readonly Hash[], from: number, to: number, index: number): Hash {
  let hash = seed;
  for (let i = from, rest = index; i < to; i++, rest = Math.floor(rest / 2)) hash = rest % 2 === 0 ? nodeHash(hash, proof[i]!) : nodeHash(proof[i]!, hash);
  return hash;
}

/** As chainInner, but only the left siblings: what the smaller tree of a consistency proof sees. */
function chainInnerRight(seed: Hash, proof: readonly Hash[], from: number, to: number, index: number): Hash {
  let hash = seed;
  for (let i = from, rest = index; i < to; i++, rest = Math.floor(rest / 2)) if (rest % 2 === 1) hash = nodeHash(proof[i]!, hash);
  return hash;
}

/** Hashes seed up proof[from..), the tree's right edge: every sibling there is on the left. */
function chainBorderRight(seed: Hash, proof: readonly Hash[], from: number): Hash {
  let hash = seed;
  for (let i = from; i < proof.length; i++) hash = nodeHash(proof[i]!, hash);
  return hash;
}

interface ProofFailure {
  reason: MerkleProofFailure;
  message: string;
}

const fails = (reason: MerkleProofFailure, message: string): ProofFailure => ({ reason, message });

function inclusionRoot(index: number, size: number, leaf: Hash, proof: readonly Hash[]): Hash | ProofFailure {
  if (!isTreeIndex(size) || size === 0) return fails('empty_tree', `no leaf is in a tree of ${size} leaves`);
  if (!isTreeIndex(index) || index >= size) return fails('index_out_of_range', `leaf ${index} is not in a tree of ${size} leaves`);
  const { inner, border } = decomposeInclusionProof(index, size);
  if (proof.length !== inner + border) return fails('wrong_proof_size', `the proof for leaf ${index} in a tree of ${size} has ${proof.length} hashes, not ${inner + border}`);
  return chainBorderRight(chainInner(leaf, proof, 0, inner, index), proof, inner);
}

function inclusionFailure(index: number, size: number, leaf: Hash, proof: readonly Hash[], root: Hash): ProofFailure | null {
  const computed = inclusionRoot(index, size, leaf, proof);
  if (!Buffer.isBuffer(computed)) return computed;
  return computed.equals(root) ? null : fails('root_mismatch', `the proof for leaf ${index} in a tree of ${size} does not lead to its root`);
}

/**
 * The root that `proof` leads to from `leaf` at `index` in a tree of `size`
 * (RFC 9162 2.1.3.2). Throws MerkleProofError when the proof cannot be one:
 * empty_tree, index_out_of_range, wrong_proof_size.
 */
export function rootFromInclusionProof(index: number, size: number, leaf: Hash, proof: readonly Hash[]): Hash {
  const computed = inclusionRoot(index, size, leaf, proof);
  if (!Buffer.isBuffer(computed)) throw new MerkleProofError(computed.reason, computed.message);
  return computed;
}

/** Throws MerkleProofError unless `proof` puts `leaf` at `index` in the tree of `size` with `root`. */
export function checkInclusion(index: number, size: number, leaf: Hash, proof: readonly Hash[], root: Hash): void {
  const failure = inclusionFailure(index, size, leaf, proof, root);
  if (failure) throw new MerkleProofError(failure.reason, failure.message);
}

/** Does `proof` put `leaf` at `index` in the tree of `size` with `root`? (checkInclusion, as a yes or no.) */
export function verifyInclusion(index: number, size: number, leaf: Hash, proof: readonly Hash[], root: Hash): boolean {
  return inclusionFailure(index, size, leaf, proof, root) === null;
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

/**
 * Throws MerkleProofError unless the tree of size `first` with `firstRoot` is
 * a prefix of the one of size `second` with `secondRoot` (RFC 9162 2.1.4.2,
 * as proof/verify.go's VerifyConsistency). A proof from the empty tree is
 * refused (empty_tree): every tree extends it, so it proves nothing here.
 */
export function checkConsistency(first: number, second: number, firstRoot: Hash, secondRoot: Hash, proof: readonly Hash[]): void {
  const failure = consistencyFailure(first, second, firstRoot, secondRoot, proof);
  if (failure) throw new MerkleProofError(failure.reason, failure.message);
}

function consistencyFailure(first: number, second: number, firstRoot: Hash, secondRoot: Hash, proof: readonly Hash[]): ProofFailure | null {
  if (!isTreeIndex(first) || first < 1) return fails('empty_tree', `no consistency proof starts from a tree of ${first} leaves`);
  if (!isTreeIndex(second) || first > second) return fails('size_out_of_range', `a tree of ${first} leaves is not a prefix of one of ${second}`);
  if (first === second) {
    if (proof.length !== 0) return fails('wrong_proof_size', `a tree is consistent with itself by an empty proof, not ${proof.length} hashes`);
    return firstRoot.equals(secondRoot) ? null : fails('root_mismatch', `two trees of ${first} leaves have different roots`);
  }
  // The proof is the tail of the inclusion proof of leaf first-1 in the larger
  // tree, from the level of the largest perfect subtree that ends the smaller
  // one; that subtree's root leads it, unless it is the whole smaller tree.
  const { inner: fullInner, border } = decomposeInclusionProof(first - 1, second);
  let shift = 0;
  while (Math.floor(first / 2 ** shift) % 2 === 0) shift += 1;
  const inner = fullInner - shift;
  const wholeTree = first === 2 ** shift;
  const seed = wholeTree ? firstRoot : proof[0];
  const path = wholeTree ? proof : proof.slice(1);
  if (seed === undefined || path.length !== inner + border) {
    return fails('wrong_proof_size', `the consistency proof from ${first} to ${second} leaves has ${proof.length} hashes, not ${(wholeTree ? 0 : 1) + inner + border}`);
  }
  const mask = Math.floor((first - 1) / 2 ** shift);
  if (!chainBorderRight(chainInnerRight(seed, path, 0, inner, mask), path, inner).equals(firstRoot)) {
    return fails('root_mismatch', `the consistency proof does not lead to the root of the tree of ${first} leaves`);
  }
  if (!chainBorderRight(chainInner(seed, path, 0, inner, mask), path, inner).equals(secondRoot)) {
    return fails('root_mismatch', `the consistency proof does not lead to the root of the tree of ${second} leaves`);
  }
  return null;
}

/** Is the tree of size `first` with `firstRoot` a prefix of the one of size `second`? (checkConsistency, as a yes or no.) */
export function verifyConsistency(first: number, second: number, firstRoot: Hash, secondRoot: Hash, proof: readonly Hash[]): boolean {
  return consistencyFailure(first, second, firstRoot, secondRoot, proof) === null;
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
