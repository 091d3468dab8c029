// What a clinician does with their own sessions besides chatting, through the
// real core and llama.cpp on the generated test model: rename, search,
// regenerate, edit the last prompt, copy, report; each refused clearly for
// someone else's session, a locked one, a stale prompt, copying turned off,
// an answer under way, and a sign-out in the middle; audited without text.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HeadlessCore } from '../../src/main/core/headless.js';
import { createLlamaEngine, type InferenceEngine } from '../../src/main/inference/index.js';
import { call, callError, nextEvent } from '../support/core.js';
import { decryptedDatabaseBytes } from '../support/database-bytes.js';
import { cleanupsAfterEach } from '../support/temp.js';
import { approvedTestModel } from '../support/test-model.js';
import { answer, auditEvents, startWithPolicy, type WorkloadInput } from '../support/workload-core.js';

const NOTES: WorkloadInput[] = [{ id: 'notes', name: 'Clinical notes', model: 'test', maxTokens: 8 }];
const LONG_ANSWER = { model: { contextSize: 4096 }, inference: { maxResponseTokens: 2000 } } as const;

let model: { path: string; sha256: string };
const cleanups = cleanupsAfterEach();

beforeAll(async () => {
  model = await approvedTestModel();
});

function start(options: Parameters<typeof startWithPolicy>[3] = {}): Promise<HeadlessCore> {
  return startWithPolicy(cleanups, model, ['clinician'], { workloads: NOTES, ...options });
}

async function userId(core: HeadlessCore): Promise<string> {
  const state = (await call(core, 'app.status', {})).session;
  if (state.state !== 'active') throw new Error('not signed in');
  return state.user.id;
}

/** Someone else's session, with a prompt and an answer (plain, as a session from before per-person keys). */
function othersSession(core: HeadlessCore, text: string): { sessionId: string; promptId: string; answerId: string } {
  const db = core.store.writer;
  db.prepare(
    "INSERT OR IGNORE INTO accounts (id, username, display_name, password_hash, roles, kind, created_at) VALUES ('other-user', 'dr.yang', 'Dr Cristina Yang', 'x', '[\"clinician\"]', 'evaluation', 0)",
  ).run();
  const ids = { sessionId: '0190aaaa-0000-7000-8000-000000000001', promptId: '0190aaaa-0000-7000-8000-000000000002', answerId: '0190aaaa-0000-7000-8000-000000000003' };
  const time = Date.now();
  db.prepare("INSERT INTO chat_sessions (id, user_id, title, workload_id, created_at, updated_at, ended_at) VALUES (?, 'other-user', ?, 'notes', ?, ?, NULL)").run(ids.sessionId, text, time, time);
  db.prepare(
    "INSERT INTO chat_messages (id, session_id, role, content, status, reply_to, model_id, created_at) VALUES (?, ?, 'user', ?, 'complete', NULL, 'test', ?), (?, ?, 'assistant', ?, 'complete', ?, 'test', ?)",
  ).run(ids.promptId, ids.sessionId, text, time, ids.answerId, ids.sessionId, text, ids.promptId, time + 1);
  return ids;
}

/** One of the user's own sessions sealed under a key this sign-in does not hold (another factor's): listed as locked. */
async function lockedSession(core: HeadlessCore): Promise<{ sessionId: string; answerId: string }> {
  const owner = await userId(core);
  const ids = { sessionId: '0190bbbb-0000-7000-8000-000000000001', promptId: '0190bbbb-0000-7000-8000-000000000002', answerId: '0190bbbb-0000-7000-8000-000000000003' };
  const db = core.store.writer;
  const time = Date.now();
  db.prepare("INSERT INTO content_keys (id, user_id, key_check, created_at) VALUES ('key-of-the-card', ?, x'00', ?)").run(owner, time);
  db.prepare("INSERT INTO chat_sessions (id, user_id, title, key_id, workload_id, created_at, updated_at, ended_at) VALUES (?, ?, 'c2VhbGVk', 'key-of-the-card', 'notes', ?, ?, NULL)").run(
    ids.sessionId,
    owner,
    time,
    time,
  );
  db.prepare(
    "INSERT INTO chat_messages (id, session_id, role, content, status, reply_to, model_id, created_at) VALUES (?, ?, 'user', 'c2VhbGVk', 'complete', NULL, 'test', ?), (?, ?, 'assistant', 'c2VhbGVk', 'complete', ?, 'test', ?)",
  ).run(ids.promptId, ids.sessionId, time, ids.answerId, ids.sessionId, ids.promptId, time + 1);
  return ids;
}

