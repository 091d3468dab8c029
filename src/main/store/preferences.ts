// Queries of user_preferences and attestations (migration 10): a person's
// display settings, and their acceptances of policy's acceptable-use
// statement (by the text's hash). What they mean is identity's business
// (identity/preferences.ts, identity/attestation.ts).
import type { UserPreferences } from '../../shared/api.js';
import type { ReadableDb, WritableDb } from './handles.js';

/** A user_preferences row as stored. */
export interface PreferencesRow {
  account_id: string;
  text_scale: number;
  theme: UserPreferences['theme'];
  updated_at: number;
}

/** What a person who never chose anything gets. */
export const DEFAULT_PREFERENCES: Readonly<UserPreferences> = Object.freeze({ textScale: 100, theme: 'system' });

export function rowToPreferences(row: PreferencesRow): UserPreferences {
  return { textScale: row.text_scale, theme: row.theme };
}

export function preferencesToRow(accountId: string, preferences: UserPreferences, updatedAt: number): PreferencesRow {
  return { account_id: accountId, text_scale: preferences.textScale, theme: preferences.theme, updated_at: updatedAt };
}

/** The person's preferences, or the defaults when they never set any. */
export function getPreferences(db: ReadableDb, accountId: string): UserPreferences {
  const row = db.prepare('SELECT account_id, text_scale, theme, updated_at FROM user_preferences WHERE account_id = ?').get(accountId) as PreferencesRow | undefined;
  return row ? rowToPreferences(row) : { ...DEFAULT_PREFERENCES };
}

export function savePreferences(db: WritableDb, accountId: string, preferences: UserPreferences, updatedAt: number): void {
  db.prepare(
    `INSERT INTO user_preferences (account_id, text_scale, theme, updated_at) VALUES (@account_id, @text_scale, @theme, @updated_at)
     ON CONFLICT(account_id) DO UPDATE SET text_scale = excluded.text_scale, theme = excluded.theme, updated_at = excluded.updated_at`,
  ).run(preferencesToRow(accountId, preferences, updatedAt));
}

/** When the person last accepted the statement with this hash; null: never. */
export function lastAcceptanceOf(db: ReadableDb, accountId: string, textSha256: string): number | null {
  const row = db.prepare('SELECT max(accepted_at) AS at FROM attestations WHERE account_id = ? AND text_sha256 = ?').get(accountId, textSha256) as { at: number | null };
  return row.at;
}

/** When the person last accepted any acceptable-use statement; null: never. */
export function lastAcceptance(db: ReadableDb, accountId: string): number | null {
  const row = db.prepare('SELECT max(accepted_at) AS at FROM attestations WHERE account_id = ?').get(accountId) as { at: number | null };
  return row.at;
}

export function insertAcceptance(db: WritableDb, accountId: string, textSha256: string, acceptedAt: number): void {
  db.prepare('INSERT INTO attestations (account_id, text_sha256, accepted_at) VALUES (?, ?, ?)').run(accountId, textSha256, acceptedAt);
}
