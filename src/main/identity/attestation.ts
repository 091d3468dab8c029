// Policy's acceptable-use statement (acceptableUse): whether it is due for a
// person at sign-in, and their answer. An acceptance is kept in the store by
// the text's SHA-256 (never the text) and lasts policy's intervalDays; a
// changed text is due again at the next sign-in. The service (index.ts) holds
// what is due with the session; the dispatcher refuses role-gated calls while
// it is (attestation_required).
import { createHash } from 'node:crypto';
import type { AttestationDue, User } from '../../shared/api.js';
import { auditUser, type AuditLog } from '../audit/index.js';
import type { Policy } from '../policy/index.js';
import { preferences as queries, type Store } from '../store/index.js';

const DAY_MS = 86_400_000;

/** The statement as shown and hashed: line endings normalised, so the same text from a Windows or POSIX source is the same text. */
export function normaliseStatement(text: string): string {
  return text.replace(/\r\n?/g, '\n').trim();
}

export function statementSha256(text: string): string {
  return createHash('sha256').update(normaliseStatement(text), 'utf8').digest('hex');
}

/** What the session holds while the statement is due: what is shown, and the hash an acceptance records. */
export interface PendingAttestation {
  due: AttestationDue;
  sha256: string;
  intervalDays: number;
}

/**
 * Whether `user` must accept policy's statement before anything else: a text
 * is set and they have not accepted this text within intervalDays (0: every
 * sign-in). Null when nothing is due.
 */
export function attestationDue(store: Store, policy: Policy, user: User, now: number): PendingAttestation | null {
  const raw = policy.acceptableUse.text;
  if (raw === undefined) return null;
  const text = normaliseStatement(raw);
  if (text === '') return null;
  const sha256 = statementSha256(text);
  const intervalDays = policy.acceptableUse.intervalDays;
  const accepted = queries.lastAcceptanceOf(store.reader, user.id, sha256);
  if (accepted !== null && intervalDays > 0 && accepted > now - intervalDays * DAY_MS && accepted <= now) return null;
  return { due: { text, lastAcceptedAt: queries.lastAcceptance(store.reader, user.id) }, sha256, intervalDays };
}

/** Records the acceptance and its audit event together (auth.attest success: the text's hash and the interval, never the text). */
export function recordAcceptance(store: Store, audit: AuditLog, user: User, pending: PendingAttestation, now: number): void {
  audit.run(
    (db) => queries.insertAcceptance(db, user.id, pending.sha256, now),
    () => ({ action: 'auth.attest', outcome: 'success', user: auditUser(user), detail: { text_sha256: pending.sha256, text_chars: pending.due.text.length, interval_days: pending.intervalDays } }),
  );
}

/** A refusal (auth.attest failure, reason declined); the service then signs the person out. */
export function recordDecline(audit: AuditLog, user: User, pending: PendingAttestation): void {
  audit.record({ action: 'auth.attest', outcome: 'failure', reason: 'declined', user: auditUser(user), detail: { text_sha256: pending.sha256, interval_days: pending.intervalDays } });
}
