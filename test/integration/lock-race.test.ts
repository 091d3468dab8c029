// A prompt still in its checks when the session locks, signs out or is taken
// over by another person at the lock screen is refused: nothing stored,
// nothing generated, no context made, no chat event to the locked screen or
// to the next person. Each await of chat.send is held open in turn (the real
// engine and model check, wrapped to pause there), and the lock lands inside
// it: after the lock finished, and while the lock is still dropping contexts.
// Also: the lock empties the WAL and clears each context's KV cache first.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LlamaContext, LlamaContextSequence } from 'node-llama-cpp';
import type { Core } from '../../src/main/core/index.js';
import { DATABASE_FILE } from '../../src/main/core/index.js';
import { hashPassword } from '../../src/main/identity/password.js';
import { createLlamaEngine, type InferenceEngine } from '../../src/main/inference/index.js';
import type { LlamaEngine } from '../../src/main/inference/engine.js';
import { ModelRegistry } from '../../src/main/inference/models.js';
import type { ErrorInfo } from '../../src/shared/errors.js';
import type { EventMessage } from '../../src/shared/rpc.js';
import { call, EVAL_USER, nextEvent } from '../support/core.js';
import { rejectionOf } from '../support/rejection.js';
import { approvedTestModel } from '../support/test-model.js';
import { cleanupsAfterEach } from '../support/temp.js';
import { auditEvents, startWithPolicy } from '../support/workload-core.js';

let model: { path: string; sha256: string };
const cleanups = cleanupsAfterEach();

beforeAll(async () => {
  model = await approvedTestModel();
});

afterEach(() => {
  vi.restoreAllMocks();
});

type Point = 'verifyBeforeLoad' | 'countTokens' | 'load' | 'disposeAllChats';

interface Pause {
  /** Settles when the paused call has arrived at the pause. */
  reached: Promise<void>;
  release(): void;
}

/** The real engine and model check, each able to hold its next call open until released. */
class PausingEngine implements InferenceEngine {
  readonly real: LlamaEngine = createLlamaEngine();
  /** Chats the engine was asked to answer in: asking is what makes a context. */
  readonly generated: string[] = [];
  readonly #armed = new Map<Point, { arrive: () => void; released: Promise<void> }>();

  constructor() {
    const realVerify = ModelRegistry.prototype.verifyBeforeLoad;
    // The mock runs with the registry as `this`; the gate is this object.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const engine = this;
    vi.spyOn(ModelRegistry.prototype, 'verifyBeforeLoad').mockImplementation(async function (this: ModelRegistry, ...args) {
      await engine.#at('verifyBeforeLoad');
      return realVerify.apply(this, args);
    });
  }

