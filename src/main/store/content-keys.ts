// Queries of content_keys and content_key_wraps (migration 8): each person's
// chat keys, stored only wrapped (by password or by smart card). The key ring
// that opens and links them is identity's (identity/content-keys.ts).
import type { ReadableDb, WritableDb } from './handles.js';

/** A wrapping joined with its key's owner, check value and age, as read. */
export interface WrapRow {
  id: string;
  key_id: string;
  user_id: string;
  kind: 'password' | 'card';
  card_sha256: string | null;
  params: string;
  salt: Buffer | null;
  kek_check: Buffer | null;
  wrapped: Buffer;
  signature: Buffer | null;
  key_check: Buffer;
  key_created_at: number;
}

/** A content_key_wraps row to insert. */
export interface NewWrap {
  id: string;
  keyId: string;
  kind: 'password' | 'card';
  /** card: SHA-256 of the certificate it is wrapped to; password: null. */
  cardSha256: string | null;
  params: string;
  salt: Buffer | null;
  kekCheck: Buffer | null;
  wrapped: Buffer;
  signature: Buffer | null;
  createdAt: number;
}

const WRAPS = `SELECT w.id, w.key_id, k.user_id, w.kind, w.card_sha256, w.params, w.salt, w.kek_check, w.wrapped, w.signature, k.key_check, k.created_at AS key_created_at
  FROM content_key_wraps w JOIN content_keys k ON k.id = w.key_id`;
const WRAP_ORDER = 'ORDER BY k.created_at, w.created_at, w.id';

/** Every wrapping to the card with this certificate, oldest key first. */
export function wrapsForCard(db: ReadableDb, certificateSha256: string): WrapRow[] {
  return db.prepare(`${WRAPS} WHERE w.kind = 'card' AND w.card_sha256 = ? ${WRAP_ORDER}`).all(certificateSha256) as WrapRow[];
}

/** Every password wrapping of the person's keys, oldest key first. */
export function passwordWrapsOfUser(db: ReadableDb, userId: string): WrapRow[] {
  return db.prepare(`${WRAPS} WHERE k.user_id = ? AND w.kind = 'password' ${WRAP_ORDER}`).all(userId) as WrapRow[];
}

/** Every wrapping of the person's keys, oldest key first. */
export function wrapsOfUser(db: ReadableDb, userId: string): WrapRow[] {
  return db.prepare(`${WRAPS} WHERE k.user_id = ? ${WRAP_ORDER}`).all(userId) as WrapRow[];
}

/** What kinds of wrapping a key has (to add only those it lacks). */
export function wrapKindsOfKey(db: ReadableDb, keyId: string): { kind: string; card_sha256: string | null; salt: Buffer | null }[] {
  return db.prepare('SELECT kind, card_sha256, salt FROM content_key_wraps WHERE key_id = ?').all(keyId) as { kind: string; card_sha256: string | null; salt: Buffer | null }[];
}

/** The person's content key ids, newest first. */
export function keyIdsOfUserNewestFirst(db: ReadableDb, userId: string): string[] {
  return (db.prepare('SELECT id FROM content_keys WHERE user_id = ? ORDER BY created_at DESC, id DESC').all(userId) as { id: string }[]).map((row) => row.id);
}

export function insertContentKey(db: WritableDb, key: { id: string; userId: string; keyCheck: Buffer; createdAt: number }): void {
  db.prepare('INSERT INTO content_keys (id, user_id, key_check, created_at) VALUES (?, ?, ?, ?)').run(key.id, key.userId, key.keyCheck, key.createdAt);
}

export function insertWrap(db: WritableDb, wrap: NewWrap): void {
  db.prepare(
    'INSERT INTO content_key_wraps (id, key_id, kind, card_sha256, params, salt, kek_check, wrapped, signature, created_at) VALUES (@id, @keyId, @kind, @card, @params, @salt, @check, @wrapped, @signature, @time)',
  ).run({
    id: wrap.id,
    keyId: wrap.keyId,
    kind: wrap.kind,
    card: wrap.cardSha256,
    params: wrap.params,
    salt: wrap.salt,
    check: wrap.kekCheck,
    wrapped: wrap.wrapped,
    signature: wrap.signature,
    time: wrap.createdAt,
  });
}

/** The key's password wrappings under any salt but `salt` (an earlier password's); returns how many went. */
export function deletePasswordWrapsExceptSalt(db: WritableDb, keyId: string, salt: Buffer): number {
  return db.prepare("DELETE FROM content_key_wraps WHERE key_id = ? AND kind = 'password' AND salt <> ?").run(keyId, salt).changes;
}

/** The person's password wrappings under any salt but `salt`, of keys other than `heldKeyIds`; returns how many went. */
export function deleteStalePasswordWraps(db: WritableDb, userId: string, salt: Buffer, heldKeyIds: readonly string[]): number {
  return db
    .prepare(
      `DELETE FROM content_key_wraps WHERE kind = 'password' AND salt <> @salt AND key_id NOT IN (SELECT value FROM json_each(@held))
         AND key_id IN (SELECT id FROM content_keys WHERE user_id = @userId)`,
    )
    .run({ salt, held: JSON.stringify(heldKeyIds), userId }).changes;
}

/** The person's keys with no wrapping left and no session sealed under them. */
export function deleteUnusedKeys(db: WritableDb, userId: string): void {
  db.prepare(
    `DELETE FROM content_keys WHERE user_id = ? AND id NOT IN (SELECT key_id FROM content_key_wraps)
       AND id NOT IN (SELECT key_id FROM chat_sessions WHERE key_id IS NOT NULL)`,
  ).run(userId);
}
