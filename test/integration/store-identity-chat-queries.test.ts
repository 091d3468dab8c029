// The query modules of the identity and chat tables (store/accounts.ts,
// sign-in-lockouts.ts, chat-sessions.ts, content-keys.ts): what each query
// returns and changes on a real SQLCipher store, and that a write needs the
// write handle (checked by the compiler through @ts-expect-error).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { accounts, chatSessions, contentKeys, openStore, signInLockouts, type Store } from '../../src/main/store/index.js';
import { tempDir } from '../support/temp.js';

const stores: Store[] = [];
const dirs: { remove(): void }[] = [];
afterEach(() => {
  stores.splice(0).forEach((s) => s.close());
  dirs.splice(0).forEach((d) => d.remove());
});

function freshStore(): Store {
  const dir = tempDir();
  dirs.push(dir);
  const store = openStore({ path: join(dir.path, 'enclave.db'), key: randomBytes(32) });
  stores.push(store);
  return store;
}

const DAY = 86_400_000;
const alice = { id: '0190a000-0000-7000-8000-00000000000a', username: 'alice', displayName: 'Alice', roles: ['clinician' as const] };
const bob = { id: '0190a000-0000-7000-8000-00000000000b', username: 'bob', displayName: 'Bob', roles: ['researcher' as const] };

function session(id: string, userId: string, updatedAt: number, endedAt: number | null = null): chatSessions.SessionRow {
  return { id, user_id: userId, title: `title ${id}`, key_id: null, workload_id: 'general', created_at: updatedAt, updated_at: updatedAt, ended_at: endedAt };
}