function storedMessages(core: HeadlessCore, sessionId: string): { id: string; role: string }[] {
  return core.store.writer.prepare('SELECT id, role FROM chat_messages WHERE session_id = ? ORDER BY created_at, id').all(sessionId) as { id: string; role: string }[];
}

function auditText(core: HeadlessCore): string {
  return (core.store.writer.prepare('SELECT record FROM audit_events').all() as { record: string }[]).map((r) => r.record).join('\n');
}

function lastAudit(core: HeadlessCore, action: string) {
  return auditEvents(core).findLast((e) => e.action === action);
}

/** An engine whose token count (one of a prompt's checks) waits until the test lets it go on. */
function gatedEngine(): { engine: InferenceEngine; entered: () => Promise<void>; release: () => void } {
  const real = createLlamaEngine();
  let release: () => void = () => undefined;
  let enter: () => void = () => undefined;
  let gate = false;
  const engine: InferenceEngine = {
    ...real,
    countTokens: async (...args) => {
      if (gate) {
        enter();
        await new Promise<void>((resolve) => (release = resolve));
      }
      return real.countTokens(...args);
    },
  };
  return {
    engine,
    entered: () => {
      gate = true;
      return new Promise<void>((resolve) => (enter = resolve));
    },
    release: () => release(),
  };
}

describe('chat.rename', () => {
  it("seals the new title with the person's key, lists it, and audits session.rename with its length only", async () => {
    const core = await start();
    const session = await call(core, 'chat.create', {});
    const renamed = await call(core, 'chat.rename', { sessionId: session.id, title: '  Ward 7   handover\nQR5 ' });
    expect(renamed).toMatchObject({ id: session.id, title: 'Ward 7 handover QR5', locked: false });
    expect((await call(core, 'chat.list', {})).map((s) => s.title)).toEqual(['Ward 7 handover QR5']);
    const stored = core.store.writer.prepare('SELECT title FROM chat_sessions WHERE id = ?').get(session.id) as { title: string };
    expect(stored.title).not.toContain('QR5');
    expect(lastAudit(core, 'session.rename')).toMatchObject({ outcome: 'success', sessionId: session.id, detail: { chars: 'Ward 7 handover QR5'.length } });
    expect(auditText(core)).not.toContain('QR5');
    // A renamed session keeps its name when its first prompt is sent.
    await answer(core, session.id, 'First prompt of a renamed session');
    expect((await call(core, 'chat.list', {}))[0]!.title).toBe('Ward 7 handover QR5');
  });

  it("refuses someone else's session and a locked one, audited, and changes nothing", async () => {
    const core = await start();
    const theirs = othersSession(core, 'their title');
    expect(await callError(core, 'chat.rename', { sessionId: theirs.sessionId, title: 'Mine now' })).toMatchObject({ code: 'not_found' });
    expect(lastAudit(core, 'session.rename')).toMatchObject({ outcome: 'failure', reason: 'not_found', sessionId: theirs.sessionId });
    expect((core.store.writer.prepare('SELECT title FROM chat_sessions WHERE id = ?').get(theirs.sessionId) as { title: string }).title).toBe('their title');

    const locked = await lockedSession(core);
    expect(await callError(core, 'chat.rename', { sessionId: locked.sessionId, title: 'x' })).toMatchObject({ code: 'chat_locked', message: expect.stringContaining('locked') });
    expect(lastAudit(core, 'session.rename')).toMatchObject({ outcome: 'failure', reason: 'chat_locked' });
    expect(await callError(core, 'chat.rename', { sessionId: locked.sessionId, title: '   ' })).toMatchObject({ code: 'invalid_input', message: expect.stringContaining('name') });
  });
});

