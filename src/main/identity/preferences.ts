// Per-person display preferences (text size, theme), kept with the account on
// this workstation: the same person finds them again after a restart, and
// each person who signs in here keeps their own. Never PHI, so not audited.
import type { UserPreferences } from '../../shared/api.js';
import { preferences as queries, type Store } from '../store/index.js';

export function preferencesOf(store: Store, accountId: string): UserPreferences {
  return queries.getPreferences(store.reader, accountId);
}

/** Applies a change (any of the settings; the contract validated each) and returns all of them as now stored. */
export function changePreferences(store: Store, accountId: string, change: Partial<UserPreferences>, now: number): UserPreferences {
  return store.transaction((db) => {
    const merged: UserPreferences = { ...queries.getPreferences(db, accountId) };
    if (change.textScale !== undefined) merged.textScale = change.textScale;
    if (change.theme !== undefined) merged.theme = change.theme;
    queries.savePreferences(db, accountId, merged, now);
    return merged;
  });
}
