// Per-person chat keys without a directory: what the workstation key alone
// opens, sessions from before per-person keys sealed at their owner's next
// sign-in, damaged wrappings and ciphertexts refused clearly with nothing
// lost, and keys zeroed at sign-out (identity/content-keys.ts).
import Database from 'better-sqlite3-multiple-ciphers';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHeadlessCore, type HeadlessCore } from '../../src/main/core/headless.js';
import { DATABASE_FILE } from '../../src/main/core/index.js';
import { ContentKeyRing } from '../../src/main/identity/index.js';
import { hashPassword } from '../../src/main/identity/password.js';
import { MIGRATIONS } from '../../src/main/store/migrations/index.js';
import { openStore } from '../../src/main/store/index.js';
import { call, callError, EVAL_USER, nextEvent } from '../support/core.js';
import { allStoredValues, decryptedDatabaseBytes, rawDatabaseFiles } from '../support/database-bytes.js';
import { tempDir } from '../support/temp.js';
import { testModelPath } from '../support/test-model.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function dataDir(): string {
  const dir = tempDir();
  cleanups.push(dir.remove);
  return dir.path;
}

async function headless(dir: string): Promise<HeadlessCore> {
  const core = await createHeadlessCore({ dataDir: dir, log: () => undefined });
  cleanups.push(() => core.close());
  return core;
}

/** An evaluation workstation with the account signed in and the test model allowed. */
async function evaluationWorkstation(): Promise<HeadlessCore> {
  const core = await headless(dataDir());
  await call(core, 'auth.createFirstAccount', EVAL_USER);
  await call(core, 'model.addFile', { path: await testModelPath() });
  return core;
}

function databaseKey(core: HeadlessCore): Buffer {
  return Buffer.from(readFileSync(core.keyFile, 'utf8').trim(), 'hex');
}

describe("chat titles and messages are sealed with the person's own key", () => {
  it('the workstation key opens the database but not the chat text; the password does', async () => {
    const marker = `Quillfeather-${randomBytes(6).toString('hex')}`;
    const core = await evaluationWorkstation();
    const session = await call(core, 'chat.create', { title: `Ward round ${marker}` });
    expect(session.title).toBe(`Ward round ${marker}`);
    const key = databaseKey(core);
    const path = join(core.dataDir, DATABASE_FILE);
    await core.close();

    expect(allStoredValues(path, key)).not.toContain(marker);
    expect(decryptedDatabaseBytes(path, key).includes(Buffer.from(marker))).toBe(false);
    expect(rawDatabaseFiles(path).includes(Buffer.from(marker))).toBe(false);

    const again = await headless(core.dataDir);
    await call(again, 'auth.signIn', { username: EVAL_USER.username, password: EVAL_USER.password });
    expect((await call(again, 'chat.list', {})).map((s) => [s.title, s.locked])).toEqual([[`Ward round ${marker}`, false]]);
  });
});

/** A database as schema 7 (before per-person keys) left it: an evaluation account and a chat in plain text. */
async function version7Database(dir: string, key: Buffer, marker: string): Promise<{ userId: string; sessionId: string }> {
  const db = new Database(join(dir, DATABASE_FILE));
  db.pragma(`cipher='sqlcipher'`);
  db.pragma(`legacy=4`);
  db.pragma(`key="x'${key.toString('hex')}'"`);
  db.pragma('journal_mode = WAL');
  db.pragma('secure_delete = ON');
  for (const migration of MIGRATIONS.filter((m) => m.version <= 7)) db.exec(migration.sql);
  db.pragma('user_version = 7');
  const userId = '0190a000-0000-7000-8000-000000000001';
  const sessionId = '0190a000-0000-7000-8000-000000000002';
  db.prepare('INSERT INTO accounts (id, username, display_name, password_hash, roles, kind, created_at) VALUES (?, ?, ?, ?, \'["clinician","administrator"]\', \'evaluation\', 1)').run(
    userId,
    EVAL_USER.username,
    EVAL_USER.displayName,
    await hashPassword(EVAL_USER.password),
  );
  // Recent, so the retention sweep at start keeps it.
  const time = Date.now();
  db.prepare("INSERT INTO chat_sessions (id, user_id, workload_id, title, created_at, updated_at) VALUES (?, ?, 'general', ?, ?, ?)").run(sessionId, userId, `Old chat ${marker}`, time, time);
  db.prepare("INSERT INTO chat_messages (id, session_id, role, content, status, created_at) VALUES ('0190a000-0000-7000-8000-000000000003', ?, 'user', ?, 'complete', ?)").run(
    sessionId,
    `Prompt ${marker} ${'lorem ipsum '.repeat(400)}`,
    time,
  );
  db.close();
  return { userId, sessionId };
}

