// Chat retention (storage.chatRetentionDays) and a user's own deletion, through
// the real core and llama.cpp on the generated test model: what is deleted is
// gone from the database itself, the deletion is audited with counts and ids
// and no text, and the WAL is truncated after it.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Core } from '../../src/main/core/index.js';
import { createLlamaEngine, type InferenceEngine } from '../../src/main/inference/index.js';
import { call, callError, EVAL_USER, nextEvent, startWatchedCore } from '../support/core.js';
import { cleanupsAfterEach, tempDir } from '../support/temp.js';
import { approvedTestModel } from '../support/test-model.js';
import { answer, auditEvents, policyDocument, startWithPolicy, type WorkloadInput } from '../support/workload-core.js';

const DAY = 86_400_000;
const SHORT: WorkloadInput[] = [{ id: 'short', name: 'Short', model: 'test', maxTokens: 8 }];
const LONG_ANSWER = { model: { contextSize: 4096 }, inference: { maxResponseTokens: 2000 } } as const;

let model: { path: string; sha256: string };
const cleanups = cleanupsAfterEach();

beforeAll(async () => {
  model = await approvedTestModel();
});

function sessionRows(core: Core, sessionId: string): number {
  return (core.store.writer.prepare('SELECT count(*) AS n FROM chat_sessions WHERE id = ?').get(sessionId) as { n: number }).n;
}
function messageRows(core: Core, sessionId: string): number {
  return (core.store.writer.prepare('SELECT count(*) AS n FROM chat_messages WHERE session_id = ?').get(sessionId) as { n: number }).n;
}
function walBytes(core: Core): number {
  const wal = `${core.store.path}-wal`;
  return existsSync(wal) ? statSync(wal).size : 0;
}
function purges(core: Core) {
  return auditEvents(core).filter((e) => e.action === 'chat.purge');
}
function auditText(core: Core): string {
  return (core.store.writer.prepare('SELECT record FROM audit_events').all() as { record: string }[]).map((r) => r.record).join('\n');
}
function lastSweepAt(core: Core): number {
  return Number(core.store.getMeta('retention.last_sweep_at') ?? '0');
}

