// Per-person chat keys: each person's chat titles and messages are sealed
// (AES-256-GCM, content-crypto.ts) with a content key of their own, inside the
// SQLCipher database. The workstation key opens the database but not the
// chats: a content key is stored only wrapped, by the person's password or
// smart card, and lives unwrapped only in this process's memory while they
// are signed in. The audit log and sealing stay under the workstation key.
//
// The rules:
// - Key ring. A person has one or more content keys (content_keys), each with
//   wrappings (content_key_wraps): 'password' (AES-256-GCM under a key derived
//   with scrypt N=2^17 from the password and a salt of its own, never from the
//   offline verifier) and 'card' (RSA-OAEP to the public key in the card's
//   certificate; only the card's private key, logged in with the PIN, opens it).
//   Anyone can encrypt to a public key, so a card wrapping is also signed by
//   the card when it is made (during the card's sign-in) and used only when
//   that signature verifies: someone holding the database key cannot plant a
//   key of their own choosing for a card holder's future chats. Card wrappings
//   are therefore made only while the card is in and logged in.
//   Each chat session records the key it is sealed with; new sessions use the
//   newest key held.
// - Sign-in with a factor (a password, or a card by its certificate) opens
//   every key that factor's wrappings open. Keys held already (the same person
//   unlocking at the lock screen with another factor) stay held. Every held key
//   that lacks a wrapping for the factor just proven gets one: factors link
//   whenever a session holds the keys and the person proves another factor.
// - A factor that opens nothing and holds nothing gets a new key (new chats use
//   it). Keys it cannot open stay as they are: the state says which other
//   factor opens the earlier chats (earlierChatsOpenWith), or, for a password
//   whose wrappings no longer open because the password changed in AD (their
//   key check does not match), that a recovery is pending: the person types
//   the previous password (recover: those keys are rewrapped under the new
//   password and the old wrappings deleted) or starts fresh (resetStale: the
//   old password wrappings are deleted; chats under keys no factor opens stay
//   locked until retention purges them). A password key check that matches
//   while the wrapped key does not open is damage, not a password change:
//   nothing is deleted, the chats stay locked, and the state says so.
// - Keys survive a lock: the lock hides the screen, every chat call is refused
//   while locked, only the same person unlocks (anyone else signs the first
//   person out first), and keeping them is what lets an unlock with another
//   factor link it. They are zeroed at sign-out, and so at a change of user.
// - The password proven in the session is remembered until sign-out as the
//   key derived from it (it opens nothing the session does not hold already):
//   every key that comes into the session later (from a card at the lock
//   screen, or recovered) is wrapped under it too. A card wraps what the
//   session holds when it is proven (signing needs the card), so a password
//   session unlocked with the card links both ways at once; a card session
//   unlocked with the password gets password wrappings for the card's keys,
//   and the password's own keys get card wrappings at the next card unlock.
//   A password changed in AD during the session and proven at the lock screen
//   replaces it: the held keys are wrapped under it and the wrappings under
//   the superseded one deleted (rewrapUnderPassword, after the unlock returns).
// - Sessions from before per-person keys (key_id NULL, plain text) are sealed
//   with the owner's key at their next sign-in, in one transaction, and the
//   WAL is checkpointed so the plain pages leave it (secure_delete zeroes them
//   in the database file).
// - Only the signed-in person's keys are ever held: sealing or opening for
//   anyone else is refused.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { EnclaveError } from '../../shared/errors.js';
import { chatSessions, contentKeys as keyRows, type ReadableDb, type Store, type WritableDb } from '../store/index.js';
import { contentKeyCheck, openWithPassword, passwordWrap, unwrapWithCard as unwrapCardKeys, type CardUnwrapped, type PasswordKek, type SignedCardWrap } from './content-key-unwrap.js';
import { CONTENT_KEY_BYTES, derivePasswordKey, keyCheck, openText, seal, sealText, WRAP_KDF, wrapAad, type OaepHash } from './content-crypto.js';
import type { CardKeyAccess } from './smart-card.js';

export type { CardUnwrapped } from './content-key-unwrap.js';

/** What the session state says about the person's chat keys (shown by the renderer). */
export interface ChatKeyNotice {
  /** The password's wrappings no longer open (it changed in AD): ask for the previous password, or start fresh. */
  recoveryPending: boolean;
  /** Earlier chats are under keys this sign-in's factor cannot open; they open after signing in with these. */
  earlierChatsOpenWith: ('password' | 'card')[];
  /** A stored wrapping that should have opened did not (damaged): those chats stay locked; nothing was deleted. */
  damaged: boolean;
}

