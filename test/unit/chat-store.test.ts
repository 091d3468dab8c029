// The chat store (renderer): streamed tokens reach only the live answer, at
// most once a frame; an answer that finishes before chat.send returns is still
// claimed; regenerate and edit replace what they replace; nothing typed is lost
// when a send fails; a copy is written only after the core allows it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatMessage } from '../../src/shared/api.js';
import type { EnclaveBridge } from '../../src/shared/rpc.js';
import { ChatStore } from '../../src/renderer/src/components/chat/chat-store.js';

type Listener = (payload: unknown) => void;

const SESSION = '11111111-1111-4111-8111-111111111111';
const PROMPT = '22222222-2222-4222-8222-222222222222';
const ANSWER = '33333333-3333-4333-8333-333333333333';
const PROMPT2 = '44444444-4444-4444-8444-444444444444';
const ANSWER2 = '55555555-5555-4555-8555-555555555555';

const session = { id: SESSION, title: 'T', workloadId: 'general', createdAt: 1, updatedAt: 1, endedAt: null, locked: false };
const message = (id: string, role: 'user' | 'assistant', content: string, replyTo: string | null = null): ChatMessage => ({ id, role, content, status: 'complete', createdAt: 1, replyTo });

/** A fake core: answers calls from `handlers`, and lets the test emit events. */
function fakeBridge(handlers: Record<string, (input: unknown) => unknown>) {
  const listeners = new Map<string, Set<Listener>>();
  const calls: { method: string; input: unknown }[] = [];
  const bridge = {
    async call(method: string, input: unknown) {
      calls.push({ method, input });
      const handler = handlers[method];
      if (!handler) return { ok: true, output: method === 'chat.list' ? [session] : { ok: true } };
      return handler(input);
    },
    on(event: string, listener: Listener) {
      const set = listeners.get(event) ?? new Set();
      set.add(listener);
      listeners.set(event, set);
      return () => set.delete(listener);
    },
  };
  const emit = (event: string, payload: unknown) => listeners.get(event)?.forEach((l) => l(payload));
  return { bridge: bridge as unknown as EnclaveBridge, emit, calls };
}

let frames: (() => void)[] = [];
const runFrame = () => {
  const due = frames;
  frames = [];
  due.forEach((f) => f());
};

beforeEach(() => {
  frames = [];
  vi.stubGlobal('requestAnimationFrame', (f: () => void) => frames.push(f));
  vi.stubGlobal('cancelAnimationFrame', () => undefined);
});
afterEach(() => vi.unstubAllGlobals());

async function openStore(handlers: Record<string, (input: unknown) => unknown>, messages: ChatMessage[] = []) {
  const fake = fakeBridge({ 'chat.open': () => ({ ok: true, output: { session, messages } }), ...handlers });
  vi.stubGlobal('window', { enclave: fake.bridge });
  const store = new ChatStore();
  store.start();
  store.syncSelected(SESSION);
  await vi.waitFor(() => expect(store.getState().conversation).not.toBeNull());
  return { store, ...fake };
}

describe('chat store', () => {
  it('tells stream listeners at most once a frame, and state listeners not at all, while tokens arrive', async () => {
    const { store, emit } = await openStore({ 'chat.send': () => ({ ok: true, output: { promptId: PROMPT, responseId: ANSWER } }) });
    store.setDraft('Hello');
    await store.send();
    const stateChanges = vi.fn();
    const streamChanges = vi.fn();
    store.subscribe(stateChanges);
    store.subscribeStreams(streamChanges);
    for (const text of ['a', 'b', 'c', 'd']) emit('chat.token', { sessionId: SESSION, responseId: ANSWER, text });
    expect(streamChanges).not.toHaveBeenCalled();
    runFrame();
    expect(streamChanges).toHaveBeenCalledTimes(1);
    expect(store.streamText(ANSWER)).toBe('abcd');
    expect(stateChanges).not.toHaveBeenCalled();
  });

  it('claims an answer that finished before chat.send returned', async () => {
    let release: (v: unknown) => void = () => undefined;
    const { store, emit } = await openStore({
      'chat.send': () => new Promise((resolve) => (release = resolve)),
    });
    store.setDraft('Hello');
    const sending = store.send();
    emit('chat.done', { sessionId: SESSION, responseId: ANSWER, status: 'complete', message: message(ANSWER, 'assistant', 'Hi', PROMPT), error: null });
    release({ ok: true, output: { promptId: PROMPT, responseId: ANSWER } });
    await sending;
    expect(store.getState().generations.size).toBe(0);
    expect(store.getState().conversation?.messages.map((m) => m.id)).toEqual([PROMPT, ANSWER]);
    expect(store.getState().finishedCount).toBe(1);
  });

  it('puts the prompt back when the send fails, and says why', async () => {
    const { store } = await openStore({ 'chat.send': () => ({ ok: false, error: { code: 'model_unavailable', message: 'No model.' } }) });
    store.setDraft('Keep me');
    await store.send();
    expect(store.getState().draft).toBe('Keep me');
    expect(store.getState().chatError?.error.message).toBe('No model.');
    expect(store.getState().generations.size).toBe(0);
  });

  it('regenerate replaces the last answer; edit replaces the last prompt and its answer', async () => {
    const { store, emit } = await openStore(
      {
        'chat.regenerate': () => ({ ok: true, output: { promptId: PROMPT, responseId: ANSWER2 } }),
        'chat.edit': () => ({ ok: true, output: { promptId: PROMPT2, responseId: ANSWER } }),
      },
      [message(PROMPT, 'user', 'Q'), message(ANSWER, 'assistant', 'A1', PROMPT)],
    );
    await store.regenerate();
    expect(store.getState().conversation?.messages.map((m) => m.id)).toEqual([PROMPT]);
    emit('chat.done', { sessionId: SESSION, responseId: ANSWER2, status: 'complete', message: message(ANSWER2, 'assistant', 'A2', PROMPT), error: null });
    expect(store.getState().conversation?.messages.map((m) => m.id)).toEqual([PROMPT, ANSWER2]);

    expect(await store.editLastPrompt(PROMPT, 'Q, better')).toBe(true);
    const afterEdit = store.getState().conversation?.messages ?? [];
    expect(afterEdit.map((m) => [m.id, m.content])).toEqual([[PROMPT2, 'Q, better']]);
    expect(store.getState().generations.get(SESSION)?.responseId).toBe(ANSWER);
  });

  it('asks the core before a copy and passes on its refusal', async () => {
    const { store, calls } = await openStore({ 'chat.copy': () => ({ ok: false, error: { code: 'copy_disabled', message: 'Copying is turned off.' } }) });
    const refusal = await store.requestCopy(ANSWER, 'code-block', 'const x = 1;');
    expect(refusal?.code).toBe('copy_disabled');
    expect(calls.find((c) => c.method === 'chat.copy')?.input).toEqual({ sessionId: SESSION, messageId: ANSWER, part: 'code-block', chars: 12 });
  });
});