describe('session titles', () => {
  it('a title made from the first prompt has no Markdown', async () => {
    const core = await start();
    const session = await call(core, 'chat.create', {});
    await answer(core, session.id, '## **Summarise** the `discharge` letter\n\n- [ ] meds');
    expect((await call(core, 'chat.list', {}))[0]!.title).toBe('Summarise the discharge letter meds');
  });
});

describe('chat.search', () => {
  it("finds the person's own titles and messages, case-insensitively, newest first, with the match located in a snippet", async () => {
    const core = await start();
    const older = await call(core, 'chat.create', { title: 'Sepsis bundle audit' });
    await answer(core, older.id, 'Which antibiotics for suspected SEPSIS in a penicillin allergy?');
    const newer = await call(core, 'chat.create', {});
    await answer(core, newer.id, 'Draft a note: sepsis ruled out, lactate normal.');
    othersSession(core, 'their sepsis notes');

    const result = await call(core, 'chat.search', { query: 'sepsis', limit: 50 });
    expect(result).toMatchObject({ sessionsSearched: 2, truncated: false });
    // Newest first: the newer session's prompt (and its title, made from it), then the older session's title and prompt.
    expect(result.hits.map((h) => [h.sessionId, h.role])).toEqual([
      [newer.id, null],
      [newer.id, 'user'],
      [older.id, null],
      [older.id, 'user'],
    ]);
    for (const hit of result.hits) expect(hit.snippet.slice(hit.matchStart, hit.matchStart + hit.matchLength).toLowerCase()).toBe('sepsis');
    expect(result.hits.map((h) => h.createdAt)).toEqual([...result.hits.map((h) => h.createdAt)].sort((a, b) => b - a));

    const limited = await call(core, 'chat.search', { query: 'SEPSIS', limit: 1 });
    expect(limited).toMatchObject({ truncated: true, hits: [{ sessionId: newer.id }] });
    expect((await call(core, 'chat.search', { query: 'no such words', limit: 50 })).hits).toEqual([]);
  });

  it('follows renames and deletions; skips locked sessions', async () => {
    const core = await start();
    const session = await call(core, 'chat.create', { title: 'Alpha title' });
    await answer(core, session.id, 'Question about warfarin');
    expect((await call(core, 'chat.search', { query: 'alpha', limit: 50 })).hits).toHaveLength(1);
    await call(core, 'chat.rename', { sessionId: session.id, title: 'Bravo title' });
    expect((await call(core, 'chat.search', { query: 'alpha', limit: 50 })).hits).toEqual([]);
    expect((await call(core, 'chat.search', { query: 'bravo', limit: 50 })).hits).toHaveLength(1);

    await lockedSession(core);
    expect((await call(core, 'chat.search', { query: 'warfarin', limit: 50 })).sessionsSearched).toBe(1);

    await call(core, 'chat.delete', { sessionId: session.id });
    expect(await call(core, 'chat.search', { query: 'warfarin', limit: 50 })).toEqual({ hits: [], sessionsSearched: 0, truncated: false });
  });

  it('is refused once the person is signed out or locked', async () => {
    const core = await start();
    await call(core, 'auth.lock', { reason: 'user' });
    expect(await callError(core, 'chat.search', { query: 'anything', limit: 5 })).toMatchObject({ code: 'locked' });
    await call(core, 'auth.signOut', {});
    expect(await callError(core, 'chat.search', { query: 'anything', limit: 5 })).toMatchObject({ code: 'not_signed_in' });
  });
});

