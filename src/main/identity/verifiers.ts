// How long what a directory sign-in leaves on the workstation stays usable
// offline. An offline verifier is a slow salted hash of an AD password: one
// that nobody may use any more is only something to attack, so it is deleted
// (password_hash set NULL) once it is older than policy allows, counted from
// when it was made (verifier_at: the last online sign-in with a password). Evaluation-account hashes are passwords, not verifiers,
// and are never touched here.
import { accounts, type WritableDb } from '../store/index.js';
import type { Policy } from '../policy/index.js';

export const DAY_MS = 86_400_000;

/** Days a directory account's verifier is kept and accepted: offline sign-in's, or for a break-glass member the longer of that and offline emergency access's. */
export function verifierDays(policy: Policy, breakGlassMember: boolean): number {
  const emergency = policy.breakGlass.enabled && breakGlassMember ? policy.breakGlass.offlineMaxAgeDays : 0;
  return Math.max(policy.directory.offlineSignInDays, emergency);
}

/** Whether `at` (an online sign-in, or when a verifier was made; null: never) is `days` ago or less. 0 days: never. */
export function onlineWithin(at: number | null, days: number, now: number): boolean {
  return days > 0 && at !== null && now - at <= days * DAY_MS;
}

/** Deletes the verifiers policy no longer allows; returns how many. One UPDATE over the (small) accounts table. */
export function deleteExpiredVerifiers(db: WritableDb, policy: Policy, now: number): number {
  return accounts.deleteExpiredVerifiers(db, { now, days: verifierDays(policy, false), breakGlassDays: verifierDays(policy, true) });
}
