// Chat retention (policy storage.chatRetentionDays): expired sessions and
// their messages are deleted in audited transactions, then the WAL is
// checkpointed so the deleted pages leave it too (secure_delete zeroes them in
// the database file). The queries are plain functions so `enclave doctor` can
// ask the same question of a database opened read-only.
//
// When a session expires: its retention clock starts at its last activity, the
// later of its last message (updated_at) and its end (ended_at). A session
// that was never ended is measured from its last message, so a session left
// open forever expires like any other. With N > 0 days a session expires N
// days after that moment. With 0 a session goes when it ends, and a sweep takes
// every ended session, and every open session whose owner is not signed in
// (signing out ends one's sessions for retention; a locked owner is still
// signed in). A session with an answer waiting or being written is never
// purged: it goes at the next sweep after the answer ends.
import type { AuditLog } from '../audit/index.js';
import { chatSessions, meta, type ReadableDb, type Store } from '../store/index.js';

export const DAY_MS = 86_400_000;
/** meta key: when the last sweep ran (ms since the epoch), for `enclave doctor`. */
export const LAST_SWEEP_KEY = 'retention.last_sweep_at';
/** meta key: how many sessions the last sweep purged. */
export const LAST_SWEEP_PURGED_KEY = 'retention.last_sweep_purged';
/** Sessions per chat.purge event and transaction: a sweep of 10,000 sessions is 100 events of bounded size, not one giant one. */
export const PURGE_BATCH_SESSIONS = 100;
/** How often the core sweeps while it runs. */
export const DEFAULT_SWEEP_INTERVAL_MS = 15 * 60_000;

export type SweepTrigger = 'start' | 'interval' | 'session_end' | 'sign_out' | 'policy_change';

export interface RetentionRule {
  days: number;
  now: number;
  /** Sessions with an answer waiting or under way: never purged. */
  busySessionIds?: readonly string[];
  /** Users signed in (active or locked): with 0 days, their open sessions are kept. */
  presentUserIds?: readonly string[];
}

function expiryRule(rule: RetentionRule): chatSessions.ExpiryRule {
  if (!Number.isInteger(rule.days) || rule.days < 0) throw new RangeError(`retention days must be a whole number of 0 or more (got ${rule.days})`);
  return {
    cutoff: rule.now - rule.days * DAY_MS,
    zeroDays: rule.days === 0,
    busySessionIds: rule.busySessionIds ?? [],
    presentUserIds: rule.presentUserIds ?? [],
  };
}

/** Up to `limit` expired sessions, oldest activity first. */
export function expiredSessionIds(db: ReadableDb, rule: RetentionRule, limit: number): string[] {
  return chatSessions.expiredSessionIds(db, expiryRule(rule), limit);
}

/** How many sessions (and their messages) the rule would purge now. */
export function countExpiredSessions(db: ReadableDb, rule: RetentionRule): { sessions: number; messages: number } {
  return chatSessions.countExpiredSessions(db, expiryRule(rule));
}

export function lastSweep(db: ReadableDb): { at: number; purged: number } | null {
  const at = Number(meta.get(db, LAST_SWEEP_KEY));
  if (!Number.isFinite(at) || at <= 0) return null;
  return { at, purged: Number(meta.get(db, LAST_SWEEP_PURGED_KEY) ?? '0') };
}

export interface RetentionSweeperOptions {
  store: Store;
  audit: AuditLog;
  /** The policy's chatRetentionDays, or null while no valid policy is in force (then nothing is purged). */
  days: () => number | null;
  now: () => number;
  busySessionIds: () => readonly string[];
  presentUserIds: () => readonly string[];
  /** After each batch: drop whatever the engine still holds for these sessions (their contexts). */
  onPurged: (sessionIds: readonly string[]) => Promise<void>;
  intervalMs?: number;
  log: (message: string, error?: unknown) => void;
}

export interface SweepResult {
  sessions: number;
  messages: number;
  events: number;
}

/** Runs sweeps one at a time: at start, on an interval, and when asked (a session ended, someone signed out). */
export class RetentionSweeper {
  readonly #o: RetentionSweeperOptions;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: RetentionSweeperOptions) {
    this.#o = options;
  }

  /** A sweep now, then one every interval; the timer never keeps the process alive. */
  start(): void {
    if (this.#stopped || this.#timer) return;
    this.#background('start');
    this.#timer = setInterval(() => this.#background('interval'), this.#o.intervalMs ?? DEFAULT_SWEEP_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Waits for any sweep under way, then sweeps. Throws what the sweep threw (a failed write purges nothing of its batch). */
  sweep(trigger: SweepTrigger): Promise<SweepResult> {
    const run = this.#queue.then(() => this.#run(trigger));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** No sweep starts after this; one under way stops after its current batch. Resolves when it has. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#queue;
  }

  #background(trigger: SweepTrigger): void {
    this.sweep(trigger).catch((error: unknown) => this.#o.log(`the chat retention sweep (${trigger}) failed; it runs again at the next interval`, error));
  }

  async #run(trigger: SweepTrigger): Promise<SweepResult> {
    const total: SweepResult = { sessions: 0, messages: 0, events: 0 };
    if (this.#stopped) return total;
    const days = this.#o.days();
    if (days === null) return total;
    const { store, audit } = this.#o;
    for (;;) {
      // Looked at again for each batch: an answer may have started, or someone signed in or out, during the last await.
      const rule: RetentionRule = { days, now: this.#o.now(), busySessionIds: this.#o.busySessionIds(), presentUserIds: this.#o.presentUserIds() };
      const ids = expiredSessionIds(store.reader, rule, PURGE_BATCH_SESSIONS);
      if (ids.length === 0) break;
      const purged = audit.run(
        (db) => chatSessions.deleteSessions(db, ids),
        (result) => ({
          action: 'chat.purge',
          outcome: 'success',
          detail: { trigger, retention_days: days, sessions: result.sessions, messages: result.messages, session_ids: ids.join(',') },
        }),
      );
      total.sessions += purged.sessions;
      total.messages += purged.messages;
      total.events += 1;
      await this.#o.onPurged(ids);
      if (this.#stopped) break;
    }
    store.transaction((db) => {
      meta.set(db, LAST_SWEEP_KEY, String(this.#o.now()));
      meta.set(db, LAST_SWEEP_PURGED_KEY, String(total.sessions));
    });
    // Last, so nothing of this sweep is left in the WAL.
    if (total.events > 0) {
      if (!store.checkpoint()) this.#o.log('the WAL checkpoint after a chat purge could not finish (a reader held it); the next one finishes it');
    }
    return total;
  }
}