describe('chat.regenerate', () => {
  it('answers the last prompt again, removes the earlier answer, and audits the resend and the new answer', async () => {
    const core = await start();
    const session = await call(core, 'chat.create', {});
    await answer(core, session.id, 'Regenerate marker RG4');
    const [prompt, first] = storedMessages(core, session.id);
    const done = nextEvent(core, 'chat.done', (d) => d.sessionId === session.id);
    const again = await call(core, 'chat.regenerate', { sessionId: session.id });
    expect(again.promptId).toBe(prompt!.id);
    expect(again.responseId).not.toBe(first!.id);
    expect(await done).toMatchObject({ status: 'complete', responseId: again.responseId });

    const opened = await call(core, 'chat.open', { sessionId: session.id });
    expect(opened.messages.map((m) => [m.id, m.role, m.replyTo])).toEqual([
      [prompt!.id, 'user', null],
      [again.responseId, 'assistant', prompt!.id],
    ]);
    expect(lastAudit(core, 'ai.prompt')).toMatchObject({ outcome: 'success', sessionId: session.id, detail: { resend: 'regenerate', removed: first!.id } });
    expect(lastAudit(core, 'ai.response')).toMatchObject({ outcome: 'success', detail: { reply_to: prompt!.id, resend: 'regenerate' } });
    expect(auditText(core)).not.toContain('RG4');
  });

  it('is refused as a conflict while an answer is written and when there is no prompt; refused for a locked or foreign session', async () => {
    const core = await start({ ...LONG_ANSWER, workloads: [{ id: 'notes', name: 'Clinical notes', model: 'test' }] });
    const empty = await call(core, 'chat.create', {});
    expect(await callError(core, 'chat.regenerate', { sessionId: empty.id })).toMatchObject({ code: 'conflict', message: expect.stringContaining('no prompt') });

    const session = await call(core, 'chat.create', {});
    const firstToken = nextEvent(core, 'chat.token', (t) => t.sessionId === session.id);
    const done = nextEvent(core, 'chat.done', (d) => d.sessionId === session.id);
    const sent = await call(core, 'chat.send', { sessionId: session.id, text: 'Write a long discharge summary.' });
    await firstToken;
    expect(await callError(core, 'chat.regenerate', { sessionId: session.id })).toMatchObject({ code: 'conflict', message: expect.stringContaining('still being written') });
    expect(await callError(core, 'chat.edit', { sessionId: session.id, promptId: sent.promptId, text: 'Shorter.' })).toMatchObject({ code: 'conflict' });
    await call(core, 'chat.cancel', { sessionId: session.id });
    await done;
    expect(storedMessages(core, session.id).map((m) => m.id)).toEqual([sent.promptId, sent.responseId]);

    expect(await callError(core, 'chat.regenerate', { sessionId: othersSession(core, 'x').sessionId })).toMatchObject({ code: 'not_found' });
    expect(await callError(core, 'chat.regenerate', { sessionId: (await lockedSession(core)).sessionId })).toMatchObject({ code: 'chat_locked' });
  });
});

