// Signing in with a user name and password: the evaluation account against
// its hash; a directory account against AD, or, when no DC answers, against
// the offline verifier of its last online sign-in for as long as policy
// allows; and the password typed at the lock screen. Each decides who signs
// in (a SignInGrant) or refuses, audited; the service begins the session.
import type { Role, User } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import { accounts } from '../store/index.js';
import { DirectoryRefusal, DirectoryUnavailable, parseLoginName, type DirectoryAccount } from './directory.js';
import { accountKey } from './lockout.js';
import { DUMMY_PASSWORD_HASH, verifyPassword } from './password.js';
import type { SignInContext, SignInGrant } from './sign-in-context.js';
import { onlineWithin, verifierDays } from './verifiers.js';

const toUser = accounts.toUser;

export interface PasswordInput {
  username: string;
  password: string;
}

/** What the password typed at the lock screen proved. */
export type UnlockVerdict = { outcome: 'ok'; roles?: Role[]; offline?: true } | { outcome: 'wrong'; reason: string } | { outcome: 'refused'; reason: string; error: EnclaveError };

/** Evaluation mode: the one local account, by its password. */
export async function signInEvaluation(ctx: SignInContext, input: PasswordInput): Promise<SignInGrant> {
  const row = ctx.accounts.evaluationAccount(input.username);
  const throttle = row ? accountKey(row.id) : ctx.throttle.nameKey(input.username);
  ctx.throttle.check(throttle, 'auth.login', ctx.throttle.typedUser(input.username));
  const ok = await verifyPassword(input.password, row?.password_hash ?? DUMMY_PASSWORD_HASH);
  if (!row || !ok) {
    ctx.recordFailure(throttle, 'auth.login', row ? 'bad_password' : 'unknown_user', row ? { id: row.id, name: row.username } : ctx.throttle.typedUser(input.username));
    throw new EnclaveError('bad_credentials', 'The user name or password is not correct.');
  }
  ctx.throttle.clear(throttle);
  return {
    user: toUser(row, 'evaluation-password'),
    passwordHash: await ctx.accounts.upgradeHash(row.id, input.password, row.password_hash!),
    credential: { kind: 'password', password: input.password },
  };
}

/** Managed mode: the directory checks the password; when no DC answers, the offline verifier may (signInOffline). */
export async function signInDirectory(ctx: SignInContext, input: PasswordInput): Promise<SignInGrant> {
  const login = parseLoginName(input.username, ctx.policy().directory);
  ctx.throttle.sweep();
  const throttle = ctx.throttle.directoryKey(input.username, login.key);
  ctx.throttle.check(throttle, 'auth.login', ctx.throttle.typedUser(input.username, login.key));
  let account: DirectoryAccount;
  try {
    account = await ctx.directory.authenticate(login, input.password);
  } catch (error) {
    if (error instanceof DirectoryUnavailable && error.offlineAllowed) return signInOffline(ctx, login.key, input, error, throttle);
    const reason = error instanceof DirectoryRefusal ? error.reason : error instanceof EnclaveError ? error.code : 'internal';
    // The DC counts its own failures and locks the account; ours also covers offline attempts.
    if (error instanceof DirectoryRefusal && error.code === 'bad_credentials') ctx.recordFailure(throttle, 'auth.login', reason, ctx.throttle.typedUser(input.username, login.key));
    else ctx.audit.record({ action: 'auth.login', outcome: 'failure', reason, user: ctx.throttle.refusedUser(error, input.username, login.key) });
    throw error;
  }
  if (account.roles.length === 0) {
    ctx.audit.record({ action: 'auth.login', outcome: 'failure', reason: 'no_role', user: { id: account.id, name: account.upn } });
    throw new EnclaveError('no_role', `Your account (${account.upn}) is not in any group that may use Enclave. Ask IT to add you to the right group.`);
  }
  ctx.throttle.clear(throttle, accountKey(account.id), ctx.throttle.nameKey(input.username));
  const verifier = await ctx.accounts.remember(account, input.password);
  const user: User = { id: account.id, username: account.upn, displayName: account.displayName, roles: account.roles, authMethod: 'directory-password' };
  return { user, passwordHash: verifier, credential: { kind: 'password', password: input.password } };
}