describe('chats from before per-person keys', () => {
  it("are sealed with the owner's key at their next sign-in, and their plain text leaves the file", async () => {
    const marker = `Plainolde-${randomBytes(6).toString('hex')}`;
    const dir = dataDir();
    const key = randomBytes(32);
    const { sessionId } = await version7Database(dir, key, marker);
    const path = join(dir, DATABASE_FILE);
    writeFileSync(join(dir, 'database.key'), `${key.toString('hex')}\n`, { mode: 0o600 });
    // In the field before the owner signs in again: still plain (nothing else could have sealed it).
    expect(decryptedDatabaseBytes(path, key).includes(Buffer.from(marker))).toBe(true);

    const core = await headless(dir);
    await call(core, 'auth.signIn', { username: EVAL_USER.username, password: EVAL_USER.password });
    expect((await call(core, 'chat.list', {})).map((s) => s.title)).toEqual([`Old chat ${marker}`]);
    expect((await call(core, 'chat.open', { sessionId })).messages.map((m) => m.content.slice(0, 24))).toEqual([`Prompt ${marker} lor`.slice(0, 24)]);
    const stored = core.store.writer.prepare('SELECT title, key_id FROM chat_sessions').get() as { title: string; key_id: string | null };
    expect(stored.key_id).not.toBeNull();
    expect(stored.title).not.toContain(marker);
    await core.close();

    expect(allStoredValues(path, key)).not.toContain(marker);
    expect(decryptedDatabaseBytes(path, key).includes(Buffer.from(marker))).toBe(false);
  });
});

