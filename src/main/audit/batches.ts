// Sealing: every N events or T seconds (and on a heartbeat while idle) the
// events written since the last batch become a signed batch whose manifest
// carries the RFC 6962 root over every event since enrolment. Sealing reads
// only the new events: the Merkle frontier after each batch is stored with it.
// The SIEM outbox reads sealed batches through readBatch / batchEvents.
import { createPrivateKey, sign } from 'node:crypto';
import { URGENT_AUDIT_ACTIONS } from '../../shared/audit-actions.js';
import { EnclaveError } from '../../shared/errors.js';
import { auditBatches, auditEvents, auditSigningKeys, isDiskFull, meta, type ReadableDb, type Store, type WritableDb } from '../store/index.js';
import { manifestHash, manifestSigningInput, MANIFEST_FORMAT, BatchManifestSchema, type BatchManifest, type UnsignedManifest } from './manifest.js';
import { MerkleFrontier } from './merkle.js';
import { HEAD_HASH_KEY, HEAD_SEQ_KEY } from './log.js';
import { hashRecord, AuditRecordSchema, type AuditRecord } from './record.js';

export interface SealOptions {
  maxEvents: number;
  institution: string;
  hostId: string;
  hostName: string;
  now: () => number;
}

export interface SealedBatch {
  batchSeq: number;
  manifest: BatchManifest;
  manifestHash: string;
  priority: boolean;
  createdAt: number;
}

function toSealed(row: auditBatches.AuditBatchRow): SealedBatch {
  return { batchSeq: row.batch_seq, manifest: BatchManifestSchema.parse(JSON.parse(row.manifest)), manifestHash: row.manifest_hash, priority: row.priority === 1, createdAt: row.created_at };
}

/** The newest sealed batch, or null before the first seal. */
export function lastBatch(db: ReadableDb): SealedBatch | null {
  const row = auditBatches.newest(db);
  return row ? toSealed(row) : null;
}

export function readBatch(db: ReadableDb, batchSeq: number): SealedBatch | null {
  const row = auditBatches.bySeq(db, batchSeq);
  return row ? toSealed(row) : null;
}

/** The canonical JSON of a batch's events, in order (as the SIEM receives them). */
export function* batchEventTexts(db: ReadableDb, manifest: BatchManifest): Generator<{ seq: number; record: string }> {
  if (manifest.first_seq === null || manifest.last_seq === null) return;
  yield* auditEvents.recordsBetween(db, manifest.first_seq, manifest.last_seq);
}

/** Events written but not yet sealed, and when the oldest of them was written. */
export function pendingEvents(db: ReadableDb): { count: number; oldestAt: number | null } {
  return auditEvents.countAfter(db, auditBatches.newestTreeSize(db) ?? 0);
}

/**
 * Seals the next batch of up to maxEvents unsealed events, or a heartbeat when
 * `heartbeat` is set and nothing is waiting. Returns null when there was
 * nothing to do. Runs inside the caller's transaction when given one (key
 * rotation seals with the old key before retiring it).
 */
export function sealNextBatch(db: WritableDb, options: SealOptions & { heartbeat?: boolean; signingKeyId?: string }): SealedBatch | null {
  const last = auditBatches.newest(db);
  const sealedThrough = last?.tree_size ?? 0;
  const rows = auditEvents.after(db, sealedThrough, options.maxEvents);
  if (rows.length === 0 && !options.heartbeat) return null;

  const key = options.signingKeyId ? auditSigningKeys.byId(db, options.signingKeyId) : auditSigningKeys.current(db);
  if (!key) throw new EnclaveError('audit_corrupt', 'This workstation has no audit signing key, so no batch can be sealed.');
  if (key.private_key.length === 0) throw new EnclaveError('audit_corrupt', `The audit signing key ${key.key_id} is retired and its private key wiped, so it signs nothing more.`);

  // Seal only what verifies: each event matches its hash and follows the one before.
  const frontier = last ? MerkleFrontier.fromJSON(JSON.parse(last.frontier) as { size: number; nodes: [number, string][] }) : new MerkleFrontier();
  let prevHash = sealedThrough === 0 ? null : auditEvents.hashAt(db, sealedThrough);
  let priority = false;
  for (const [i, row] of rows.entries()) {
    const expected = sealedThrough + 1 + i;
    if (row.seq !== expected) throw new EnclaveError('audit_corrupt', `Audit event ${expected} is missing, so the batch after ${sealedThrough} cannot be sealed.`);
    let record: AuditRecord;
    try {
      record = AuditRecordSchema.parse(JSON.parse(row.record));
    } catch {
      throw new EnclaveError('audit_corrupt', `Audit event ${row.seq} is damaged, so it cannot be sealed.`);
    }
    if (hashRecord(record) !== row.hash || record.event.hash !== row.hash || record.event.sequence !== row.seq) {
      throw new EnclaveError('audit_corrupt', `Audit event ${row.seq} does not match its hash, so it cannot be sealed.`);
    }
    // prevHash is undefined only if the event before was pruned; pruning keeps the newest batch's events, so this is belt and braces.
    if (prevHash !== undefined && record.prev !== prevHash) throw new EnclaveError('audit_corrupt', `Audit event ${row.seq} does not follow event ${row.seq - 1}, so it cannot be sealed.`);
    if (URGENT_AUDIT_ACTIONS.includes(record.event.action)) priority = true;
    frontier.append(Buffer.from(row.hash, 'hex'));
    prevHash = row.hash;
  }

  const prevManifest = last ? (JSON.parse(last.manifest) as BatchManifest) : null;
  const rotated = last !== undefined && last.key_id !== key.key_id;
  const now = options.now();
  const unsigned: UnsignedManifest = {
    format: MANIFEST_FORMAT,
    origin: { institution: options.institution, host_id: options.hostId, host_name: options.hostName },
    batch_seq: (last?.batch_seq ?? 0) + 1,
    kind: rows.length === 0 ? 'heartbeat' : 'events',
    first_seq: rows[0]?.seq ?? null,
    last_seq: rows.at(-1)?.seq ?? null,
    event_count: rows.length,
    oldest: rows.length ? new Date(rows[0]!.ts).toISOString() : null,
    newest: rows.length ? new Date(rows.at(-1)!.ts).toISOString() : null,
    created: new Date(now).toISOString(),
    tree_size: frontier.size,
    root: frontier.root().toString('hex'),
    prev_manifest_hash: prevManifest && !rotated ? last!.manifest_hash : null,
    prev_signature: prevManifest && !rotated ? prevManifest.signature : null,
    start: !last ? { reason: 'enrolment' } : rotated ? { reason: 'key_rotation', previous_key_id: last.key_id } : null,
    key_id: key.key_id,
    alg: 'Ed25519',
  };
  const signature = sign(null, manifestSigningInput(unsigned), createPrivateKey({ key: key.private_key, format: 'der', type: 'pkcs8' })).toString('base64');
  const manifest: BatchManifest = BatchManifestSchema.parse({ ...unsigned, signature });
  const hash = manifestHash(manifest);
  auditBatches.insert(db, {
    batch_seq: manifest.batch_seq,
    kind: manifest.kind,
    first_seq: manifest.first_seq,
    last_seq: manifest.last_seq,
    event_count: manifest.event_count,
    tree_size: manifest.tree_size,
    root: manifest.root,
    frontier: JSON.stringify(frontier.toJSON()),
    manifest: JSON.stringify(manifest),
    manifest_hash: hash,
    key_id: key.key_id,
    priority: priority ? 1 : 0,
    created_at: now,
  });
  return { batchSeq: manifest.batch_seq, manifest, manifestHash: hash, priority, createdAt: now };
}

