// Per-person chat keys on a shared workstation, through the real core against
// the real Samba AD DC: two people's chats, each readable only with their own
// password (not with the database key), a password changed in AD (recover
// with the previous one, or start fresh and let retention purge), and the
// next person seeing nothing of the last.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { DATABASE_FILE, type Core } from '../../src/main/core/index.js';
import { derivePasswordKey, keyCheckMatches, type KdfParams } from '../../src/main/identity/content-crypto.js';
import { call, callError, chatWith, openablePrompts } from '../support/core.js';
import { allStoredValues, decryptedDatabaseBytes, rawDatabaseFiles } from '../support/database-bytes.js';
import { startDirectoryCore, type DirectoryCoreOptions } from '../support/directory-policy.js';
import { attachSambaDc, type SambaDc, type SambaDcUserKey } from '../support/samba-dc.js';
import { approvedTestModel } from '../support/test-model.js';

let dc: SambaDc;
let model: { path: string; sha256: string };
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  dc = attachSambaDc(inject('sambaDc'));
  model = await approvedTestModel();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const DAY_MS = 86_400_000;

/** The directory core with answers cut to 8 tokens (the prompts are what these tests read). */
function start(options: DirectoryCoreOptions = {}): Promise<Core & { dataDir: string; key: Buffer }> {
  return startDirectoryCore(dc.info(), model, cleanups, { ...options, inference: { maxResponseTokens: 8, ...options.inference } });
}

async function signIn(core: Core, user: SambaDcUserKey, password = dc.users[user].password) {
  return call(core, 'auth.signIn', { username: dc.users[user].username, password });
}

function auditOf(core: Core, action: string): { outcome: string; reason?: string; user?: { name: string } }[] {
  return (core.store.writer.prepare('SELECT record FROM audit_events WHERE action = ? ORDER BY seq').all(action) as { record: string }[]).map((r) => {
    const record = JSON.parse(r.record) as { event: { outcome: string; reason?: string }; user?: { name: string } };
    return { outcome: record.event.outcome, ...(record.event.reason ? { reason: record.event.reason } : {}), ...(record.user ? { user: record.user } : {}) };
  });
}

/** Changes the user's password in AD for one test, and puts it back after. */
async function changePassword(user: SambaDcUserKey, password: string): Promise<void> {
  await dc.resetPassword(user, password);
  cleanups.unshift(() => dc.resetPassword(user, dc.users[user].password));
}

describe('two people on one workstation', () => {
  it("with the database key but without B's password, none of B's prompt text can be recovered from the file; B signing in again sees it", async () => {
    const markerA = `Aardwolf-${randomBytes(5).toString('hex')}`;
    const markerB = `Bramblewick-${randomBytes(5).toString('hex')}`;
    const core = await start();
    await signIn(core, 'clinician');
    await chatWith(core, `Clinician note ${markerA} about bed 4`);
    await call(core, 'auth.signOut', {});

    const b = await signIn(core, 'researcher');
    expect(b).toMatchObject({ state: 'active', chatKeys: { recoveryPending: false, earlierChatsOpenWith: [], damaged: false } });
    // Nothing of A's: not in the list, and not openable by id.
    expect(await call(core, 'chat.list', {})).toEqual([]);
    await chatWith(core, `Research question ${markerB} on cohort 7`);
    await chatWith(core, `Second thought ${markerB} follows`);
    expect((await openablePrompts(core)).sort()).toEqual([`Research question ${markerB} on cohort 7`, `Second thought ${markerB} follows`]);
    await call(core, 'auth.signOut', {});
    await core.close();

    const path = join(core.dataDir, DATABASE_FILE);
    for (const marker of [markerA, markerB]) {
      expect(allStoredValues(path, core.key)).not.toContain(marker);
      expect(decryptedDatabaseBytes(path, core.key).includes(Buffer.from(marker))).toBe(false);
      expect(rawDatabaseFiles(path).includes(Buffer.from(marker))).toBe(false);
    }

    // The same files, the same database key: B's password opens B's chats, and only B's.
    const again = await start({ dataDir: core.dataDir, key: core.key });
    await signIn(again, 'researcher');
    const texts = await openablePrompts(again);
    expect(texts.sort()).toEqual([`Research question ${markerB} on cohort 7`, `Second thought ${markerB} follows`]);
    expect(texts.join('\n')).not.toContain(markerA);
    expect((await call(again, 'chat.list', {})).map((s) => s.title).join('\n')).toContain(markerB);
  });

  it("after A signs out, B sees nothing of A's, and A's sessions cannot be opened by id", async () => {
    const core = await start();
    await signIn(core, 'clinician');
    const aSession = await chatWith(core, 'A private note');
    await call(core, 'auth.lock', { reason: 'user' });
    // B at A's locked workstation: A's session ends unseen (keys zeroed), B's begins.
    await signIn(core, 'researcher');
    expect(await call(core, 'chat.list', {})).toEqual([]);
    expect(await callError(core, 'chat.open', { sessionId: aSession })).toMatchObject({ code: 'not_found' });
    await call(core, 'auth.signOut', {});
    await signIn(core, 'clinician');
    expect(await openablePrompts(core)).toEqual(['A private note']);
  });
});

