// The bundle verifier's steps on their own: each takes what it checks and
// answers with a named problem (or records a fault), without a bundle folder.
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { publicKeyId } from '../../src/main/tls/index.js';
import { EventLedger, EventState } from '../../src/main/audit/bundle/verify/events.js';
import { FaultLog } from '../../src/main/audit/bundle/verify/faults.js';
import { KeyRing } from '../../src/main/audit/bundle/verify/keys.js';
import { chainProblem } from '../../src/main/audit/bundle/verify/manifests.js';
import { proofLeadsToRoot } from '../../src/main/audit/bundle/verify/proofs.js';
import { RecomputedTree } from '../../src/main/audit/bundle/verify/tree.js';
import { manifestHash, manifestSigningInput, type BatchManifest } from '../../src/main/audit/manifest.js';
import { inclusionProof, leafHash, MerkleFrontier, rootOf } from '../../src/main/audit/merkle.js';

const HEX = (c: string) => c.repeat(64);

function manifest(fields: Partial<BatchManifest>): BatchManifest {
  return {
    format: 'enclave-audit-batch/v1',
    origin: { institution: 'St Example', host_id: 'host-1', host_name: 'ws1' },
    batch_seq: 1,
    kind: 'events',
    first_seq: 1,
    last_seq: 2,
    event_count: 2,
    oldest: '2025-03-01T08:00:00.000Z',
    newest: '2025-03-01T08:01:00.000Z',
    created: '2025-03-01T08:02:00.000Z',
    tree_size: 2,
    root: HEX('a'),
    prev_manifest_hash: null,
    prev_signature: null,
    start: { reason: 'enrolment' },
    key_id: HEX('1'),
    alg: 'Ed25519',
    signature: 'c2lnbmF0dXJl',
    ...fields,
  };
}

describe('the manifest chain step', () => {
  const first = manifest({});
  const chained = (fields: Partial<BatchManifest> = {}) =>
    manifest({ batch_seq: 2, first_seq: 3, last_seq: 3, event_count: 1, tree_size: 3, start: null, prev_manifest_hash: manifestHash(first), prev_signature: first.signature, ...fields });

  it('accepts a manifest that names the one before it', () => {
    expect(chainProblem(chained(), first, 'batch 2', [], null)).toBeNull();
  });

  it('names a manifest that chains to another one', () => {
    expect(chainProblem(chained({ prev_manifest_hash: HEX('b') }), first, 'batch 2', [], null)).toBe(
      'batch 2 does not chain to batch 1: its prev_manifest_hash / prev_signature name another manifest',
    );
  });

  it('refuses a key rotation that no audit.key_rotate event in the batch before announces, and accepts one that does', () => {
    const rotated = chained({ prev_manifest_hash: null, prev_signature: null, start: { reason: 'key_rotation', previous_key_id: first.key_id }, key_id: HEX('2') });
    expect(chainProblem(rotated, first, 'batch 2', [], null)).toMatch(/^batch 2 starts a new chain with key 2{16}…, but batch 1 holds no audit\.key_rotate event naming it$/);
    const announced = [{ seq: 2, oldKeyId: first.key_id, newKeyId: HEX('2'), newPublicKey: '' }];
    expect(chainProblem(rotated, first, 'batch 2', announced, null)).toBeNull();
  });

  it('refuses a manifest that claims to start the chain after another', () => {
    expect(chainProblem(chained({ prev_manifest_hash: null, prev_signature: null, start: { reason: 'enrolment' } }), first, 'batch 2', [], null)).toBe(
      'batch 2 claims to start the chain (enrolment) after batch 1',
    );
  });
});

describe('the signature step', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const keyId = publicKeyId(spki);
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const signed = (m: BatchManifest): BatchManifest => ({ ...m, signature: sign(null, manifestSigningInput(m), privateKey).toString('base64') });
  const listed = new Map([[keyId, { pem, spkiBase64: spki.toString('base64') }]]);

  it('accepts a trusted key and notes it as a signer', () => {
    const ring = new KeyRing({ listed, expectedKeyIds: [keyId] });
    expect(ring.signatureProblem(signed(manifest({ key_id: keyId })))).toBeNull();
    expect(ring.signers).toEqual([keyId]);
  });

  it('bad_signature for an altered manifest; wrong_key for a listed key nobody trusts, or one keys.json does not hold', () => {
    const ring = new KeyRing({ listed, expectedKeyIds: [HEX('9')] });
    const good = signed(manifest({ key_id: keyId }));
    expect(new KeyRing({ listed, expectedKeyIds: [keyId] }).signatureProblem({ ...good, event_count: 2, newest: '2025-03-01T08:01:30.000Z' })?.problem).toBe('bad_signature');
    expect(ring.signatureProblem(good)?.problem).toBe('wrong_key');
    expect(ring.signatureProblem(good)?.detail).toMatch(/is not an expected key id/);
    expect(ring.signatureProblem(manifest({ key_id: HEX('3') }))).toEqual({ problem: 'wrong_key', detail: `batch 1 is signed by key ${HEX('3')}, which keys.json does not hold` });
    expect(ring.signers).toEqual([]);
  });
});

