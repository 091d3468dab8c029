// Chat search's in-memory cache on the real encrypted store (inference/chat-search.ts):
// what was opened is reused only within the signed-in session that opened it,
// a search that yields to other work is refused once that session ends, and a
// session deleted while it searched is left out of the result.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { User } from '../../src/shared/api.js';
import { openText, sealText } from '../../src/main/identity/content-crypto.js';
import type { ChatKeys, SessionGate } from '../../src/main/inference/chat-ports.js';
import { ChatSearch } from '../../src/main/inference/chat-search.js';
import { chatSessions, openStore, type Store } from '../../src/main/store/index.js';
import { tempDir } from '../support/temp.js';

const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

const USER: User = { id: 'user-1', username: 'dr.grey', displayName: 'Dr Grey', roles: ['clinician'], authMethod: 'evaluation-password' };

/** A store with `sessions` sessions of `messages` sealed messages each; every opening is counted (and can be slowed). */
function fixture(sessions: number, messages: number, openDelayMs = 0) {
  const dir = tempDir();
  const store: Store = openStore({ path: join(dir.path, 'enclave.db'), key: randomBytes(32) });
  cleanups.push(dir.remove, () => store.close());
  const key = randomBytes(32);
  const opened = { count: 0 };
  const keys: ChatKeys = {
    keyForNewChats: () => 'key-1',
    canOpen: () => true,
    sealTitle: (_u, _k, sessionId, title) => sealText(key, title, `t:${sessionId}`),
    openTitle: (_u, _k, sessionId, stored) => openText(key, stored, `t:${sessionId}`),
    sealMessage: (_u, _k, m, content) => sealText(key, content, `m:${m.id}`),
    openMessage: (_u, _k, m, stored) => {
      opened.count += 1;
      const until = performance.now() + openDelayMs;
      while (performance.now() < until);
      return openText(key, stored, `m:${m.id}`);
    },
  };
  store.writer
    .prepare("INSERT INTO accounts (id, username, display_name, password_hash, roles, kind, created_at) VALUES (?, 'dr.grey', 'Dr Grey', 'x', '[\"clinician\"]', 'evaluation', 0)")
    .run(USER.id);
  store.writer.prepare("INSERT INTO content_keys (id, user_id, key_check, created_at) VALUES ('key-1', ?, x'00', 0)").run(USER.id);
  for (let s = 0; s < sessions; s++) {
    const sessionId = `session-${s}`;
    store.transaction((db) => {
      chatSessions.insertSession(db, {
        id: sessionId,
        user_id: USER.id,
        title: keys.sealTitle(USER.id, 'key-1', sessionId, `Session ${s}`),
        key_id: 'key-1',
        workload_id: 'notes',
        created_at: s * 1000,
        updated_at: s * 1000 + 999,
        ended_at: null,
      });
      for (let m = 0; m < messages; m++) {
        const id = `${sessionId}-m${m}`;
        const role = m % 2 === 0 ? 'user' : 'assistant';
        chatSessions.insertMessage(db, {
          id,
          sessionId,
          role,
          content: keys.sealMessage(USER.id, 'key-1', { id, sessionId, role }, `Message ${m} of session ${s} mentions apixaban`),
          status: 'complete',
          replyTo: null,
          modelId: 'test',
          createdAt: s * 1000 + m,
        });
      }
    });
  }
  return { store, keys, opened };
}

/** A session gate whose epoch and staleness the test sets. */
function gate(): SessionGate & { epoch: number; stale: 'locked' | 'signed_out' | null; onAsk: () => void } {
  const g = {
    epoch: 1,
    stale: null as 'locked' | 'signed_out' | null,
    onAsk: () => undefined as void,
    staleness(epoch: number) {
      g.onAsk();
      return epoch === g.epoch ? g.stale : 'signed_out';
    },
  };
  return g;
}

describe('chat search', () => {
  it('opens each message once per signed-in session: reused while it lasts, opened again after a new sign-in or a lock', async () => {
    const { store, keys, opened } = fixture(5, 4);
    const session = gate();
    const search = new ChatSearch({ store, keys, session });
    const first = await search.search(USER, { query: 'APIXABAN', limit: 100 });
    expect(first).toMatchObject({ sessionsSearched: 5, truncated: false });
    expect(first.hits).toHaveLength(20);
    expect(opened.count).toBe(20);

    await search.search(USER, { query: 'session 3', limit: 100 });
    expect(opened.count).toBe(20);

    // A new message is opened alone.
    store.transaction((db) =>
      chatSessions.insertMessage(db, {
        id: 'late',
        sessionId: 'session-0',
        role: 'user',
        content: keys.sealMessage(USER.id, 'key-1', { id: 'late', sessionId: 'session-0', role: 'user' }, 'A late apixaban question'),
        status: 'complete',
        replyTo: null,
        modelId: 'test',
        createdAt: 99_999,
      }),
    );
    const withLate = await search.search(USER, { query: 'apixaban', limit: 1 });
    expect(withLate).toMatchObject({ truncated: true, hits: [{ messageId: 'late', snippet: 'A late apixaban question', matchStart: 7, matchLength: 8 }] });
    expect(opened.count).toBe(21);

    // Signed in again (a new epoch): nothing of the last session's opened text is used.
    session.epoch = 2;
    await search.search(USER, { query: 'apixaban', limit: 100 });
    expect(opened.count).toBe(42);
    // Locked (the chat service drops what was opened): opened again after.
    search.drop();
    await search.search(USER, { query: 'apixaban', limit: 100 });
    expect(opened.count).toBe(63);
  });

  it('a search that yields to other work is refused once the session is signed out, and forgets what it opened', async () => {
    const { store, keys, opened } = fixture(4, 10, 2);
    const session = gate();
    let asks = 0;
    // Signed out after the search first let other work run.
    session.onAsk = () => {
      asks += 1;
      if (asks === 2) session.stale = 'signed_out';
    };
    const search = new ChatSearch({ store, keys, session });
    await expect(search.search(USER, { query: 'apixaban', limit: 100 })).rejects.toMatchObject({ code: 'not_signed_in' });
    expect(asks).toBe(2);

    session.stale = null;
    session.onAsk = () => undefined;
    const before = opened.count;
    await search.search(USER, { query: 'apixaban', limit: 100 });
    expect(opened.count - before).toBe(40);
  });

  it('a session deleted while the search ran is left out of its result', async () => {
    const { store, keys } = fixture(4, 10, 2);
    const session = gate();
    let asks = 0;
    session.onAsk = () => {
      asks += 1;
      if (asks === 2) store.transaction((db) => chatSessions.deleteSessions(db, ['session-3']));
    };
    const search = new ChatSearch({ store, keys, session });
    const result = await search.search(USER, { query: 'apixaban', limit: 100 });
    expect(asks).toBeGreaterThan(1);
    expect(result.sessionsSearched).toBe(3);
    expect(new Set(result.hits.map((h) => h.sessionId))).toEqual(new Set(['session-0', 'session-1', 'session-2']));
  });
});
