// Sign-in throttling, persisted in the encrypted store (table
// sign_in_lockouts, migration 9): a restart does not reset it.
//
// Failures are counted per account, not per spelling: `jdoe`, `JDoe`,
// `EXAMPLE\jdoe` and `jdoe@example.org` of one account share one counter
// (`account:<id>`). A name that maps to no account here is still throttled,
// under a normalised form of it (case, Unicode compatibility forms, invisible
// characters, surrounding and repeated spaces, domain prefix and UPN suffix
// all dropped), kept as a keyed hash because typed names are often passwords.
// Cards count under their serial. Each lockout lasts twice as long as the one
// before, up to a cap, until a successful sign-in resets the account.
import { createHmac, randomBytes } from 'node:crypto';
import type { Db, Store } from '../store/index.js';

export interface LockoutRow {
  key: string;
  failures: number;
  lockouts: number;
  locked_until: number | null;
  last_failure_at: number;
}

export interface Lockout {
  key: string;
  /** Failures since the last lockout or success. */
  failures: number;
  /** Lockouts in a row without a successful sign-in. */
  lockouts: number;
  lockedUntil: number | null;
  lastFailureAt: number;
}

export interface LockoutPolicy {
  /** Failures in a row that start a lockout (session.maxFailedSignIns). */
  maxFailures: number;
  /** The first lockout (session.failedSignInLockoutSeconds). */
  baseSeconds: number;
  /** No lockout is longer (session.failedSignInLockoutMaxSeconds; never below baseSeconds). */
  maxSeconds: number;
}

export function rowToLockout(row: LockoutRow): Lockout {
  return { key: row.key, failures: row.failures, lockouts: row.lockouts, lockedUntil: row.locked_until, lastFailureAt: row.last_failure_at };
}

export function lockoutToRow(lockout: Lockout): LockoutRow {
  return { key: lockout.key, failures: lockout.failures, lockouts: lockout.lockouts, locked_until: lockout.lockedUntil, last_failure_at: lockout.lastFailureAt };
}

// --- Queries -----------------------------------------------------------------------------------

export function getLockout(db: Db, key: string): Lockout | undefined {
  const row = db.prepare('SELECT key, failures, lockouts, locked_until, last_failure_at FROM sign_in_lockouts WHERE key = ?').get(key) as LockoutRow | undefined;
  return row ? rowToLockout(row) : undefined;
}

export function saveLockout(db: Db, lockout: Lockout): void {
  db.prepare(
    `INSERT INTO sign_in_lockouts (key, failures, lockouts, locked_until, last_failure_at) VALUES (@key, @failures, @lockouts, @locked_until, @last_failure_at)
     ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, lockouts = excluded.lockouts, locked_until = excluded.locked_until, last_failure_at = excluded.last_failure_at`,
  ).run(lockoutToRow(lockout));
}

export function deleteLockouts(db: Db, keys: readonly string[]): void {
  const statement = db.prepare('DELETE FROM sign_in_lockouts WHERE key = ?');
  for (const key of keys) statement.run(key);
}

/**
 * Forgets rows that throttle nothing any more: no lockout running and the
 * last failure older than `quietMs`. Names nobody has can be typed without
 * end; this keeps the table small. Returns how many went.
 */
export function deleteQuietLockouts(db: Db, now: number, quietMs: number): number {
  return db.prepare('DELETE FROM sign_in_lockouts WHERE (locked_until IS NULL OR locked_until <= @now) AND last_failure_at < @before').run({ now, before: now - quietMs }).changes;
}

// --- Rules -------------------------------------------------------------------------------------

/** How long the lockout that follows `previousLockouts` lockouts in a row lasts: the base, doubled each time, capped. */
export function lockoutSeconds(policy: LockoutPolicy, previousLockouts: number): number {
  const cap = Math.max(policy.baseSeconds, policy.maxSeconds);
  // 2^31 seconds is past any cap policy allows; the exponent is bounded so the arithmetic stays exact.
  return Math.min(cap, policy.baseSeconds * 2 ** Math.min(previousLockouts, 31));
}