describe('the inclusion proof step', () => {
  const leaves = Array.from({ length: 6 }, (_, i) => leafHash(Buffer.from([i])));
  const root = rootOf(leaves).toString('hex');
  const tree = new RecomputedTree(new MerkleFrontier());
  for (let seq = 1; seq <= leaves.length; seq++) tree.add(seq, leaves[seq - 1]!, () => undefined);
  const batch = manifest({ first_seq: 1, last_seq: 6, event_count: 6, tree_size: 6, root });
  const proofOf = (seq: number, path = inclusionProof(seq - 1, leaves).map((h) => h.toString('hex'))) => ({
    seq,
    event_id: `e${seq}`,
    batch_seq: 1,
    leaf_index: seq - 1,
    tree_size: 6,
    leaf_hash: leaves[seq - 1]!.toString('hex'),
    path,
  });

  it('holds for the audit path of the recomputed tree, and for a proof checked on its own when the tree has another root', () => {
    expect(proofLeadsToRoot(4, proofOf(4), batch, tree, tree.rootAt(6))).toBe(true);
    expect(proofLeadsToRoot(4, proofOf(4), batch, tree, null)).toBe(true);
  });

  it('fails for a changed sibling, a path a hash short, or a root another tree signs', () => {
    const path = proofOf(4).path;
    const changed = [HEX('0'), ...path.slice(1)];
    expect(proofLeadsToRoot(4, proofOf(4, changed), batch, tree, tree.rootAt(6))).toBe(false);
    expect(proofLeadsToRoot(4, proofOf(4, changed), batch, tree, null)).toBe(false);
    expect(proofLeadsToRoot(4, proofOf(4, path.slice(1)), batch, tree, null)).toBe(false);
    expect(proofLeadsToRoot(4, proofOf(4), { ...batch, root: HEX('c') }, tree, tree.rootAt(6))).toBe(false);
  });
});

describe('the event ledger', () => {
  it('reports each run of unseen events once, naming the line that jumped over them, and leaves what no trusted root covers unverified', () => {
    const ledger = new EventLedger(10, 16);
    const faults = new FaultLog();
    ledger.set(11, EventState.valid);
    ledger.noteGap({ from: 12, to: 13, jumper: 14, line: 2 });
    ledger.set(14, EventState.valid);
    ledger.set(15, EventState.valid);
    ledger.settle(14, faults);
    expect(faults.sorted().map((f) => [f.problem, f.sequence, f.line, f.detail])).toEqual([
      ['missing', 12, 2, 'events 12–13 are missing: line 2 holds event 14 where event 12 belongs'],
      ['missing', 16, null, 'event 16 is missing (events.jsonl ends before it)'],
    ]);
    expect(ledger.ranges()).toEqual([
      { first: 11, last: 11, status: 'valid' },
      { first: 12, last: 13, status: 'missing' },
      { first: 14, last: 14, status: 'valid' },
      { first: 15, last: 15, status: 'unverified' },
      { first: 16, last: 16, status: 'missing' },
    ]);
  });

  it('orders faults by where they sit in the bundle, and counts those past what it keeps', () => {
    const faults = new FaultLog();
    faults.file(5, 'missing', 'events.jsonl', 'later');
    faults.file(-2, 'malformed', 'bundle.json', 'first');
    faults.file(5, 'modified', 'events.jsonl', 'later, found second');
    expect(faults.sorted().map((f) => f.detail)).toEqual(['first', 'later', 'later, found second']);
    for (let i = 0; i < 10_010; i++) faults.file(i, 'modified', 'events.jsonl', 'many');
    expect(faults.count).toBe(10_013);
    expect(faults.sorted()).toHaveLength(10_000);
  });
});