describe('offline sign-in', () => {
  it('the password opens the same chats offline (the verifier path), and a wrong one opens nothing', async () => {
    const online = await start();
    await signIn(online, 'clinician');
    await chatWith(online, 'Written while the DC answered');
    await call(online, 'auth.signOut', {});
    await online.close();

    // No DC answers (a port where nothing listens): the offline verifier signs in, the password unwraps the key.
    const offline = await start({ dataDir: online.dataDir, key: online.key, directory: { servers: ['ldaps://127.0.0.1:1'], offlineSignInDays: 7 } });
    expect(await callError(offline, 'auth.signIn', { username: dc.users.clinician.username, password: 'Wrong-0-Guess!' })).toMatchObject({ code: 'bad_credentials' });
    expect(await signIn(offline, 'clinician')).toMatchObject({ user: { authMethod: 'directory-password-offline' }, chatKeys: { recoveryPending: false, earlierChatsOpenWith: [] } });
    expect(await openablePrompts(offline)).toEqual(['Written while the DC answered']);
  });
});

describe('a password changed in AD', () => {
  const NEW_PASSWORD = 'Fresh-8-Quince!';

  it('asks once for the previous password; a wrong one is refused and counts toward lockout, the right one opens the earlier chats for good', async () => {
    let offset = 0;
    const core = await start({ session: { maxFailedSignIns: 3, failedSignInLockoutSeconds: 60 }, now: () => Date.now() + offset });
    await signIn(core, 'researcher');
    await chatWith(core, 'Before the change');
    await call(core, 'auth.signOut', {});
    await changePassword('researcher', NEW_PASSWORD);

    const state = await signIn(core, 'researcher', NEW_PASSWORD);
    expect(state).toMatchObject({ state: 'active', chatKeys: { recoveryPending: true } });
    const [old] = await call(core, 'chat.list', {});
    expect(old).toMatchObject({ locked: true, title: '' });
    expect(await callError(core, 'chat.open', { sessionId: old!.id })).toMatchObject({ code: 'chat_locked' });

    // New chats work meanwhile, under a new key.
    await chatWith(core, 'After the change');

    const wrong = await callError(core, 'auth.recoverChatKeys', { previousPassword: 'Not-1-Theirs!' });
    expect(wrong).toEqual({ code: 'bad_credentials', message: 'That is not your previous password. Try again, or start fresh.' });
    expect(auditOf(core, 'auth.key_recover').at(-1)).toMatchObject({ outcome: 'failure', reason: 'bad_previous_password' });
    await callError(core, 'auth.recoverChatKeys', { previousPassword: 'Not-2-Theirs!' });
    // The third wrong one starts a lockout, and then even the right one waits.
    await callError(core, 'auth.recoverChatKeys', { previousPassword: 'Not-3-Theirs!' });
    expect(await callError(core, 'auth.recoverChatKeys', { previousPassword: dc.users.researcher.password })).toMatchObject({ code: 'too_many_attempts' });
    expect(auditOf(core, 'auth.key_recover').filter((e) => e.reason === 'too_many_attempts')).toHaveLength(1);
    expect((await call(core, 'app.status', {})).session).toMatchObject({ state: 'active', chatKeys: { recoveryPending: true } });

    // Once the lockout is over, the right one opens the earlier chats.
    offset = 61_000;
    const recovered = await call(core, 'auth.recoverChatKeys', { previousPassword: dc.users.researcher.password });
    expect(recovered).toMatchObject({ state: 'active', chatKeys: { recoveryPending: false, earlierChatsOpenWith: [], damaged: false } });
    expect((await openablePrompts(core)).sort()).toEqual(['After the change', 'Before the change']);
    expect(auditOf(core, 'auth.key_recover').at(-1)).toMatchObject({ outcome: 'success' });
    const again = core;
    // Rewrapped under the new password: the next sign-in asks nothing and opens everything.
    await call(again, 'auth.signOut', {});
    expect(await signIn(again, 'researcher', NEW_PASSWORD)).toMatchObject({ chatKeys: { recoveryPending: false } });
    expect((await openablePrompts(again)).sort()).toEqual(['After the change', 'Before the change']);
    // No password, old or new, is in any audit record.
    const records = (again.store.writer.prepare('SELECT record FROM audit_events').all() as { record: string }[]).map((r) => r.record).join('\n');
    for (const secret of [NEW_PASSWORD, dc.users.researcher.password, 'Not-1-Theirs!']) expect(records).not.toContain(secret);
  });

  it('start fresh: the earlier chats stay locked (listed, not crashing) until retention purges them', async () => {
    let offset = 0;
    const core = await start({ now: () => Date.now() + offset });
    await signIn(core, 'researcher');
    const oldSession = await chatWith(core, 'Old and forgotten');
    await call(core, 'auth.signOut', {});
    await changePassword('researcher', NEW_PASSWORD);

    expect(await signIn(core, 'researcher', NEW_PASSWORD)).toMatchObject({ chatKeys: { recoveryPending: true } });
    const fresh = await call(core, 'auth.resetChatKeys', {});
    expect(fresh).toMatchObject({ state: 'active', chatKeys: { recoveryPending: false } });
    expect(auditOf(core, 'auth.key_reset').at(-1)).toMatchObject({ outcome: 'success' });
    // Asked once: not again at the next sign-in, and the previous password opens nothing any more.
    await call(core, 'auth.signOut', {});
    expect(await signIn(core, 'researcher', NEW_PASSWORD)).toMatchObject({ chatKeys: { recoveryPending: false } });
    expect(await callError(core, 'auth.recoverChatKeys', { previousPassword: dc.users.researcher.password })).toMatchObject({ code: 'not_found' });
    expect(await call(core, 'chat.list', {})).toMatchObject([{ id: oldSession, locked: true, title: '' }]);
    expect(await callError(core, 'chat.open', { sessionId: oldSession })).toMatchObject({ code: 'chat_locked' });

    // 31 days on, retention (30 days) purges the locked session like any other.
    offset = 31 * DAY_MS;
    const newSession = await chatWith(core, 'A new start');
    await call(core, 'auth.signOut', {});
    await vi.waitFor(() => expect(core.store.writer.prepare('SELECT id FROM chat_sessions').all()).toEqual([{ id: newSession }]), { timeout: 30_000, interval: 100 });
    expect(core.store.writer.prepare('SELECT count(*) AS n FROM chat_messages WHERE session_id = ?').get(oldSession)).toEqual({ n: 0 });
  });
});