/** Milliseconds left of a running lockout, or 0. */
export function remainingMs(lockout: Lockout | undefined, now: number): number {
  return lockout?.lockedUntil != null && lockout.lockedUntil > now ? lockout.lockedUntil - now : 0;
}

/**
 * Counts one failure. Failures spread wider apart than the longest lockout
 * start over (the observation window), but the count of lockouts in a row
 * does not: only a successful sign-in resets that. Returns the lockout it
 * started, in seconds, or null.
 */
export function countFailure(db: Db, key: string, now: number, policy: LockoutPolicy): { startedSeconds: number | null } {
  const before = getLockout(db, key);
  const windowMs = Math.max(policy.baseSeconds, policy.maxSeconds) * 1000;
  const failures = (before && now - before.lastFailureAt <= windowMs ? before.failures : 0) + 1;
  const lockouts = before?.lockouts ?? 0;
  if (failures >= policy.maxFailures) {
    const seconds = lockoutSeconds(policy, lockouts);
    saveLockout(db, { key, failures: 0, lockouts: lockouts + 1, lockedUntil: now + seconds * 1000, lastFailureAt: now });
    return { startedSeconds: seconds };
  }
  saveLockout(db, { key, failures, lockouts, lockedUntil: before?.lockedUntil ?? null, lastFailureAt: now });
  return { startedSeconds: null };
}

// --- Keys --------------------------------------------------------------------------------------

export function accountKey(accountId: string): string {
  return `account:${accountId}`;
}

export function cardKey(serial: string): string {
  return `card:${serial}`;
}

/**
 * The account part of a typed sign-in name, as attackers cannot vary it:
 * Unicode compatibility forms folded (NFKC), invisible format characters
 * dropped, lower-case, spaces trimmed and runs of them made one, and any
 * `DOMAIN\` prefix and `@suffix` removed.
 */
export function normaliseLoginName(typed: string): string {
  let name = typed.normalize('NFKC').replace(/\p{Cf}/gu, '').toLowerCase().replace(/\s+/gu, ' ').trim();
  const backslash = name.lastIndexOf('\\');
  if (backslash >= 0) name = name.slice(backslash + 1);
  const at = name.lastIndexOf('@');
  if (at > 0) name = name.slice(0, at);
  return name.trim();
}

const NAME_SECRET_META = 'lockout.name_secret';

/** `name:<HMAC-SHA256 of the normalised name>` under a random secret of this database. */
export function nameKey(store: Store, typed: string): string {
  let secret = store.getMeta(NAME_SECRET_META);
  if (!secret) {
    secret = randomBytes(32).toString('hex');
    store.setMeta(NAME_SECRET_META, secret);
  }
  return `name:${createHmac('sha256', Buffer.from(secret, 'hex')).update(normaliseLoginName(typed)).digest('hex')}`;
}

/**
 * The directory account on this workstation a typed name may sign in as: by
 * sAMAccountName, UPN, or the UPN's part before the `@`, whatever the case,
 * domain prefix or suffix. Its id keys the lockout.
 */
export function directoryAccountIdForName(db: Db, typed: string, loginKey: string): string | undefined {
  const local = normaliseLoginName(typed);
  const row = db
    .prepare(
      `SELECT id FROM accounts WHERE kind = 'directory' AND (
         username = @key COLLATE NOCASE OR sam_account_name = @key COLLATE NOCASE OR sam_account_name = @local COLLATE NOCASE
         OR (instr(username, '@') > 0 AND substr(username, 1, instr(username, '@') - 1) = @local COLLATE NOCASE))
       ORDER BY last_online_at DESC LIMIT 1`,
    )
    .get({ key: loginKey, local }) as { id: string } | undefined;
  return row?.id;
}
