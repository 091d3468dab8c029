// The core as the renderer sees it, on the real encrypted store and the real
// llama.cpp engine loading the generated test model.
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHeadlessCore, type HeadlessCore } from '../../src/main/core/headless.js';
import { createCore } from '../../src/main/core/index.js';
import { evaluationPolicy, policyFromDocument, type Policy } from '../../src/main/policy/index.js';
import { sha256File } from '../../src/main/inference/index.js';
import type { EventMessage } from '../../src/shared/rpc.js';
import { call, callError, EVAL_USER, nextEvent } from '../support/core.js';
import { cleanupsAfterEach, tempDir } from '../support/temp.js';
import { testModelPath } from '../support/test-model.js';

let modelPath: string;
const cleanups = cleanupsAfterEach();

beforeAll(async () => {
  modelPath = await testModelPath();
});

function policyWith(overrides: (p: Policy) => void) {
  const input = structuredClone(evaluationPolicy);
  overrides(input);
  return policyFromDocument(input, 'test policy');
}

async function start(options: { policy?: ReturnType<typeof policyWith>; dataDir?: string } = {}): Promise<HeadlessCore> {
  let dataDir = options.dataDir;
  if (!dataDir) {
    const dir = tempDir();
    cleanups.push(dir.remove);
    dataDir = dir.path;
  }
  const core = await createHeadlessCore({ dataDir, ...(options.policy ? { policy: options.policy } : {}), log: () => undefined });
  cleanups.push(() => core.close());
  return core;
}

function auditActions(core: HeadlessCore): { action: string; outcome: string; reason?: string }[] {
  return (core.store.writer.prepare('SELECT record FROM audit_events ORDER BY seq').all() as { record: string }[]).map((r) => {
    const e = JSON.parse(r.record).event;
    return { action: e.action, outcome: e.outcome, ...(e.reason ? { reason: e.reason } : {}) };
  });
}

async function signedInWithModel(core: HeadlessCore) {
  await call(core, 'auth.createFirstAccount', EVAL_USER);
  await call(core, 'model.addFile', { path: modelPath });
  return call(core, 'chat.create', {});
}

