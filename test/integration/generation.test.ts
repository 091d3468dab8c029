// How answers are written on the local model: one at a time with a visible
// queue that can be cancelled, conversations longer than the context, a GPU
// that cannot be used, and contexts that never outlive their session. Through
// the real core and llama.cpp on the generated test model.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/main/core/index.js';
import { createLlamaEngine } from '../../src/main/inference/index.js';
import type { EventPayload } from '../../src/shared/api.js';
import { call, EVAL_USER, nextEvent } from '../support/core.js';
import { approvedTestModel } from '../support/test-model.js';
import { answer, auditEvents, startWithPolicy } from '../support/workload-core.js';
import { cleanupsAfterEach } from '../support/temp.js';

let model: { path: string; sha256: string };
const cleanups = cleanupsAfterEach();

beforeAll(async () => {
  model = await approvedTestModel();
});

function queueEvents(core: Core): EventPayload<'chat.queue'>[] {
  const seen: EventPayload<'chat.queue'>[] = [];
  const off = core.onEvent(({ event, payload }) => {
    if (event === 'chat.queue') seen.push(payload as EventPayload<'chat.queue'>);
  });
  cleanups.push(off);
  return seen;
}

describe('one answer at a time', () => {
  it('a second answer waits in a visible queue; stopping it while it waits records a cancel and leaves the running one alone', async () => {
    const core = await startWithPolicy(cleanups, model, ['clinician'], { model: { contextSize: 4096 }, inference: { maxResponseTokens: 2000 } });
    const seen = queueEvents(core);
    const first = await call(core, 'chat.create', {});
    const second = await call(core, 'chat.create', {});
    const firstToken = nextEvent(core, 'chat.token', (t) => t.sessionId === first.id);
    const firstDone = nextEvent(core, 'chat.done', (d) => d.sessionId === first.id);
    const secondDone = nextEvent(core, 'chat.done', (d) => d.sessionId === second.id);
    const a = await call(core, 'chat.send', { sessionId: first.id, text: 'Write a long summary of the clinic notes.' });
    await firstToken;
    const b = await call(core, 'chat.send', { sessionId: second.id, text: 'And another question.' });

    const queue = (await call(core, 'model.status', {})).queue;
    expect(queue).toEqual({ running: { sessionId: first.id, responseId: a.responseId }, waiting: [{ sessionId: second.id, responseId: b.responseId }] });
    expect(seen.at(-1)).toEqual(queue);

    expect(await call(core, 'chat.cancel', { sessionId: second.id })).toEqual({ cancelled: true });
    const stopped = await secondDone;
    expect(stopped).toMatchObject({ status: 'cancelled', error: null, message: { content: '', status: 'cancelled' } });
    expect((await call(core, 'model.status', {})).queue).toEqual({ running: { sessionId: first.id, responseId: a.responseId }, waiting: [] });
    expect(auditEvents(core).findLast((e) => e.action === 'ai.cancel')).toMatchObject({ sessionId: second.id, reason: 'user', detail: { while_queued: true } });

    // The first answer was never interrupted by any of it.
    await call(core, 'chat.cancel', { sessionId: first.id });
    const firstResult = await firstDone;
    expect(firstResult.status).toBe('cancelled');
    expect(firstResult.message!.content.length).toBeGreaterThan(0);
    expect(auditEvents(core).findLast((e) => e.action === 'ai.cancel')).toMatchObject({ sessionId: first.id, detail: { while_queued: false } });
    expect((await call(core, 'chat.open', { sessionId: second.id })).messages.map((m) => m.status)).toEqual(['complete', 'cancelled']);
  });

  it('two prompts sent at once to one session: one is taken, the other refused as busy and not stored', async () => {
    const core = await startWithPolicy(cleanups, model, ['clinician'], { workloads: [{ id: 'short', name: 'Short', model: 'test', maxTokens: 8 }] });
    const session = await call(core, 'chat.create', {});
    const done = nextEvent(core, 'chat.done', (d) => d.sessionId === session.id);
    const outcomes = await Promise.allSettled([call(core, 'chat.send', { sessionId: session.id, text: 'First.' }), call(core, 'chat.send', { sessionId: session.id, text: 'Second.' })]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!;
    expect((refused.reason as { info: { code: string } }).info.code).toBe('busy');
    expect((await done).status).toBe('complete');
    expect((await call(core, 'chat.open', { sessionId: session.id })).messages).toHaveLength(2);
  });

  it('waiting answers run in order once the one before them ends, and the queue empties', async () => {
    const core = await startWithPolicy(cleanups, model, ['clinician'], { workloads: [{ id: 'short', name: 'Short', model: 'test', maxTokens: 24 }] });
    const seen = queueEvents(core);
    const sessions = [await call(core, 'chat.create', {}), await call(core, 'chat.create', {}), await call(core, 'chat.create', {})];
    const order: string[] = [];
    const off = core.onEvent(({ event, payload }) => {
      if (event === 'chat.done') order.push((payload as EventPayload<'chat.done'>).sessionId);
    });
    cleanups.push(off);
    const allDone = Promise.all(sessions.map((s) => nextEvent(core, 'chat.done', (d) => d.sessionId === s.id)));
    for (const s of sessions) await call(core, 'chat.send', { sessionId: s.id, text: 'Summarise the note.' });
    const results = await allDone;
    expect(results.map((r) => r.status)).toEqual(['complete', 'complete', 'complete']);
    expect(order).toEqual(sessions.map((s) => s.id));
    // At most one ran at any time, and each waited behind the ones sent before it.
    expect(seen.every((q) => q.waiting.length <= 2)).toBe(true);
    expect(seen.some((q) => q.waiting.length === 2)).toBe(true);
    expect(seen.at(-1)).toEqual({ running: null, waiting: [] });
  });
});

describe('long conversations', () => {
  it('keep working past the context: the oldest turns are dropped, never a crash, and a conversation rebuilt after a lock goes on', async () => {
    const core = await startWithPolicy(cleanups, model, ['clinician'], {
      model: { contextSize: 256 },
      workloads: [{ id: 'notes', name: 'Notes', model: 'test', maxTokens: 40 }],
    });
    const session = await call(core, 'chat.create', {});
    const prompt = 'the patient reports chest pain and fever for two days with normal blood pressure';
    for (let turn = 0; turn < 10; turn++) await answer(core, session.id, `${prompt} (${turn})`);
    // Ten turns of about 60 tokens each are far more than 256: context shift dropped the oldest.
    const tokens = auditEvents(core)
      .filter((e) => e.action === 'ai.response')
      .reduce((sum, e) => sum + (e.response?.tokens ?? 0), 0);
    expect(tokens).toBeGreaterThan(256);
    await call(core, 'auth.lock', {});
    await call(core, 'auth.unlock', { password: EVAL_USER.password });
    // The context is rebuilt from the stored history, which no longer fits either.
    expect((await answer(core, session.id, prompt)).text.length).toBeGreaterThan(0);
    expect((await call(core, 'chat.open', { sessionId: session.id })).messages).toHaveLength(22);
  });

  it('a single prompt larger than the context is refused before generation, with the sizes, and nothing is stored', async () => {
    const core = await startWithPolicy(cleanups, model, ['clinician'], { model: { contextSize: 256 }, workloads: [{ id: 'notes', name: 'Notes', model: 'test', maxTokens: 40 }] });
    const session = await call(core, 'chat.create', {});
    const { code, message } = await import('../support/core.js').then(({ callError }) => callError(core, 'chat.send', { sessionId: session.id, text: 'fever '.repeat(300) }));
    expect(code).toBe('prompt_too_long');
    expect(message).toMatch(/^This prompt is \d+ tokens; with room for the answer it does not fit the model's context of 256 tokens\. Shorten it — nothing was sent\.$/);
    expect((await call(core, 'chat.open', { sessionId: session.id })).messages).toEqual([]);
    expect(auditEvents(core).at(-1)).toMatchObject({ action: 'ai.prompt', outcome: 'failure', reason: 'prompt_too_long' });
  });
});

describe('the GPU and the contexts', () => {
  it('when the GPU backend asked for cannot start, the model loads on the CPU, and the status bar and the audit say why', async () => {
    // node-llama-cpp's own option: ask for CUDA alone. Where CUDA works this is a real GPU load instead.
    const core = await startWithPolicy(cleanups, model, ['clinician'], { inference: { gpu: 'cuda' } });
    const loading: EventPayload<'model.loading'>[] = [];
    cleanups.push(core.onEvent(({ event, payload }) => void (event === 'model.loading' && loading.push(payload as EventPayload<'model.loading'>))));
    const session = await call(core, 'chat.create', {});
    expect((await answer(core, session.id, 'Hello.')).text.length).toBeGreaterThan(0);
    // The status bar saw the check, the load with its progress, and the result with the reason.
    expect(loading[0]).toMatchObject({ phase: 'verifying' });
    const progress = loading.filter((e) => e.phase === 'loading').map((e) => e.progress);
    // (llama.cpp reports progress from its loading thread; for a model this small most reports land after the load.)
    expect(progress[0]).toBe(0);
    expect(progress).toEqual([...progress].sort((x, y) => x! - y!));
    // Progress reported late by llama.cpp never brings back "loading" after "ready".
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(loading.at(-1)).toMatchObject({ phase: 'ready', progress: 1 });
    expect((await call(core, 'model.status', {})).loading).toBeNull();
    const status = await call(core, 'model.status', {});
    const load = auditEvents(core).find((e) => e.action === 'model.load');
    if (status.device?.kind === 'cuda') {
      expect(status.offload).toMatchObject({ fallback: null });
      return;
    }
    expect(status.device).toMatchObject({ kind: 'cpu' });
    expect(status.offload).toEqual({ gpuLayers: 0, totalLayers: 3, fallback: expect.stringMatching(/^the CUDA backend could not start \(.+\); running on the CPU$/) });
    expect(load?.detail).toMatchObject({ device: 'cpu', gpu_layers: 0, fallback: status.offload!.fallback });
    expect(loading.at(-1)!.message).toContain('the CUDA backend could not start');
  });

  it('lock disposes every context: a new session answers exactly as one on a fresh start, with nothing of the disposed one', async () => {
    const engine = createLlamaEngine();
    const options = { engine, inference: { deterministic: true } };
    const question = 'What was discussed?';
    const fresh = await startWithPolicy(cleanups, model, ['clinician'], { inference: { deterministic: true } });
    const reference = (await answer(fresh, (await call(fresh, 'chat.create', {})).id, question)).text;

    const core = await startWithPolicy(cleanups, model, ['clinician'], options);
    const earlier = await call(core, 'chat.create', {});
    await answer(core, earlier.id, 'The patient in bed four has hepatic failure and sepsis.');
    expect(engine.liveChatIds()).toEqual([earlier.id]);
    await call(core, 'auth.lock', {});
    expect(engine.liveChatIds()).toEqual([]);
    await call(core, 'auth.unlock', { password: EVAL_USER.password });
    const later = await call(core, 'chat.create', {});
    expect((await answer(core, later.id, question)).text).toBe(reference);
    expect(engine.liveChatIds()).toEqual([later.id]);
  });
});
