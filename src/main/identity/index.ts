// Front door of the identity service: who is signed in, and the lock.
// Evaluation mode has one local account; a managed policy signs people in
// through Active Directory (directory.ts), online or, for a policy-set number
// of days after an online sign-in, offline against a cached verifier.
//
// Over 500 lines because the session's state machine (sign-in by each method,
// lock, unlock, sign-out, the acceptable-use statement that gates the session)
// is one class whose transitions are reviewed together; the parts that stand
// alone (each sign-in path, chat keys, lockouts, the idle lock, attestation
// and preferences storage) are already modules of their own beside it.
import { v7 as uuidv7 } from 'uuid';
import type { CardStatus, SessionState, User, UserPreferences } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import { auditUser, type AuditLog } from '../audit/index.js';
import type { Policy } from '../policy/index.js';
import { accounts, type Store } from '../store/index.js';
import { attestationDue, recordAcceptance, recordDecline, type PendingAttestation } from './attestation.js';
import { signInBreakGlass } from './break-glass.js';
import { ContentKeyRing, type ChatKeyNotice, type ContentCredential, type PasswordRewrap } from './content-keys.js';
import { DirectoryClient } from './directory.js';
import { KnownAccounts } from './known-accounts.js';
import { accountKey } from './lockout.js';
import { hashPassword } from './password.js';
import { changePreferences, preferencesOf } from './preferences.js';
import { signInCard } from './sign-in-card.js';
import type { SignInContext } from './sign-in-context.js';
import { checkUnlockPassword, signInDirectory, signInEvaluation } from './sign-in-password.js';
import { SessionEpochs } from './session-state.js';
import { SmartCardService } from './smart-card.js';
import { IdleLock } from './idle-lock.js';
import { SignInThrottle, type AuditedUser, type ThrottledAction } from './throttle.js';

export { CRL_CLOCK_SKEW_MS } from './certificates.js';
export { ContentKeyRing, type ChatKeyNotice } from './content-keys.js';

/** How often the reader is checked while a card session is open: removal locks within two seconds. */
const CARD_POLL_MS = 750;

/** How often expired offline verifiers and quiet lockout rows are deleted while the app runs (also at start and at each sign-in). */
const VERIFIER_SWEEP_MS = 3_600_000;

export interface IdentityOptions {
  store: Store;
  audit: AuditLog;
  /** Read at each use: a watched policy change takes effect without a restart. */
  policy: () => Policy;
  now: () => number;
  /** Called after every change of session state (sign-in, lock, unlock, sign-out). */
  onChange: (state: SessionState) => void;
  /** Called before a lock or sign-out takes effect, to drop model contexts. */
  beforeLockOrSignOut: (reason: string) => Promise<void>;
  /** The signed-in person's chat keys (content-keys.ts); the chat service seals and opens through the same ring. */
  contentKeys?: ContentKeyRing;
}

export class IdentityService {
  readonly #o: IdentityOptions;
  #state: SessionState = { state: 'signed-out' };
  readonly #idle: IdleLock;
  /** Policy's acceptable-use statement, due in this session until accepted (attestation.ts); kept across a lock. */
  #attestation: PendingAttestation | null = null;
  #breakGlassTimer: NodeJS.Timeout | null = null;
  #expiring = false;
  /** Failed unlocks of the locked session in a row: policy's maxFailedSignIns of them sign it out. */
  #unlockFailures = 0;
  #verifierSweep: NodeJS.Timeout | null = null;
  /** The credential check under way, if any (see #oneAtATime). */
  #credentialQueue: Promise<unknown> = Promise.resolve();
  readonly #directory: DirectoryClient;
  readonly #cards: SmartCardService;
  readonly #contentKeys: ContentKeyRing;
  readonly #throttle: SignInThrottle;
  readonly #accounts: KnownAccounts;
  /** What the sign-in paths work with (sign-in-context.ts). */
  readonly #signIns: SignInContext & { cards: SmartCardService; contentKeys: ContentKeyRing };
  #cardWatch: NodeJS.Timeout | null = null;
  /** Which signed-in session work belongs to (session-state.ts). */
  readonly #epochs = new SessionEpochs();
  /** Sign-outs begun so far: background work of a session checks it did not change before it writes. */
  #signOutsBegun = 0;