describe('sign-in and the lock', () => {
  it('first run creates the evaluation account once, signed in with every role', async () => {
    const core = await start();
    expect((await call(core, 'app.status', {})).needsFirstAccount).toBe(true);
    const state = await call(core, 'auth.createFirstAccount', EVAL_USER);
    expect(state).toMatchObject({ state: 'active', user: { username: 'dr.grey', roles: ['clinician', 'researcher', 'compliance', 'administrator'] } });
    expect((await callError(core, 'auth.createFirstAccount', { ...EVAL_USER, username: 'other' })).code).toBe('already_set_up');
    expect(auditActions(core).map((e) => e.action)).toEqual(['store.open', 'audit.enroll', 'policy.apply', 'auth.account_create', 'auth.login']);
  });

  it('a wrong password is refused, audited, and repeated failures lock the account out for a while', async () => {
    const core = await start({ policy: policyWith((p) => void (p.session = { ...p.session, maxFailedSignIns: 3, failedSignInLockoutSeconds: 60 })) });
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    await call(core, 'auth.signOut', {});
    for (let i = 0; i < 3; i++) {
      expect(await callError(core, 'auth.signIn', { username: EVAL_USER.username, password: 'wrong password!' })).toEqual({
        code: 'bad_credentials',
        message: 'The user name or password is not correct.',
      });
    }
    const locked = await callError(core, 'auth.signIn', { username: EVAL_USER.username, password: EVAL_USER.password });
    expect(locked.code).toBe('too_many_attempts');
    expect(locked.message).toMatch(/Try again in \d+ seconds/);
    // Three wrong passwords (the third starts the lockout), then the refusal during it: all audited.
    expect(
      auditActions(core)
        .filter((e) => e.action === 'auth.login' && e.outcome === 'failure')
        .map((e) => e.reason),
    ).toEqual(['bad_password', 'bad_password', 'bad_password', 'too_many_attempts']);
    // An unknown user gets the same answer as a wrong password.
    expect((await callError(core, 'auth.signIn', { username: 'nobody', password: 'whatever' })).message).toBe('The user name or password is not correct.');
  });

  it('locked: every call but unlock and sign-out is refused and the refusal is audited', async () => {
    const core = await start();
    const session = await signedInWithModel(core);
    const changed = nextEvent(core, 'session.changed');
    // As main does when the OS screen locks.
    await call(core, 'auth.lock', { reason: 'screen-locked' });
    expect(await changed).toMatchObject({ state: 'locked', reason: 'screen-locked' });
    expect(auditActions(core).at(-1)).toEqual({ action: 'auth.lock', outcome: 'success', reason: 'screen-locked' });
    expect(await callError(core, 'chat.open', { sessionId: session.id })).toMatchObject({ code: 'locked' });
    expect(auditActions(core).at(-1)).toEqual({ action: 'auth.denied', outcome: 'failure', reason: 'locked' });
    expect((await callError(core, 'auth.unlock', { password: 'not it' })).code).toBe('bad_credentials');
    expect((await call(core, 'auth.unlock', { password: EVAL_USER.password })).state).toBe('active');
    expect((await call(core, 'chat.open', { sessionId: session.id })).session.id).toBe(session.id);
  });

  it('locks by itself when idle for the policy time', async () => {
    const core = await start({ policy: policyWith((p) => void (p.session = { ...p.session, idleLockSeconds: 5 })) });
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const locked = await nextEvent(core, 'session.changed', (s) => s.state === 'locked', 10_000);
    expect(locked).toMatchObject({ state: 'locked', reason: 'idle' });
  });

  it('calls from nobody, malformed calls and unknown calls get specific errors', async () => {
    const core = await start();
    expect((await callError(core, 'chat.list', {})).code).toBe('not_signed_in');
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const malformed = await callError(core, 'chat.send', { sessionId: 'x', text: 5 });
    expect(malformed.code).toBe('invalid_input');
    expect(malformed.message).toMatch(/"chat\.send" was malformed — sessionId: .*; text: /);
    expect((await callError(core, 'chat.create', { workloadId: 'general', extra: true })).code).toBe('invalid_input');
    expect((await callError(core, 'shell.exec', {})).code).toBe('unknown_call');
  });

  it('a role the policy does not grant is refused', async () => {
    const core = await start({ policy: policyWith((p) => void (p.roles = { evaluationAccount: ['clinician'] })) });
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const error = await callError(core, 'audit.verify', {});
    expect(error.code).toBe('forbidden');
    expect(error.message).toContain('needs compliance or administrator');
  });
});

