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
