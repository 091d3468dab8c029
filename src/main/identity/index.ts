// Front door of the identity service: who is signed in, and the lock.
// Evaluation mode has one local account; a managed policy signs people in
// through Active Directory (directory.ts), online or, for a policy-set number
// of days after an online sign-in, offline against a cached verifier.
import { v7 as uuidv7 } from 'uuid';
import type { CardStatus, Role, SessionState, User } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import { auditUser, type AuditEventInput, type AuditLog } from '../audit/index.js';
import type { Policy } from '../policy/index.js';
import { accounts, signInLockouts, type Store } from '../store/index.js';
import { DirectoryClient, DirectoryRefusal, DirectoryUnavailable, parseLoginName, type DirectoryAccount } from './directory.js';
import { accountKey, cardKey, countFailure, directoryAccountIdForName, nameKey, remainingMs, type LockoutPolicy } from './lockout.js';
import { DUMMY_PASSWORD_HASH, hashPassword, needsRehash, verifyPassword } from './password.js';
import { SmartCardService } from './smart-card.js';
import { ContentKeyRing, type ChatKeyNotice, type ContentCredential, type PasswordRewrap } from './content-keys.js';
import { DAY_MS, deleteExpiredVerifiers, onlineWithin, verifierDays } from './verifiers.js';

export { DirectoryClient, normalizeDn, parseLoginName } from './directory.js';
export { CRL_CLOCK_SKEW_MS } from './certificates.js';
export { ContentKeyRing, type ChatKeyNotice } from './content-keys.js';