describe('damage is refused clearly and loses nothing', () => {
  it('a damaged wrapped key: sign-in works, the chats read as locked and say so, and nothing is deleted', async () => {
    const core = await evaluationWorkstation();
    const session = await call(core, 'chat.create', { title: 'Kept safe' });
    await call(core, 'auth.signOut', {});
    const wrap = core.store.writer.prepare('SELECT id, wrapped FROM content_key_wraps').get() as { id: string; wrapped: Buffer };
    const damaged = Buffer.from(wrap.wrapped);
    damaged[20]! ^= 0x01;
    core.store.writer.prepare('UPDATE content_key_wraps SET wrapped = ? WHERE id = ?').run(damaged, wrap.id);

    const state = await call(core, 'auth.signIn', { username: EVAL_USER.username, password: EVAL_USER.password });
    expect(state).toMatchObject({ state: 'active', chatKeys: { damaged: true, recoveryPending: false } });
    expect((await call(core, 'chat.list', {})).find((s) => s.id === session.id)).toMatchObject({ locked: true, title: '' });
    expect(await callError(core, 'chat.open', { sessionId: session.id })).toMatchObject({ code: 'chat_locked' });
    await call(core, 'auth.signOut', {});
    // Nothing was deleted: the damaged wrapping and the session are still there, so a repaired wrapping opens it again.
    expect(core.store.writer.prepare('SELECT count(*) AS n FROM content_key_wraps WHERE id = ?').get(wrap.id)).toEqual({ n: 1 });
    core.store.writer.prepare('UPDATE content_key_wraps SET wrapped = ? WHERE id = ?').run(wrap.wrapped, wrap.id);
    await call(core, 'auth.signIn', { username: EVAL_USER.username, password: EVAL_USER.password });
    expect((await call(core, 'chat.list', {})).find((s) => s.id === session.id)).toMatchObject({ locked: false, title: 'Kept safe' });
  });

  it("a damaged or swapped title is a clear error, not another chat's text", async () => {
    const core = await evaluationWorkstation();
    const first = await call(core, 'chat.create', { title: 'First chat' });
    const second = await call(core, 'chat.create', { title: 'Second chat' });
    const titleOf = (id: string) => (core.store.writer.prepare('SELECT title FROM chat_sessions WHERE id = ?').get(id) as { title: string }).title;
    // The first session's sealed title copied onto the second: the row id is bound in, so it does not open there.
    core.store.writer.prepare('UPDATE chat_sessions SET title = ? WHERE id = ?').run(titleOf(first.id), second.id);
    const error = await callError(core, 'chat.open', { sessionId: second.id });
    expect(error).toEqual({ code: 'storage_failed', message: 'Part of this chat is damaged in the database and cannot be shown. Nothing was changed.' });
    expect((await call(core, 'chat.open', { sessionId: first.id })).session.title).toBe('First chat');

    // A prompt moved into another session of the same person, or passed off as an answer, does not open there either.
    const done = nextEvent(core, 'chat.done', (d) => d.sessionId === first.id);
    const sent = await call(core, 'chat.send', { sessionId: first.id, text: 'Where this prompt belongs' });
    await done;
    const third = await call(core, 'chat.create', { title: 'Third chat' });
    core.store.writer.prepare('UPDATE chat_messages SET session_id = ? WHERE id = ?').run(third.id, sent.promptId);
    expect(await callError(core, 'chat.open', { sessionId: third.id })).toMatchObject({ code: 'storage_failed' });
    core.store.writer.prepare("UPDATE chat_messages SET session_id = ?, role = 'assistant' WHERE id = ?").run(first.id, sent.promptId);
    expect(await callError(core, 'chat.open', { sessionId: first.id })).toMatchObject({ code: 'storage_failed' });
    core.store.writer.prepare("UPDATE chat_messages SET role = 'user' WHERE id = ?").run(sent.promptId);
    expect((await call(core, 'chat.open', { sessionId: first.id })).messages[0]).toMatchObject({ role: 'user', content: 'Where this prompt belongs' });
  });
});

describe('keys live only while their person is signed in', () => {
  it('sign-out zeroes the keys in memory, and the ring opens nothing of anyone but the signed-in person', async () => {
    const dir = dataDir();
    const store = openStore({ path: join(dir, DATABASE_FILE), key: randomBytes(32) });
    cleanups.push(() => store.close());
    const ids = ['0190a000-0000-7000-8000-00000000000a', '0190a000-0000-7000-8000-00000000000b'];
    for (const [i, id] of ids.entries()) {
      store.writer.prepare("INSERT INTO accounts (id, username, display_name, password_hash, roles, kind, created_at) VALUES (?, ?, 'X', 'scrypt$1', '[]', 'evaluation', 1)").run(id, `user${i}`);
    }
    const ring = new ContentKeyRing({ store, now: () => 1_000 });
    ring.commit(await ring.prepare(ids[0]!, { kind: 'password', password: 'first password' }), 'sign-in');
    const keyId = ring.keyForNewChats(ids[0]!);
    const sealed = ring.sealTitle(ids[0]!, keyId, 'session-1', 'Private title');
    ring.forget();

    // Signing in again: the prepared keys are the very Buffers the ring will hold.
    const prepared = await ring.prepare(ids[0]!, { kind: 'password', password: 'first password' });
    const held = [...prepared.opened.values()];
    expect(held).toHaveLength(1);
    ring.commit(prepared, 'sign-in');
    expect(ring.openTitle(ids[0]!, keyId, 'session-1', sealed)).toBe('Private title');
    // Another person's user id opens nothing while the first is signed in.
    expect(ring.canOpen(ids[1]!, keyId)).toBe(false);
    expect(() => ring.openTitle(ids[1]!, keyId, 'session-1', sealed)).toThrow(/locked/);

    ring.forget();
    expect(held[0]!.equals(Buffer.alloc(32))).toBe(true);
    expect(ring.canOpen(ids[0]!, keyId)).toBe(false);
    expect(() => ring.openTitle(ids[0]!, keyId, 'session-1', sealed)).toThrow(/locked/);

    // The second person's sign-in makes a key of their own; the first's stays shut.
    ring.commit(await ring.prepare(ids[1]!, { kind: 'password', password: 'second password' }), 'sign-in');
    expect(ring.keyForNewChats(ids[1]!)).not.toBe(keyId);
    expect(ring.canOpen(ids[1]!, keyId)).toBe(false);
    ring.forget();
  });
});

