// Front door of the identity service: who is signed in, and the lock.
// This issue brings evaluation accounts only; directory and smart-card
// sign-in plug in here later.
import { v7 as uuidv7 } from 'uuid';
import type { Role, SessionState, User } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import type { AuditLog } from '../audit/index.js';
import type { Policy } from '../policy/index.js';
import type { Store } from '../store/index.js';
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from './password.js';

interface AccountRow {
  id: string;
  username: string;
  display_name: string;
  password_hash: string;
  roles: string;
}

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
}

export class IdentityService {
  readonly #o: IdentityOptions;
  #state: SessionState = { state: 'signed-out' };
  #passwordHash: string | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
  readonly #failures = new Map<string, { count: number; until: number }>();

  constructor(options: IdentityOptions) {
    this.#o = options;
  }

  get state(): SessionState {
    return this.#state;
  }

  needsFirstAccount(): boolean {
    return this.#o.policy().mode === 'evaluation' && this.#accountCount() === 0;
  }

  /** The active user, or the reason there is none. */
  requireActive(): User {
    if (this.#state.state === 'active') return this.#state.user;
    if (this.#state.state === 'locked') throw new EnclaveError('locked', 'Enclave is locked. Unlock it to continue.');
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
      (db) => {
        db.prepare('INSERT INTO accounts (id, username, display_name, password_hash, roles, kind, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
          user.id, user.username, user.displayName, passwordHash, JSON.stringify(user.roles), 'evaluation', this.#o.now(),
        );
      },
      () => ({ action: 'auth.account_create', outcome: 'success', user: auditUser(user) }),
    );
    return this.#beginSession(user, passwordHash);
  }

  async signIn(input: { username: string; password: string }): Promise<SessionState> {
    if (this.#state.state !== 'signed-out') throw new EnclaveError('already_set_up', `${this.#state.user.displayName} is signed in. Sign out first.`);
    const username = input.username.toLowerCase();
    this.#checkLockout(username);
    const row = this.#o.store.db.prepare('SELECT id, username, display_name, password_hash, roles FROM accounts WHERE username = ?').get(input.username) as AccountRow | undefined;
    const ok = await verifyPassword(input.password, row?.password_hash ?? DUMMY_PASSWORD_HASH);
    if (!row || !ok) {
      this.#recordFailure(username, 'auth.login', row ? 'bad_password' : 'unknown_user', { name: input.username, ...(row ? { id: row.id } : {}) });
      throw new EnclaveError('bad_credentials', 'The user name or password is not correct.');
    }
    this.#failures.delete(username);
    return this.#beginSession(toUser(row), row.password_hash);
  }

  async unlock(password: string): Promise<SessionState> {
    const state = this.#state;
    if (state.state === 'signed-out') throw new EnclaveError('not_signed_in', 'Sign in first.');
    if (state.state === 'active') return state;
    const key = state.user.username.toLowerCase();
    this.#checkLockout(key);
    if (!this.#passwordHash || !(await verifyPassword(password, this.#passwordHash))) {
      this.#recordFailure(key, 'auth.unlock', 'bad_password', auditUser(state.user));
      throw new EnclaveError('bad_credentials', 'That password is not correct.');
    }
    this.#failures.delete(key);
    this.#o.audit.record({ action: 'auth.unlock', outcome: 'success', user: auditUser(state.user) });
    this.#state = { state: 'active', user: state.user, signedInAt: state.signedInAt };
    this.#armIdleTimer();
    this.#o.onChange(this.#state);
    return this.#state;
  }

  async lock(reason: string): Promise<SessionState> {
    const state = this.#state;
    if (state.state !== 'active') return state;
    await this.#o.beforeLockOrSignOut(reason);
    this.#o.audit.record({ action: 'auth.lock', outcome: 'success', reason, user: auditUser(state.user) });
    this.#state = { state: 'locked', user: state.user, signedInAt: state.signedInAt, lockedAt: this.#o.now(), reason };
    this.#clearIdleTimer();
    this.#o.onChange(this.#state);
    return this.#state;
  }

  async signOut(reason = 'user'): Promise<SessionState> {
    const state = this.#state;
    if (state.state === 'signed-out') return state;
    await this.#o.beforeLockOrSignOut(reason);
    this.#o.audit.record({ action: 'auth.logout', outcome: 'success', reason, user: auditUser(state.user) });
    this.#state = { state: 'signed-out' };
    this.#passwordHash = null;
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
  }

  #beginSession(user: User, passwordHash: string): SessionState {
    this.#o.audit.record({ action: 'auth.login', outcome: 'success', user: auditUser(user) });
    this.#state = { state: 'active', user, signedInAt: this.#o.now() };
    this.#passwordHash = passwordHash;
    this.#armIdleTimer();
    this.#o.onChange(this.#state);
    return this.#state;
  }

  #accountCount(): number {
    return (this.#o.store.db.prepare('SELECT count(*) AS n FROM accounts').get() as { n: number }).n;
  }

  #checkLockout(key: string): void {
    const entry = this.#failures.get(key);
    if (entry && entry.until > this.#o.now()) {
      const seconds = Math.ceil((entry.until - this.#o.now()) / 1000);
      throw new EnclaveError('too_many_attempts', `Too many wrong passwords. Try again in ${seconds} seconds.`);
    }
  }

  #recordFailure(key: string, action: 'auth.login' | 'auth.unlock', reason: string, user: { id?: string; name: string }): void {
    const { maxFailedSignIns, failedSignInLockoutSeconds } = this.#o.policy().session;
    const entry = this.#failures.get(key) ?? { count: 0, until: 0 };
    entry.count += 1;
    if (entry.count >= maxFailedSignIns) {
      entry.count = 0;
      entry.until = this.#o.now() + failedSignInLockoutSeconds * 1000;
    }
    this.#failures.set(key, entry);
    this.#o.audit.record({ action, outcome: 'failure', reason, user });
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

function toUser(row: AccountRow): User {
  return { id: row.id, username: row.username, displayName: row.display_name, roles: JSON.parse(row.roles) as Role[], authMethod: 'evaluation-password' };
}

export function auditUser(user: User): { id: string; name: string; roles: Role[]; authMethod: string } {
  return { id: user.id, name: user.username, roles: user.roles, authMethod: user.authMethod };
}