describe('chat.edit', () => {
  it('replaces the last prompt and its answer with the new prompt and a new answer, audited', async () => {
    const core = await start();
    const session = await call(core, 'chat.create', {});
    await answer(core, session.id, 'Edit marker ED1 first version');
    const [oldPrompt, oldAnswer] = storedMessages(core, session.id);
    const done = nextEvent(core, 'chat.done', (d) => d.sessionId === session.id);
    const edited = await call(core, 'chat.edit', { sessionId: session.id, promptId: oldPrompt!.id, text: 'Edit marker ED2 second version' });
    expect(await done).toMatchObject({ status: 'complete', responseId: edited.responseId });
    const opened = await call(core, 'chat.open', { sessionId: session.id });
    expect(opened.messages.map((m) => [m.id, m.role, m.content.slice(0, 30)])).toEqual([
      [edited.promptId, 'user', 'Edit marker ED2 second version'],
      [edited.responseId, 'assistant', expect.any(String)],
    ]);
    // The title was made from the first prompt, so it follows the edit.
    expect(opened.session.title).toBe('Edit marker ED2 second version');
    expect(lastAudit(core, 'ai.prompt')).toMatchObject({ outcome: 'success', detail: { resend: 'edit', replaces: oldPrompt!.id, removed: `${oldPrompt!.id},${oldAnswer!.id}` } });
    expect(lastAudit(core, 'ai.response')).toMatchObject({ detail: { resend: 'edit', reply_to: edited.promptId } });
    expect(auditText(core)).not.toMatch(/ED1|ED2/);
  });

  it('refuses a prompt that is not the last one, and an edit over the policy limit, removing nothing', async () => {
    const core = await start({ inference: { maxPromptChars: 40 } });
    const session = await call(core, 'chat.create', {});
    await answer(core, session.id, 'First question');
    await answer(core, session.id, 'Second question');
    const before = storedMessages(core, session.id);
    expect(await callError(core, 'chat.edit', { sessionId: session.id, promptId: before[0]!.id, text: 'Changed' })).toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('last prompt'),
    });
    expect(await callError(core, 'chat.edit', { sessionId: session.id, promptId: before[2]!.id, text: 'x'.repeat(41) })).toMatchObject({ code: 'prompt_too_long' });
    expect(lastAudit(core, 'ai.prompt')).toMatchObject({ outcome: 'failure', reason: 'prompt_too_long', detail: { resend: 'edit' } });
    expect(storedMessages(core, session.id)).toEqual(before);
  });

  it('a sign-out while the edit is checked stores and removes nothing', async () => {
    const gated = gatedEngine();
    const core = await start({ engine: gated.engine });
    const session = await call(core, 'chat.create', {});
    await answer(core, session.id, 'Before the sign-out');
    const before = storedMessages(core, session.id);
    const inChecks = gated.entered();
    const edit = callError(core, 'chat.edit', { sessionId: session.id, promptId: before[0]!.id, text: 'After the sign-out' });
    await inChecks;
    await call(core, 'auth.signOut', {});
    gated.release();
    expect(await edit).toMatchObject({ code: 'not_signed_in' });
    expect(storedMessages(core, session.id)).toEqual(before);
    expect(lastAudit(core, 'ai.prompt')).toMatchObject({ outcome: 'failure', reason: 'signed_out', detail: { resend: 'edit' } });
  });

  it('a regenerate whose conversation changed while it was checked is refused as a conflict', async () => {
    const gated = gatedEngine();
    const core = await start({ engine: gated.engine });
    const session = await call(core, 'chat.create', {});
    await answer(core, session.id, 'A question');
    const inChecks = gated.entered();
    const regenerate = callError(core, 'chat.regenerate', { sessionId: session.id });
    await inChecks;
    // Meanwhile the answer is removed by another call's edit of the same prompt (simulated at the store).
    const [, answerRow] = storedMessages(core, session.id);
    core.store.writer.prepare('DELETE FROM chat_messages WHERE id = ?').run(answerRow!.id);
    gated.release();
    expect(await regenerate).toMatchObject({ code: 'conflict', message: expect.stringContaining('changed') });
  });
});