export type ContentCredential = { kind: 'password'; password: string } | { kind: 'card'; card: CardUnwrapped };

/** The slow part of a sign-in's key work (scrypt, the card), done before the session changes; commit() applies it. */
export interface PreparedKeys {
  userId: string;
  factor:
    | { kind: 'password'; kek: PasswordKek }
    | { kind: 'card'; certificateSha256: string; oaepHash: OaepHash; signedWraps: Map<string, SignedCardWrap>; candidate: { keyId: string; key: Buffer } | null };
  opened: Map<string, Buffer>;
  damaged: boolean;
}

/** What rewrapUnderPassword did. */
export type PasswordRewrap =
  | { outcome: 'rewrapped'; keysRewrapped: number; wrapsDeleted: number }
  /** The password is the one the held keys are wrapped under already. */
  | { outcome: 'same' }
  /** The session holds no password key (a card session): nothing to rewrap. */
  | { outcome: 'no_password' }
  /** The session ended (or its keys changed) while scrypt ran: nothing was written. */
  | { outcome: 'session_ended' };

const sessionTitleAad = (sessionId: string) => `chat_sessions/${sessionId}/title`;
/** A message's text is bound to its row, its session and its role: moved to another session, or turned from prompt into answer, it does not open. */
export interface MessagePlace {
  id: string;
  sessionId: string;
  role: 'user' | 'assistant';
}
const messageContentAad = (m: MessagePlace) => `chat_messages/${m.id}/content/${m.sessionId}/${m.role}`;

export class ContentKeyRing {
  readonly #store: Store;
  readonly #now: () => number;
  #userId: string | null = null;
  readonly #keys = new Map<string, Buffer>();
  #current: string | null = null;
  /** The password proven in this session (its derived key), if any. */
  #passwordKek: PasswordKek | null = null;
  /** The cards proven in this session, by certificate SHA-256. */
  readonly #cards = new Set<string>();
  #damaged = false;
  /**
   * Keys a card opened for a sign-in that has not reached prepare() yet. A
   * card sign-in refused after the card step (no role, unknown account)
   * never gets there: they are zeroed at the next card step or sign-out.
   */
  readonly #staged = new Set<Buffer>();

  constructor(options: { store: Store; now: () => number }) {
    this.#store = options.store;
    this.#now = options.now;
  }