  /** Holds the next call at `point` until released. */
  pauseNext(point: Point): Pause {
    let arrive!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((resolve) => (arrive = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.#armed.set(point, { arrive, released });
    return { reached, release };
  }

  async #at(point: Point): Promise<void> {
    const pause = this.#armed.get(point);
    if (!pause) return;
    this.#armed.delete(point);
    pause.arrive();
    await pause.released;
  }

  async countTokens(...args: Parameters<InferenceEngine['countTokens']>) {
    await this.#at('countTokens');
    return this.real.countTokens(...args);
  }

  async load(...[modelToLoad, options]: Parameters<InferenceEngine['load']>) {
    await this.#at('load');
    // Without the stop signal: a load that had already finished when the lock came (llama.cpp looks at the signal only between steps).
    return this.real.load(modelToLoad, { ...options, signal: undefined });
  }

  loaded() {
    return this.real.loaded();
  }

  generate(request: Parameters<InferenceEngine['generate']>[0]) {
    this.generated.push(request.chatId);
    return this.real.generate(request);
  }

  disposeChat(chatId: string) {
    return this.real.disposeChat(chatId);
  }

  async disposeAllChats() {
    await this.#at('disposeAllChats');
    return this.real.disposeAllChats();
  }

  unload() {
    return this.real.unload();
  }
}

/** Every event the core sends, in order; `since(mark)` gives the chat events sent after a mark. */
function recordEvents(core: Core) {
  const events: EventMessage[] = [];
  cleanups.push(core.onEvent((message) => void events.push(message)));
  return {
    mark: () => events.length,
    chatEventsSince: (mark: number) => events.slice(mark).filter((m) => m.event.startsWith('chat.')),
  };
}

/** What a call that must be refused was refused with. */
async function refusal(promise: Promise<unknown>): Promise<ErrorInfo> {
  return ((await rejectionOf(promise, Error)) as Error & { info: ErrorInfo }).info;
}

function storedMessages(core: Core, sessionId: string): { role: string; content: string; status: string }[] {
  return core.store.writer.prepare('SELECT role, content, status FROM chat_messages WHERE session_id = ? ORDER BY created_at, id').all(sessionId) as {
    role: string;
    content: string;
    status: string;
  }[];
}

async function started() {
  const engine = new PausingEngine();
  const core = await startWithPolicy(cleanups, model, ['clinician'], { engine });
  const session = await call(core, 'chat.create', {});
  return { engine, core, session, events: recordEvents(core) };
}

const PROMPT = 'MRN 4471: is the patient in bed four diabetic?';

describe('a prompt in its checks when the session locks is refused', () => {
  for (const point of ['verifyBeforeLoad', 'countTokens'] as const) {
    it(`locked during ${point}: nothing stored, generated or emitted, the refusal audited, and unlocking does not revive it`, async () => {
      const { engine, core, session, events } = await started();
      const held = engine.pauseNext(point);
      const send = call(core, 'chat.send', { sessionId: session.id, text: PROMPT });
      await held.reached;

      const mark = events.mark();
      await call(core, 'auth.lock', { reason: 'screen-locked' });
      // Unlocked again before the check finishes: the send belongs to the session before the lock all the same.
      await call(core, 'auth.unlock', { password: EVAL_USER.password });
      held.release();

      expect(await refusal(send)).toMatchObject({ code: 'locked', message: expect.stringContaining('nothing was sent or stored') });
      expect(storedMessages(core, session.id)).toEqual([]);
      expect(engine.generated).toEqual([]);
      expect(engine.real.liveChatIds()).toEqual([]);
      expect(events.chatEventsSince(mark)).toEqual([]);
      expect(auditEvents(core).filter((e) => e.action === 'ai.prompt')).toEqual([expect.objectContaining({ action: 'ai.prompt', outcome: 'failure', reason: 'locked', sessionId: session.id })]);
      // The session itself goes on: the same prompt sent again is answered.
      const done = nextEvent(core, 'chat.done', (d) => d.sessionId === session.id);
      await call(core, 'chat.send', { sessionId: session.id, text: PROMPT });
      expect((await done).status).toBe('complete');
      expect(storedMessages(core, session.id).map((m) => m.role)).toEqual(['user', 'assistant']);
    });

    it(`locked during ${point}, the check finishing while the lock is still dropping contexts: refused all the same`, async () => {
      const { engine, core, session, events } = await started();
      const held = engine.pauseNext(point);
      const dropping = engine.pauseNext('disposeAllChats');
      const send = call(core, 'chat.send', { sessionId: session.id, text: PROMPT });
      await held.reached;

      const mark = events.mark();
      const lock = call(core, 'auth.lock', { reason: 'screen-locked' });
      await dropping.reached;
      // The session still reads as active here; the lock has begun, so the prompt is refused.
      held.release();
      expect((await refusal(send)).code).toBe('locked');
      dropping.release();
      expect((await lock).state).toBe('locked');

      expect(storedMessages(core, session.id)).toEqual([]);
      expect(engine.generated).toEqual([]);
      expect(engine.real.liveChatIds()).toEqual([]);
      expect(events.chatEventsSince(mark)).toEqual([]);
      expect(
        auditEvents(core)
          .filter((e) => e.action === 'ai.prompt' || e.action === 'auth.lock')
          .map((e) => [e.action, e.outcome, e.reason]),
      ).toEqual([
        ['ai.prompt', 'failure', 'locked'],
        ['auth.lock', 'success', 'screen-locked'],
      ]);
    });
  }

  it('a send that arrives while a lock is dropping contexts is refused at once', async () => {
    const { engine, core, session } = await started();
    const dropping = engine.pauseNext('disposeAllChats');
    const lock = call(core, 'auth.lock', { reason: 'screen-locked' });
    await dropping.reached;
    expect((await refusal(call(core, 'chat.send', { sessionId: session.id, text: PROMPT }))).code).toBe('locked');
    dropping.release();
    await lock;
    expect(storedMessages(core, session.id)).toEqual([]);
    expect(engine.generated).toEqual([]);
  });

  it('locked while the model loads for a stored prompt: the answer is cancelled unwritten, no context is made, nothing reaches the screen', async () => {
    const { engine, core, session, events } = await started();
    const loading = engine.pauseNext('load');
    const sent = await call(core, 'chat.send', { sessionId: session.id, text: PROMPT });
    await loading.reached;

    const mark = events.mark();
    const lock = call(core, 'auth.lock', { reason: 'screen-locked' });
    // The load completes under the lock (the lock waits for the answer to end).
    loading.release();
    expect((await lock).state).toBe('locked');

    expect(engine.generated).toEqual([]);
    expect(engine.real.liveChatIds()).toEqual([]);
    expect(events.chatEventsSince(mark)).toEqual([]);
    // Stored sealed with the user's chat key (the text shows after unlocking, below).
    expect(storedMessages(core, session.id).map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'cancelled'],
    ]);
    expect(auditEvents(core).findLast((e) => e.action === 'ai.cancel')).toMatchObject({ outcome: 'success', reason: 'screen-locked', sessionId: session.id, detail: { reply_to: sent.promptId } });

    // After unlocking, the screen reads the stored state: the prompt, and its answer stopped by the lock.
    await call(core, 'auth.unlock', { password: EVAL_USER.password });
    expect((await call(core, 'chat.open', { sessionId: session.id })).messages.map((m) => [m.role, m.content, m.status])).toEqual([
      ['user', PROMPT, 'complete'],
      ['assistant', '', 'cancelled'],
    ]);
  });