describe('chat.copy', () => {
  it('is audited as ai.copy with the part, the characters and the message id, never the text', async () => {
    const core = await start();
    const session = await call(core, 'chat.create', {});
    const { text } = await answer(core, session.id, 'Copy marker CP3');
    const [prompt, reply] = storedMessages(core, session.id);
    expect(await call(core, 'chat.copy', { sessionId: session.id, messageId: reply!.id, part: 'answer', chars: text.length })).toEqual({ ok: true });
    const copied = (core.store.writer.prepare("SELECT record FROM audit_events WHERE action = 'ai.copy'").get() as { record: string }).record;
    expect(JSON.parse(copied)).toMatchObject({
      event: { outcome: 'success' },
      enclave: { session_id: session.id, message_id: reply!.id, workload: 'notes', detail: { part: 'answer', chars: text.length } },
    });
    expect(await call(core, 'chat.copy', { sessionId: session.id, messageId: prompt!.id, part: 'prompt', chars: 5 })).toEqual({ ok: true });
    expect(auditText(core)).not.toContain('CP3');
  });

  it('refuses more characters than the message has, the wrong part, a foreign session and a locked one, each audited as a failure', async () => {
    const core = await start();
    const session = await call(core, 'chat.create', {});
    await answer(core, session.id, 'Twelve chars');
    const [prompt] = storedMessages(core, session.id);
    expect(await callError(core, 'chat.copy', { sessionId: session.id, messageId: prompt!.id, part: 'prompt', chars: 13 })).toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('12'),
    });
    expect(await callError(core, 'chat.copy', { sessionId: session.id, messageId: prompt!.id, part: 'answer', chars: 3 })).toMatchObject({ code: 'invalid_input' });
    const theirs = othersSession(core, 'their text');
    expect(await callError(core, 'chat.copy', { sessionId: theirs.sessionId, messageId: theirs.answerId, part: 'answer', chars: 3 })).toMatchObject({ code: 'not_found' });
    const locked = await lockedSession(core);
    expect(await callError(core, 'chat.copy', { sessionId: locked.sessionId, messageId: locked.answerId, part: 'answer', chars: 1 })).toMatchObject({ code: 'chat_locked' });
    expect(
      auditEvents(core)
        .filter((e) => e.action === 'ai.copy')
        .map((e) => [e.outcome, e.reason]),
    ).toEqual([
      ['failure', 'invalid_input'],
      ['failure', 'invalid_input'],
      ['failure', 'not_found'],
      ['failure', 'chat_locked'],
    ]);
  });

  it('is refused with copy_disabled, audited, where policy turns copying off for the workload; model.status says so', async () => {
    const core = await start({ workloads: [{ id: 'restricted', name: 'Restricted', model: 'test', maxTokens: 8, allowCopy: false }, ...NOTES] });
    expect((await call(core, 'model.status', {})).workloads.map((w) => [w.id, w.copyAllowed])).toEqual([
      ['restricted', false],
      ['notes', true],
    ]);
    const session = await call(core, 'chat.create', { workloadId: 'restricted' });
    const { text } = await answer(core, session.id, 'Not for the clipboard');
    const [, reply] = storedMessages(core, session.id);
    expect(await callError(core, 'chat.copy', { sessionId: session.id, messageId: reply!.id, part: 'answer', chars: Math.max(1, text.length) })).toMatchObject({
      code: 'copy_disabled',
      message: expect.stringContaining('Restricted'),
    });
    expect(lastAudit(core, 'ai.copy')).toMatchObject({ outcome: 'failure', reason: 'copy_disabled', workload: 'restricted' });
  });
});

