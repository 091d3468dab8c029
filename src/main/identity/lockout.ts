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
import { accounts, signInLockouts, type ReadableDb, type Store, type WritableDb } from '../store/index.js';

type Lockout = signInLockouts.Lockout;

export interface LockoutPolicy {
  /** Failures in a row that start a lockout (session.maxFailedSignIns). */
  maxFailures: number;
  /** The first lockout (session.failedSignInLockoutSeconds). */
  baseSeconds: number;
  /** No lockout is longer (session.failedSignInLockoutMaxSeconds; never below baseSeconds). */
  maxSeconds: number;
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
export function countFailure(db: WritableDb, key: string, now: number, policy: LockoutPolicy): { startedSeconds: number | null } {
  const before = signInLockouts.getLockout(db, key);
  const windowMs = Math.max(policy.baseSeconds, policy.maxSeconds) * 1000;
  const failures = (before && now - before.lastFailureAt <= windowMs ? before.failures : 0) + 1;
  const lockouts = before?.lockouts ?? 0;
  if (failures >= policy.maxFailures) {
    const seconds = lockoutSeconds(policy, lockouts);
    signInLockouts.saveLockout(db, { key, failures: 0, lockouts: lockouts + 1, lockedUntil: now + seconds * 1000, lastFailureAt: now });
    return { startedSeconds: seconds };
  }
  signInLockouts.saveLockout(db, { key, failures, lockouts, lockedUntil: before?.lockedUntil ?? null, lastFailureAt: now });
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
  let name = typed
    .normalize('NFKC')
    .replace(/\p{Cf}/gu, '')
    .toLowerCase()
    .replace(/\s+/gu, ' ')
    .trim();
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
export function directoryAccountIdForName(db: ReadableDb, typed: string, loginKey: string): string | undefined {
  return accounts.directoryAccountIdForLogin(db, loginKey, normaliseLoginName(typed));
}