  constructor(options: IdentityOptions) {
    this.#o = options;
    this.#cards = new SmartCardService({ policy: () => options.policy().smartCard, now: options.now });
    this.#contentKeys = options.contentKeys ?? new ContentKeyRing({ store: options.store, now: options.now });
    this.#directory = new DirectoryClient({ directory: () => options.policy().directory, breakGlassGroups: () => options.policy().breakGlass.groups });
    this.#throttle = new SignInThrottle({ store: options.store, audit: options.audit, policy: options.policy, now: options.now });
    this.#accounts = new KnownAccounts({ store: options.store, policy: options.policy, now: options.now });
    this.#idle = new IdleLock({ now: options.now, idleLockSeconds: () => options.policy().session.idleLockSeconds, lock: () => void this.lock('idle').catch(() => undefined) });
    this.#signIns = {
      audit: options.audit,
      policy: options.policy,
      now: options.now,
      directory: this.#directory,
      throttle: this.#throttle,
      accounts: this.#accounts,
      state: () => this.#state,
      recordFailure: (key, action, reason, user) => this.#recordFailure(key, action, reason, user),
      cards: this.#cards,
      contentKeys: this.#contentKeys,
    };
    this.#throttle.sweep();
    this.#verifierSweep = setInterval(() => this.#throttle.sweep(), VERIFIER_SWEEP_MS);
    this.#verifierSweep.unref();
  }

  get state(): SessionState {
    const state = this.#state;
    // Break-glass ends on time even if its timer slept through a suspend: the
    // session is over the moment it is looked at past its end.
    if (state.state !== 'signed-out' && state.breakGlass && this.#o.now() >= state.breakGlass.expiresAt) {
      if (!this.#expiring) {
        this.#expiring = true;
        void this.signOut('break_glass_expired')
          .catch(() => undefined)
          .finally(() => (this.#expiring = false));
      }
      return { state: 'signed-out' };
    }
    return state;
  }

  /** The epoch now: work takes it at its start, and staleness() says whether it may still go on. */
  get epoch(): number {
    return this.#epochs.current;
  }

  /**
   * Why work started under `epoch` may not go on: its session was locked, or
   * it ended (signed out, or another person's began); null while it is the
   * active one and no lock or sign-out is under way.
   */
  staleness(epoch: number): 'locked' | 'signed_out' | null {
    return this.#epochs.staleness(epoch, this.state.state === 'active');
  }

  needsFirstAccount(): boolean {
    return this.#o.policy().mode === 'evaluation' && this.#accountCount() === 0;
  }

  /** The active user, or the reason there is none. */
  requireActive(): User {
    const state = this.state;
    if (state.state === 'active') return state.user;
    if (state.state === 'locked') throw new EnclaveError('locked', 'Enclave is locked. Unlock it to continue.');
    throw new EnclaveError('not_signed_in', 'Sign in first.');
  }

  async createFirstAccount(input: { username: string; displayName: string; password: string }): Promise<SessionState> {
    if (this.#o.policy().mode !== 'evaluation') throw new EnclaveError('not_evaluation_mode', 'Local accounts exist only in evaluation mode; sign in with your directory account or smart card.');
    if (this.#accountCount() > 0) throw new EnclaveError('already_set_up', 'The evaluation account already exists. Sign in with it.');
    const passwordHash = await hashPassword(input.password);
    const user: User = {
      id: uuidv7(),
      username: input.username,
      displayName: input.displayName,
      roles: [...this.#o.policy().roles.evaluationAccount],
      authMethod: 'evaluation-password',
    };
    this.#o.audit.run(
      (db) => accounts.insertEvaluationAccount(db, user, passwordHash, this.#o.now()),
      () => ({ action: 'auth.account_create', outcome: 'success', user: auditUser(user) }),
    );
    return this.#beginSession(user, { kind: 'password', password: input.password });
  }

  /**
   * Signs in. While locked, the same person signing in is an unlock, and a
   * different person ends the first person's session before their own begins.
   */
  signIn(input: { username: string; password: string }): Promise<SessionState> {
    return this.#oneAtATime(() => this.#signInTurn(input));
  }

  async #signInTurn(input: { username: string; password: string }): Promise<SessionState> {
    if (this.#state.state === 'active') throw new EnclaveError('already_set_up', `${this.#state.user.displayName} is signed in. Sign out first.`);
    const grant = this.#o.policy().mode === 'evaluation' ? await signInEvaluation(this.#signIns, input) : await signInDirectory(this.#signIns, input);
    return this.#beginSession(grant.user, grant.credential);
  }

  cards(): CardStatus {
    if (this.#o.policy().mode !== 'managed' || !this.#cards.enabled) return { enabled: false, readers: [], problem: null };
    try {
      return { enabled: true, readers: this.#cards.readers(), problem: null };
    } catch (error) {
      return { enabled: true, readers: [], problem: error instanceof Error ? error.message : String(error) };
    }
  }

  /**
   * Smart-card sign-in. The card's UPN is mapped to the directory account that
   * signed in here before (its roles as of that sign-in). Enclave counts wrong
   * PINs itself too, because some tokens never lock.
   */
  signInCard(input: { slotId: string; pin: string }): Promise<SessionState> {
    return this.#oneAtATime(async () => {
      const grant = await signInCard(this.#signIns, input);
      const state = await this.#beginSession(grant.user, grant.credential);
      this.#watchCard(grant.slotId, grant.tokenSerial);
      return state;
    });
  }

  /**
   * The person's password changed in AD since their chats here were wrapped:
   * the previous password opens them and they are rewrapped under the new one.
   * A wrong one counts toward lockout like any wrong password.
   */
  recoverChatKeys(previousPassword: string): Promise<SessionState> {
    return this.#oneAtATime(() => this.#recoverChatKeysTurn(previousPassword));
  }

  async #recoverChatKeysTurn(previousPassword: string): Promise<SessionState> {
    const user = this.requireActive();
    const key = accountKey(user.id);
    this.#throttle.check(key, 'auth.key_recover', auditUser(user));
    let recovered: number;
    try {
      ({ recovered } = await this.#contentKeys.recover(user.id, previousPassword));
    } catch (error) {
      const code = error instanceof EnclaveError ? error.code : 'internal';
      if (code === 'bad_credentials') this.#recordFailure(key, 'auth.key_recover', 'bad_previous_password', auditUser(user));
      else this.#o.audit.record({ action: 'auth.key_recover', outcome: 'failure', reason: code, user: auditUser(user) });
      throw error;
    }
    this.#throttle.clear(key);
    this.#o.audit.record({ action: 'auth.key_recover', outcome: 'success', user: auditUser(user), detail: { keys_recovered: recovered } });
    return this.#chatKeysChanged(user.id);
  }

  /** Start fresh: chats under the earlier password stay locked and retention purges them; new chats use the new key. */
  resetChatKeys(): SessionState {
    const user = this.requireActive();
    const { wrapsDeleted } = this.#contentKeys.resetStale(user.id);
    this.#o.audit.record({ action: 'auth.key_reset', outcome: 'success', user: auditUser(user), detail: { wrappings_deleted: wrapsDeleted } });
    return this.#chatKeysChanged(user.id);
  }

  #chatKeysChanged(userId: string): SessionState {
    const state = this.#state;
    const chatKeys: ChatKeyNotice | null = this.#contentKeys.notice();
    if (state.state === 'signed-out' || state.user.id !== userId || !chatKeys) return this.state;
    this.#state = { ...state, chatKeys };
    this.#o.onChange(this.#state);
    return this.#state;
  }

  /** Pulling the card locks the session (HIPAA automatic logoff). */
  #watchCard(slotId: string, tokenSerial: string): void {
    this.#stopCardWatch();
    this.#cardWatch = setInterval(() => {
      if (this.#state.state !== 'active') return;
      if (!this.#cards.present(slotId, tokenSerial)) void this.lock('card_removed').catch(() => undefined);
    }, CARD_POLL_MS);
    this.#cardWatch.unref();
  }

  #stopCardWatch(): void {
    if (this.#cardWatch) clearInterval(this.#cardWatch);
    this.#cardWatch = null;
  }

  /**
   * Emergency access (HIPAA 164.312(a)(2)(ii)) for members of a break-glass
   * group when the normal path fails: no mapped role, or the DCs are down
   * beyond the offline window. It needs a stated reason, lasts the policy's
   * minutes, and is audited as auth.breakglass.
   */
  breakGlass(input: { username: string; password: string; reason: string }): Promise<SessionState> {
    return this.#oneAtATime(async () => {
      const grant = await signInBreakGlass(this.#signIns, input);
      return this.#beginSession(grant.user, grant.credential, grant.breakGlass);
    });
  }

  unlock(password: string): Promise<SessionState> {
    return this.#oneAtATime(() => this.#unlockTurn(password));
  }

  async #unlockTurn(password: string): Promise<SessionState> {
    const state = this.#state;
    if (state.state === 'signed-out') throw new EnclaveError('not_signed_in', 'Sign in first.');
    if (state.state === 'active') return state;
    // A card session comes back only with the card: the lock happened because it was pulled, or could have.
    if (state.user.authMethod === 'smart-card') throw new EnclaveError('card_unavailable', 'This session was opened with a smart card. Insert the card and enter its PIN to unlock.');
    const key = accountKey(state.user.id);
    this.#throttle.check(key, 'auth.unlock', auditUser(state.user));
    const verdict = await checkUnlockPassword(this.#signIns, state.user, password, !!state.breakGlass);
    // The await was a password check, perhaps a bind: the session may have been signed out, or unlocked, meanwhile.
    if (this.#state !== state) {
      if (this.#state.state === 'active' && this.#state.user.id === state.user.id) return this.#state;
      throw new EnclaveError('not_signed_in', 'This session ended while the password was checked. Sign in again.');
    }
    if (verdict.outcome === 'refused') {
      // The directory refused the account itself (disabled, expired, locked, no longer in the groups): the session ends.
      this.#o.audit.record({ action: 'auth.unlock', outcome: 'failure', reason: verdict.reason, user: auditUser(state.user) });
      await this.signOut('unlock_refused');
      throw new EnclaveError(verdict.error.code, `${verdict.error.message} You have been signed out.`);
    }
    if (verdict.outcome === 'wrong') {
      const signedOut = this.#recordFailure(key, 'auth.unlock', verdict.reason, auditUser(state.user));
      if (signedOut) {
        await signedOut;
        throw new EnclaveError('not_signed_in', 'That password is not correct. After too many wrong passwords the session was signed out: sign in again with your user name and password.');
      }
      throw new EnclaveError('bad_credentials', 'That password is not correct.');
    }
    this.#throttle.clear(key);
    this.#unlockFailures = 0;
    this.#o.audit.record({ action: 'auth.unlock', outcome: 'success', user: auditUser(state.user), ...(verdict.offline ? { reason: 'directory_unreachable' } : {}) });
    this.#epochs.advance();
    const user = verdict.roles ? { ...state.user, roles: verdict.roles } : state.user;
    this.#state = {
      state: 'active',
      user,
      signedInAt: state.signedInAt,
      ...(state.chatKeys ? { chatKeys: state.chatKeys } : {}),
      ...(state.breakGlass ? { breakGlass: state.breakGlass } : {}),
      ...this.#attestationField(),
    };
    this.#idle.start();
    this.#o.onChange(this.#state);
    // An evaluation password changes nowhere but here, so it is the one the keys are under: no scrypt spent to find that out.
    if (user.authMethod !== 'evaluation-password') this.#rewrapChatKeys(user, password, state.signedInAt);
    return this.#state;
  }

  /**
   * After a password unlock: a password changed in AD during the session is
   * the one that unlocked, while the held chat keys are still wrapped under
   * the old one; they are wrapped under the new one (the old wrappings go),
   * so the next sign-in does not ask for the previous password. In the
   * background, in turn after the unlock (the unlock does not wait for the
   * scrypt that tells whether the password differs); it writes only while the
   * same sign-in still holds the keys, never after a sign-out has begun.
   */
  #rewrapChatKeys(user: User, password: string, signedInAt: number): void {
    const signOuts = this.#signOutsBegun;
    const stillCurrent = (): boolean => {
      const now = this.#state;
      return this.#signOutsBegun === signOuts && now.state !== 'signed-out' && now.user.id === user.id && now.signedInAt === signedInAt;
    };
    void this.#oneAtATime(async () => {
      let result: PasswordRewrap;
      try {
        result = await this.#contentKeys.rewrapUnderPassword(user.id, password, stillCurrent);
      } catch (error) {
        this.#o.audit.record({ action: 'auth.key_rewrap', outcome: 'failure', reason: error instanceof EnclaveError ? error.code : 'storage_failed', user: auditUser(user) });
        return;
      }
      if (result.outcome === 'rewrapped') {
        this.#o.audit.record({
          action: 'auth.key_rewrap',
          outcome: 'success',
          reason: 'password_changed',
          user: auditUser(user),
          detail: { keys_rewrapped: result.keysRewrapped, wrappings_deleted: result.wrapsDeleted },
        });
        this.#chatKeysChanged(user.id);
      } else if (result.outcome === 'session_ended') {
        this.#o.audit.record({ action: 'auth.key_rewrap', outcome: 'failure', reason: 'signed_out', user: auditUser(user) });
      }
    }).catch(() => undefined);
  }

  async lock(reason: string): Promise<SessionState> {
    const state = this.#state;
    if (state.state !== 'active') return state;
    this.#epochs.beginEnding('locked');
    try {
      await this.#o.beforeLockOrSignOut(reason);
    } finally {
      this.#epochs.endEnding();
    }
    this.#o.audit.record({ action: 'auth.lock', outcome: 'success', reason, user: auditUser(state.user) });
    this.#state = {
      state: 'locked',
      user: state.user,
      signedInAt: state.signedInAt,
      lockedAt: this.#o.now(),
      reason,
      ...(state.chatKeys ? { chatKeys: state.chatKeys } : {}),
      ...(state.breakGlass ? { breakGlass: state.breakGlass } : {}),
    };
    this.#idle.stop();
    this.#o.onChange(this.#state);
    return this.#state;
  }

  async signOut(reason = 'user'): Promise<SessionState> {
    const state = this.#state;
    if (state.state === 'signed-out') return state;
    this.#signOutsBegun++;
    this.#epochs.beginEnding('signed_out');
    try {
      await this.#o.beforeLockOrSignOut(reason);
    } finally {
      this.#epochs.endEnding();
    }
    this.#o.audit.record({ action: 'auth.logout', outcome: 'success', reason, user: auditUser(state.user) });
    this.#state = { state: 'signed-out' };
    this.#attestation = null;
    this.#contentKeys.forget();
    this.#stopCardWatch();
    if (this.#breakGlassTimer) clearTimeout(this.#breakGlassTimer);
    this.#breakGlassTimer = null;
    this.#idle.stop();
    this.#o.onChange(this.#state);
    return this.#state;
  }

  /**
   * Any deliberate user action postpones the idle lock. The renderer reports
   * activity at most every few seconds, so a report may come late: idleForMs
   * says how long ago the activity was, and the lock counts from then (never
   * from later than now, never from before the last activity it knew).
   */
  touch(idleForMs = 0): void {
    if (this.#state.state === 'active') this.#idle.activity(idleForMs);
  }

  /** The signed-in (or locked) person's text size and theme. */
  preferences(): UserPreferences {
    return preferencesOf(this.#o.store, this.#sessionUser().id);
  }

  setPreferences(change: Partial<UserPreferences>): UserPreferences {
    return changePreferences(this.#o.store, this.#sessionUser().id, change, this.#o.now());
  }

  /**
   * The person's answer to policy's acceptable-use statement while it is due:
   * accepting records it (with auth.attest) and opens the workspace;
   * declining is audited and signs them out.
   */
  async attest(accept: boolean): Promise<SessionState> {
    const user = this.requireActive();
    const pending = this.#attestation;
    if (!pending) throw new EnclaveError('conflict', 'No acceptable-use statement is waiting for your answer.');
    if (!accept) {
      recordDecline(this.#o.audit, user, pending);
      return this.signOut('attestation_declined');
    }
    recordAcceptance(this.#o.store, this.#o.audit, user, pending, this.#o.now());
    this.#attestation = null;
    const state = this.#state;
    if (state.state === 'active') {
      const { attestation: _answered, ...rest } = state;
      this.#state = rest;
      this.#o.onChange(this.#state);
    }
    return this.#state;
  }

  #attestationField(): { attestation?: PendingAttestation['due'] } {
    return this.#attestation ? { attestation: this.#attestation.due } : {};
  }

  #sessionUser(): User {
    const state = this.state;
    if (state.state === 'signed-out') throw new EnclaveError('not_signed_in', 'Sign in first.');
    return state.user;
  }

  dispose(): void {
    this.#idle.stop();
    if (this.#verifierSweep) clearInterval(this.#verifierSweep);
    this.#verifierSweep = null;
    this.#stopCardWatch();
    this.#cards.close();
  }

  async #beginSession(user: User, credential: ContentCredential, breakGlass?: { expiresAt: number }): Promise<SessionState> {
    // The slow part of opening the person's chat keys (scrypt, or what the card opened); applied below with the state.
    const keys = await this.#contentKeys.prepare(user.id, credential);
    const previous = this.#state;
    if (previous.state === 'locked') {
      if (previous.user.id === user.id && !breakGlass) {
        // The same person, signing in at the lock screen: that is an unlock (and links this factor to the keys held). A break-glass session stays one, with its end (and its timer).
        this.#o.audit.record({ action: 'auth.unlock', outcome: 'success', user: auditUser(previous.user) });
        const chatKeys = this.#contentKeys.commit(keys, 'unlock');
        this.#epochs.advance();
        this.#unlockFailures = 0;
        // Roles as the sign-in just found them, except a break-glass session's, which were raised for it.
        const resumed = previous.breakGlass ? previous.user : { ...previous.user, roles: user.roles };
        this.#state = { state: 'active', user: resumed, signedInAt: previous.signedInAt, chatKeys, ...(previous.breakGlass ? { breakGlass: previous.breakGlass } : {}), ...this.#attestationField() };
        this.#idle.start();
        this.#o.onChange(this.#state);
        return this.#state;
      }
      // Someone else at a locked workstation (or break-glass over a locked session): the first session ends, unseen.
      await this.signOut(previous.user.id === user.id ? 'break_glass' : 'other_user');
    }
    this.#o.audit.record({ action: 'auth.login', outcome: 'success', user: auditUser(user) });
    if (breakGlass) {
      // Ends by itself; the person can sign in the normal way once that works again.
      this.#breakGlassTimer = setTimeout(() => void this.signOut('break_glass_expired').catch(() => undefined), Math.max(0, breakGlass.expiresAt - this.#o.now()));
      this.#breakGlassTimer.unref();
    }
    const chatKeys = this.#contentKeys.commit(keys, 'sign-in');
    this.#epochs.advance();
    this.#unlockFailures = 0;
    // Emergency access is never held up by the statement: it is asked at the person's next normal sign-in.
    this.#attestation = breakGlass ? null : attestationDue(this.#o.store, this.#o.policy(), user, this.#o.now());
    this.#state = { state: 'active', user, signedInAt: this.#o.now(), chatKeys, ...(breakGlass ? { breakGlass } : {}), ...this.#attestationField() };
    this.#idle.start();
    this.#o.onChange(this.#state);
    return this.#state;
  }

  #accountCount(): number {
    return this.#accounts.count();
  }

  /**
   * Counts a failure (in the store, with its audit event, in one transaction).
   * A failure on the account of the locked session, at the unlock screen or
   * by signing in as that person, counts toward signing the session out:
   * returns that sign-out when this failure started it.
   */
  #recordFailure(key: string, action: ThrottledAction, reason: string, user: AuditedUser): Promise<SessionState> | null {
    const policy = this.#throttle.policy();
    this.#throttle.countFailure(key, action, reason, user, policy);
    const state = this.#state;
    if (state.state !== 'locked' || key !== accountKey(state.user.id)) return null;
    this.#unlockFailures += 1;
    if (this.#unlockFailures < policy.maxFailures) return null;
    const ending = this.signOut('too_many_unlock_failures');
    // A failed sign-in at the lock screen does not wait for it; the unlock call does.
    ending.catch(() => undefined);
    return ending;
  }

  /**
   * Sign-ins, card sign-ins, break-glass and unlocks run one at a time. Each
   * checks the lockout before an await (a bind, a hash) and counts its failure
   * after: side by side, a burst of guesses would all pass the check before
   * the first failure was counted. Human-paced, so the queue is never long.
   */
  #oneAtATime<T>(attempt: () => Promise<T>): Promise<T> {
    const turn = this.#credentialQueue.then(attempt, attempt);
    this.#credentialQueue = turn.catch(() => undefined);
    return turn;
  }
}
