// Smart-card sign-in: the PIN opens the card (and, while it is logged in, the
// person's chat keys wrapped to it); the card's UPN names the directory
// account, looked up when a DC answers, else the one that signed in here
// recently enough. Decides who signs in (a grant) or refuses, audited; the
// service begins the session and watches the reader.
import { EnclaveError } from '../../shared/errors.js';
import { accounts } from '../store/index.js';
import type { ContentKeyRing } from './content-keys.js';
import { DirectoryRefusal, DirectoryUnavailable } from './directory.js';
import { cardKey } from './lockout.js';
import { DUMMY_PASSWORD_HASH } from './password.js';
import { assertNoneActive, type SignInContext, type SignInGrant } from './sign-in-context.js';
import type { SmartCardService } from './smart-card.js';
import { onlineWithin } from './verifiers.js';

const toUser = accounts.toUser;

export interface CardSignInContext extends SignInContext {
  cards: SmartCardService;
  contentKeys: ContentKeyRing;
}

export interface CardInput {
  slotId: string;
  pin: string;
}

/** A card sign-in's grant, with the reader and token to watch: pulling the card locks the session. */
export interface CardSignInGrant extends SignInGrant {
  slotId: string;
  tokenSerial: string;
}

/**
 * Smart-card sign-in. The card's UPN is mapped to the directory account that
 * signed in here before (its roles as of that sign-in). Enclave counts wrong
 * PINs itself too, because some tokens never lock.
 */
export async function signInCard(ctx: CardSignInContext, input: CardInput): Promise<CardSignInGrant> {
  if (ctx.policy().mode !== 'managed' || !ctx.cards.enabled) throw new EnclaveError('card_unavailable', 'Smart-card sign-in is not enabled on this workstation.');
  assertNoneActive(ctx.state());
  const reader = ctx.cards.readers().find((r) => r.slotId === input.slotId);
  if (!reader?.card) throw new EnclaveError('card_unavailable', 'There is no card in that reader. Insert your card and try again.');
  ctx.throttle.sweep();
  const key = cardKey(reader.card.serial);
  // A card's label is set by whoever issued it (often the holder's name): recorded by keyed token, like a typed name.
  const cardUser = { name: `card ${reader.card.label}`, typed: true, authMethod: 'smart-card' };
  ctx.throttle.check(key, 'auth.login', cardUser, 'PIN');
  let card;
  try {
    card = ctx.cards.authenticate(input.slotId, input.pin, (access) => ctx.contentKeys.unwrapWithCard(access));
  } catch (error) {
    const code = error instanceof EnclaveError ? error.code : 'internal';
    if (code === 'card_pin_incorrect') ctx.recordFailure(key, 'auth.login', 'bad_pin', cardUser);
    else ctx.audit.record({ action: 'auth.login', outcome: 'failure', reason: code, user: cardUser, detail: { card_reader: reader.reader } });
    throw error;
  }
  // The directory, when policy gives a lookup account and a DC answers; else the account that signed in here before, recently enough.
  let lookedUp = false;
  try {
    const account = await ctx.directory.lookup(card.upn);
    if (account) await ctx.accounts.remember(account, null);
    lookedUp = account !== null;
  } catch (error) {
    if (!(error instanceof DirectoryUnavailable && error.offlineAllowed)) {
      const reason = error instanceof DirectoryRefusal ? error.reason : error instanceof EnclaveError ? error.code : 'internal';
      ctx.audit.record({ action: 'auth.login', outcome: 'failure', reason, user: { name: card.upn }, detail: { certificate_sha256: card.sha256 } });
      throw error;
    }
  }
  const row = ctx.accounts.cachedDirectoryAccount(card.upn);
  if (!row) {
    ctx.audit.record({ action: 'auth.login', outcome: 'failure', reason: 'card_unknown_user', user: { name: card.upn }, detail: { certificate_sha256: card.sha256 } });
    throw new EnclaveError(
      'no_role',
      `This card belongs to ${card.upn}, who is not known on this workstation yet. Sign in once with your user name and password; after that the card works here, online or offline.`,
    );
  }
  const maxAgeDays = ctx.policy().smartCard.offlineMaxAgeDays;
  if (!lookedUp && !onlineWithin(row.last_online_at, maxAgeDays, ctx.now())) {
    // Without the directory, the account and roles are those of the last online sign-in here: only for so long (smartCard.offlineMaxAgeDays).
    ctx.audit.record({ action: 'auth.login', outcome: 'failure', reason: 'card_account_stale', user: { id: row.id, name: row.username }, detail: { certificate_sha256: card.sha256 } });
    const why =
      maxAgeDays === 0
        ? 'Policy lets a card sign in only when the directory confirms its owner'
        : `A card signs in without the directory only within ${maxAgeDays} days of its owner's last sign-in here while the network worked`;
    throw new EnclaveError('directory_unreachable', `${why}, and the directory could not be asked now. Sign in once with your user name and password while the network works, or contact IT.`);
  }
  if (accounts.rowRoles(row).length === 0) {
    ctx.audit.record({ action: 'auth.login', outcome: 'failure', reason: 'no_role', user: { id: row.id, name: row.username } });
    throw new EnclaveError('no_role', `Your account (${row.username}) is not in any group that may use Enclave. Ask IT to add you to the right group.`);
  }
  ctx.throttle.clear(key);
  ctx.accounts.setCard(row.id, card.sha256);
  if (card.crlWarning) ctx.audit.record({ action: 'auth.login', outcome: 'unknown', reason: 'stale_crl', user: { id: row.id, name: row.username }, detail: { warning: card.crlWarning } });
  return {
    user: toUser(row, 'smart-card'),
    passwordHash: row.password_hash ?? DUMMY_PASSWORD_HASH,
    credential: { kind: 'card', card: card.keyWork },
    slotId: card.slotId,
    tokenSerial: card.tokenSerial,
  };
}
