// Sealing: every N events or T seconds (and on a heartbeat while idle) the
// events written since the last batch become a signed batch whose manifest
// carries the RFC 6962 root over every event since enrolment. Sealing reads
// only the new events: the Merkle frontier after each batch is stored with it.
// The SIEM outbox reads sealed batches through readBatch / batchEvents.
import { createPrivateKey, sign } from 'node:crypto';
import { EnclaveError } from '../../shared/errors.js';
import { isDiskFull, type Db, type Store } from '../store/index.js';
import { manifestHash, manifestSigningInput, MANIFEST_FORMAT, BatchManifestSchema, type BatchManifest, type UnsignedManifest } from './manifest.js';
import { MerkleFrontier } from './merkle.js';
import { HEAD_HASH_KEY, HEAD_SEQ_KEY } from './log.js';
import { hashRecord, AuditRecordSchema, type AuditRecord } from './record.js';
import type { StoredBatchRow } from './signed-check.js';

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

/** A stored batch as this module writes and reads it: the columns the signed check reads, and delivery's. */
interface BatchRow extends StoredBatchRow {
  kind: 'events' | 'heartbeat';
  priority: number;
  created_at: number;
}

interface SigningKeyRow {
  key_id: string;
  private_key: Buffer;
}

function toSealed(row: BatchRow): SealedBatch {
  return { batchSeq: row.batch_seq, manifest: BatchManifestSchema.parse(JSON.parse(row.manifest)), manifestHash: row.manifest_hash, priority: row.priority === 1, createdAt: row.created_at };
}

function lastBatchRow(db: Db): BatchRow | undefined {
  return db.prepare('SELECT * FROM audit_batches ORDER BY batch_seq DESC LIMIT 1').get() as BatchRow | undefined;
}

/** The newest sealed batch, or null before the first seal. */
export function lastBatch(db: Db): SealedBatch | null {
  const row = lastBatchRow(db);
  return row ? toSealed(row) : null;
}

export function readBatch(db: Db, batchSeq: number): SealedBatch | null {
  const row = db.prepare('SELECT * FROM audit_batches WHERE batch_seq = ?').get(batchSeq) as BatchRow | undefined;
  return row ? toSealed(row) : null;
}

/** The canonical JSON of a batch's events, in order (as the SIEM receives them). */
export function* batchEventTexts(db: Db, manifest: BatchManifest): Generator<{ seq: number; record: string }> {
  if (manifest.first_seq === null || manifest.last_seq === null) return;
  yield* db.prepare('SELECT seq, record FROM audit_events WHERE seq BETWEEN ? AND ? ORDER BY seq').iterate(manifest.first_seq, manifest.last_seq) as IterableIterator<{ seq: number; record: string }>;
}

/** Events written but not yet sealed, and when the oldest of them was written. */
export function pendingEvents(db: Db): { count: number; oldestAt: number | null } {
  const sealedThrough = lastBatchRow(db)?.tree_size ?? 0;
  const row = db.prepare('SELECT count(*) AS count, min(ts) AS oldest FROM audit_events WHERE seq > ?').get(sealedThrough) as { count: number; oldest: number | null };
  return { count: row.count, oldestAt: row.oldest };
}

/**
 * Seals the next batch of up to maxEvents unsealed events, or a heartbeat when
 * `heartbeat` is set and nothing is waiting. Returns null when there was
 * nothing to do. Runs inside the caller's transaction when given one (key
 * rotation seals with the old key before retiring it).
 */