  it('an answer waiting its turn when the session locks is cancelled while queued, never generated, and no queue or done event goes out', async () => {
    const { engine, core, session, events } = await started();
    const other = await call(core, 'chat.create', {});
    const loading = engine.pauseNext('load');
    await call(core, 'chat.send', { sessionId: session.id, text: PROMPT });
    await loading.reached;
    const waiting = await call(core, 'chat.send', { sessionId: other.id, text: 'And the one in bed five?' });
    expect((await call(core, 'model.status', {})).queue.waiting).toEqual([{ sessionId: other.id, responseId: waiting.responseId }]);

    const mark = events.mark();
    const lock = call(core, 'auth.lock', { reason: 'user' });
    loading.release();
    await lock;

    expect(engine.generated).toEqual([]);
    expect(events.chatEventsSince(mark)).toEqual([]);
    expect(storedMessages(core, other.id).map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'cancelled'],
    ]);
    expect(auditEvents(core).find((e) => e.action === 'ai.cancel' && e.sessionId === other.id)).toMatchObject({ reason: 'user', detail: { while_queued: true } });
    await call(core, 'auth.unlock', { password: EVAL_USER.password });
    expect((await call(core, 'model.status', {})).queue).toEqual({ running: null, waiting: [] });
  });

  it('an answer streaming when the session locks: no token or done event after the lock began, the partial answer kept as stopped', async () => {
    const engine = new PausingEngine();
    const core = await startWithPolicy(cleanups, model, ['clinician'], { engine, inference: { maxResponseTokens: 3000 }, model: { contextSize: 4096 } });
    const session = await call(core, 'chat.create', {});
    const events = recordEvents(core);
    const firstToken = nextEvent(core, 'chat.token', (t) => t.sessionId === session.id);
    await call(core, 'chat.send', { sessionId: session.id, text: 'Write a long summary of the clinic notes.' });
    await firstToken;

    const mark = events.mark();
    await call(core, 'auth.lock', { reason: 'screen-locked' });
    // Nor the text held back for the next frame when the lock began: the answer's end sends it, under the lock, so it is dropped.
    expect(events.chatEventsSince(mark)).toEqual([]);
    expect(storedMessages(core, session.id).map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'cancelled'],
    ]);
    expect(engine.real.liveChatIds()).toEqual([]);
  });
});

