// Checks the stored events against the signed batch manifests kept beside
// them, so that neither the local verify nor the export trusts the chain head
// that sits in the same database: a tail cut off under a signed manifest, or
// events rewritten and re-hashed consistently by someone without the signing
// key, no longer reproduce what the manifests signed. Used by verify.ts (the
// whole log, one pass) and bundle.ts (what an export is about to write).
//
// What this proves is bounded by where the key is: the signing key sits in
// the same database, so whoever holds the database key can re-sign. The SIEM's
// copy of the manifests is the trust anchor; this catches tampering done
// without the signing key, and any cut that leaves a signed manifest behind.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { AuditVerifyReport } from '../../shared/api.js';
import { auditBatches, auditSigningKeys, type ReadableDb } from '../store/index.js';
import { publicKeyId } from '../tls/index.js';
import { BatchManifestSchema, manifestHash, manifestSigningInput, type BatchManifest } from './manifest.js';
import { MerkleFrontier } from './merkle.js';
import { AuditRecordSchema, hashRecord, type AuditRecord } from './record.js';

export type ChainProblem = NonNullable<AuditVerifyReport['firstBad']>;

/** A public key this workstation holds, as the manifests name it. */
export interface SigningKeyEntry {
  /** null when the stored public key does not hash to its key id. */
  publicKey: KeyObject | null;
  replacedBy: string | null;
}

/** Every key that ever signed here, retired ones included: each manifest is checked with the key it names. */
export function loadSigningKeys(db: ReadableDb): Map<string, SigningKeyEntry> {
  const keys = new Map<string, SigningKeyEntry>();
  for (const row of auditSigningKeys.publicKeys(db)) {
    let publicKey: KeyObject | null = null;
    try {
      const candidate = createPublicKey({ key: row.public_key, format: 'der', type: 'spki' });
      if (publicKeyId(candidate) === row.key_id) publicKey = candidate;
    } catch {
      // Not a public key: every manifest it signed fails below.
    }
    keys.set(row.key_id, { publicKey, replacedBy: row.replaced_by });
  }
  return keys;
}

/** The columns of an audit_batches row this check reads. */
export type StoredBatchRow = auditBatches.SignedBatchRow;

export const STORED_BATCH_COLUMNS = auditBatches.SIGNED_BATCH_COLUMNS;

const short = (hash: string) => hash.slice(0, 12);

/** The event a manifest problem is reported at: its first event, or (a heartbeat) the one it follows. Always within what the row claims is sealed. */
function sequenceOf(first: number | null, treeSize: number): number {
  return Math.max(1, first ?? treeSize);
}

/**
 * Walks the stored manifests in batch order: each parses, matches its row's
 * columns, is signed by the key it names (the key current for it: a key
 * changes only at a stated rotation to the successor the old key names), and
 * chains to the one before, with contiguous batch numbers and a tree that
 * carries on where the previous batch left it.
 */
export class ManifestChainChecker {
  readonly #keys: Map<string, SigningKeyEntry>;
  /** The first manifest may be any batch (an export's anchor): its own signature is checked, not what comes before it. */
  readonly #fromAnyBatch: boolean;
  #previous: BatchManifest | null = null;
  /** manifestHash(#previous), computed once (canonical JSON of every manifest adds up at start-up). */
  #previousHash: string | null = null;
  #checked = 0;

  constructor(keys: Map<string, SigningKeyEntry>, options: { fromAnyBatch?: boolean } = {}) {
    this.#keys = keys;
    this.#fromAnyBatch = options.fromAnyBatch ?? false;
  }

  get checked(): number {
    return this.#checked;
  }

  /** The newest manifest that held. */
  get previous(): BatchManifest | null {
    return this.#previous;
  }