export function sealNextBatch(db: Db, options: SealOptions & { heartbeat?: boolean; signingKeyId?: string }): SealedBatch | null {
  const last = lastBatchRow(db);
  const sealedThrough = last?.tree_size ?? 0;
  const rows = db.prepare('SELECT seq, ts, record, hash FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?').all(sealedThrough, options.maxEvents) as {
    seq: number;
    ts: number;
    record: string;
    hash: string;
  }[];
  if (rows.length === 0 && !options.heartbeat) return null;

  const key = (
    options.signingKeyId
      ? db.prepare('SELECT key_id, private_key FROM audit_signing_keys WHERE key_id = ?').get(options.signingKeyId)
      : db.prepare('SELECT key_id, private_key FROM audit_signing_keys WHERE retired_at IS NULL').get()
  ) as SigningKeyRow | undefined;
  if (!key) throw new EnclaveError('audit_corrupt', 'This workstation has no audit signing key, so no batch can be sealed.');
  if (key.private_key.length === 0) throw new EnclaveError('audit_corrupt', `The audit signing key ${key.key_id} is retired and its private key wiped, so it signs nothing more.`);

  // Seal only what verifies: each event matches its hash and follows the one before.
  const frontier = last ? MerkleFrontier.fromJSON(JSON.parse(last.frontier) as { size: number; nodes: [number, string][] }) : new MerkleFrontier();
  let prevHash = sealedThrough === 0 ? null : ((db.prepare('SELECT hash FROM audit_events WHERE seq = ?').get(sealedThrough) as { hash: string } | undefined)?.hash ?? undefined);
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
    if (record.event.action === 'auth.breakglass') priority = true;
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
  db.prepare(
    `INSERT INTO audit_batches (batch_seq, kind, first_seq, last_seq, event_count, tree_size, root, frontier, manifest, manifest_hash, key_id, priority, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    manifest.batch_seq,
    manifest.kind,
    manifest.first_seq,
    manifest.last_seq,
    manifest.event_count,
    manifest.tree_size,
    manifest.root,
    JSON.stringify(frontier.toJSON()),
    JSON.stringify(manifest),
    hash,
    key.key_id,
    priority ? 1 : 0,
    now,
  );
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
        throw new EnclaveError('audit_write_failed', 'The disk is full, so the waiting audit events could not be sealed into a signed batch. They are kept and sealed once there is space.', { cause: error });
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
export function pruneSealedEvents(db: Db, batchSeq: number): { events: number; throughSeq: number } | null {
  const newestWithEvents = db.prepare("SELECT max(batch_seq) AS b FROM audit_batches WHERE kind = 'events'").get() as { b: number | null };
  const limit = Math.min(batchSeq, (newestWithEvents.b ?? 1) - 1);
  const through = db.prepare("SELECT max(last_seq) AS s FROM audit_batches WHERE kind = 'events' AND batch_seq <= ?").get(limit) as { s: number | null };
  const already = Number((db.prepare('SELECT value FROM meta WHERE key = ?').get(PRUNED_THROUGH_SEQ_KEY) as { value: string } | undefined)?.value ?? '0');
  if (through.s === null || through.s <= already) return null;
  const anchor = db.prepare('SELECT hash FROM audit_events WHERE seq = ?').get(through.s) as { hash: string } | undefined;
  if (!anchor) throw new EnclaveError('audit_corrupt', `Audit event ${through.s} is missing, so nothing is pruned.`);
  const deleted = db.prepare('DELETE FROM audit_events WHERE seq <= ?').run(through.s).changes;
  const setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
  setMeta.run(PRUNED_THROUGH_SEQ_KEY, String(through.s));
  setMeta.run(PRUNED_HASH_KEY, anchor.hash);
  return { events: deleted, throughSeq: through.s };
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
export function quarantineUnsealedTail(db: Db, fromSeq: number, problem: string, now: number): number {
  // Whatever any stored manifest claims, by its column or its signed JSON: a row edited to claim less never frees sealed events for moving.
  const claimed = db
    .prepare("SELECT max(tree_size) AS columns, max(CASE WHEN json_valid(manifest) THEN CAST(json_extract(manifest, '$.tree_size') AS INTEGER) END) AS signed FROM audit_batches")
    .get() as { columns: number | null; signed: number | null };
  const sealedThrough = Math.max(claimed.columns ?? 0, claimed.signed ?? 0);
  if (fromSeq <= sealedThrough) return 0;
  db.prepare(
    `INSERT INTO audit_quarantine (seq, id, ts, action, record, hash, problem, quarantined_at)
     SELECT seq, id, ts, action, record, hash, ?, ? FROM audit_events WHERE seq >= ? ORDER BY seq`,
  ).run(problem, now, fromSeq);
  const moved = db.prepare('DELETE FROM audit_events WHERE seq >= ?').run(fromSeq).changes;
  const head = db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
  const setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
  setMeta.run(HEAD_SEQ_KEY, String(head?.seq ?? fromSeq - 1));
  const prunedHash = (db.prepare('SELECT value FROM meta WHERE key = ?').get(PRUNED_HASH_KEY) as { value: string } | undefined)?.value;
  if (head ?? prunedHash) setMeta.run(HEAD_HASH_KEY, head?.hash ?? prunedHash!);
  else db.prepare('DELETE FROM meta WHERE key = ?').run(HEAD_HASH_KEY);
  return moved;
}