describe('store query modules: identity and chat tables', () => {
  it('accounts: an evaluation account is found by its name only as an evaluation account, and maps to the user it stands for', () => {
    const store = freshStore();
    accounts.insertEvaluationAccount(store.writer, alice, 'hash-1', 1_000);
    expect(accounts.countAccounts(store.reader)).toBe(1);
    const row = accounts.getEvaluationAccount(store.reader, 'alice')!;
    expect(accounts.toUser(row, 'evaluation-password')).toEqual({ ...alice, authMethod: 'evaluation-password' });
    expect(accounts.getDirectoryAccountByLogin(store.reader, 'alice')).toBeUndefined();
    // The hash is replaced only while the row still holds the one that was checked.
    accounts.replacePasswordHash(store.writer, alice.id, 'not-the-stored-hash', 'hash-2');
    expect(accounts.getAccount(store.reader, alice.id)!.password_hash).toBe('hash-1');
    accounts.replacePasswordHash(store.writer, alice.id, 'hash-1', 'hash-2');
    expect(accounts.getAccount(store.reader, alice.id)!.password_hash).toBe('hash-2');
  });

  it('accounts: a directory account keeps its verifier only while policy allows, and expired verifiers go (evaluation hashes never)', () => {
    const store = freshStore();
    accounts.insertEvaluationAccount(store.writer, alice, 'eval-hash', 0);
    const directory = { id: bob.id, upn: 'bob@corp.example.org', displayName: 'Bob', samAccountName: 'bob', dn: 'CN=Bob,DC=corp', roles: bob.roles, breakGlass: false };
    accounts.upsertDirectoryAccount(store.writer, { ...directory, verifier: 'verifier-1', keepVerifier: true, now: 10 * DAY });
    // A card lookup (no password) keeps the verifier and its age.
    accounts.upsertDirectoryAccount(store.writer, { ...directory, verifier: null, keepVerifier: true, now: 12 * DAY });
    let row = accounts.getDirectoryAccountByLogin(store.reader, 'bob')!;
    expect([row.password_hash, row.verifier_at, row.last_online_at]).toEqual(['verifier-1', 10 * DAY, 12 * DAY]);
    expect(accounts.directoryAccountIdForLogin(store.reader, 'BOB@corp.example.org', 'bob')).toBe(bob.id);
    expect(accounts.findAccountByName(store.reader, 'Bob', 'bob')).toEqual({ id: bob.id, username: 'bob@corp.example.org' });
    // Seven days allowed: nothing is past it at day 16; at day 18 the verifier goes, the evaluation hash stays.
    expect(accounts.deleteExpiredVerifiers(store.writer, { now: 16 * DAY, days: 7, breakGlassDays: 7 })).toBe(0);
    expect(accounts.deleteExpiredVerifiers(store.writer, { now: 18 * DAY, days: 7, breakGlassDays: 7 })).toBe(1);
    row = accounts.getDirectoryAccountByLogin(store.reader, 'bob')!;
    expect(row.password_hash).toBeNull();
    expect(accounts.getAccount(store.reader, alice.id)!.password_hash).toBe('eval-hash');
    // Policy that allows no offline use: the verifier is not kept at all.
    accounts.upsertDirectoryAccount(store.writer, { ...directory, verifier: 'verifier-2', keepVerifier: false, now: 19 * DAY });
    expect(accounts.getAccount(store.reader, bob.id)!.password_hash).toBeNull();
  });

  it('sign-in lockouts: saved, read back as stored, and only quiet rows are swept', () => {
    const store = freshStore();
    signInLockouts.saveLockout(store.writer, { key: 'account:a', failures: 2, lockouts: 0, lockedUntil: null, lastFailureAt: 1_000 });
    signInLockouts.saveLockout(store.writer, { key: 'card:1', failures: 0, lockouts: 1, lockedUntil: 50_000, lastFailureAt: 1_000 });
    expect(signInLockouts.getLockout(store.reader, 'account:a')).toEqual({ key: 'account:a', failures: 2, lockouts: 0, lockedUntil: null, lastFailureAt: 1_000 });
    // At 20 s: both failures are older than 10 s, but the card's lockout still runs.
    expect(signInLockouts.deleteQuietLockouts(store.writer, 20_000, 10_000)).toBe(1);
    expect(signInLockouts.getLockout(store.reader, 'account:a')).toBeUndefined();
    expect(signInLockouts.getLockout(store.reader, 'card:1')?.lockedUntil).toBe(50_000);
    signInLockouts.deleteLockouts(store.writer, ['card:1']);
    expect(signInLockouts.getLockout(store.reader, 'card:1')).toBeUndefined();
  });

  it("chat sessions: a person reads only their own sessions, and expiry keeps busy sessions and present people's open ones", () => {
    const store = freshStore();
    accounts.insertEvaluationAccount(store.writer, alice, 'h', 0);
    accounts.insertEvaluationAccount(store.writer, { ...bob, username: 'bob' }, 'h', 0);
    store.transaction((db) => {
      chatSessions.insertSession(db, session('s-old', alice.id, 1 * DAY));
      chatSessions.insertSession(db, session('s-busy', alice.id, 1 * DAY));
      chatSessions.insertSession(db, session('s-new', alice.id, 9 * DAY));
      chatSessions.insertSession(db, session('s-bob', bob.id, 2 * DAY, 2 * DAY));
      chatSessions.insertMessage(db, { id: 'm1', sessionId: 's-old', role: 'user', content: 'hello', status: 'complete', replyTo: null, modelId: 'm', createdAt: 1 * DAY });
      chatSessions.insertMessage(db, { id: 'm2', sessionId: 's-old', role: 'assistant', content: 'hi', status: 'complete', replyTo: 'm1', modelId: 'm', createdAt: 1 * DAY + 1 });
    });
    expect(chatSessions.getOwnSession(store.reader, 's-bob', alice.id)).toBeUndefined();
    // Most recent activity first; ties by id, descending.
    expect(chatSessions.sessionsOfUser(store.reader, alice.id).map((s) => s.id)).toEqual(['s-new', 's-old', 's-busy']);
    expect(chatSessions.messagesOfSession(store.reader, 's-old').map(chatSessions.toMessage)).toEqual([
      { id: 'm1', role: 'user', content: 'hello', status: 'complete', createdAt: 1 * DAY, replyTo: null },
      { id: 'm2', role: 'assistant', content: 'hi', status: 'complete', createdAt: 1 * DAY + 1, replyTo: 'm1' },
    ]);
    const sevenDays = { cutoff: 10 * DAY - 7 * DAY, zeroDays: false, busySessionIds: ['s-busy'], presentUserIds: [] };
    expect(chatSessions.expiredSessionIds(store.reader, sevenDays, 10)).toEqual(['s-old', 's-bob']);
    expect(chatSessions.countExpiredSessions(store.reader, sevenDays)).toEqual({ sessions: 2, messages: 2 });
    // Zero days: ended sessions, and open ones of people not signed in; Alice is signed in.
    const zero = { cutoff: 10 * DAY, zeroDays: true, busySessionIds: [], presentUserIds: [alice.id] };
    expect(chatSessions.expiredSessionIds(store.reader, zero, 10)).toEqual(['s-bob']);
    expect(store.transaction((db) => chatSessions.deleteSessions(db, ['s-old', 's-bob']))).toEqual({ sessions: 2, messages: 2 });
    expect(chatSessions.sessionKeyId(store.reader, 's-old')).toBeUndefined();
    expect(chatSessions.sessionKeyId(store.reader, 's-new')).toBeNull();
  });

  it('content keys: superseded password wrappings go, and a key with no wrapping and no session is collected', () => {
    const store = freshStore();
    accounts.insertEvaluationAccount(store.writer, alice, 'h', 0);
    const wrap = (id: string, keyId: string, salt: string, createdAt: number): contentKeys.NewWrap => ({
      id,
      keyId,
      kind: 'password',
      cardSha256: null,
      params: '{}',
      salt: Buffer.from(salt),
      kekCheck: Buffer.from('c'),
      wrapped: Buffer.from('w'),
      signature: null,
      createdAt,
    });
    store.transaction((db) => {
      contentKeys.insertContentKey(db, { id: 'k1', userId: alice.id, keyCheck: Buffer.from('k1'), createdAt: 1 });
      contentKeys.insertContentKey(db, { id: 'k2', userId: alice.id, keyCheck: Buffer.from('k2'), createdAt: 2 });
      contentKeys.insertWrap(db, wrap('w-old', 'k1', 'old-salt', 1));
      contentKeys.insertWrap(db, wrap('w-new', 'k1', 'new-salt', 2));
    });
    expect(contentKeys.keyIdsOfUserNewestFirst(store.reader, alice.id)).toEqual(['k2', 'k1']);
    // Oldest key first, then oldest wrapping first.
    expect(contentKeys.passwordWrapsOfUser(store.reader, alice.id).map((w) => [w.id, w.user_id, w.key_check.toString()])).toEqual([
      ['w-old', alice.id, 'k1'],
      ['w-new', alice.id, 'k1'],
    ]);
    expect(store.transaction((db) => contentKeys.deletePasswordWrapsExceptSalt(db, 'k1', Buffer.from('new-salt')))).toBe(1);
    expect(contentKeys.wrapKindsOfKey(store.reader, 'k1').map((w) => w.salt?.toString())).toEqual(['new-salt']);
    store.transaction((db) => contentKeys.deleteUnusedKeys(db, alice.id));
    expect(contentKeys.keyIdsOfUserNewestFirst(store.reader, alice.id)).toEqual(['k1']);
  });

  it('a write needs the write handle: the read handle is refused by the compiler', () => {
    const store = freshStore();
    // @ts-expect-error a ReadableDb cannot be passed where a query writes
    expect(() => signInLockouts.deleteLockouts(store.reader, [])).not.toThrow();
    // @ts-expect-error a ReadableDb cannot be passed where a query writes
    expect(() => chatSessions.deleteSessions(store.reader, [])).not.toThrow();
  });
});