describe('chat retention', () => {
  it('with 0 days, chat.end deletes the session and its messages from the database, audits chat.purge with counts and no text, and truncates the WAL', async () => {
    const core = await startWithPolicy(cleanups, model, ['clinician'], { storage: { chatRetentionDays: 0 }, workloads: SHORT });
    const session = await call(core, 'chat.create', {});
    const prompt = 'MRN 4471 diabetic? retention marker QX7';
    await answer(core, session.id, prompt);
    expect(messageRows(core, session.id)).toBe(2);

    await call(core, 'chat.end', { sessionId: session.id });

    expect(sessionRows(core, session.id)).toBe(0);
    expect(messageRows(core, session.id)).toBe(0);
    expect(walBytes(core)).toBe(0);
    expect(await call(core, 'chat.list', {})).toEqual([]);
    expect(purges(core)).toEqual([expect.objectContaining({ outcome: 'success', detail: { trigger: 'session_end', retention_days: 0, sessions: 1, messages: 2, session_ids: session.id } })]);
    // Neither the prompt nor the session title made of it is in any audit record.
    expect(auditText(core)).not.toContain('QX7');
    expect(await callError(core, 'chat.open', { sessionId: session.id })).toMatchObject({ code: 'not_found' });
  });

  it('with N days, a session whose last activity is older than N days is purged at the interval sweep and the younger one kept; at the next start the younger one goes once it is old enough', async () => {
    let clock = Date.parse('2026-01-05T08:00:00Z');
    const now = () => clock;
    const dir = tempDir();
    cleanups.push(dir.remove);
    const options = { dataDir: dir.path, storage: { chatRetentionDays: 7 }, workloads: SHORT, now };
    const core = await startWithPolicy(cleanups, model, ['clinician'], { ...options, retentionSweepMs: 25 });
    const old = await call(core, 'chat.create', {});
    await answer(core, old.id, 'An old question.');
    clock += 5 * DAY;
    const young = await call(core, 'chat.create', {});
    await answer(core, young.id, 'A younger question.');

    // The old one's last message is now 7 days and a second old; the young one's 2 days.
    clock += 2 * DAY + 1000;
    await vi.waitFor(() => expect(sessionRows(core, old.id)).toBe(0), { timeout: 15_000 });
    expect(messageRows(core, old.id)).toBe(0);
    expect(sessionRows(core, young.id)).toBe(1);
    expect(messageRows(core, young.id)).toBe(2);
    expect(purges(core)).toEqual([expect.objectContaining({ detail: { trigger: 'interval', retention_days: 7, sessions: 1, messages: 2, session_ids: old.id } })]);
    expect((await call(core, 'chat.list', {})).map((s) => s.id)).toEqual([young.id]);
    await core.close();

    clock += 5 * DAY;
    const again = await startWithPolicy(cleanups, model, ['clinician'], options);
    await vi.waitFor(() => expect(sessionRows(again, young.id)).toBe(0), { timeout: 15_000 });
    expect(messageRows(again, young.id)).toBe(0);
    expect(purges(again).at(-1)).toMatchObject({ detail: { trigger: 'start', sessions: 1, messages: 2, session_ids: young.id } });
  });

  it('a session left open is measured from its last message, but one with an answer under way is never purged: it goes at a later sweep', async () => {
    let clock = Date.parse('2026-02-01T08:00:00Z');
    const core = await startWithPolicy(cleanups, model, ['clinician'], { ...LONG_ANSWER, storage: { chatRetentionDays: 1 }, now: () => clock, retentionSweepMs: 25 });
    const session = await call(core, 'chat.create', {});
    const firstToken = nextEvent(core, 'chat.token', (t) => t.sessionId === session.id);
    const done = nextEvent(core, 'chat.done', (d) => d.sessionId === session.id);
    await call(core, 'chat.send', { sessionId: session.id, text: 'Write a long summary of the clinic notes.' });
    await firstToken;

    clock += 3 * DAY;
    const sweptFrom = clock;
    // A whole sweep ran after the session was past retention, while its answer was being written.
    await vi.waitFor(() => expect(lastSweepAt(core)).toBeGreaterThanOrEqual(sweptFrom), { timeout: 15_000 });
    expect(sessionRows(core, session.id)).toBe(1);
    expect(purges(core)).toEqual([]);

    await call(core, 'chat.cancel', { sessionId: session.id });
    expect((await done).status).toBe('cancelled');
    // The stopped answer is its last activity; a day after it, the session goes.
    clock += DAY + 1000;
    await vi.waitFor(() => expect(sessionRows(core, session.id)).toBe(0), { timeout: 15_000 });
    expect(messageRows(core, session.id)).toBe(0);
    expect(purges(core)).toEqual([expect.objectContaining({ detail: expect.objectContaining({ sessions: 1, messages: 2, session_ids: session.id }) })]);
  });

  it('with 0 days, an open session is kept while its user is signed in (locked too) and purged when they sign out', async () => {
    const core = await startWithPolicy(cleanups, model, ['clinician'], { storage: { chatRetentionDays: 0 }, workloads: SHORT, retentionSweepMs: 25 });
    const session = await call(core, 'chat.create', {});
    await answer(core, session.id, 'A question left open.');
    await call(core, 'auth.lock', {});
    const lockedAt = Date.now();
    await vi.waitFor(() => expect(lastSweepAt(core)).toBeGreaterThan(lockedAt), { timeout: 15_000 });
    expect(sessionRows(core, session.id)).toBe(1);

    await call(core, 'auth.signOut', {});
    await vi.waitFor(() => expect(sessionRows(core, session.id)).toBe(0), { timeout: 15_000 });
    expect(messageRows(core, session.id)).toBe(0);
    expect(purges(core)).toEqual([expect.objectContaining({ detail: expect.objectContaining({ retention_days: 0, sessions: 1, messages: 2, session_ids: session.id }) })]);
  });

  it('a policy change to a shorter retention is applied at once, not at the next interval', async () => {
    const document = (days: number) => JSON.stringify(policyDocument(model, ['clinician'], { workloads: SHORT, storage: { chatRetentionDays: days } }));
    const { core, policyFile, dispose } = await startWatchedCore(document(30));
    cleanups.push(dispose);
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const session = await call(core, 'chat.create', {});
    await answer(core, session.id, 'A question kept for 30 days.');
    await call(core, 'chat.end', { sessionId: session.id });
    expect(sessionRows(core, session.id)).toBe(1);

    writeFileSync(policyFile, document(0));
    await vi.waitFor(() => expect(sessionRows(core, session.id)).toBe(0), { timeout: 15_000 });
    expect(messageRows(core, session.id)).toBe(0);
    expect(purges(core)).toEqual([expect.objectContaining({ detail: { trigger: 'policy_change', retention_days: 0, sessions: 1, messages: 2, session_ids: session.id } })]);
  });

  it('deleting a message looks up the messages replying to it (the reply_to foreign key) by index, not by a scan of every message', async () => {
    // Without the index, a sweep of 10,000 sessions of 10 messages did not finish in 10 minutes; with it, 3 s.
    const core = await startWithPolicy(cleanups, model, ['clinician'], { workloads: SHORT });
    const plan = core.store.writer.prepare('EXPLAIN QUERY PLAN SELECT 1 FROM chat_messages WHERE reply_to = ?').all('x') as { detail: string }[];
    expect(plan.map((step) => step.detail).join('; ')).toMatch(/USING (COVERING )?INDEX chat_messages_by_reply_to/);
  });

  it('a sweep of many sessions writes one chat.purge per 100 sessions, each with its ids', async () => {
    let clock = Date.parse('2026-03-01T08:00:00Z');
    const core = await startWithPolicy(cleanups, model, ['clinician'], { storage: { chatRetentionDays: 1 }, workloads: SHORT, now: () => clock, retentionSweepMs: 25 });
    const ids: string[] = [];
    for (let i = 0; i < 250; i += 1) ids.push((await call(core, 'chat.create', {})).id);
    clock += 2 * DAY;
    await vi.waitFor(() => expect(purges(core).reduce((n, e) => n + Number(e.detail!.sessions), 0)).toBe(250), { timeout: 15_000 });
    const events = purges(core);
    expect(events.map((e) => e.detail!.sessions)).toEqual([100, 100, 50]);
    expect(events.flatMap((e) => String(e.detail!.session_ids).split(',')).sort()).toEqual([...ids].sort());
    expect((core.store.writer.prepare('SELECT count(*) AS n FROM chat_sessions').get() as { n: number }).n).toBe(0);
  });
});

