import { describe, expect, it } from 'vitest';
import {
  checkConsistency,
  checkInclusion,
  consistencyProof,
  inclusionProof,
  leafHash,
  MerkleProofError,
  nodeHash,
  rootFromInclusionProof,
  rootOf,
  type MerkleProofFailure,
} from '../../src/main/audit/merkle.js';

const leaves = Array.from({ length: 8 }, (_, i) => leafHash(Buffer.from([i])));

/** The reason a check throws, or null when it holds. */
function failureOf(check: () => unknown): MerkleProofFailure | null {
  try {
    check();
    return null;
  } catch (error) {
    if (error instanceof MerkleProofError) return error.reason;
    throw error;
  }
}

describe('Merkle inclusion proofs fail with a named reason', () => {
  const four = leaves.slice(0, 4);
  const root = rootOf(four);

  it('holds for a good proof', () => {
    expect(failureOf(() => checkInclusion(2, 4, four[2]!, inclusionProof(2, four), root))).toBeNull();
  });

  it('index_out_of_range: leaf 4 of a 4-leaf tree, a negative or fractional index', () => {
    const proof = inclusionProof(3, four);
    expect(failureOf(() => checkInclusion(4, 4, four[3]!, proof, root))).toBe('index_out_of_range');
    expect(failureOf(() => checkInclusion(-1, 4, four[0]!, proof, root))).toBe('index_out_of_range');
    expect(failureOf(() => checkInclusion(1.5, 4, four[1]!, proof, root))).toBe('index_out_of_range');
  });

  it('empty_tree: no leaf is in a tree of no leaves', () => {
    expect(failureOf(() => checkInclusion(0, 0, four[0]!, [], rootOf([])))).toBe('empty_tree');
  });

  it('wrong_proof_size: a hash short, a hash too many', () => {
    const proof = inclusionProof(1, four);
    expect(failureOf(() => checkInclusion(1, 4, four[1]!, proof.slice(1), root))).toBe('wrong_proof_size');
    expect(failureOf(() => checkInclusion(1, 4, four[1]!, [...proof, four[0]!], root))).toBe('wrong_proof_size');
  });

  it('root_mismatch: another leaf, or the root of another tree', () => {
    const proof = inclusionProof(1, four);
    expect(failureOf(() => checkInclusion(1, 4, leafHash(Buffer.from('forged')), proof, root))).toBe('root_mismatch');
    expect(failureOf(() => checkInclusion(1, 4, four[1]!, proof, rootOf(leaves.slice(0, 5))))).toBe('root_mismatch');
  });

  it('works past 2^32 leaves, where 32-bit bit operators would wrap', () => {
    // The last leaf of a tree of 2^32 + 1 leaves has one sibling: the perfect subtree of the first 2^32.
    const left = leafHash(Buffer.from('the first 2^32 leaves'));
    const leaf = leafHash(Buffer.from('the last one'));
    expect(rootFromInclusionProof(2 ** 32, 2 ** 32 + 1, leaf, [left]).equals(nodeHash(left, leaf))).toBe(true);
    expect(failureOf(() => rootFromInclusionProof(2 ** 32, 2 ** 32 + 1, leaf, [left, left]))).toBe('wrong_proof_size');
  });
});

describe('Merkle consistency proofs fail with a named reason', () => {
  const rootAt = (n: number) => rootOf(leaves.slice(0, n));

  it('holds for a good proof', () => {
    expect(failureOf(() => checkConsistency(3, 7, rootAt(3), rootAt(7), consistencyProof(3, leaves.slice(0, 7))))).toBeNull();
  });

  it('empty_tree: from a tree of no leaves', () => {
    expect(failureOf(() => checkConsistency(0, 4, rootAt(0), rootAt(4), []))).toBe('empty_tree');
  });

  it('size_out_of_range: from a larger tree to a smaller one', () => {
    expect(failureOf(() => checkConsistency(5, 4, rootAt(5), rootAt(4), consistencyProof(4, leaves.slice(0, 5))))).toBe('size_out_of_range');
  });

  it('wrong_proof_size: a hash short, or a proof between equal sizes that is not empty', () => {
    const proof = consistencyProof(3, leaves.slice(0, 7));
    expect(failureOf(() => checkConsistency(3, 7, rootAt(3), rootAt(7), proof.slice(0, -1)))).toBe('wrong_proof_size');
    expect(failureOf(() => checkConsistency(4, 4, rootAt(4), rootAt(4), [rootAt(4)]))).toBe('wrong_proof_size');
    expect(failureOf(() => checkConsistency(4, 8, rootAt(4), rootAt(8), []))).toBe('wrong_proof_size');
  });

  it('root_mismatch: a rewritten history, or another later tree', () => {
    const proof = consistencyProof(3, leaves.slice(0, 7));
    const rewritten = rootOf([...leaves.slice(0, 2), leafHash(Buffer.from('rewritten'))]);
    expect(failureOf(() => checkConsistency(3, 7, rewritten, rootAt(7), proof))).toBe('root_mismatch');
    expect(failureOf(() => checkConsistency(3, 7, rootAt(3), rootAt(8), proof))).toBe('root_mismatch');
    expect(failureOf(() => checkConsistency(4, 4, rootAt(4), rootAt(3), []))).toBe('root_mismatch');
  });
});