  next(row: StoredBatchRow): { manifest: BatchManifest } | { problem: ChainProblem } {
    const at = sequenceOf(row.first_seq, row.tree_size);
    const fail = (problem: ChainProblem['problem'], detail: string) => ({ problem: { sequence: at, problem, detail, batchSeq: row.batch_seq } });
    let parsed: ReturnType<typeof BatchManifestSchema.safeParse>;
    try {
      parsed = BatchManifestSchema.safeParse(JSON.parse(row.manifest));
    } catch {
      return fail('malformed', `the stored manifest of batch ${row.batch_seq} is not valid JSON`);
    }
    if (!parsed.success) return fail('malformed', `the stored manifest of batch ${row.batch_seq} is not a valid signed manifest (${parsed.error.issues[0]?.message ?? ''})`);
    const m = parsed.data;
    const hash = manifestHash(m);
    const columnsAgree =
      m.batch_seq === row.batch_seq &&
      m.kind === row.kind &&
      m.first_seq === row.first_seq &&
      m.last_seq === row.last_seq &&
      m.event_count === row.event_count &&
      m.tree_size === row.tree_size &&
      m.root === row.root &&
      m.key_id === row.key_id &&
      hash === row.manifest_hash;
    if (!columnsAgree) return fail('modified', `the stored columns of batch ${row.batch_seq} do not match its signed manifest`);

    const key = this.#keys.get(m.key_id);
    if (!key) return fail('bad_signature', `batch ${row.batch_seq} is signed by key ${short(m.key_id)}, which this workstation never held`);
    if (!key.publicKey) return fail('bad_signature', `the public key stored for key ${short(m.key_id)}, which signed batch ${row.batch_seq}, does not match its key id`);
    let signed = false;
    try {
      signed = verify(null, manifestSigningInput(m), key.publicKey, Buffer.from(m.signature, 'base64'));
    } catch {
      signed = false;
    }
    if (!signed) return fail('bad_signature', `the signature of batch ${row.batch_seq} does not verify with key ${short(m.key_id)}: the manifest was altered`);

    const previous = this.#previous;
    if (previous === null) {
      if (!this.#fromAnyBatch) {
        if (m.batch_seq !== 1) return fail('broken_chain', `the first stored batch is ${m.batch_seq}: batches 1–${m.batch_seq - 1} are missing`);
        if (m.start?.reason !== 'enrolment') return fail('broken_chain', 'batch 1 does not start the chain at enrolment');
        if (m.tree_size !== m.event_count) return fail('broken_chain', 'batch 1 does not start the Merkle tree at the first event');
      }
    } else {
      if (m.batch_seq !== previous.batch_seq + 1) {
        return fail('broken_chain', m.batch_seq > previous.batch_seq + 1 ? `batches ${previous.batch_seq + 1}–${m.batch_seq - 1} are missing` : `batch ${m.batch_seq} is out of order`);
      }
      if (m.start === null) {
        if (m.prev_manifest_hash !== this.#previousHash || m.prev_signature !== previous.signature)
          return fail('broken_chain', `batch ${m.batch_seq} does not chain to batch ${previous.batch_seq}: its prev_manifest_hash names another manifest`);
        if (m.key_id !== previous.key_id) return fail('broken_chain', `batch ${m.batch_seq} changes the signing key without a stated key rotation`);
      } else if (m.start.reason !== 'key_rotation' || m.start.previous_key_id !== previous.key_id || m.key_id === previous.key_id || this.#keys.get(previous.key_id)?.replacedBy !== m.key_id) {
        return fail('broken_chain', `batch ${m.batch_seq} starts a new signature chain, but not as the rotation from key ${short(previous.key_id)} to its recorded successor`);
      }
      if (m.tree_size - m.event_count !== previous.tree_size || (m.kind === 'heartbeat' && m.root !== previous.root)) {
        return fail('broken_chain', `batch ${m.batch_seq} does not continue the Merkle tree where batch ${previous.batch_seq} left it (event ${previous.tree_size})`);
      }
    }
    this.#previous = m;
    this.#previousHash = hash;
    this.#checked += 1;
    return { manifest: m };
  }
}

/** The stored Merkle frontier of a batch, when it is the one its signed root was computed from (so it vouches for the events before it). */
export function trustedFrontier(row: StoredBatchRow, manifest: BatchManifest): MerkleFrontier | null {
  try {
    const frontier = MerkleFrontier.fromJSON(JSON.parse(row.frontier) as { size: number; nodes: [number, string][] });
    return frontier.size === manifest.tree_size && frontier.root().toString('hex') === manifest.root ? frontier : null;
  } catch {
    return null;
  }
}

/**
 * Where the events of a batch whose signed root they do not reproduce were
 * first altered: the recomputed frontier at the batch's tree size, node by
 * node against the stored one (trusted when its root is the signed root),
 * narrows it to the first perfect subtree that differs. Without a trusted
 * frontier it is somewhere in the batch.
 */
export function rootMismatch(computed: MerkleFrontier, row: StoredBatchRow, manifest: BatchManifest): ChainProblem {
  const first = manifest.first_seq ?? manifest.tree_size;
  let from = first;
  let to = manifest.tree_size;
  const stored = trustedFrontier(row, manifest);
  if (stored) {
    const ours = computed.toJSON().nodes;
    const theirs = stored.toJSON().nodes;
    let offset = 0;
    for (let i = 0; i < theirs.length; i++) {
      const [size, hash] = theirs[i]!;
      if (ours[i]?.[1] !== hash) {
        from = Math.max(first, offset + 1);
        to = offset + size;
        break;
      }
      offset += size;
    }
  }
  const where = from === to ? `event ${from} was altered` : `the first altered event is among ${from}–${to}`;
  return {
    sequence: from,
    problem: 'modified',
    batchSeq: manifest.batch_seq,
    detail: `the events of signed batch ${manifest.batch_seq} (events ${first}–${manifest.tree_size}) do not reproduce its signed Merkle root: ${where} (rewritten and re-hashed after signing)`,
  };
}

/** One stored event, checked on its own and against the one before: the hash-chain walk's step. */
export function checkEventRow(
  row: { seq: number; id?: string; ts?: number; action?: string; record: string; hash: string },
  prevHash: string | null | undefined,
): { record: AuditRecord } | { problem: ChainProblem } {
  const fail = (problem: ChainProblem['problem'], detail: string) => ({ problem: { sequence: row.seq, problem, detail } });
  let json: unknown;
  try {
    json = JSON.parse(row.record);
  } catch {
    return fail('malformed', 'the stored record is not valid JSON (cut short or overwritten)');
  }
  const parsed = AuditRecordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail('malformed', `the stored record does not match the event schema (${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''})`);
  }
  const record = parsed.data;
  if (hashRecord(record) !== record.event.hash || row.hash !== record.event.hash) return fail('modified', 'the event does not match its hash');
  if (record.event.sequence !== row.seq) return fail('reordered', `the event stored at ${row.seq} is event ${record.event.sequence}`);
  // undefined: the event before is not known here (an export starting after pruning); the Merkle root still covers this one's prev.
  if (prevHash !== undefined && record.prev !== prevHash) {
    return fail(prevHash === null ? 'modified' : 'reordered', `the event does not follow event ${row.seq - 1} (its prev hash differs)`);
  }
  if (
    (row.id !== undefined && row.id !== record.event.id) ||
    (row.action !== undefined && row.action !== record.event.action) ||
    (row.ts !== undefined && row.ts !== Date.parse(record['@timestamp']))
  ) {
    return fail('modified', 'the row columns do not match the signed-off record');
  }
  return { record };
}
