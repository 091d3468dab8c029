// What every sign-in path of the identity service works with, and what it
// hands back: the paths (sign-in-password.ts, sign-in-card.ts,
// break-glass.ts) decide who signs in or refuse, audited; only the service
// (index.ts) changes the session state.
import type { SessionState, User } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import type { AuditLog } from '../audit/index.js';
import type { Policy } from '../policy/index.js';
import type { ContentCredential } from './content-keys.js';
import type { DirectoryClient } from './directory.js';
import type { KnownAccounts } from './known-accounts.js';
import type { AuditedUser, SignInThrottle, ThrottledAction } from './throttle.js';

export interface SignInContext {
  audit: AuditLog;
  policy: () => Policy;
  now: () => number;
  directory: DirectoryClient;
  throttle: SignInThrottle;
  accounts: KnownAccounts;
  /** The session state as it stands (not the expiring view of IdentityService.state). */
  state: () => SessionState;
  /**
   * Counts a failure with its audit event. A failure on the account of the
   * locked session counts toward signing it out: returns that sign-out when
   * this failure started it.
   */
  recordFailure(key: string, action: ThrottledAction, reason: string, user: AuditedUser): Promise<SessionState> | null;
}

/** Who signs in, what the offline verifier (or evaluation hash) now is, and the credential that opens their chat keys. */
export interface SignInGrant {
  user: User;
  passwordHash: string | null;
  credential: ContentCredential;
}

/** A sign-in while someone is signed in (and not locked) is refused: they sign out first. */
export function assertNoneActive(state: SessionState): void {
  if (state.state === 'active') throw new EnclaveError('already_set_up', `${state.user.displayName} is signed in. Sign out first.`);
}
