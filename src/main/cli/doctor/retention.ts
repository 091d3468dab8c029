// Chat retention: the schedule policy sets, how many sessions are past it now
// (and so go at the app's next sweep), and when the app last swept.
import { countExpiredSessions, DEFAULT_SWEEP_INTERVAL_MS, lastSweep } from '../../inference/index.js';
import type { Policy } from '../../policy/index.js';
import type { ReadableDb } from '../../store/index.js';
import { DAY_MS, ok, skip, warn, type CheckResult } from './check.js';

const NAME = 'retention';

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

/** `db` is the database opened read-only, or null with `unopened` saying why it could not be. */
export function checkRetention(policy: Policy | null, db: ReadableDb | null, unopened: string, now = Date.now()): CheckResult {
  if (!policy) return skip(NAME, 'not checked: the policy is not valid');
  const days = policy.storage.chatRetentionDays;
  const every = `at start and every ${DEFAULT_SWEEP_INTERVAL_MS / 60_000} minutes`;
  const schedule =
    days === 0
      ? `storage.chatRetentionDays 0: a chat is deleted when its session ends; the app also sweeps ${every}, taking ended sessions and open ones whose user signed out`
      : `storage.chatRetentionDays ${days}: a chat is deleted ${plural(days, 'day')} after its last message or its end, whichever is later; the app sweeps ${every}`;
  if (!db) return ok(NAME, `${schedule}. Sessions not counted: ${unopened}`);
  const expired = countExpiredSessions(db, { days, now });
  const last = lastSweep(db);
  const due =
    expired.sessions === 0
      ? 'no session is past it now'
      : `${plural(expired.sessions, 'session')} (${plural(expired.messages, 'message')}) ${expired.sessions === 1 ? 'is' : 'are'} ${days === 0 ? 'ended or left open' : 'past it'} and go${expired.sessions === 1 ? 'es' : ''} at the next sweep`;
  const swept = last ? `last sweep ${new Date(last.at).toISOString()} (${plural(last.purged, 'session')} purged)` : 'no sweep has run yet';
  const detail = `${schedule}. ${due}; ${swept}`;
  // Sessions past retention with no sweep for a day: the app has not run (or its sweep fails); the chats are still on disk.
  if (expired.sessions > 0 && (!last || now - last.at > DAY_MS)) return warn(NAME, `${detail}. Start Enclave (it sweeps at start) and check its log if they stay`);
  return ok(NAME, detail);
}
