// Emergency (break-glass) access: a member of a break-glass group signs in
// with their directory password and a stated reason, online, or while the
// DCs are down against the verifier of their last online sign-in. Decides who
// signs in (a grant with its end) or refuses, audited; the service begins the
// session and its timer.
import type { User } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import { auditUser } from '../audit/index.js';
import { accounts } from '../store/index.js';
import { DirectoryRefusal, DirectoryUnavailable, parseLoginName } from './directory.js';
import { accountKey } from './lockout.js';
import { DUMMY_PASSWORD_HASH, verifyPassword } from './password.js';
import { assertNoneActive, type SignInContext, type SignInGrant } from './sign-in-context.js';
import type { AuditedUser } from './throttle.js';
import { onlineWithin } from './verifiers.js';

const toUser = accounts.toUser;

export interface BreakGlassInput {
  username: string;
  password: string;
  reason: string;
}

export interface BreakGlassGrant extends SignInGrant {
  breakGlass: { expiresAt: number };
}

/**
 * Emergency access (HIPAA 164.312(a)(2)(ii)) for members of a break-glass
 * group when the normal path fails: no mapped role, or the DCs are down
 * beyond the offline window. It needs a stated reason, lasts the policy's
 * minutes, and is audited as auth.breakglass.
 */
export async function signInBreakGlass(ctx: SignInContext, input: BreakGlassInput): Promise<BreakGlassGrant> {
  const policy = ctx.policy();
  if (policy.mode !== 'managed' || !policy.breakGlass.enabled) throw new EnclaveError('forbidden', 'Emergency access is not enabled on this workstation.');
  assertNoneActive(ctx.state());
  const login = parseLoginName(input.username, policy.directory);
  const typed = ctx.throttle.typedUser(input.username, login.key);
  ctx.throttle.sweep();
  const throttle = ctx.throttle.directoryKey(input.username, login.key);
  ctx.throttle.check(throttle, 'auth.breakglass', typed);
  // The stated reason may name a patient: the record gets its length and keyed hash, the text stays here (audit_private_text).
  const fail = (reason: string, error: EnclaveError, user: AuditedUser = typed): never => {
    ctx.audit.record({ action: 'auth.breakglass', outcome: 'failure', reason, user, privateText: { stated_reason: input.reason } });
    throw error;
  };
  let user: User;
  let verifier: string | null;
  let eligible: boolean;
  try {
    const account = await ctx.directory.authenticate(login, input.password);
    verifier = await ctx.accounts.remember(account, input.password);
    eligible = account.breakGlass;
    user = { id: account.id, username: account.upn, displayName: account.displayName, roles: account.roles, authMethod: 'break-glass' };
  } catch (error) {
    if (!(error instanceof DirectoryUnavailable && error.offlineAllowed)) {
      if (error instanceof DirectoryRefusal && error.code === 'bad_credentials') ctx.recordFailure(throttle, 'auth.breakglass', error.reason, typed);
      return fail(
        error instanceof DirectoryRefusal ? error.reason : error instanceof EnclaveError ? error.code : 'internal',
        error instanceof EnclaveError ? error : new EnclaveError('internal', 'Emergency access failed.'),
        ctx.throttle.refusedUser(error, input.username, login.key),
      );
    }
    // The DCs are down: the verifier from the last online sign-in is the emergency path, for breakGlass.offlineMaxAgeDays.
    const days = policy.breakGlass.offlineMaxAgeDays;
    const row = ctx.accounts.cachedDirectoryAccount(login.key);
    const usable = row?.password_hash != null && onlineWithin(row.verifier_at, days, ctx.now());
    // The same slow check whether or not there is a usable verifier, so timing says nothing about the account.
    const ok = await verifyPassword(input.password, (usable ? row?.password_hash : null) ?? DUMMY_PASSWORD_HASH);
    if (!row || !usable || !ok) {
      ctx.recordFailure(throttle, 'auth.breakglass', !row ? 'unknown_offline' : !usable ? 'offline_verifier_expired' : 'bad_password_offline', row ? { id: row.id, name: row.username } : typed);
      const within = days === 0 ? 'policy allows no emergency access while the directory cannot be reached' : `this account has not signed in on this workstation, online, within ${days} days`;
      throw new EnclaveError('bad_credentials', `The user name or password is not correct, or ${within}.`);
    }
    verifier = await ctx.accounts.upgradeHash(row.id, input.password, row.password_hash!);
    eligible = row.break_glass === 1;
    user = toUser(row, 'break-glass-offline');
  }
  if (!eligible)
    return fail('not_break_glass_member', new EnclaveError('forbidden', 'Your account is not in a group allowed emergency access. Contact IT or your supervisor.'), {
      id: user.id,
      name: user.username,
    });
  ctx.throttle.clear(throttle, accountKey(user.id), ctx.throttle.nameKey(input.username));
  // Emergency access is for patient care: the clinician role at least, for a limited time.
  user = { ...user, roles: user.roles.includes('clinician') ? user.roles : ['clinician', ...user.roles] };
  const breakGlass = { expiresAt: ctx.now() + policy.breakGlass.durationMinutes * 60_000 };
  ctx.audit.record({
    action: 'auth.breakglass',
    outcome: 'success',
    reason: 'emergency_access',
    user: auditUser(user),
    detail: { expires_at: breakGlass.expiresAt },
    privateText: { stated_reason: input.reason },
  });
  return { user, passwordHash: verifier, credential: { kind: 'password', password: input.password }, breakGlass };
}
