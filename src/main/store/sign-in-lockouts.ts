// Queries of sign_in_lockouts (migration 9): one row per throttled key (an
// account, a card, or a keyed hash of a typed name). The rules that count
// failures and lengthen lockouts are identity's (identity/lockout.ts).
import type { ReadableDb, WritableDb } from './handles.js';

/** A sign_in_lockouts row as stored. */
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

export function rowToLockout(row: LockoutRow): Lockout {
  return { key: row.key, failures: row.failures, lockouts: row.lockouts, lockedUntil: row.locked_until, lastFailureAt: row.last_failure_at };
}

export function lockoutToRow(lockout: Lockout): LockoutRow {
  return { key: lockout.key, failures: lockout.failures, lockouts: lockout.lockouts, locked_until: lockout.lockedUntil, last_failure_at: lockout.lastFailureAt };
}

export function getLockout(db: ReadableDb, key: string): Lockout | undefined {
  const row = db.prepare('SELECT key, failures, lockouts, locked_until, last_failure_at FROM sign_in_lockouts WHERE key = ?').get(key) as LockoutRow | undefined;
  return row ? rowToLockout(row) : undefined;
}

export function saveLockout(db: WritableDb, lockout: Lockout): void {
  db.prepare(
    `INSERT INTO sign_in_lockouts (key, failures, lockouts, locked_until, last_failure_at) VALUES (@key, @failures, @lockouts, @locked_until, @last_failure_at)
     ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, lockouts = excluded.lockouts, locked_until = excluded.locked_until, last_failure_at = excluded.last_failure_at`,
  ).run(lockoutToRow(lockout));
}

export function deleteLockouts(db: WritableDb, keys: readonly string[]): void {
  const statement = db.prepare('DELETE FROM sign_in_lockouts WHERE key = ?');
  for (const key of keys) statement.run(key);
}

/**
 * Forgets rows that throttle nothing any more: no lockout running and the
 * last failure older than `quietMs`. Names nobody has can be typed without
 * end; this keeps the table small. Returns how many went.
 */
export function deleteQuietLockouts(db: WritableDb, now: number, quietMs: number): number {
  return db.prepare('DELETE FROM sign_in_lockouts WHERE (locked_until IS NULL OR locked_until <= @now) AND last_failure_at < @before').run({ now, before: now - quietMs }).changes;
}