describe('a user deletes their own session', () => {
  it('chat.delete stops the answer under way, deletes the session and every message, audits session.delete with the count, and truncates the WAL', async () => {
    const core = await startWithPolicy(cleanups, model, ['clinician'], LONG_ANSWER);
    const kept = await call(core, 'chat.create', {});
    const session = await call(core, 'chat.create', {});
    const firstToken = nextEvent(core, 'chat.token', (t) => t.sessionId === session.id);
    const done = nextEvent(core, 'chat.done', (d) => d.sessionId === session.id);
    await call(core, 'chat.send', { sessionId: session.id, text: 'Delete marker ZK9: write a long summary.' });
    await firstToken;

    expect(await call(core, 'chat.delete', { sessionId: session.id })).toEqual({ sessionId: session.id, messages: 2 });
    expect((await done).status).toBe('cancelled');
    expect(sessionRows(core, session.id)).toBe(0);
    expect(messageRows(core, session.id)).toBe(0);
    expect(walBytes(core)).toBe(0);
    expect(auditEvents(core).findLast((e) => e.action === 'ai.cancel')).toMatchObject({ sessionId: session.id, reason: 'session_delete' });
    expect(auditEvents(core).findLast((e) => e.action === 'session.delete')).toMatchObject({ outcome: 'success', sessionId: session.id, detail: { messages: 2 } });
    expect(auditText(core)).not.toContain('ZK9');
    expect((await call(core, 'chat.list', {})).map((s) => s.id)).toEqual([kept.id]);
    expect(await callError(core, 'chat.delete', { sessionId: session.id })).toMatchObject({ code: 'not_found' });
  });

  it("someone else's session is refused as not found, nothing is deleted, and the attempt is audited", async () => {
    const core = await startWithPolicy(cleanups, model, ['clinician'], { workloads: SHORT });
    const db = core.store.writer;
    db.prepare(
      "INSERT INTO accounts (id, username, display_name, password_hash, roles, kind, created_at) VALUES ('other-user', 'dr.yang', 'Dr Cristina Yang', 'x', '[\"clinician\"]', 'evaluation', 0)",
    ).run();
    const theirs = '0190aaaa-0000-7000-8000-000000000001';
    db.prepare("INSERT INTO chat_sessions (id, user_id, title, workload_id, created_at, updated_at, ended_at) VALUES (?, 'other-user', 'Their chat', 'short', 1, 1, NULL)").run(theirs);
    db.prepare(
      "INSERT INTO chat_messages (id, session_id, role, content, status, reply_to, model_id, created_at) VALUES ('m1', ?, 'user', 'their prompt', 'complete', NULL, 'test', 1), ('m2', ?, 'assistant', 'their answer', 'complete', 'm1', 'test', 2)",
    ).run(theirs, theirs);

    expect(await callError(core, 'chat.delete', { sessionId: theirs })).toMatchObject({ code: 'not_found' });
    expect(sessionRows(core, theirs)).toBe(1);
    expect(messageRows(core, theirs)).toBe(2);
    expect(auditEvents(core).findLast((e) => e.action === 'session.delete')).toMatchObject({ outcome: 'failure', reason: 'not_found', sessionId: theirs });
  });

  it('a prompt still in its checks when its session is deleted or ended is refused as not found, and nothing of it is stored', async () => {
    // An engine whose token count (one of send's checks) waits until the test lets it go on.
    const real = createLlamaEngine();
    let release: () => void = () => undefined;
    let entered: () => void = () => undefined;
    const engine: InferenceEngine = {
      ...real,
      countTokens: async (...args) => {
        entered();
        await new Promise<void>((resolve) => (release = resolve));
        return real.countTokens(...args);
      },
    };
    const core = await startWithPolicy(cleanups, model, ['clinician'], { workloads: SHORT, engine });
    for (const [call_, expectRow] of [
      ['chat.delete', 0],
      ['chat.end', 1],
    ] as const) {
      const session = await call(core, 'chat.create', {});
      const inChecks = new Promise<void>((resolve) => (entered = resolve));
      const sent = callError(core, 'chat.send', { sessionId: session.id, text: 'Checked while the session went away.' });
      await inChecks;
      await call(core, call_, { sessionId: session.id });
      release();
      expect(await sent).toMatchObject({ code: 'not_found' });
      expect(sessionRows(core, session.id)).toBe(expectRow);
      expect(messageRows(core, session.id)).toBe(0);
      expect(auditEvents(core).filter((e) => e.action === 'ai.prompt' && e.sessionId === session.id)).toEqual([]);
    }
  });
});
