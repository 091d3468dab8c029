// The accounts this workstation knows, as the sign-in paths use them: the
// directory account refreshed after an online sign-in or card lookup (with
// its offline verifier), a password hash brought up to today's cost, and the
// cached directory account offline sign-in and cards fall back on. The rows
// are the store's (store/accounts.ts).
import type { Policy } from '../policy/index.js';
import { accounts, type Store } from '../store/index.js';
import type { DirectoryAccount } from './directory.js';
import { hashPassword, needsRehash } from './password.js';
import { verifierDays } from './verifiers.js';

export type AccountRow = accounts.AccountRow;

export interface KnownAccountsOptions {
  store: Store;
  policy: () => Policy;
  now: () => number;
}

export class KnownAccounts {
  readonly #o: KnownAccountsOptions;

  constructor(options: KnownAccountsOptions) {
    this.#o = options;
  }

  /**
   * After an online sign-in or card lookup: the account row. A password
   * sign-in also refreshes the offline verifier (the same slow salted hash as
   * evaluation passwords); a card lookup keeps the one there is. Policy that
   * allows no offline use (directory.offlineSignInDays 0, and for break-glass
   * members breakGlass.offlineMaxAgeDays 0 too) gets no verifier at all, and
   * any old one goes. Returns the verifier stored, or null.
   */
  async remember(account: DirectoryAccount, password: string | null): Promise<string | null> {
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

  /** A hash at an older scrypt cost, just proved by the password, is replaced at today's; returns the hash now stored. */
  async upgradeHash(accountId: string, password: string, stored: string): Promise<string> {
    if (!needsRehash(stored)) return stored;
    const upgraded = await hashPassword(password);
    // Only if the row still holds the hash that was checked: a sweep or another sign-in may have changed it during the await.
    accounts.replacePasswordHash(this.#o.store.writer, accountId, stored, upgraded);
    return upgraded;
  }

  /** The directory account that signed in here before under this login (UPN or sAMAccountName). */
  cachedDirectoryAccount(loginKey: string): AccountRow | undefined {
    return accounts.getDirectoryAccountByLogin(this.#o.store.reader, loginKey);
  }

  evaluationAccount(username: string): AccountRow | undefined {
    return accounts.getEvaluationAccount(this.#o.store.reader, username);
  }

  byId(id: string): AccountRow | undefined {
    return accounts.getAccount(this.#o.store.reader, id);
  }

  count(): number {
    return accounts.countAccounts(this.#o.store.reader);
  }

  /** The card a directory account last signed in with. */
  setCard(accountId: string, certificateSha256: string): void {
    accounts.setCardCertificate(this.#o.store.writer, accountId, certificateSha256);
  }
}
