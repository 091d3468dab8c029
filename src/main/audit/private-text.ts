// What a person typed never enters the signed record (ARCHITECTURE.md: "a
// hash of anything a person typed is keyed (HMAC), never a bare SHA-256").
// The record goes to the SIEM and into export bundles; a bare SHA-256 of a
// short prompt ("MRN 4471 diabetic?") or a password typed as a user name is
// confirmed by guessing. So the record carries a length and HMAC-SHA-256 under
// a per-workstation secret that lives only in the encrypted store, and the
// text itself, where the compliance officer needs to read it (a break-glass
// reason, a mistyped user name), goes to audit_private_text on this
// workstation. The compliance officer can ask "was this exact text the prompt
// of event X" here, where the secret is (checkEventText).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EnclaveError } from '../../shared/errors.js';
import { auditEvents, auditPrivateText, meta, type ReadableDb, type WritableDb } from '../store/index.js';
import { AuditRecordSchema, type AuditRecord } from './record.js';

/** meta key of the workstation's 256-bit HMAC secret (hex), made once, never exported. */
export const TEXT_KEY_META = 'audit.text_hmac_key';

/** How a typed user name that names no account here is recorded: this prefix and the keyed hash of the name (case-folded). */
export const TYPED_NAME_PREFIX = 'hmac-sha256:';

/** The detail key suffixes a private text field becomes in the record. */
export const PRIVATE_HMAC_SUFFIX = '_hmac';
export const PRIVATE_CHARS_SUFFIX = '_chars';

/** A private text field's name: it becomes <name>_hmac and <name>_chars in the record's detail. */
export const PRIVATE_FIELD = /^[a-z][a-z0-9_]{0,40}$/;

/** The field of audit_private_text that holds a typed user name (user.name in the record holds its token). */
export const TYPED_NAME_FIELD = 'user_name';

/** The secret, or null before the first event that needed it (and in a database that never had one). */
export function readTextKey(db: ReadableDb): Buffer | null {
  const value = meta.get(db, TEXT_KEY_META);
  if (value === undefined) return null;
  if (!/^[0-9a-f]{64}$/.test(value)) throw new EnclaveError('storage_failed', 'The audit text key in the database is damaged; typed text cannot be hashed. Nothing was changed.');
  return Buffer.from(value, 'hex');
}

/**
 * The secret, made on first use inside the caller's transaction: if that
 * transaction rolls back, the secret goes with the only records that used it.
 */
export function ensureTextKey(db: WritableDb): Buffer {
  const existing = readTextKey(db);
  if (existing) return existing;
  const key = randomBytes(32);
  meta.insert(db, TEXT_KEY_META, key.toString('hex'));
  return key;
}

/** HMAC-SHA-256 of the text's UTF-8 bytes, hex. */
export function keyedHash(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('hex');
}

/** How user names compare: exactly, ignoring case (Unicode default case mapping, no locale). */
export function foldUserName(name: string): string {
  return name.toLowerCase();
}

/** The recorded form of a typed user name that names no account: the same for any letter case, so a search finds it. */
export function typedNameToken(key: Buffer, name: string): string {
  return `${TYPED_NAME_PREFIX}${keyedHash(key, foldUserName(name.trim()))}`;
}

/** Is this the name of an account known here (local or directory)? Such a name is recorded as it is. */
export function isKnownAccountName(db: ReadableDb, name: string): boolean {
  return auditPrivateText.namesAnAccount(db, name.trim());
}

/**
 * Does an audit record already name this user as it is (ignoring case)? Then
 * naming it again discloses nothing the SIEM does not hold. Reads every
 * record's user name, as a search by user does.
 */
export function isRecordedUserName(db: ReadableDb, name: string): boolean {
  const wanted = foldUserName(name.trim());
  for (const row of auditEvents.distinctUserNames(db)) {
    if (typeof row.name === 'string' && !row.name.startsWith(TYPED_NAME_PREFIX) && foldUserName(row.name) === wanted) return true;
  }
  return false;
}

/**
 * A user name a person typed (a compliance search term), as the record may
 * carry it: the name itself when it names an account here or a record
 * already names it so, else its token. Makes the secret if there is none yet
 * (inside the caller's transaction).
 */
export function recordableUserName(db: WritableDb, typed: string): string {
  return isKnownAccountName(db, typed) || isRecordedUserName(db, typed) ? typed.trim() : typedNameToken(ensureTextKey(db), typed);
}

/** The private text kept for each event, by field. */
export function privateTextOf(db: ReadableDb, seq: number): Record<string, string> {
  return Object.fromEntries(auditPrivateText.ofEvent(db, seq).map((r) => [r.field, r.text]));
}

/** Where an event holds a hash of typed text that a check can compare against. */
export type CheckedField = 'prompt' | 'response' | 'user.name' | `detail.${string}`;

export interface TextCheck {
  /** The event's id and sequence, as recorded. */
  eventId: string;
  sequence: number;
  matches: boolean;
  /** The field whose hash the text matches, or null. */
  field: CheckedField | null;
  /** Every field of the event that a text can be checked against (empty: the event holds no hash of typed text). */
  fields: CheckedField[];
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Was this exact text the prompt (or answer, or stated reason, or typed user
 * name) of the event? Compares keyed hashes with the secret kept here; records
 * from before keyed hashes carry a plain SHA-256, compared as such. The text
 * is also tried without surrounding white space, as prompts are trimmed
 * before they are stored. Reads only.
 */
export function checkEventText(db: ReadableDb, eventId: string, text: string): TextCheck {
  const row = auditEvents.recordById(db, eventId);
  if (!row) throw new EnclaveError('not_found', `There is no audit event ${eventId} on this workstation (it may have been removed after delivery to the SIEM).`);
  let record: AuditRecord;
  try {
    record = AuditRecordSchema.parse(JSON.parse(row.record));
  } catch (cause) {
    throw new EnclaveError('audit_corrupt', `Audit event ${row.seq} is damaged and cannot be checked; run enclave audit verify to see what is wrong.`, { cause });
  }
  const key = readTextKey(db);
  const candidates = [...new Set([text, text.trim()])];
  const hmacOf = (t: string) => (key ? keyedHash(key, t) : null);
  const fields: CheckedField[] = [];
  let matched: CheckedField | null = null;
  const consider = (field: CheckedField, test: (candidate: string) => boolean) => {
    fields.push(field);
    if (matched === null && candidates.some(test)) matched = field;
  };
  for (const [field, digest] of [
    ['prompt', record.ai?.prompt],
    ['response', record.ai?.response],
  ] as const) {
    if (!digest) continue;
    consider(field, (t) => {
      if (digest.hmac_sha256 !== undefined) {
        const h = hmacOf(t);
        return h !== null && same(h, digest.hmac_sha256);
      }
      return digest.sha256 !== undefined && same(createHash('sha256').update(t, 'utf8').digest('hex'), digest.sha256);
    });
  }
  const name = record.user?.name;
  if (name?.startsWith(TYPED_NAME_PREFIX)) consider('user.name', (t) => key !== null && same(typedNameToken(key, t), name));
  for (const [detailKey, value] of Object.entries(record.enclave.detail ?? {})) {
    if (!detailKey.endsWith(PRIVATE_HMAC_SUFFIX) || typeof value !== 'string') continue;
    consider(`detail.${detailKey.slice(0, -PRIVATE_HMAC_SUFFIX.length)}`, (t) => {
      const h = hmacOf(t);
      return h !== null && same(h, value);
    });
  }
  return { eventId: record.event.id, sequence: record.event.sequence, matches: matched !== null, field: matched, fields };
}
