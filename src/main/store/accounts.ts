// Queries of the accounts table (migrations 1, 2 and 9): the evaluation
// account, and the directory accounts that signed in on this workstation with
// their offline verifiers. What the rows mean is identity's business
// (identity/); this module only reads and writes them.
import type { Role, User } from '../../shared/api.js';
import type { ReadableDb, WritableDb } from './handles.js';

const DAY_MS = 86_400_000;

/** An accounts row as stored. */
export interface AccountRow {
  id: string;
  username: string;
  display_name: string;
  /** Evaluation: the password's scrypt hash; directory: the offline verifier, or null. */
  password_hash: string | null;
  /** JSON array of roles. */
  roles: string;
  kind: 'evaluation' | 'directory';
  last_online_at: number | null;
  /** When the offline verifier was made (the last online sign-in with a password); its age counts from here. */
  verifier_at: number | null;
  break_glass: 0 | 1;
}

/** The signed-in person an account row stands for, signed in by `authMethod`. */
export function toUser(row: AccountRow, authMethod: User['authMethod']): User {
  return { id: row.id, username: row.username, displayName: row.display_name, roles: rowRoles(row), authMethod };
}

export function rowRoles(row: AccountRow): Role[] {
  return JSON.parse(row.roles) as Role[];
}

// --- Reads -------------------------------------------------------------------------------------

export function countAccounts(db: ReadableDb): number {
  return (db.prepare('SELECT count(*) AS n FROM accounts').get() as { n: number }).n;
}

export function getAccount(db: ReadableDb, id: string): AccountRow | undefined {
  return db.prepare('SELECT * FROM accounts WHERE id = ?').get(id) as AccountRow | undefined;
}

export function getEvaluationAccount(db: ReadableDb, username: string): AccountRow | undefined {
  return db.prepare("SELECT * FROM accounts WHERE username = ? AND kind = 'evaluation'").get(username) as AccountRow | undefined;
}

/** The directory account whose UPN or sAMAccountName is `key` (as stored: the parsed login). */
export function getDirectoryAccountByLogin(db: ReadableDb, key: string): AccountRow | undefined {
  return db.prepare("SELECT * FROM accounts WHERE kind = 'directory' AND (username = ? OR sam_account_name = ?)").get(key, key) as AccountRow | undefined;
}

/** Any account named `typed` or `loginKey` (user name or sAMAccountName, in any case): its id and user name. */
export function findAccountByName(db: ReadableDb, typed: string, loginKey: string): { id: string; username: string } | undefined {
  return db
    .prepare('SELECT id, username FROM accounts WHERE username = ? COLLATE NOCASE OR sam_account_name = ? COLLATE NOCASE OR username = ? COLLATE NOCASE OR sam_account_name = ? COLLATE NOCASE LIMIT 1')
    .get(typed, typed, loginKey, loginKey) as { id: string; username: string } | undefined;
}

/**
 * The directory account a typed name may sign in as: by sAMAccountName
 * (`loginKey` or the normalised `local` part), UPN, or the UPN's part before
 * the `@`, whatever the case; the most recently online one.
 */
export function directoryAccountIdForLogin(db: ReadableDb, loginKey: string, local: string): string | undefined {
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

// --- Writes ------------------------------------------------------------------------------------

export function insertEvaluationAccount(db: WritableDb, user: Pick<User, 'id' | 'username' | 'displayName' | 'roles'>, passwordHash: string, createdAt: number): void {
  db.prepare('INSERT INTO accounts (id, username, display_name, password_hash, roles, kind, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    user.id,
    user.username,
    user.displayName,
    passwordHash,
    JSON.stringify(user.roles),
    'evaluation',
    createdAt,
  );
}

/** Replaces the password hash only if the row still holds `stored` (another sign-in or a sweep may have changed it). */
export function replacePasswordHash(db: WritableDb, accountId: string, stored: string, upgraded: string): void {
  db.prepare('UPDATE accounts SET password_hash = ? WHERE id = ? AND password_hash = ?').run(upgraded, accountId, stored);
}

export function setCardCertificate(db: WritableDb, accountId: string, cardSha256: string): void {
  db.prepare('UPDATE accounts SET card_sha256 = ? WHERE id = ?').run(cardSha256, accountId);
}

/** A directory account as the directory just gave it. */
export interface DirectoryAccountUpdate {
  id: string;
  upn: string;
  displayName: string;
  samAccountName: string;
  dn: string;
  roles: readonly Role[];
  breakGlass: boolean;
  /** The new offline verifier, or null to keep the one there is (when `keepVerifier`). */
  verifier: string | null;
  /** False: policy allows no offline use for this account, and any verifier goes. */
  keepVerifier: boolean;
  now: number;
}

/** Inserts or refreshes a directory account after an online sign-in or card lookup (see identity's #remember). */
export function upsertDirectoryAccount(db: WritableDb, account: DirectoryAccountUpdate): void {
  db.prepare(
    `INSERT INTO accounts (id, username, display_name, password_hash, verifier_at, roles, kind, created_at, sam_account_name, directory_dn, last_online_at, break_glass)
     VALUES (@id, @upn, @displayName, @verifier, CASE WHEN @verifier IS NULL THEN NULL ELSE @now END, @roles, 'directory', @now, @sam, @dn, @now, @breakGlass)
     ON CONFLICT(id) DO UPDATE SET username = excluded.username, display_name = excluded.display_name,
       password_hash = CASE WHEN @keep THEN coalesce(excluded.password_hash, accounts.password_hash) ELSE NULL END,
       verifier_at = CASE WHEN NOT @keep THEN NULL WHEN excluded.password_hash IS NOT NULL THEN @now ELSE accounts.verifier_at END,
       roles = excluded.roles, sam_account_name = excluded.sam_account_name, directory_dn = excluded.directory_dn,
       last_online_at = excluded.last_online_at, break_glass = excluded.break_glass`,
  ).run({
    id: account.id,
    upn: account.upn,
    displayName: account.displayName,
    verifier: account.verifier,
    roles: JSON.stringify(account.roles),
    now: account.now,
    sam: account.samAccountName,
    dn: account.dn,
    breakGlass: account.breakGlass ? 1 : 0,
    keep: account.keepVerifier ? 1 : 0,
  });
}

/**
 * Deletes (sets NULL) directory accounts' offline verifiers older than
 * `days` (`breakGlassDays` for break-glass members; 0: none is kept).
 * Evaluation accounts' password hashes are never touched. Returns how many.
 */
export function deleteExpiredVerifiers(db: WritableDb, limits: { now: number; days: number; breakGlassDays: number }): number {
  return db
    .prepare(
      `UPDATE accounts SET password_hash = NULL
       WHERE kind = 'directory' AND password_hash IS NOT NULL
         AND (verifier_at IS NULL OR (CASE WHEN break_glass = 1 THEN @breakGlassDays ELSE @days END) = 0
              OR verifier_at < @now - (CASE WHEN break_glass = 1 THEN @breakGlassDays ELSE @days END) * ${DAY_MS})`,
    )
    .run(limits).changes;
}
