// The workstation's enrolment: an Ed25519 key pair made on first start, whose
// public key and key id IT registers with the SIEM side (`enclave enroll
// show`). Signed batches are signed with it. The
// key id is the SHA-256 of the public key's SubjectPublicKeyInfo, as the
// design's manifest names it.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { EnclaveError } from '../../shared/errors.js';
import { auditSigningKeys, type Store, type WritableDb } from '../store/index.js';
import { publicKeyId } from '../tls/index.js';
import { sealNextBatch, type SealOptions } from './batches.js';
import type { AuditLog } from './log.js';
import type { AuditEventInput } from './record.js';

export interface EnrolmentKey {
  keyId: string;
  algorithm: 'Ed25519';
  /** SubjectPublicKeyInfo as PEM, for the SIEM side. */
  publicKeyPem: string;
  createdAt: number;
}

function toEnrolment(row: auditSigningKeys.AuditSigningKeyRow): EnrolmentKey {
  const publicKey = createPublicKey({ key: row.public_key, format: 'der', type: 'spki' });
  return { keyId: row.key_id, algorithm: row.algorithm, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), createdAt: row.created_at };
}

/** The current signing key, or null before enrolment (and in a read-only store that never enrolled). */
export function currentEnrolmentKey(store: Store): EnrolmentKey | null {
  const row = auditSigningKeys.current(store.reader);
  return row ? toEnrolment(row) : null;
}

/**
 * Overwrites the private key of every retired signing key with an empty value
 * (the column is NOT NULL since migration 0003; empty says "wiped" as well).
 * Nothing needs it: a retired key signs nothing more, and its batches verify
 * with the public key, which is kept. secure_delete overwrites the freed bytes
 * in the page; the caller checkpoints the write-ahead log, which may still hold
 * older images of the page. Returns how many keys were wiped now.
 */
export function wipeRetiredSigningKeys(db: WritableDb): number {
  return auditSigningKeys.wipeRetiredPrivateKeys(db);
}

/** Enrols on first start: makes the key pair and audits it; later starts find it (and wipe the private keys of retired keys a release before this one kept). */
export function ensureEnrolmentKey(store: Store, audit: AuditLog, now: () => number): EnrolmentKey {
  if (store.transaction(wipeRetiredSigningKeys) > 0) store.checkpoint();
  const existing = currentEnrolmentKey(store);
  if (existing) return existing;
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const keyId = publicKeyId(publicKey);
  const createdAt = now();
  audit.run(
    (db) =>
      auditSigningKeys.insert(db, {
        key_id: keyId,
        algorithm: 'Ed25519',
        public_key: publicKey.export({ type: 'spki', format: 'der' }),
        private_key: privateKey.export({ type: 'pkcs8', format: 'der' }),
        created_at: createdAt,
      }),
    () => ({ action: 'audit.enroll', outcome: 'success', detail: { key_id: keyId, algorithm: 'Ed25519' } }),
  );
  return currentEnrolmentKey(store)!;
}

/**
 * Key rotation (`enclave enroll rotate`), in one transaction: an audit.key_rotate
 * event naming the new key is written, everything waiting is sealed with the
 * OLD key (so the old key vouches for the new one), then the old key is retired.
 * The next manifest, signed by the new key, starts a new signature chain and
 * says why (start.reason key_rotation); the Merkle tree carries on unbroken.
 */
export function rotateEnrolmentKey(store: Store, audit: AuditLog, seal: SealOptions, actor: AuditEventInput['user']): { previous: EnrolmentKey; current: EnrolmentKey } {
  const previous = currentEnrolmentKey(store);
  if (!previous) throw new EnclaveError('invalid_input', 'This workstation has no audit signing key yet; it is made when Enclave first starts.');
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const newKeyId = publicKeyId(publicKey);
  const publicDer = publicKey.export({ type: 'spki', format: 'der' });
  const now = seal.now();
  store.transaction((db) => {
    audit.run(
      () => undefined,
      () => ({
        action: 'audit.key_rotate',
        outcome: 'success',
        user: actor ?? null,
        detail: { old_key_id: previous.keyId, new_key_id: newKeyId, new_public_key: publicDer.toString('base64'), algorithm: 'Ed25519' },
      }),
    );
    while (sealNextBatch(db, { ...seal, signingKeyId: previous.keyId })) {
      // every waiting event, the rotation included, sealed by the old key
    }
    // Retire first (one current key at a time), wiping its private key, then add the successor, then name it.
    auditSigningKeys.retire(db, previous.keyId, now);
    wipeRetiredSigningKeys(db);
    auditSigningKeys.insert(db, { key_id: newKeyId, algorithm: 'Ed25519', public_key: publicDer, private_key: privateKey.export({ type: 'pkcs8', format: 'der' }), created_at: now });
    auditSigningKeys.setSuccessor(db, previous.keyId, newKeyId);
  });
  // The write-ahead log may still hold page images with the old private key.
  store.checkpoint();
  return { previous, current: currentEnrolmentKey(store)! };
}