  /**
   * Inside the card's logged-in session: opens every key wrapped to this
   * certificate (content-key-unwrap.ts); what it opens is staged here until a
   * sign-in takes it up.
   */
  unwrapWithCard(access: CardKeyAccess): CardUnwrapped {
    this.#zeroStaged();
    return unwrapCardKeys(this.#store.reader, access, { userId: this.#userId, keys: this.#keys }, this.#now, (key) => this.#staged.add(key));
  }

  /** The slow part of opening a person's keys with the credential just proven: nothing is written and nothing held yet. */
  async prepare(userId: string, credential: ContentCredential): Promise<PreparedKeys> {
    if (credential.kind === 'card') {
      const { card } = credential;
      for (const entry of card.opened) this.#staged.delete(entry.key);
      if (card.candidate) this.#staged.delete(card.candidate.key);
      if (!card.oaepHash) {
        for (const entry of card.opened) entry.key.fill(0);
        card.candidate?.key.fill(0);
        throw new EnclaveError(
          'card_rejected',
          'This card cannot decrypt with its key (RSA-OAEP), so Enclave cannot keep your chats under it. Sign in with your password, or ask IT for a card that can.',
        );
      }
      const opened = new Map<string, Buffer>();
      for (const entry of card.opened) {
        // A key zeroed meanwhile (a sign-out, another card step while this sign-in awaited the directory) is not used as a key.
        const zeroed = entry.key.every((byte) => byte === 0);
        if (entry.userId === userId && !opened.has(entry.keyId) && !zeroed) opened.set(entry.keyId, entry.key);
        else entry.key.fill(0);
      }
      // Wrappings signed for the keys the ring held: only for that person.
      const signedWraps = new Map([...card.signedWraps].filter(([keyId]) => keyId === card.candidate?.keyId || card.heldFor === userId));
      const candidate = card.candidate && !card.candidate.key.every((byte) => byte === 0) ? card.candidate : null;
      return { userId, factor: { kind: 'card', certificateSha256: card.certificateSha256, oaepHash: card.oaepHash, signedWraps, candidate }, opened, damaged: card.damagedWraps > 0 };
    }
    const { opened, matched, damaged } = await openWithPassword(this.#store.reader, userId, credential.password, () => true);
    // The key new wrappings go under: the salt that matched (if it has today's parameters), else a fresh one.
    let kek = matched.find((k) => k.params.N >= WRAP_KDF.N && k.params.r === WRAP_KDF.r && k.params.p === WRAP_KDF.p) ?? null;
    for (const other of matched) if (other !== kek) other.kek.fill(0);
    if (!kek) {
      const salt = randomBytes(16);
      kek = { salt, kek: await derivePasswordKey(credential.password, salt, WRAP_KDF), params: { ...WRAP_KDF } };
    }
    return { userId, factor: { kind: 'password', kek }, opened, damaged };
  }

  /**
   * Applies a prepared sign-in: holds the keys (with those already held when
   * the same person unlocks), links the factor to every held key, makes a
   * new key when none is held, and seals the person's pre-0008 plain sessions.
   * Synchronous: nothing can change between it and the session state it goes with.
   */
  commit(prepared: PreparedKeys, mode: 'sign-in' | 'unlock'): ChatKeyNotice {
    const { userId, factor } = prepared;
    if (mode === 'sign-in' || this.#userId !== userId) this.forget();
    this.#userId = userId;
    for (const [keyId, key] of prepared.opened) {
      if (this.#keys.has(keyId)) key.fill(0);
      else this.#keys.set(keyId, key);
    }
    prepared.opened.clear();
    this.#damaged ||= prepared.damaged;
    if (factor.kind === 'password') {
      if (this.#passwordKek !== factor.kek) this.#passwordKek?.kek.fill(0);
      this.#passwordKek = factor.kek;
    } else {
      this.#cards.add(factor.certificateSha256);
    }
    const password = this.#passwordKek;
    const time = this.#now();
    let sealedLegacy = 0;
    try {
      this.#store.transaction((db) => {
        const candidate = factor.kind === 'card' ? factor.candidate : null;
        if (this.#keys.size === 0) {
          // A card's new key is the one whose wrapping it signed while it was in.
          const keyId = candidate?.keyId ?? uuidv7({ msecs: time });
          const key = candidate?.key ?? randomBytes(CONTENT_KEY_BYTES);
          keyRows.insertContentKey(db, { id: keyId, userId, keyCheck: contentKeyCheck(key, keyId), createdAt: time });
          this.#keys.set(keyId, key);
        } else {
          candidate?.key.fill(0);
        }
        for (const [keyId, key] of this.#keys) {
          const existing = keyRows.wrapKindsOfKey(db, keyId);
          if (password) {
            if (!existing.some((w) => w.kind === 'password' && w.salt?.equals(password.salt))) {
              keyRows.insertWrap(db, {
                id: uuidv7(),
                keyId,
                kind: 'password',
                cardSha256: null,
                params: JSON.stringify(password.params),
                salt: password.salt,
                kekCheck: keyCheck(password.kek),
                wrapped: seal(password.kek, key, wrapAad(keyId)),
                signature: null,
                createdAt: time,
              });
            }
            // This key now opens with today's password: wrappings under an earlier one go.
            keyRows.deletePasswordWrapsExceptSalt(db, keyId, password.salt);
          }
          // Card wrappings only as signed by the card during this sign-in (none can be signed without it).
          const signed = factor.kind === 'card' ? factor.signedWraps.get(keyId) : undefined;
          if (factor.kind === 'card' && signed && !existing.some((w) => w.kind === 'card' && w.card_sha256 === factor.certificateSha256)) {
            keyRows.insertWrap(db, {
              id: uuidv7(),
              keyId,
              kind: 'card',
              cardSha256: factor.certificateSha256,
              params: JSON.stringify({ name: 'rsa-oaep', hash: factor.oaepHash }),
              salt: null,
              kekCheck: null,
              wrapped: signed.wrapped,
              signature: signed.signature,
              createdAt: time,
            });
          }
        }
        this.#current = this.#newestHeld(db);
        sealedLegacy = this.#sealLegacy(db, userId);
        this.#collectUnused(db, userId);
      });
    } catch (error) {
      // Nothing was written (one transaction), and the sign-in fails: nothing is held for it either.
      this.forget();
      throw error;
    }
    if (sealedLegacy > 0) this.#store.checkpoint();
    return this.notice()!;
  }

  #newestHeld(db: ReadableDb): string {
    const newest = keyRows.keyIdsOfUserNewestFirst(db, this.#userId!).find((id) => this.#keys.has(id));
    if (!newest) throw new Error('no held content key is in the key ring');
    return newest;
  }

  /** Seals the person's sessions from before per-person keys with their current key. */
  #sealLegacy(db: WritableDb, userId: string): number {
    const sessions = chatSessions.plainSessionsOfUser(db, userId);
    if (sessions.length === 0) return 0;
    const keyId = this.#current!;
    const key = this.#keys.get(keyId)!;
    for (const session of sessions) {
      for (const message of chatSessions.messageTextsOfSession(db, session.id)) {
        chatSessions.setMessageContent(db, message.id, sealText(key, message.content, messageContentAad({ id: message.id, sessionId: session.id, role: message.role })));
      }
      chatSessions.sealSession(db, session.id, sealText(key, session.title, sessionTitleAad(session.id)), keyId);
    }
    return sessions.length;
  }

  /** Keys with no wrapping left and no session under them are of no use to anyone. */
  #collectUnused(db: WritableDb, userId: string): void {
    keyRows.deleteUnusedKeys(db, userId);
  }

  /** The state of the signed-in person's keys; null when nobody is signed in. */
  notice(): ChatKeyNotice | null {
    const userId = this.#userId;
    if (!userId) return null;
    const password = this.#passwordKek;
    let recoveryPending = false;
    const earlier = new Set<'password' | 'card'>();
    for (const row of keyRows.wrapsOfUser(this.#store.reader, userId)) {
      if (this.#keys.has(row.key_id)) continue;
      if (row.kind === 'password') {
        // A wrapping under today's password that did not open is damage; under another one, a changed password.
        if (!password) earlier.add('password');
        else if (!row.salt?.equals(password.salt)) recoveryPending = true;
      } else if (!this.#cards.has(row.card_sha256 ?? '')) {
        earlier.add('card');
      }
    }
    return { recoveryPending, earlierChatsOpenWith: [...earlier].sort(), damaged: this.#damaged };
  }

  /**
   * The previous password: opens the keys its wrappings hold and rewraps them
   * under the current password (the old wrappings deleted). Throws
   * bad_credentials when it is not the previous password.
   */
  async recover(userId: string, previousPassword: string): Promise<{ recovered: number }> {
    const pending = this.#passwordKek;
    if (this.#userId !== userId || !pending || !this.notice()?.recoveryPending) throw new EnclaveError('not_found', 'There are no earlier chats waiting for your previous password.');
    const { opened, matched, damaged } = await openWithPassword(this.#store.reader, userId, previousPassword, (keyId) => !this.#keys.has(keyId));
    for (const m of matched) m.kek.fill(0);
    // The session may have ended, or the question been answered, while scrypt ran.
    if (this.#userId !== userId || this.#passwordKek !== pending) {
      for (const key of opened.values()) key.fill(0);
      throw new EnclaveError('not_signed_in', 'The session ended before your earlier chats could be opened; nothing was changed.');
    }
    if (matched.length === 0) throw new EnclaveError('bad_credentials', 'That is not your previous password. Try again, or start fresh.');
    if (opened.size === 0 && damaged)
      throw new EnclaveError(
        'storage_failed',
        'Your previous password is right, but the stored key of your earlier chats is damaged, so they cannot be opened. Nothing was changed or deleted; contact IT, or start fresh.',
      );
    const time = this.#now();
    this.#store.transaction((db) => {
      for (const [keyId, key] of opened) {
        keyRows.insertWrap(db, passwordWrap(keyId, key, pending, time));
        keyRows.deletePasswordWrapsExceptSalt(db, keyId, pending.salt);
      }
    });
    for (const [keyId, key] of opened) {
      if (this.#keys.has(keyId)) key.fill(0);
      else this.#keys.set(keyId, key);
    }
    this.#damaged ||= damaged;
    return { recovered: opened.size };
  }

  /**
   * The password just proven at the lock screen (against AD), after the
   * unlock has returned: when it is not the one the held keys are wrapped
   * under (it was changed in AD during the session), every held key is
   * wrapped under it and the wrappings under the superseded one are deleted,
   * in one transaction, so the next sign-in opens them without asking for the
   * previous password. One scrypt tells whether it differs (under the held
   * salt); a second, under a fresh salt, makes the new wrapping key. Each
   * await may see the session end: `stillCurrent` (the caller's session) and
   * the ring's own state are checked after each, and nothing is written for a
   * session that ended. Every derived key is zeroed unless it is adopted.
   */
  async rewrapUnderPassword(userId: string, password: string, stillCurrent: () => boolean): Promise<PasswordRewrap> {
    const held = this.#passwordKek;
    if (this.#userId !== userId || !held) return { outcome: 'no_password' };
    const unchanged = (): boolean => this.#userId === userId && this.#passwordKek === held && stillCurrent();
    const probe = await derivePasswordKey(password, held.salt, held.params);
    // A kek zeroed meanwhile (sign-out) reads as different: the check below refuses it anyway.
    const same = probe.length === held.kek.length && timingSafeEqual(probe, held.kek);
    probe.fill(0);
    if (!unchanged()) return { outcome: 'session_ended' };
    if (same) return { outcome: 'same' };
    const salt = randomBytes(16);
    const kek: PasswordKek = { salt, kek: await derivePasswordKey(password, salt, WRAP_KDF), params: { ...WRAP_KDF } };
    if (!unchanged()) {
      kek.kek.fill(0);
      return { outcome: 'session_ended' };
    }
    const time = this.#now();
    let wrapsDeleted = 0;
    try {
      wrapsDeleted = this.#store.transaction((db) => {
        let deleted = 0;
        for (const [keyId, key] of this.#keys) {
          keyRows.insertWrap(db, passwordWrap(keyId, key, kek, time));
          deleted += keyRows.deletePasswordWrapsExceptSalt(db, keyId, salt);
        }
        return deleted;
      });
    } catch (error) {
      kek.kek.fill(0);
      throw error;
    }
    held.kek.fill(0);
    this.#passwordKek = kek;
    return { outcome: 'rewrapped', keysRewrapped: this.#keys.size, wrapsDeleted };
  }

  /** Start fresh: the wrappings under earlier passwords are deleted; chats under keys nothing else opens stay locked until retention purges them. */
  resetStale(userId: string): { wrapsDeleted: number } {
    const pending = this.#passwordKek;
    if (this.#userId !== userId || !pending || !this.notice()?.recoveryPending) throw new EnclaveError('not_found', 'There are no earlier chats waiting for your previous password.');
    const held = [...this.#keys.keys()];
    const wrapsDeleted = this.#store.transaction((db) => {
      const deleted = keyRows.deleteStalePasswordWraps(db, userId, pending.salt, held);
      this.#collectUnused(db, userId);
      return deleted;
    });
    return { wrapsDeleted };
  }

  #zeroStaged(): void {
    for (const key of this.#staged) key.fill(0);
    this.#staged.clear();
  }

  /** Sign-out: every key is zeroed and forgotten. */
  forget(): void {
    this.#zeroStaged();
    for (const key of this.#keys.values()) key.fill(0);
    this.#keys.clear();
    this.#passwordKek?.kek.fill(0);
    this.#passwordKek = null;
    this.#cards.clear();
    this.#userId = null;
    this.#current = null;
    this.#damaged = false;
  }

  // --- For the chat service: sealing and opening the signed-in person's text ---

  /** The key id new sessions of this person are sealed with. */
  keyForNewChats(userId: string): string {
    if (this.#userId !== userId || !this.#current) throw new EnclaveError('not_signed_in', 'Sign in first.');
    return this.#current;
  }

  #key(userId: string, keyId: string): Buffer | null {
    if (this.#userId !== userId) return null;
    return this.#keys.get(keyId) ?? null;
  }

  /** Whether this person's session `keyId` can be opened now (null key: a plain pre-0008 session of theirs). */
  canOpen(userId: string, keyId: string | null): boolean {
    return keyId === null ? this.#userId === userId : this.#key(userId, keyId) !== null;
  }

  sealTitle(userId: string, keyId: string, sessionId: string, title: string): string {
    return sealText(this.#require(userId, keyId), title, sessionTitleAad(sessionId));
  }

  openTitle(userId: string, keyId: string | null, sessionId: string, stored: string): string {
    return keyId === null ? stored : this.#open(userId, keyId, stored, sessionTitleAad(sessionId));
  }

  sealMessage(userId: string, keyId: string, message: MessagePlace, content: string): string {
    return sealText(this.#require(userId, keyId), content, messageContentAad(message));
  }

  openMessage(userId: string, keyId: string | null, message: MessagePlace, stored: string): string {
    return keyId === null ? stored : this.#open(userId, keyId, stored, messageContentAad(message));
  }

  #require(userId: string, keyId: string): Buffer {
    const key = this.#key(userId, keyId);
    if (!key) throw new EnclaveError('chat_locked', 'This chat is locked: it opens only with the password or card it was written under.');
    return key;
  }

  #open(userId: string, keyId: string, stored: string, aad: string): string {
    const key = this.#require(userId, keyId);
    try {
      return openText(key, stored, aad);
    } catch (cause) {
      throw new EnclaveError('storage_failed', 'Part of this chat is damaged in the database and cannot be shown. Nothing was changed.', { cause });
    }
  }
}
