import { describe, expect, it } from 'vitest';
import { consistencyProof, EMPTY_ROOT, inclusionProof, leafHash, MerkleFrontier, rootOf, verifyConsistency, verifyInclusion } from '../support/audit-internals.js';

// Certificate Transparency's reference data for RFC 6962 (the leaves and the
// tree heads for sizes 1..8, and proofs published with them).
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => leafHash(Buffer.from(h, 'hex')));
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const hex = (hashes: Buffer[]) => hashes.map((h) => h.toString('hex'));
const many = Array.from({ length: 37 }, (_, i) => leafHash(Buffer.from([i, i * 7])));

describe('RFC 6962 Merkle tree', () => {
  it('has the published tree head for every size 0..8', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe(CT_ROOTS[0]);
    for (let n = 0; n <= 8; n++) expect(rootOf(CT_LEAVES.slice(0, n)).toString('hex'), `size ${n}`).toBe(CT_ROOTS[n]);
  });

  it('gives the published inclusion proofs', () => {
    expect(hex(inclusionProof(0, CT_LEAVES))).toEqual([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect(hex(inclusionProof(5, CT_LEAVES))).toEqual([
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
  });

  it('gives the published consistency proofs', () => {
    expect(hex(consistencyProof(1, CT_LEAVES))).toEqual([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect(hex(consistencyProof(6, CT_LEAVES))).toEqual([
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
    expect(hex(consistencyProof(2, CT_LEAVES.slice(0, 5)))).toEqual([
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ]);
  });

  it('every inclusion proof verifies in every tree size up to 37, and fails for another leaf, index or root', () => {
    for (let size = 1; size <= many.length; size++) {
      const leaves = many.slice(0, size);
      const root = rootOf(leaves);
      for (let i = 0; i < size; i++) {
        const proof = inclusionProof(i, leaves);
        expect(verifyInclusion(i, size, leaves[i]!, proof, root), `${i} of ${size}`).toBe(true);
        expect(verifyInclusion(i, size, leafHash(Buffer.from('forged')), proof, root)).toBe(false);
        if (size > 1) expect(verifyInclusion((i + 1) % size, size, leaves[i]!, proof, root)).toBe(false);
        if (size < many.length) expect(verifyInclusion(i, size, leaves[i]!, proof, rootOf(many.slice(0, size + 1)))).toBe(false);
      }
    }
  });

  it('every consistency proof verifies between every pair of sizes up to 37, and fails for a changed history', () => {
    for (let second = 1; second <= many.length; second++) {
      const leaves = many.slice(0, second);
      const secondRoot = rootOf(leaves);
      for (let first = 1; first <= second; first++) {
        const firstRoot = rootOf(leaves.slice(0, first));
        const proof = consistencyProof(first, leaves);
        expect(verifyConsistency(first, second, firstRoot, secondRoot, proof), `${first} → ${second}`).toBe(true);
        // The same later tree, but an earlier tree whose last event was changed.
        const rewritten = [...leaves.slice(0, first - 1), leafHash(Buffer.from('rewritten'))];
        if (first < second) expect(verifyConsistency(first, second, rootOf(rewritten), secondRoot, proof)).toBe(false);
      }
    }
  });

  it('the frontier gives the same root as the whole tree at every size, and survives a round trip', () => {
    const frontier = new MerkleFrontier();
    expect(frontier.root()).toEqual(EMPTY_ROOT);
    for (let i = 0; i < many.length; i++) {
      frontier.append(many[i]!);
      const restored = MerkleFrontier.fromJSON(JSON.parse(JSON.stringify(frontier)) as ReturnType<MerkleFrontier['toJSON']>);
      expect(restored.root().toString('hex'), `size ${i + 1}`).toBe(rootOf(many.slice(0, i + 1)).toString('hex'));
      expect(restored.size).toBe(i + 1);
    }
    expect(() => MerkleFrontier.fromJSON({ size: 5, nodes: [[4, '00'.repeat(32)]] })).toThrow(/does not add up/);
  });
});