describe('another person signing in at the lock screen', () => {
  it('a prompt of the first person still in its checks is refused, and nothing of it reaches the second', async () => {
    const { engine, core, session, events } = await started();
    // A second evaluation account on the same workstation (as a second clinician would have).
    core.store.writer
      .prepare("INSERT INTO accounts (id, username, display_name, password_hash, roles, kind, created_at) VALUES (?, ?, ?, ?, ?, 'evaluation', ?)")
      .run('0190c1d2-0000-7000-8000-000000000002', 'dr.bailey', 'Dr Miranda Bailey', await hashPassword('another good passphrase'), JSON.stringify(['clinician']), Date.now());
    const held = engine.pauseNext('countTokens');
    const send = call(core, 'chat.send', { sessionId: session.id, text: PROMPT });
    await held.reached;

    await call(core, 'auth.lock', { reason: 'screen-locked' });
    const mark = events.mark();
    const second = await call(core, 'auth.signIn', { username: 'dr.bailey', password: 'another good passphrase' });
    expect(second).toMatchObject({ state: 'active', user: { username: 'dr.bailey' } });
    held.release();

    expect((await refusal(send)).code).toBe('locked');
    expect(storedMessages(core, session.id)).toEqual([]);
    expect(engine.generated).toEqual([]);
    expect(events.chatEventsSince(mark)).toEqual([]);
    expect(await call(core, 'chat.list', {})).toEqual([]);
    expect(
      auditEvents(core)
        .filter((e) => ['ai.prompt', 'auth.logout', 'auth.login'].includes(e.action))
        .map((e) => [e.action, e.outcome, e.reason]),
    ).toEqual([
      ['auth.login', 'success', undefined],
      ['auth.logout', 'success', 'other_user'],
      ['auth.login', 'success', undefined],
      ['ai.prompt', 'failure', 'locked'],
    ]);
  });
});

describe('what a lock leaves behind', () => {
  it('the write-ahead log is checkpointed into the database and emptied', async () => {
    const { core, session } = await started();
    const done = nextEvent(core, 'chat.done', (d) => d.sessionId === session.id);
    await call(core, 'chat.send', { sessionId: session.id, text: PROMPT });
    await done;
    const wal = join((core as Core & { dataDir: string }).dataDir, `${DATABASE_FILE}-wal`);
    expect(statSync(wal).size).toBeGreaterThan(0);
    await call(core, 'auth.lock', { reason: 'screen-locked' });
    expect(statSync(wal).size).toBe(0);
  });

  it("each chat's KV cache is cleared before its context is freed", async () => {
    const { core, session } = await started();
    const clear = vi.spyOn(LlamaContextSequence.prototype, 'clearHistory');
    const dispose = vi.spyOn(LlamaContext.prototype, 'dispose');
    const done = nextEvent(core, 'chat.done', (d) => d.sessionId === session.id);
    await call(core, 'chat.send', { sessionId: session.id, text: PROMPT });
    await done;
    await call(core, 'auth.lock', { reason: 'screen-locked' });
    expect(clear).toHaveBeenCalledTimes(1);
    expect(dispose).toHaveBeenCalled();
    expect(clear.mock.invocationCallOrder[0]!).toBeLessThan(dispose.mock.invocationCallOrder[0]!);
  });
});