type AccountRow = accounts.AccountRow;
const toUser = accounts.toUser;

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
  #passwordHash: string | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
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
  #cardWatch: NodeJS.Timeout | null = null;
  /**
   * Which signed-in session work belongs to. Bumped when a lock or sign-out
   * begins (so a change of user too) and when a session begins or resumes:
   * work that spans an await takes it at its start and is refused once it
   * changed. Unlocking gives a new epoch, so it revives nothing stale.
   */
  #epoch = 0;
  /** Locks and sign-outs under way: while one is, no work may start, though the state still reads active. */
  #ending = 0;
  /** Sign-outs begun so far: background work of a session checks it did not change before it writes. */
  #signOutsBegun = 0;
  /** How recent epochs ended, to tell stale work why it was refused. */
  readonly #endedAs = new Map<number, 'locked' | 'signed_out'>();

  constructor(options: IdentityOptions) {
    this.#o = options;
    this.#cards = new SmartCardService({ policy: () => options.policy().smartCard, now: options.now });
    this.#contentKeys = options.contentKeys ?? new ContentKeyRing({ store: options.store, now: options.now });
    this.#directory = new DirectoryClient({ directory: () => options.policy().directory, breakGlassGroups: () => options.policy().breakGlass.groups });
    this.#sweep();
    this.#verifierSweep = setInterval(() => this.#sweep(), VERIFIER_SWEEP_MS);
    this.#verifierSweep.unref();
  }

  /** Deletes offline verifiers past policy's days and lockout rows that throttle nothing. Cheap: two statements on small tables. */
  #sweep(): void {
    try {
      const now = this.#o.now();
      deleteExpiredVerifiers(this.#o.store.writer, this.#o.policy(), now);
      signInLockouts.deleteQuietLockouts(this.#o.store.writer, now, Math.max(DAY_MS, this.#lockoutPolicy().maxSeconds * 1000));
    } catch {
      // A closed store at shutdown, or a policy being replaced: the next sweep (or sign-in) does it.
    }
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
    return this.#epoch;
  }

  /**
   * Why work started under `epoch` may not go on: its session was locked, or
   * it ended (signed out, or another person's began); null while it is the
   * active one and no lock or sign-out is under way.
   */
  staleness(epoch: number): 'locked' | 'signed_out' | null {
    if (epoch === this.#epoch && this.#ending === 0 && this.state.state === 'active') return null;
    return this.#endedAs.get(epoch) ?? 'signed_out';
  }

  /** A lock or sign-out begins: everything started in the session so far is stale from this moment, before any await. */
  #beginEnding(as: 'locked' | 'signed_out'): void {
    this.#ending++;
    if (!this.#endedAs.has(this.#epoch)) this.#endedAs.set(this.#epoch, as);
    this.#epoch++;
    // The epoch of the lock (or sign-out) itself: no work starts in it.
    this.#endedAs.set(this.#epoch, as);
    // Only a few epochs can have work still unwinding; the rest read as signed out.
    for (const old of this.#endedAs.keys()) if (this.#endedAs.size > 16) this.#endedAs.delete(old);
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
    return this.#beginSession(user, passwordHash, { kind: 'password', password: input.password });
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
    if (this.#o.policy().mode === 'evaluation') return this.#signInEvaluation(input);
    return this.#signInDirectory(input);
  }

  async #signInEvaluation(input: { username: string; password: string }): Promise<SessionState> {
    const row = accounts.getEvaluationAccount(this.#o.store.reader, input.username);
    const throttle = row ? accountKey(row.id) : nameKey(this.#o.store, input.username);
    this.#checkLockout(throttle, 'auth.login', this.#typedUser(input.username));
    const ok = await verifyPassword(input.password, row?.password_hash ?? DUMMY_PASSWORD_HASH);
    if (!row || !ok) {
      this.#recordFailure(throttle, 'auth.login', row ? 'bad_password' : 'unknown_user', row ? { id: row.id, name: row.username } : this.#typedUser(input.username));
      throw new EnclaveError('bad_credentials', 'The user name or password is not correct.');
    }
    this.#clearFailures(throttle);
    return this.#beginSession(toUser(row, 'evaluation-password'), await this.#upgradeHash(row.id, input.password, row.password_hash!), { kind: 'password', password: input.password });
  }

  /** A hash at an older scrypt cost, just proved by the password, is replaced at today's; returns the hash now stored. */
  async #upgradeHash(accountId: string, password: string, stored: string): Promise<string> {
    if (!needsRehash(stored)) return stored;
    const upgraded = await hashPassword(password);
    // Only if the row still holds the hash that was checked: a sweep or another sign-in may have changed it during the await.
    accounts.replacePasswordHash(this.#o.store.writer, accountId, stored, upgraded);
    return upgraded;
  }

  async #signInDirectory(input: { username: string; password: string }): Promise<SessionState> {
    const login = parseLoginName(input.username, this.#o.policy().directory);
    this.#sweep();
    const throttle = this.#directoryThrottleKey(input.username, login.key);
    this.#checkLockout(throttle, 'auth.login', this.#typedUser(input.username, login.key));
    let account: DirectoryAccount;
    try {
      account = await this.#directory.authenticate(login, input.password);
    } catch (error) {
      if (error instanceof DirectoryUnavailable && error.offlineAllowed) return this.#signInOffline(login.key, input, error, throttle);
      const reason = error instanceof DirectoryRefusal ? error.reason : error instanceof EnclaveError ? error.code : 'internal';
      // The DC counts its own failures and locks the account; ours also covers offline attempts.
      if (error instanceof DirectoryRefusal && error.code === 'bad_credentials') this.#recordFailure(throttle, 'auth.login', reason, this.#typedUser(input.username, login.key));
      else this.#o.audit.record({ action: 'auth.login', outcome: 'failure', reason, user: this.#refusedUser(error, input.username, login.key) });
      throw error;
    }
    if (account.roles.length === 0) {
      this.#o.audit.record({ action: 'auth.login', outcome: 'failure', reason: 'no_role', user: { id: account.id, name: account.upn } });
      throw new EnclaveError('no_role', `Your account (${account.upn}) is not in any group that may use Enclave. Ask IT to add you to the right group.`);
    }
    this.#clearFailures(throttle, accountKey(account.id), nameKey(this.#o.store, input.username));
    const verifier = await this.#remember(account, input.password);
    const user: User = { id: account.id, username: account.upn, displayName: account.displayName, roles: account.roles, authMethod: 'directory-password' };
    return this.#beginSession(user, verifier, { kind: 'password', password: input.password });
  }

  /**
   * After an online sign-in or card lookup: the account row. A password
   * sign-in also refreshes the offline verifier (the same slow salted hash as
   * evaluation passwords); a card lookup keeps the one there is. Policy that
   * allows no offline use (directory.offlineSignInDays 0, and for break-glass
   * members breakGlass.offlineMaxAgeDays 0 too) gets no verifier at all, and
   * any old one goes. Returns the verifier stored, or null.
   */
  async #remember(account: DirectoryAccount, password: string | null): Promise<string | null> {
    const keep = verifierDays(this.#o.policy(), account.breakGlass) > 0;
    const verifier = password === null || !keep ? null : await hashPassword(password);
    accounts.upsertDirectoryAccount(this.#o.store.writer, {
      id: account.id,
      upn: account.upn,
      displayName: account.displayName,
      samAccountName: account.samAccountName,
      dn: account.dn,
      roles: account.roles,
      breakGlass: account.breakGlass,
      verifier,
      keepVerifier: keep,
      now: this.#o.now(),
    });
    return verifier;
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
    return this.#oneAtATime(() => this.#signInCardTurn(input));
  }

  async #signInCardTurn(input: { slotId: string; pin: string }): Promise<SessionState> {
    if (this.#o.policy().mode !== 'managed' || !this.#cards.enabled) throw new EnclaveError('card_unavailable', 'Smart-card sign-in is not enabled on this workstation.');
    if (this.#state.state === 'active') throw new EnclaveError('already_set_up', `${this.#state.user.displayName} is signed in. Sign out first.`);
    const reader = this.#cards.readers().find((r) => r.slotId === input.slotId);
    if (!reader?.card) throw new EnclaveError('card_unavailable', 'There is no card in that reader. Insert your card and try again.');
    this.#sweep();
    const key = cardKey(reader.card.serial);
    // A card's label is set by whoever issued it (often the holder's name): recorded by keyed token, like a typed name.
    const cardUser = { name: `card ${reader.card.label}`, typed: true, authMethod: 'smart-card' };
    this.#checkLockout(key, 'auth.login', cardUser, 'PIN');
    let card;
    try {
      card = this.#cards.authenticate(input.slotId, input.pin, (access) => this.#contentKeys.unwrapWithCard(access));
    } catch (error) {
      const code = error instanceof EnclaveError ? error.code : 'internal';
      if (code === 'card_pin_incorrect') this.#recordFailure(key, 'auth.login', 'bad_pin', cardUser);
      else this.#o.audit.record({ action: 'auth.login', outcome: 'failure', reason: code, user: cardUser, detail: { card_reader: reader.reader } });
      throw error;
    }
    // The directory, when policy gives a lookup account and a DC answers; else the account that signed in here before, recently enough.
    let lookedUp = false;
    try {
      const account = await this.#directory.lookup(card.upn);
      if (account) await this.#remember(account, null);
      lookedUp = account !== null;
    } catch (error) {
      if (!(error instanceof DirectoryUnavailable && error.offlineAllowed)) {
        const reason = error instanceof DirectoryRefusal ? error.reason : error instanceof EnclaveError ? error.code : 'internal';
        this.#o.audit.record({ action: 'auth.login', outcome: 'failure', reason, user: { name: card.upn }, detail: { certificate_sha256: card.sha256 } });
        throw error;
      }
    }
    const row = this.#cachedAccount(card.upn);
    if (!row) {
      this.#o.audit.record({ action: 'auth.login', outcome: 'failure', reason: 'card_unknown_user', user: { name: card.upn }, detail: { certificate_sha256: card.sha256 } });
      throw new EnclaveError('no_role', `This card belongs to ${card.upn}, who is not known on this workstation yet. Sign in once with your user name and password; after that the card works here, online or offline.`);
    }
    const maxAgeDays = this.#o.policy().smartCard.offlineMaxAgeDays;
    if (!lookedUp && !onlineWithin(row.last_online_at, maxAgeDays, this.#o.now())) {
      // Without the directory, the account and roles are those of the last online sign-in here: only for so long (smartCard.offlineMaxAgeDays).
      this.#o.audit.record({ action: 'auth.login', outcome: 'failure', reason: 'card_account_stale', user: { id: row.id, name: row.username }, detail: { certificate_sha256: card.sha256 } });
      const why = maxAgeDays === 0 ? 'Policy lets a card sign in only when the directory confirms its owner' : `A card signs in without the directory only within ${maxAgeDays} days of its owner's last sign-in here while the network worked`;
      throw new EnclaveError('directory_unreachable', `${why}, and the directory could not be asked now. Sign in once with your user name and password while the network works, or contact IT.`);
    }
    if (accounts.rowRoles(row).length === 0) {
      this.#o.audit.record({ action: 'auth.login', outcome: 'failure', reason: 'no_role', user: { id: row.id, name: row.username } });
      throw new EnclaveError('no_role', `Your account (${row.username}) is not in any group that may use Enclave. Ask IT to add you to the right group.`);
    }
    this.#clearFailures(key);
    accounts.setCardCertificate(this.#o.store.writer, row.id, card.sha256);
    if (card.crlWarning) this.#o.audit.record({ action: 'auth.login', outcome: 'unknown', reason: 'stale_crl', user: { id: row.id, name: row.username }, detail: { warning: card.crlWarning } });
    const state = await this.#beginSession(toUser(row, 'smart-card'), row.password_hash ?? DUMMY_PASSWORD_HASH, { kind: 'card', card: card.keyWork });
    this.#watchCard(card.slotId, card.tokenSerial);
    return state;
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
    this.#checkLockout(key, 'auth.key_recover', auditUser(user));
    let recovered: number;
    try {
      ({ recovered } = await this.#contentKeys.recover(user.id, previousPassword));
    } catch (error) {
      const code = error instanceof EnclaveError ? error.code : 'internal';
      if (code === 'bad_credentials') this.#recordFailure(key, 'auth.key_recover', 'bad_previous_password', auditUser(user));
      else this.#o.audit.record({ action: 'auth.key_recover', outcome: 'failure', reason: code, user: auditUser(user) });
      throw error;
    }
    this.#clearFailures(key);
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

  #cachedAccount(key: string): AccountRow | undefined {
    return accounts.getDirectoryAccountByLogin(this.#o.store.reader, key);
  }

  /**
   * Emergency access (HIPAA 164.312(a)(2)(ii)) for members of a break-glass
   * group when the normal path fails: no mapped role, or the DCs are down
   * beyond the offline window. It needs a stated reason, lasts the policy's
   * minutes, and is audited as auth.breakglass.
   */
  breakGlass(input: { username: string; password: string; reason: string }): Promise<SessionState> {
    return this.#oneAtATime(() => this.#breakGlassTurn(input));
  }

  async #breakGlassTurn(input: { username: string; password: string; reason: string }): Promise<SessionState> {
    const policy = this.#o.policy();
    if (policy.mode !== 'managed' || !policy.breakGlass.enabled) throw new EnclaveError('forbidden', 'Emergency access is not enabled on this workstation.');
    if (this.#state.state === 'active') throw new EnclaveError('already_set_up', `${this.#state.user.displayName} is signed in. Sign out first.`);
    const login = parseLoginName(input.username, policy.directory);
    const typed = this.#typedUser(input.username, login.key);
    this.#sweep();
    const throttle = this.#directoryThrottleKey(input.username, login.key);
    this.#checkLockout(throttle, 'auth.breakglass', typed);
    // The stated reason may name a patient: the record gets its length and keyed hash, the text stays here (audit_private_text).
    const fail = (reason: string, error: EnclaveError, user: NonNullable<AuditEventInput['user']> = typed): never => {
      this.#o.audit.record({ action: 'auth.breakglass', outcome: 'failure', reason, user, privateText: { stated_reason: input.reason } });
      throw error;
    };
    let user: User;
    let verifier: string | null;
    let eligible: boolean;
    try {
      const account = await this.#directory.authenticate(login, input.password);
      verifier = await this.#remember(account, input.password);
      eligible = account.breakGlass;
      user = { id: account.id, username: account.upn, displayName: account.displayName, roles: account.roles, authMethod: 'break-glass' };
    } catch (error) {
      if (!(error instanceof DirectoryUnavailable && error.offlineAllowed)) {
        if (error instanceof DirectoryRefusal && error.code === 'bad_credentials') this.#recordFailure(throttle, 'auth.breakglass', error.reason, typed);
        return fail(
          error instanceof DirectoryRefusal ? error.reason : error instanceof EnclaveError ? error.code : 'internal',
          error instanceof EnclaveError ? error : new EnclaveError('internal', 'Emergency access failed.'),
          this.#refusedUser(error, input.username, login.key),
        );
      }
      // The DCs are down: the verifier from the last online sign-in is the emergency path, for breakGlass.offlineMaxAgeDays.
      const days = policy.breakGlass.offlineMaxAgeDays;
      const row = this.#cachedAccount(login.key);
      const usable = row?.password_hash != null && onlineWithin(row.verifier_at, days, this.#o.now());
      // The same slow check whether or not there is a usable verifier, so timing says nothing about the account.
      const ok = await verifyPassword(input.password, (usable ? row?.password_hash : null) ?? DUMMY_PASSWORD_HASH);
      if (!row || !usable || !ok) {
        this.#recordFailure(throttle, 'auth.breakglass', !row ? 'unknown_offline' : !usable ? 'offline_verifier_expired' : 'bad_password_offline', row ? { id: row.id, name: row.username } : typed);
        const within = days === 0 ? 'policy allows no emergency access while the directory cannot be reached' : `this account has not signed in on this workstation, online, within ${days} days`;
        throw new EnclaveError('bad_credentials', `The user name or password is not correct, or ${within}.`);
      }
      verifier = await this.#upgradeHash(row.id, input.password, row.password_hash!);
      eligible = row.break_glass === 1;
      user = toUser(row, 'break-glass-offline');
    }
    if (!eligible) return fail('not_break_glass_member', new EnclaveError('forbidden', 'Your account is not in a group allowed emergency access. Contact IT or your supervisor.'), { id: user.id, name: user.username });
    this.#clearFailures(throttle, accountKey(user.id), nameKey(this.#o.store, input.username));
    // Emergency access is for patient care: the clinician role at least, for a limited time.
    user = { ...user, roles: user.roles.includes('clinician') ? user.roles : ['clinician', ...user.roles] };
    const breakGlass = { expiresAt: this.#o.now() + policy.breakGlass.durationMinutes * 60_000 };
    this.#o.audit.record({ action: 'auth.breakglass', outcome: 'success', reason: 'emergency_access', user: auditUser(user), detail: { expires_at: breakGlass.expiresAt }, privateText: { stated_reason: input.reason } });
    return this.#beginSession(user, verifier, { kind: 'password', password: input.password }, breakGlass);
  }

  /** No DC answered: the same person may sign in against the verifier from their last online sign-in, for as long as policy allows. */
  async #signInOffline(key: string, input: { username: string; password: string }, unavailable: DirectoryUnavailable, throttle: string): Promise<SessionState> {
    const days = this.#o.policy().directory.offlineSignInDays;
    const row = this.#cachedAccount(key);
    const fresh = row?.password_hash != null && onlineWithin(row.verifier_at, days, this.#o.now());
    if (days === 0 || !row || !fresh) {
      this.#o.audit.record({ action: 'auth.login', outcome: 'failure', reason: 'directory_unreachable', user: row ? { id: row.id, name: row.username } : this.#typedUser(input.username, key) });
      const why = days === 0 ? 'Policy does not allow signing in offline.' : `Signing in offline works only within ${days} days of your last sign-in on this workstation while the network worked.`;
      throw new EnclaveError('directory_unreachable', `${unavailable.message} ${why} Try again when the network is back, or contact IT.`);
    }
    this.#checkLockout(throttle, 'auth.login', { id: row.id, name: row.username });
    if (!(await verifyPassword(input.password, row.password_hash ?? DUMMY_PASSWORD_HASH))) {
      this.#recordFailure(throttle, 'auth.login', 'bad_password_offline', { id: row.id, name: row.username });
      throw new EnclaveError('bad_credentials', 'The user name or password is not correct.');
    }
    this.#clearFailures(throttle, accountKey(row.id));
    return this.#beginSession(toUser(row, 'directory-password-offline'), await this.#upgradeHash(row.id, input.password, row.password_hash!), { kind: 'password', password: input.password });
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
    this.#checkLockout(key, 'auth.unlock', auditUser(state.user));
    const verdict = await this.#checkUnlockPassword(state.user, password, !!state.breakGlass);
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
    this.#clearFailures(key);
    this.#unlockFailures = 0;
    this.#o.audit.record({ action: 'auth.unlock', outcome: 'success', user: auditUser(state.user), ...(verdict.offline ? { reason: 'directory_unreachable' } : {}) });
    this.#epoch++;
    const user = verdict.roles ? { ...state.user, roles: verdict.roles } : state.user;
    this.#state = { state: 'active', user, signedInAt: state.signedInAt, ...(state.chatKeys ? { chatKeys: state.chatKeys } : {}), ...(state.breakGlass ? { breakGlass: state.breakGlass } : {}) };
    this.#armIdleTimer();
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
        this.#o.audit.record({ action: 'auth.key_rewrap', outcome: 'success', reason: 'password_changed', user: auditUser(user), detail: { keys_rewrapped: result.keysRewrapped, wrappings_deleted: result.wrapsDeleted } });
        this.#chatKeysChanged(user.id);
      } else if (result.outcome === 'session_ended') {
        this.#o.audit.record({ action: 'auth.key_rewrap', outcome: 'failure', reason: 'signed_out', user: auditUser(user) });
      }
    }).catch(() => undefined);
  }

  /**
   * The password typed at the lock screen. An evaluation account's against
   * its hash; a directory session's against AD itself when a DC answers (the
   * password may have changed, or the account been disabled, since sign-in),
   * and against the offline verifier only when none answers and policy
   * allows offline sign-in for this account now.
   */
  async #checkUnlockPassword(
    user: User,
    password: string,
    breakGlass: boolean,
  ): Promise<{ outcome: 'ok'; roles?: Role[]; offline?: true } | { outcome: 'wrong'; reason: string } | { outcome: 'refused'; reason: string; error: EnclaveError }> {
    const row = accounts.getAccount(this.#o.store.reader, user.id);
    if (user.authMethod === 'evaluation-password') {
      if (!row?.password_hash || !(await verifyPassword(password, row.password_hash))) return { outcome: 'wrong', reason: 'bad_password' };
      await this.#upgradeHash(row.id, password, row.password_hash);
      return { outcome: 'ok' };
    }
    const policy = this.#o.policy();
    try {
      const account = await this.#directory.authenticate(parseLoginName(user.username, policy.directory), password);
      if (account.id !== user.id) return { outcome: 'refused', reason: 'account_changed', error: new EnclaveError('forbidden', `The directory now gives ${user.username} to another account.`) };
      if (breakGlass ? !account.breakGlass : account.roles.length === 0) {
        return { outcome: 'refused', reason: breakGlass ? 'not_break_glass_member' : 'no_role', error: new EnclaveError('no_role', `Your account (${account.upn}) is no longer in a group that may use Enclave${breakGlass ? ' in an emergency' : ''}.`) };
      }
      await this.#remember(account, password);
      // A break-glass session keeps the roles it was raised to; any other takes the directory's roles of now.
      return breakGlass ? { outcome: 'ok' } : { outcome: 'ok', roles: account.roles };
    } catch (error) {
      if (error instanceof DirectoryRefusal) {
        if (error.code === 'bad_credentials') return { outcome: 'wrong', reason: error.reason };
        return { outcome: 'refused', reason: error.reason, error };
      }
      if (!(error instanceof DirectoryUnavailable && error.offlineAllowed)) throw error;
      const days = breakGlass ? verifierDays(policy, row?.break_glass === 1) : policy.directory.offlineSignInDays;
      if (!row?.password_hash || !onlineWithin(row.verifier_at, days, this.#o.now())) {
        const why = days === 0 ? 'Policy does not allow unlocking while the directory cannot be reached.' : `Unlocking offline works only within ${days} days of your last sign-in here while the network worked.`;
        throw new EnclaveError('directory_unreachable', `${error.message} ${why} Try again when the network is back.`);
      }
      if (!(await verifyPassword(password, row.password_hash))) return { outcome: 'wrong', reason: 'bad_password_offline' };
      await this.#upgradeHash(row.id, password, row.password_hash);
      return { outcome: 'ok', offline: true };
    }
  }

  async lock(reason: string): Promise<SessionState> {
    const state = this.#state;
    if (state.state !== 'active') return state;
    this.#beginEnding('locked');
    try {
      await this.#o.beforeLockOrSignOut(reason);
    } finally {
      this.#ending--;
    }
    this.#o.audit.record({ action: 'auth.lock', outcome: 'success', reason, user: auditUser(state.user) });
    this.#state = { state: 'locked', user: state.user, signedInAt: state.signedInAt, lockedAt: this.#o.now(), reason, ...(state.chatKeys ? { chatKeys: state.chatKeys } : {}), ...(state.breakGlass ? { breakGlass: state.breakGlass } : {}) };
    this.#clearIdleTimer();
    this.#o.onChange(this.#state);
    return this.#state;
  }

  async signOut(reason = 'user'): Promise<SessionState> {
    const state = this.#state;
    if (state.state === 'signed-out') return state;
    this.#signOutsBegun++;
    this.#beginEnding('signed_out');
    try {
      await this.#o.beforeLockOrSignOut(reason);
    } finally {
      this.#ending--;
    }
    this.#o.audit.record({ action: 'auth.logout', outcome: 'success', reason, user: auditUser(state.user) });
    this.#state = { state: 'signed-out' };
    this.#passwordHash = null;
    this.#contentKeys.forget();
    this.#stopCardWatch();
    if (this.#breakGlassTimer) clearTimeout(this.#breakGlassTimer);
    this.#breakGlassTimer = null;
    this.#clearIdleTimer();
    this.#o.onChange(this.#state);
    return this.#state;
  }

  /** Any deliberate user action postpones the idle lock. */
  touch(): void {
    if (this.#state.state === 'active') this.#armIdleTimer();
  }

  dispose(): void {
    this.#clearIdleTimer();
    if (this.#verifierSweep) clearInterval(this.#verifierSweep);
    this.#verifierSweep = null;
    this.#stopCardWatch();
    this.#cards.close();
  }

  async #beginSession(user: User, passwordHash: string | null, credential: ContentCredential, breakGlass?: { expiresAt: number }): Promise<SessionState> {
    // The slow part of opening the person's chat keys (scrypt, or what the card opened); applied below with the state.
    const keys = await this.#contentKeys.prepare(user.id, credential);
    const previous = this.#state;
    if (previous.state === 'locked') {
      if (previous.user.id === user.id && !breakGlass) {
        // The same person, signing in at the lock screen: that is an unlock (and links this factor to the keys held). A break-glass session stays one, with its end (and its timer).
        this.#o.audit.record({ action: 'auth.unlock', outcome: 'success', user: auditUser(previous.user) });
        const chatKeys = this.#contentKeys.commit(keys, 'unlock');
        this.#epoch++;
        this.#unlockFailures = 0;
        // Roles as the sign-in just found them, except a break-glass session's, which were raised for it.
        const resumed = previous.breakGlass ? previous.user : { ...previous.user, roles: user.roles };
        this.#state = { state: 'active', user: resumed, signedInAt: previous.signedInAt, chatKeys, ...(previous.breakGlass ? { breakGlass: previous.breakGlass } : {}) };
        this.#passwordHash = passwordHash;
        this.#armIdleTimer();
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
    this.#epoch++;
    this.#unlockFailures = 0;
    this.#state = { state: 'active', user, signedInAt: this.#o.now(), chatKeys, ...(breakGlass ? { breakGlass } : {}) };
    this.#passwordHash = passwordHash;
    this.#armIdleTimer();
    this.#o.onChange(this.#state);
    return this.#state;
  }

  /**
   * A user name as typed at sign-in, as the audit may name it: the account it
   * names here (by name or, for the directory, the parsed login), else the
   * typed text marked as such, which the log records by keyed token only (it
   * is often a password typed into the wrong field).
   */
  #typedUser(typed: string, loginKey?: string): NonNullable<AuditEventInput['user']> {
    const row = accounts.findAccountByName(this.#o.store.reader, typed, loginKey ?? typed);
    return row ? { id: row.id, name: row.username } : { name: typed, typed: true };
  }

  /**
   * The user of a failed directory sign-in: a refusal other than wrong
   * credentials (disabled, expired, locked, restricted) comes only for a name
   * the directory matched to an account, so the name is recorded as typed;
   * anything else as #typedUser decides.
   */
  #refusedUser(error: unknown, typed: string, loginKey: string): NonNullable<AuditEventInput['user']> {
    const known = this.#typedUser(typed, loginKey);
    if (known.typed && error instanceof DirectoryRefusal && error.code !== 'bad_credentials') return { name: typed };
    return known;
  }

  #accountCount(): number {
    return accounts.countAccounts(this.#o.store.reader);
  }

  /**
   * The lockout key of a typed directory name: the account it names here, by
   * any of its forms (sAMAccountName, UPN, DOMAIN\\name, in any case), else
   * the name normalised (see lockout.ts), so unknown names are throttled too.
   */
  #directoryThrottleKey(typed: string, loginKey: string): string {
    const id = directoryAccountIdForName(this.#o.store.reader, typed, loginKey);
    return id ? accountKey(id) : nameKey(this.#o.store, typed);
  }

  #lockoutPolicy(): LockoutPolicy {
    const { maxFailedSignIns, failedSignInLockoutSeconds, failedSignInLockoutMaxSeconds } = this.#o.policy().session;
    return { maxFailures: maxFailedSignIns, baseSeconds: failedSignInLockoutSeconds, maxSeconds: failedSignInLockoutMaxSeconds };
  }

  /** Refuses (and audits) an attempt while this account, name or card is locked out after too many failures. */
  #checkLockout(key: string, action: 'auth.login' | 'auth.unlock' | 'auth.breakglass' | 'auth.key_recover', user: NonNullable<AuditEventInput['user']>, secret: 'password' | 'PIN' = 'password'): void {
    const left = remainingMs(signInLockouts.getLockout(this.#o.store.reader, key), this.#o.now());
    if (left > 0) {
      const seconds = Math.ceil(left / 1000);
      this.#o.audit.record({ action, outcome: 'failure', reason: 'too_many_attempts', user, detail: { locked_out_for_seconds: seconds } });
      throw new EnclaveError('too_many_attempts', `Too many wrong ${secret}s. Try again in ${seconds} seconds.`);
    }
  }

  /**
   * Counts a failure (in the store, with its audit event, in one transaction).
   * A failure on the account of the locked session, at the unlock screen or
   * by signing in as that person, counts toward signing the session out:
   * returns that sign-out when this failure started it.
   */
  #recordFailure(key: string, action: 'auth.login' | 'auth.unlock' | 'auth.breakglass' | 'auth.key_recover', reason: string, user: NonNullable<AuditEventInput['user']>): Promise<SessionState> | null {
    const policy = this.#lockoutPolicy();
    this.#o.audit.run(
      (db) => countFailure(db, key, this.#o.now(), policy),
      // The failure that starts a lockout says so: the lockout is part of the audit trail.
      ({ startedSeconds }) => ({ action, outcome: 'failure', reason, user, ...(startedSeconds !== null ? { detail: { lockout_started_seconds: startedSeconds } } : {}) }),
    );
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

  /** A successful sign-in: its account (and the name it was typed as) start again from no failures and the first lockout length. */
  #clearFailures(...keys: string[]): void {
    signInLockouts.deleteLockouts(this.#o.store.writer, keys);
  }

  #armIdleTimer(): void {
    this.#clearIdleTimer();
    const ms = this.#o.policy().session.idleLockSeconds * 1000;
    this.#idleTimer = setTimeout(() => void this.lock('idle').catch(() => undefined), ms);
    this.#idleTimer.unref();
  }

  #clearIdleTimer(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }
}