describe('chat on the local model', () => {
  it('streams an answer, stores it, audits prompt and response by hash, and verifies', async () => {
    const core = await start();
    const session = await signedInWithModel(core);
    const tokens: string[] = [];
    core.onEvent((m: EventMessage) => {
      if (m.event === 'chat.token') tokens.push((m.payload as { text: string }).text);
    });
    const done = nextEvent(core, 'chat.done');
    const { promptId, responseId } = await call(core, 'chat.send', { sessionId: session.id, text: 'Summarise the discharge note.' });
    const result = await done;
    expect(result).toMatchObject({ sessionId: session.id, responseId, status: 'complete', error: null });
    expect(tokens.length).toBeGreaterThan(1);
    expect(result.message!.content).toBe(tokens.join(''));
    const opened = await call(core, 'chat.open', { sessionId: session.id });
    expect(opened.messages.map((m) => [m.id, m.role, m.status])).toEqual([
      [promptId, 'user', 'complete'],
      [responseId, 'assistant', 'complete'],
    ]);
    expect(opened.session.title).toBe('Summarise the discharge note.');
    const status = await call(core, 'model.status', {});
    expect(status.device).toMatchObject({ kind: 'cpu' });
    expect(auditActions(core).map((e) => e.action)).toEqual(expect.arrayContaining(['model.add', 'session.create', 'model.load', 'ai.prompt', 'ai.response']));
    expect((await call(core, 'audit.verify', {})).ok).toBe(true);
  });

  it('stops mid-answer: the partial answer is kept, marked cancelled and audited as ai.cancel', async () => {
    const core = await start({ policy: policyWith((p) => void (p.inference.maxResponseTokens = 3000)) });
    const session = await signedInWithModel(core);
    const firstToken = nextEvent(core, 'chat.token');
    const done = nextEvent(core, 'chat.done');
    await call(core, 'chat.send', { sessionId: session.id, text: 'Write a long answer.' });
    await firstToken;
    expect(await call(core, 'chat.cancel', { sessionId: session.id })).toEqual({ cancelled: true });
    const result = await done;
    expect(result.status).toBe('cancelled');
    expect(auditActions(core).at(-1)).toEqual({ action: 'ai.cancel', outcome: 'success', reason: 'user' });
    expect(await call(core, 'chat.cancel', { sessionId: session.id })).toEqual({ cancelled: false });
  });

  it('stopping before the first word is a cancel, not a failure', async () => {
    const core = await start({ policy: policyWith((p) => void (p.inference.maxResponseTokens = 3000)) });
    const session = await signedInWithModel(core);
    const done = nextEvent(core, 'chat.done');
    await call(core, 'chat.send', { sessionId: session.id, text: 'Stop me at once.' });
    await call(core, 'chat.cancel', { sessionId: session.id });
    const result = await done;
    expect(result).toMatchObject({ status: 'cancelled', error: null });
    expect(auditActions(core).at(-1)).toEqual({ action: 'ai.cancel', outcome: 'success', reason: 'user' });
  });

  it('locking stops the answer and drops the context; the session continues after unlock', async () => {
    const core = await start({ policy: policyWith((p) => void (p.inference.maxResponseTokens = 3000)) });
    const session = await signedInWithModel(core);
    const firstToken = nextEvent(core, 'chat.token');
    await call(core, 'chat.send', { sessionId: session.id, text: 'First question' });
    await firstToken;
    const afterLock: string[] = [];
    cleanups.push(core.onEvent(({ event }) => void afterLock.push(event)));
    await call(core, 'auth.lock', {});
    // The locked screen hears of the lock, not of the stopped answer: that is read from the store after unlocking.
    expect(afterLock.filter((event) => event.startsWith('chat.') || event === 'session.changed')).toEqual(['session.changed']);
    expect(auditActions(core).slice(-2)).toEqual([
      { action: 'ai.cancel', outcome: 'success', reason: 'user' },
      { action: 'auth.lock', outcome: 'success', reason: 'user' },
    ]);
    await call(core, 'auth.unlock', { password: EVAL_USER.password });
    expect((await call(core, 'chat.open', { sessionId: session.id })).messages.map((m) => m.status)).toEqual(['complete', 'cancelled']);
    const again = nextEvent(core, 'chat.done');
    await call(core, 'chat.send', { sessionId: session.id, text: 'Second question' });
    expect((await again).status).toBe('complete');
    expect((await call(core, 'chat.open', { sessionId: session.id })).messages).toHaveLength(4);
  });

  it('an ended session takes no more prompts, and its context is gone', async () => {
    const core = await start();
    const session = await signedInWithModel(core);
    const ended = await call(core, 'chat.end', { sessionId: session.id });
    expect(ended.endedAt).not.toBeNull();
    expect(await callError(core, 'chat.send', { sessionId: session.id, text: 'one more' })).toEqual({ code: 'not_found', message: 'This session has ended. Start a new session.' });
    expect(auditActions(core).at(-1)).toEqual({ action: 'session.end', outcome: 'success' });
  });

  it('where policy lists the models, none can be added from the UI', async () => {
    const core = await start({
      policy: policyWith((p) => {
        p.inference.allowUserModels = false;
        p.inference.models = [{ id: 'clinical', name: 'Clinical', path: modelPath, sha256: 'a'.repeat(64), contextSize: 4096, gpuLayers: 'auto' }];
        p.inference.workloads = [{ id: 'notes', name: 'Notes', model: 'clinical', roles: ['clinician', 'researcher'], allowCopy: true }];
      }),
    });
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const error = await callError(core, 'model.addFile', { path: modelPath });
    expect(error.code).toBe('not_evaluation_mode');
    expect((await callError(core, 'model.createTestModel', {})).code).toBe('not_evaluation_mode');
    expect(existsSync(join(core.dataDir, 'models'))).toBe(false);
    expect((await call(core, 'model.status', {})).models.map((m) => m.id)).toEqual(['clinical']);
  });

  it('an oversized prompt is refused with the limit, audited, and nothing is stored', async () => {
    const core = await start();
    const session = await signedInWithModel(core);
    const error = await callError(core, 'chat.send', { sessionId: session.id, text: 'x'.repeat(16_001) });
    expect(error).toEqual({ code: 'prompt_too_long', message: 'This prompt has 16,001 characters; the limit set by policy is 16,000. Shorten it and send again — nothing was sent.' });
    expect((await call(core, 'chat.open', { sessionId: session.id })).messages).toEqual([]);
    expect(auditActions(core).at(-1)).toEqual({ action: 'ai.prompt', outcome: 'failure', reason: 'prompt_too_long' });
  });

  it('a model whose SHA-256 is not the one policy lists is never loaded', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const copy = join(dir.path, 'model.gguf');
    copyFileSync(modelPath, copy);
    const realHash = await sha256File(copy);
    const core = await start({
      policy: policyWith((p) => {
        p.inference.models = [{ id: 'clinical', name: 'Clinical', path: copy, sha256: realHash, contextSize: 4096, gpuLayers: 'auto' }];
        p.inference.workloads = [{ id: 'notes', name: 'Notes', model: 'clinical', roles: ['clinician', 'researcher'], allowCopy: true }];
      }),
    });
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const session = await call(core, 'chat.create', {});
    // IT's file is swapped for another one after deployment.
    const bytes = Buffer.from(await import('node:fs').then((fs) => fs.readFileSync(copy)));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(copy, bytes);
    const error = await callError(core, 'chat.send', { sessionId: session.id, text: 'hello' });
    expect(error.code).toBe('model_not_allowed');
    expect(error.message).toContain('is not the one policy allows');
    expect(auditActions(core).at(-1)).toEqual({ action: 'model.reject', outcome: 'failure', reason: 'hash_mismatch' });
    expect((await call(core, 'model.status', {})).loadedModelId).toBeNull();
  });

  it('a corrupt GGUF is refused when added, with the reason, and audited', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const bad = join(dir.path, 'broken.gguf');
    writeFileSync(bad, Buffer.concat([Buffer.from('GGUF'), randomBytes(64)]));
    const core = await start();
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const error = await callError(core, 'model.addFile', { path: bad });
    expect(error.code).toBe('model_corrupt');
    expect(error.message).toContain('broken.gguf');
    expect(auditActions(core).at(-1)).toMatchObject({ action: 'model.reject', outcome: 'failure', reason: 'model_corrupt' });
    expect((await call(core, 'model.status', {})).models).toEqual([]);
  });

  it('when the disk is full the prompt is refused, not sent unaudited, and nothing stored is lost', async () => {
    const core = await start();
    const session = await signedInWithModel(core);
    const done = nextEvent(core, 'chat.done');
    await call(core, 'chat.send', { sessionId: session.id, text: 'Kept before the disk filled' });
    await done;
    const eventsBefore = auditActions(core).length;
    // SQLite answers SQLITE_FULL once the page cap is reached, exactly as on a full disk.
    const pages = core.store.writer.pragma('page_count', { simple: true }) as number;
    core.store.writer.pragma(`max_page_count = ${pages}`);
    // Big enough to need new pages, small enough for the model's context (so the prompt is not refused for length).
    const big = 'word '.repeat(600);
    const error = await callError(core, 'chat.send', { sessionId: session.id, text: big });
    expect(error.code).toBe('audit_write_failed');
    expect(error.message).toMatch(/disk is full.*Nothing was done/);
    core.store.writer.pragma('max_page_count = 1073741823');
    const messages = (await call(core, 'chat.open', { sessionId: session.id })).messages;
    expect(messages.map((m) => m.content)).not.toContain(big);
    expect(messages[0]!.content).toBe('Kept before the disk filled');
    expect(auditActions(core)).toHaveLength(eventsBefore);
    expect((await call(core, 'audit.verify', {})).ok).toBe(true);
  });

  it('the wrong database key is refused clearly and the database is untouched', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const core = await start({ dataDir: dir.path });
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    await core.close();
    await expect(createCore({ dataDir: dir.path, databaseKey: randomBytes(32), policy: policyFromDocument(evaluationPolicy, 'test'), version: 'test' })).rejects.toThrow(
      /cannot be opened with this key/,
    );
    const again = await start({ dataDir: dir.path });
    expect((await call(again, 'app.status', {})).needsFirstAccount).toBe(false);
  });
});
