// The sign-in throttle of the identity service: lockout checks before a
// credential is tried, failures counted (with their audit event) after, and
// how a typed name is named in the audit. The rules are lockout.ts's; the
// rows are the store's (store/sign-in-lockouts.ts, store/accounts.ts).
import { EnclaveError } from '../../shared/errors.js';
import type { AuditEventInput, AuditLog } from '../audit/index.js';
import type { Policy } from '../policy/index.js';
import { accounts, signInLockouts, type Store } from '../store/index.js';
import { DirectoryRefusal } from './directory.js';
import { accountKey, countFailure, directoryAccountIdForName, nameKey, remainingMs, type LockoutPolicy } from './lockout.js';
import { DAY_MS, deleteExpiredVerifiers } from './verifiers.js';

export type AuditedUser = NonNullable<AuditEventInput['user']>;
export type ThrottledAction = 'auth.login' | 'auth.unlock' | 'auth.breakglass' | 'auth.key_recover';

export interface SignInThrottleOptions {
  store: Store;
  audit: AuditLog;
  policy: () => Policy;
  now: () => number;
}

export class SignInThrottle {
  readonly #o: SignInThrottleOptions;

  constructor(options: SignInThrottleOptions) {
    this.#o = options;
  }

  /** Deletes offline verifiers past policy's days and lockout rows that throttle nothing. Cheap: two statements on small tables. */
  sweep(): void {
    try {
      const now = this.#o.now();
      deleteExpiredVerifiers(this.#o.store.writer, this.#o.policy(), now);
      signInLockouts.deleteQuietLockouts(this.#o.store.writer, now, Math.max(DAY_MS, this.policy().maxSeconds * 1000));
    } catch {
      // A closed store at shutdown, or a policy being replaced: the next sweep (or sign-in) does it.
    }
  }

  policy(): LockoutPolicy {
    const { maxFailedSignIns, failedSignInLockoutSeconds, failedSignInLockoutMaxSeconds } = this.#o.policy().session;
    return { maxFailures: maxFailedSignIns, baseSeconds: failedSignInLockoutSeconds, maxSeconds: failedSignInLockoutMaxSeconds };
  }

  /** Refuses (and audits) an attempt while this account, name or card is locked out after too many failures. */
  check(key: string, action: ThrottledAction, user: AuditedUser, secret: 'password' | 'PIN' = 'password'): void {
    const left = remainingMs(signInLockouts.getLockout(this.#o.store.reader, key), this.#o.now());
    if (left > 0) {
      const seconds = Math.ceil(left / 1000);
      this.#o.audit.record({ action, outcome: 'failure', reason: 'too_many_attempts', user, detail: { locked_out_for_seconds: seconds } });
      throw new EnclaveError('too_many_attempts', `Too many wrong ${secret}s. Try again in ${seconds} seconds.`);
    }
  }

  /** Counts a failure in the store, with its audit event, in one transaction. */
  countFailure(key: string, action: ThrottledAction, reason: string, user: AuditedUser, policy: LockoutPolicy = this.policy()): void {
    this.#o.audit.run(
      (db) => countFailure(db, key, this.#o.now(), policy),
      // The failure that starts a lockout says so: the lockout is part of the audit trail.
      ({ startedSeconds }) => ({ action, outcome: 'failure', reason, user, ...(startedSeconds !== null ? { detail: { lockout_started_seconds: startedSeconds } } : {}) }),
    );
  }

  /** A successful sign-in: its account (and the name it was typed as) start again from no failures and the first lockout length. */
  clear(...keys: string[]): void {
    signInLockouts.deleteLockouts(this.#o.store.writer, keys);
  }

  /** The lockout key of a typed name that maps to no account here (see lockout.ts). */
  nameKey(typed: string): string {
    return nameKey(this.#o.store, typed);
  }

  /**
   * The lockout key of a typed directory name: the account it names here, by
   * any of its forms (sAMAccountName, UPN, DOMAIN\\name, in any case), else
   * the name normalised (see lockout.ts), so unknown names are throttled too.
   */
  directoryKey(typed: string, loginKey: string): string {
    const id = directoryAccountIdForName(this.#o.store.reader, typed, loginKey);
    return id ? accountKey(id) : this.nameKey(typed);
  }

  /**
   * A user name as typed at sign-in, as the audit may name it: the account it
   * names here (by name or, for the directory, the parsed login), else the
   * typed text marked as such, which the log records by keyed token only (it
   * is often a password typed into the wrong field).
   */
  typedUser(typed: string, loginKey?: string): AuditedUser {
    const row = accounts.findAccountByName(this.#o.store.reader, typed, loginKey ?? typed);
    return row ? { id: row.id, name: row.username } : { name: typed, typed: true };
  }

  /**
   * The user of a failed directory sign-in: a refusal other than wrong
   * credentials (disabled, expired, locked, restricted) comes only for a name
   * the directory matched to an account, so the name is recorded as typed;
   * anything else as typedUser decides.
   */
  refusedUser(error: unknown, typed: string, loginKey: string): AuditedUser {
    const known = this.typedUser(typed, loginKey);
    if (known.typed && error instanceof DirectoryRefusal && error.code !== 'bad_credentials') return { name: typed };
    return known;
  }
}