describe('a password proven at the lock screen (rewrapUnderPassword)', () => {
  it('the same password writes nothing; a new one rewraps the held keys and deletes the old wrappings; a session that ends meanwhile gets nothing written', async () => {
    const dir = dataDir();
    const store = openStore({ path: join(dir, DATABASE_FILE), key: randomBytes(32) });
    cleanups.push(() => store.close());
    const id = '0190a000-0000-7000-8000-00000000000c';
    store.writer.prepare("INSERT INTO accounts (id, username, display_name, password_hash, roles, kind, created_at) VALUES (?, 'rewrap', 'X', 'scrypt$1', '[]', 'evaluation', 1)").run(id);
    const wraps = () => store.writer.prepare("SELECT id, key_id, hex(salt) AS salt FROM content_key_wraps WHERE kind = 'password' ORDER BY id").all() as { id: string; key_id: string; salt: string }[];
    const ring = new ContentKeyRing({ store, now: () => 1_000 });
    ring.commit(await ring.prepare(id, { kind: 'password', password: 'first password' }), 'sign-in');
    const keyId = ring.keyForNewChats(id);
    const sealed = ring.sealTitle(id, keyId, 'session-1', 'Private title');
    const before = wraps();
    expect(before).toHaveLength(1);

    // The password the keys are under already: nothing is written.
    expect(await ring.rewrapUnderPassword(id, 'first password', () => true)).toEqual({ outcome: 'same' });
    expect(wraps()).toEqual(before);

    // The session ends while scrypt runs (the caller's check fails after either derivation, or the ring is forgotten): nothing is written.
    expect(await ring.rewrapUnderPassword(id, 'second password', () => false)).toEqual({ outcome: 'session_ended' });
    let checks = 0;
    expect(await ring.rewrapUnderPassword(id, 'second password', () => ++checks < 2)).toEqual({ outcome: 'session_ended' });
    expect(checks).toBe(2);
    expect(wraps()).toEqual(before);

    // A new password: the held key is wrapped under it (a salt of its own), the old wrapping is gone, and the session's keys are untouched.
    expect(await ring.rewrapUnderPassword(id, 'second password', () => true)).toEqual({ outcome: 'rewrapped', keysRewrapped: 1, wrapsDeleted: 1 });
    const after = wraps();
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ key_id: keyId });
    expect(after[0]!.salt).not.toBe(before[0]!.salt);
    expect(ring.openTitle(id, keyId, 'session-1', sealed)).toBe('Private title');
    expect(ring.notice()).toEqual({ recoveryPending: false, earlierChatsOpenWith: [], damaged: false });

    // Signed out before it could write: a rewrap under way writes nothing for the signed-out session.
    const pending = ring.rewrapUnderPassword(id, 'third password', () => true);
    ring.forget();
    expect(await pending).toEqual({ outcome: 'session_ended' });
    expect(wraps()).toEqual(after);
    expect(await ring.rewrapUnderPassword(id, 'third password', () => true)).toEqual({ outcome: 'no_password' });

    // The old password opens nothing any more; the new one opens the chat.
    const withOld = await ring.prepare(id, { kind: 'password', password: 'first password' });
    expect(withOld.opened.size).toBe(0);
    if (withOld.factor.kind === 'password') withOld.factor.kek.kek.fill(0);
    ring.commit(await ring.prepare(id, { kind: 'password', password: 'second password' }), 'sign-in');
    expect(ring.openTitle(id, keyId, 'session-1', sealed)).toBe('Private title');
    ring.forget();
  });
});