/** Seals everything waiting, batch by batch, each in its own transaction. */
export function sealPending(store: Store, options: SealOptions): SealedBatch[] {
  const sealed: SealedBatch[] = [];
  for (;;) {
    let batch: SealedBatch | null;
    try {
      batch = store.transaction((db) => sealNextBatch(db, options));
    } catch (error) {
      if (isDiskFull(error)) {
        throw new EnclaveError('audit_write_failed', 'The disk is full, so the waiting audit events could not be sealed into a signed batch. They are kept and sealed once there is space.', {
          cause: error,
        });
      }
      throw error;
    }
    if (!batch) return sealed;
    sealed.push(batch);
  }
}

/** meta: events up to this sequence were pruned locally after delivery; the chain resumes from pruned_hash. */
export const PRUNED_THROUGH_SEQ_KEY = 'audit.pruned_through_seq';
export const PRUNED_HASH_KEY = 'audit.pruned_hash';

/**
 * Deletes the events of sealed batches up to `batchSeq` (the caller decided
 * every destination confirmed them and their retention passed). The manifests
 * stay, and the newest sealed events always stay so sealing and the start-up
 * check keep an anchor. Returns how many events went.
 */
export function pruneSealedEvents(db: WritableDb, batchSeq: number): { events: number; throughSeq: number } | null {
  const limit = Math.min(batchSeq, (auditBatches.newestWithEvents(db) ?? 1) - 1);
  const through = auditBatches.lastSeqThrough(db, limit);
  const already = Number(meta.get(db, PRUNED_THROUGH_SEQ_KEY) ?? '0');
  if (through === null || through <= already) return null;
  const anchor = auditEvents.hashAt(db, through);
  if (anchor === undefined) throw new EnclaveError('audit_corrupt', `Audit event ${through} is missing, so nothing is pruned.`);
  const deleted = auditEvents.deleteThrough(db, through);
  meta.set(db, PRUNED_THROUGH_SEQ_KEY, String(through));
  meta.set(db, PRUNED_HASH_KEY, anchor);
  return { events: deleted, throughSeq: through };
}

/**
 * A damaged tail that was never sealed (a torn write, an edit) cannot be
 * signed, and sealing stops at it. At start it is moved aside — kept in
 * audit_quarantine for investigation, never silently discarded — and the chain
 * continues from the last good event. The caller records
 * audit.corruption_detected naming what was moved. Sealed events are never
 * moved: their manifests already vouch for them, so damage there is only
 * reported. Returns how many events were moved (0 when the damage is sealed).
 */
export function quarantineUnsealedTail(db: WritableDb, fromSeq: number, problem: string, now: number): number {
  // Whatever any stored manifest claims, by its column or its signed JSON: a row edited to claim less never frees sealed events for moving.
  const claimed = auditBatches.claimedTreeSize(db);
  const sealedThrough = Math.max(claimed.columns ?? 0, claimed.signed ?? 0);
  if (fromSeq <= sealedThrough) return 0;
  auditEvents.quarantineFrom(db, fromSeq, problem, now);
  const moved = auditEvents.deleteFrom(db, fromSeq);
  const head = auditEvents.newest(db);
  meta.set(db, HEAD_SEQ_KEY, String(head?.seq ?? fromSeq - 1));
  const prunedHash = meta.get(db, PRUNED_HASH_KEY);
  if (head ?? prunedHash) meta.set(db, HEAD_HASH_KEY, head?.hash ?? prunedHash!);
  else meta.remove(db, HEAD_HASH_KEY);
  return moved;
}