/** No DC answered: the same person may sign in against the verifier from their last online sign-in, for as long as policy allows. */
async function signInOffline(ctx: SignInContext, key: string, input: PasswordInput, unavailable: DirectoryUnavailable, throttle: string): Promise<SignInGrant> {
  const days = ctx.policy().directory.offlineSignInDays;
  const row = ctx.accounts.cachedDirectoryAccount(key);
  const fresh = row?.password_hash != null && onlineWithin(row.verifier_at, days, ctx.now());
  if (days === 0 || !row || !fresh) {
    ctx.audit.record({ action: 'auth.login', outcome: 'failure', reason: 'directory_unreachable', user: row ? { id: row.id, name: row.username } : ctx.throttle.typedUser(input.username, key) });
    const why = days === 0 ? 'Policy does not allow signing in offline.' : `Signing in offline works only within ${days} days of your last sign-in on this workstation while the network worked.`;
    throw new EnclaveError('directory_unreachable', `${unavailable.message} ${why} Try again when the network is back, or contact IT.`);
  }
  ctx.throttle.check(throttle, 'auth.login', { id: row.id, name: row.username });
  if (!(await verifyPassword(input.password, row.password_hash ?? DUMMY_PASSWORD_HASH))) {
    ctx.recordFailure(throttle, 'auth.login', 'bad_password_offline', { id: row.id, name: row.username });
    throw new EnclaveError('bad_credentials', 'The user name or password is not correct.');
  }
  ctx.throttle.clear(throttle, accountKey(row.id));
  return {
    user: toUser(row, 'directory-password-offline'),
    passwordHash: await ctx.accounts.upgradeHash(row.id, input.password, row.password_hash!),
    credential: { kind: 'password', password: input.password },
  };
}

/**
 * The password typed at the lock screen. An evaluation account's against
 * its hash; a directory session's against AD itself when a DC answers (the
 * password may have changed, or the account been disabled, since sign-in),
 * and against the offline verifier only when none answers and policy
 * allows offline sign-in for this account now.
 */
export async function checkUnlockPassword(ctx: SignInContext, user: User, password: string, breakGlass: boolean): Promise<UnlockVerdict> {
  const row = ctx.accounts.byId(user.id);
  if (user.authMethod === 'evaluation-password') {
    if (!row?.password_hash || !(await verifyPassword(password, row.password_hash))) return { outcome: 'wrong', reason: 'bad_password' };
    await ctx.accounts.upgradeHash(row.id, password, row.password_hash);
    return { outcome: 'ok' };
  }
  const policy = ctx.policy();
  try {
    const account = await ctx.directory.authenticate(parseLoginName(user.username, policy.directory), password);
    if (account.id !== user.id) return { outcome: 'refused', reason: 'account_changed', error: new EnclaveError('forbidden', `The directory now gives ${user.username} to another account.`) };
    if (breakGlass ? !account.breakGlass : account.roles.length === 0) {
      return {
        outcome: 'refused',
        reason: breakGlass ? 'not_break_glass_member' : 'no_role',
        error: new EnclaveError('no_role', `Your account (${account.upn}) is no longer in a group that may use Enclave${breakGlass ? ' in an emergency' : ''}.`),
      };
    }
    await ctx.accounts.remember(account, password);
    // A break-glass session keeps the roles it was raised to; any other takes the directory's roles of now.
    return breakGlass ? { outcome: 'ok' } : { outcome: 'ok', roles: account.roles };
  } catch (error) {
    if (error instanceof DirectoryRefusal) {
      if (error.code === 'bad_credentials') return { outcome: 'wrong', reason: error.reason };
      return { outcome: 'refused', reason: error.reason, error };
    }
    if (!(error instanceof DirectoryUnavailable && error.offlineAllowed)) throw error;
    const days = breakGlass ? verifierDays(policy, row?.break_glass === 1) : policy.directory.offlineSignInDays;
    if (!row?.password_hash || !onlineWithin(row.verifier_at, days, ctx.now())) {
      const why =
        days === 0 ? 'Policy does not allow unlocking while the directory cannot be reached.' : `Unlocking offline works only within ${days} days of your last sign-in here while the network worked.`;
      throw new EnclaveError('directory_unreachable', `${error.message} ${why} Try again when the network is back.`);
    }
    if (!(await verifyPassword(password, row.password_hash))) return { outcome: 'wrong', reason: 'bad_password_offline' };
    await ctx.accounts.upgradeHash(row.id, password, row.password_hash);
    return { outcome: 'ok', offline: true };
  }
}
