// audit_signing_keys: the workstation's Ed25519 keys that sign audit batches.
// One key is current (retired_at IS NULL, a unique index holds it to one); a
// rotation retires it, wipes its private key and names its successor.
import type { ReadableDb, WritableDb } from './handles.js';
import { prepared } from './prepared.js';

/** An audit_signing_keys row as stored. */
export interface AuditSigningKeyRow {
  /** SHA-256 of the public key's SubjectPublicKeyInfo (DER), hex. */
  key_id: string;
  algorithm: 'Ed25519';
  /** SubjectPublicKeyInfo, DER. */
  public_key: Buffer;
  /** PKCS #8, DER; empty once the key is retired (wiped). */
  private_key: Buffer;
  created_at: number;
  retired_at: number | null;
  replaced_by: string | null;
}

/** A key as the signed check needs it: never the private key. */
export type PublicSigningKeyRow = Pick<AuditSigningKeyRow, 'key_id' | 'public_key' | 'replaced_by'>;

/** The key that signs now, or undefined before enrolment. */
export function current(db: ReadableDb): AuditSigningKeyRow | undefined {
  return prepared(db, 'SELECT * FROM audit_signing_keys WHERE retired_at IS NULL').get() as AuditSigningKeyRow | undefined;
}

export function byId(db: ReadableDb, keyId: string): AuditSigningKeyRow | undefined {
  return prepared(db, 'SELECT * FROM audit_signing_keys WHERE key_id = ?').get(keyId) as AuditSigningKeyRow | undefined;
}

/** Every key that ever signed here, retired ones included. */
export function publicKeys(db: ReadableDb): PublicSigningKeyRow[] {
  return prepared(db, 'SELECT key_id, public_key, replaced_by FROM audit_signing_keys').all() as PublicSigningKeyRow[];
}

/** Adds a key, current (not retired, no successor). */
export function insert(db: WritableDb, key: Pick<AuditSigningKeyRow, 'key_id' | 'algorithm' | 'public_key' | 'private_key' | 'created_at'>): void {
  prepared(db, 'INSERT INTO audit_signing_keys (key_id, algorithm, public_key, private_key, created_at) VALUES (?, ?, ?, ?, ?)').run(
    key.key_id,
    key.algorithm,
    key.public_key,
    key.private_key,
    key.created_at,
  );
}

export function retire(db: WritableDb, keyId: string, at: number): void {
  prepared(db, 'UPDATE audit_signing_keys SET retired_at = ? WHERE key_id = ?').run(at, keyId);
}

export function setSuccessor(db: WritableDb, keyId: string, successorId: string): void {
  prepared(db, 'UPDATE audit_signing_keys SET replaced_by = ? WHERE key_id = ?').run(successorId, keyId);
}

/** Overwrites the private key of every retired key that still has one with an empty value. Returns how many. */
export function wipeRetiredPrivateKeys(db: WritableDb): number {
  return prepared(db, "UPDATE audit_signing_keys SET private_key = X'' WHERE retired_at IS NOT NULL AND length(private_key) > 0").run().changes;
}