describe('a password changed in AD during the session', () => {
  const CHANGED = 'Midshift-6-Larch!';

  function passwordWraps(core: Core): { id: string; params: string; salt: Buffer; kek_check: Buffer }[] {
    return core.store.writer.prepare("SELECT id, params, salt, kek_check FROM content_key_wraps WHERE kind = 'password' ORDER BY id").all() as {
      id: string;
      params: string;
      salt: Buffer;
      kek_check: Buffer;
    }[];
  }

  /** Whether the password derives the wrapping key of any stored password wrapping. */
  async function opensAnyWrapping(core: Core, password: string): Promise<boolean> {
    for (const row of passwordWraps(core)) {
      const kek = await derivePasswordKey(password, row.salt, JSON.parse(row.params) as KdfParams);
      const matches = keyCheckMatches(kek, row.kek_check);
      kek.fill(0);
      if (matches) return true;
    }
    return false;
  }

  it('unlocking with the new password rewraps the chat keys: the next sign-in asks for nothing, the chat opens, and the old password unwraps nothing', async () => {
    const core = await start();
    await signIn(core, 'researcher');
    await chatWith(core, 'Written before the change');
    const before = passwordWraps(core);
    await changePassword('researcher', CHANGED);
    await call(core, 'auth.lock', { reason: 'user' });
    expect(await call(core, 'auth.unlock', { password: CHANGED })).toMatchObject({ state: 'active' });
    // The rewrap runs after the unlock returned (the unlock does not wait for its scrypt).
    await vi.waitFor(() => expect(auditOf(core, 'auth.key_rewrap')).toEqual([{ outcome: 'success', reason: 'password_changed', user: expect.anything() }]), { timeout: 30_000, interval: 100 });
    const after = passwordWraps(core);
    expect(after).toHaveLength(before.length);
    // Every wrapping under the old password is gone (new ones in their place).
    expect(after.filter((w) => before.some((b) => b.id === w.id))).toEqual([]);
    expect(await opensAnyWrapping(core, dc.users.researcher.password)).toBe(false);
    expect(await opensAnyWrapping(core, CHANGED)).toBe(true);

    await call(core, 'auth.signOut', {});
    expect(await signIn(core, 'researcher', CHANGED)).toMatchObject({ chatKeys: { recoveryPending: false, earlierChatsOpenWith: [], damaged: false } });
    expect(await openablePrompts(core)).toEqual(['Written before the change']);
    expect(await callError(core, 'auth.recoverChatKeys', { previousPassword: dc.users.researcher.password })).toMatchObject({ code: 'not_found' });
    const records = (core.store.writer.prepare('SELECT record FROM audit_events').all() as { record: string }[]).map((r) => r.record).join('\n');
    for (const secret of [CHANGED, dc.users.researcher.password]) expect(records).not.toContain(secret);
  });

  it('signing out right after the unlock: no wrapping is written for the signed-out session, and nothing is lost', async () => {
    const core = await start();
    await signIn(core, 'researcher');
    await chatWith(core, 'Kept through a quick sign-out');
    const before = passwordWraps(core);
    await changePassword('researcher', CHANGED);
    await call(core, 'auth.lock', { reason: 'user' });
    await call(core, 'auth.unlock', { password: CHANGED });
    await call(core, 'auth.signOut', {});
    await vi.waitFor(() => expect(auditOf(core, 'auth.key_rewrap')).toEqual([{ outcome: 'failure', reason: 'signed_out', user: expect.anything() }]), { timeout: 30_000, interval: 100 });
    expect(passwordWraps(core)).toEqual(before);

    // Nothing lost: the next sign-in asks for the previous password once, and it opens the chat.
    expect(await signIn(core, 'researcher', CHANGED)).toMatchObject({ chatKeys: { recoveryPending: true } });
    expect(await call(core, 'auth.recoverChatKeys', { previousPassword: dc.users.researcher.password })).toMatchObject({ chatKeys: { recoveryPending: false } });
    expect(await openablePrompts(core)).toEqual(['Kept through a quick sign-out']);
  });

  it('signing in again at the lock screen with the new password links it too (no background work needed)', async () => {
    const core = await start();
    await signIn(core, 'researcher');
    await chatWith(core, 'Signed in again at the lock');
    await changePassword('researcher', CHANGED);
    await call(core, 'auth.lock', { reason: 'user' });
    expect(await signIn(core, 'researcher', CHANGED)).toMatchObject({ state: 'active', chatKeys: { recoveryPending: false } });
    expect(await opensAnyWrapping(core, dc.users.researcher.password)).toBe(false);
    await call(core, 'auth.signOut', {});
    expect(await signIn(core, 'researcher', CHANGED)).toMatchObject({ chatKeys: { recoveryPending: false } });
    expect(await openablePrompts(core)).toEqual(['Signed in again at the lock']);
  });
});
