// MerkleProofBuilder: roots and inclusion proofs from an anchor frontier plus
// the leaves after it must equal the reference recursion over all leaves, for
// every tree size, every anchor and every leaf.
import { describe, expect, it } from 'vitest';
import { inclusionProof, leafHash, MerkleFrontier, MerkleProofBuilder, rootOf, verifyInclusion, type Hash } from '../support/audit-internals.js';

const MAX = 70;
const leaves = Array.from({ length: MAX }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
const hex = (hashes: readonly Hash[]) => hashes.map((h) => h.toString('hex'));

function frontierOf(count: number): MerkleFrontier {
  const frontier = new MerkleFrontier();
  for (const leaf of leaves.slice(0, count)) frontier.append(leaf);
  return frontier;
}

function builderFrom(anchor: number, through: number): MerkleProofBuilder {
  const builder = new MerkleProofBuilder(frontierOf(anchor));
  for (const leaf of leaves.slice(anchor, through)) builder.append(leaf);
  return builder;
}

// The reference proofs depend only on the leaf and the tree size: compute each once.
const referenceRoots = Array.from({ length: MAX + 1 }, (_, size) => rootOf(leaves.slice(0, size)));
const referenceProofs = Array.from({ length: MAX + 1 }, (_, size) => Array.from({ length: size }, (_, index) => hex(inclusionProof(index, leaves.slice(0, size)))));

describe('MerkleProofBuilder (proofs from an anchor frontier and the covered leaves)', () => {
  it('gives the reference root and every inclusion proof for all tree sizes up to 70 and all anchors', () => {
    for (let anchor = 0; anchor <= MAX; anchor++) {
      const builder = builderFrom(anchor, MAX);
      expect(builder.start).toBe(anchor);
      expect(builder.size).toBe(MAX);
      for (let size = anchor; size <= MAX; size++) {
        expect(builder.root(size).equals(referenceRoots[size]!), `root of ${size} from anchor ${anchor}`).toBe(true);
        for (let index = anchor; index < size; index++) {
          const proof = builder.inclusionProof(index, size);
          expect(hex(proof), `leaf ${index} of ${size} from anchor ${anchor}`).toEqual(referenceProofs[size]![index]);
          expect(verifyInclusion(index, size, leaves[index]!, proof, referenceRoots[size]!)).toBe(true);
        }
      }
    }
  });

  it('answers while leaves are still being appended (a builder is never asked beyond what it holds)', () => {
    for (let anchor = 0; anchor <= 40; anchor++) {
      const builder = new MerkleProofBuilder(frontierOf(anchor));
      for (let size = anchor + 1; size <= 40; size++) {
        builder.append(leaves[size - 1]!);
        expect(builder.root(size).equals(referenceRoots[size]!)).toBe(true);
        expect(hex(builder.inclusionProof(size - 1, size))).toEqual(referenceProofs[size]![size - 1]);
        expect(hex(builder.inclusionProof(anchor, size))).toEqual(referenceProofs[size]![anchor]);
      }
    }
  });

  it('refuses leaves before the anchor, trees smaller than the anchor and sizes not appended yet', () => {
    const builder = builderFrom(10, 20);
    expect(() => builder.inclusionProof(9, 20)).toThrow(RangeError);
    expect(() => builder.inclusionProof(10, 21)).toThrow(RangeError);
    expect(() => builder.inclusionProof(15, 15)).toThrow(RangeError);
    expect(() => builder.root(9)).toThrow(RangeError);
    expect(() => builder.root(21)).toThrow(RangeError);
    expect(builder.root(10).equals(frontierOf(10).root())).toBe(true);
  });

  it('the root of the empty anchor with no leaves is the empty tree head', () => {
    expect(new MerkleProofBuilder(new MerkleFrontier()).root(0).equals(rootOf([]))).toBe(true);
  });
});