describe('chat.report', () => {
  it('audits ai.report with the category and message id, and seals it into a batch for the SIEM at once', async () => {
    const core = await start();
    const session = await call(core, 'chat.create', {});
    await answer(core, session.id, 'Report marker RP7');
    const [prompt, reply] = storedMessages(core, session.id);
    const sealedBefore = (core.store.writer.prepare('SELECT count(*) AS n FROM audit_batches').get() as { n: number }).n;
    expect(await call(core, 'chat.report', { sessionId: session.id, messageId: reply!.id, category: 'other-patient' })).toEqual({ ok: true });
    const report = core.store.writer.prepare("SELECT seq, record FROM audit_events WHERE action = 'ai.report'").get() as { seq: number; record: string };
    expect(JSON.parse(report.record)).toMatchObject({ enclave: { session_id: session.id, message_id: reply!.id, model: { id: 'test', sha256: model.sha256 }, detail: { category: 'other-patient' } } });
    // Sealed now (the policy's batch age is minutes), in a batch marked to go to the SIEM first.
    await expect
      .poll(() => core.store.writer.prepare('SELECT priority FROM audit_batches WHERE first_seq <= ? AND last_seq >= ?').get(report.seq, report.seq) as { priority: number } | undefined, {
        timeout: 10_000,
      })
      .toEqual({ priority: 1 });
    expect((core.store.writer.prepare('SELECT count(*) AS n FROM audit_batches').get() as { n: number }).n).toBeGreaterThan(sealedBefore);
    expect(auditText(core)).not.toContain('RP7');

    expect(await callError(core, 'chat.report', { sessionId: session.id, messageId: prompt!.id, category: 'wrong' })).toMatchObject({ code: 'invalid_input' });
    const theirs = othersSession(core, 'their text');
    expect(await callError(core, 'chat.report', { sessionId: theirs.sessionId, messageId: theirs.answerId, category: 'unsafe' })).toMatchObject({ code: 'not_found' });
    expect(
      auditEvents(core)
        .filter((e) => e.action === 'ai.report')
        .map((e) => [e.outcome, e.reason ?? null]),
    ).toEqual([
      ['success', null],
      ['failure', 'invalid_input'],
      ['failure', 'not_found'],
    ]);
  });
});

describe('model.status workloads', () => {
  it('say whether each can be used, and why not in words a clinician can act on', async () => {
    const core = await start({
      models: [
        { id: 'test', name: 'Test model', path: model.path, sha256: model.sha256, contextSize: 2048 },
        { id: 'changed', name: 'Changed model', path: model.path, sha256: 'b'.repeat(64), contextSize: 2048 },
      ],
      workloads: [...NOTES, { id: 'other', name: 'Other', model: 'changed' }],
    });
    await expect
      .poll(async () => (await call(core, 'model.status', {})).workloads.map((w) => [w.id, w.availability.state]), { timeout: 30_000 })
      .toEqual([
        ['notes', 'ready'],
        ['other', 'unavailable'],
      ]);
    const other = (await call(core, 'model.status', {})).workloads[1]!;
    expect(other.availability.reason).toBe('The model for this workload was refused: its file changed since IT approved it. Ask IT.');
  });
});

describe('chat.delete', () => {
  it('leaves no trace of the sealed messages in the database file: secure_delete zeroes the freed pages', async () => {
    const core = await start();
    expect(core.store.writer.pragma('secure_delete', { simple: true })).toBe(1);
    const sealedPrompt = (sessionId: string): Buffer => {
      const { content } = core.store.writer.prepare("SELECT content FROM chat_messages WHERE session_id = ? AND role = 'user'").get(sessionId) as { content: string };
      return Buffer.from(content.slice(40, 104));
    };
    const kept = await call(core, 'chat.create', {});
    await answer(core, kept.id, `Kept marker ${'KP1 '.repeat(100)}`);
    const deleted = await call(core, 'chat.create', {});
    await answer(core, deleted.id, `Delete marker ${'DL9 '.repeat(100)}`);
    const keptBytes = sealedPrompt(kept.id);
    const deletedBytes = sealedPrompt(deleted.id);
    const key = Buffer.from(readFileSync(core.keyFile, 'utf8').trim(), 'hex');
    const path = core.store.path;

    await call(core, 'chat.delete', { sessionId: deleted.id });
    await core.close();
    const pages = decryptedDatabaseBytes(path, key);
    // Every page, free ones too: the kept message's ciphertext is there (so the probe finds what is there), the deleted one's is not.
    expect(pages.includes(keptBytes)).toBe(true);
    expect(pages.includes(deletedBytes)).toBe(false);
  });
});
