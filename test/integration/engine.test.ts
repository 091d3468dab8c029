// The node-llama-cpp engine on the generated test model (real llama.cpp, CPU),
// and the model hash cache on a real encrypted store.
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLlamaEngine, type LlamaEngine } from '../../src/main/inference/engine.js';
import type { ChatTurn, EngineModel, GenerateRequest, GenerateResult } from '../../src/main/inference/engine-types.js';
import { writeTestModel } from '../../src/main/inference/gguf/test-model.js';
import { hashModelFileCached, sha256File } from '../../src/main/inference/model-file.js';
import { openStore } from '../../src/main/store/index.js';
import { EnclaveError } from '../../src/shared/errors.js';
import { tempDir } from '../support/temp.js';
import { rejectionOf } from '../support/rejection.js';

const dir = tempDir('enclave-engine-');
let modelPath: string;
let tinyModel: EngineModel;
let engine: LlamaEngine;

beforeAll(async () => {
  modelPath = (await writeTestModel(join(dir.path, 'tiny.gguf'))).path;
  engine = createLlamaEngine();
  tinyModel = { id: 'tiny', path: modelPath, contextSize: 2048 };
  await engine.load(tinyModel, { gpu: 'off' });
});

afterAll(async () => {
  try {
    await engine?.unload();
  } finally {
    dir.remove();
  }
});

interface Streamed extends GenerateResult {
  chunks: string[];
}

async function generate(request: Partial<GenerateRequest> & { chatId: string; prompt: string }, onChunk?: (chunks: string[]) => void): Promise<Streamed> {
  const chunks: string[] = [];
  const result = await engine.generate({
    history: [],
    maxTokens: 16,
    signal: new AbortController().signal,
    ...request,
    onText: (text) => {
      chunks.push(text);
      onChunk?.(chunks);
    },
  });
  return { ...result, chunks };
}

const rejection = (promise: Promise<unknown>): Promise<EnclaveError> => rejectionOf(promise, EnclaveError);

describe('llama engine', () => {
  it('loads the generated model on the CPU and says so; loading it again is a no-op', async () => {
    expect(engine.loaded()).toEqual({
      modelId: 'tiny',
      path: modelPath,
      device: { kind: 'cpu', name: expect.stringMatching(/^CPU \(\d+ threads?\)$/) },
      gpuLayers: 0,
      totalLayers: 3,
      fallback: null,
    });
    const started = Date.now();
    const again = await engine.load({ id: 'tiny', path: modelPath, contextSize: 2048 }, { gpu: 'off' });
    expect(again).toEqual(engine.loaded());
    expect(Date.now() - started).toBeLessThan(100);
    expect(await engine.countTokens(tinyModel, 'the patient has a fever', 'off')).toBe(5);
  });

  it('streams the answer in chunks that add up to the returned text, and stops at maxTokens', async () => {
    const result = await generate({ chatId: 'stream', prompt: 'Summarise the clinic note.', maxTokens: 24 });
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.chunks.length).toBeGreaterThan(1);
    expect(result.chunks.join('')).toBe(result.text);
    // The test model emits whole words from its vocabulary, never control tokens.
    expect(result.text).toMatch(/^[a-z ,.]+$/);
    expect(result.text).not.toContain('<|im_');
    expect(result).toMatchObject({ responseTokens: 24, stopReason: 'max-tokens' });
    // The prompt as the model reads it: ChatML framing around the user's words.
    expect(result.promptTokens).toBeGreaterThan(await engine.countTokens(tinyModel, 'Summarise the clinic note.', 'off'));
  });

  it('honours a small maxTokens', async () => {
    const result = await generate({ chatId: 'short', prompt: 'One word please', maxTokens: 3 });
    expect(result.responseTokens).toBe(3);
    expect(result.stopReason).toBe('max-tokens');
    expect(result.text.trim().split(/\s+/).length).toBeLessThanOrEqual(3);
  });

  it('stops when the signal aborts and returns the partial text as cancelled', async () => {
    const controller = new AbortController();
    const result = await generate({ chatId: 'cancel', prompt: 'Write a long discharge summary.', maxTokens: 400, signal: controller.signal }, (chunks) => {
      if (chunks.length === 4) controller.abort();
    });
    expect(result.stopReason).toBe('cancelled');
    expect(result.text).toBe(result.chunks.join(''));
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.responseTokens).toBeGreaterThanOrEqual(4);
    expect(result.responseTokens).toBeLessThan(20);
  });

  it('returns at once, with nothing generated, when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await generate({ chatId: 'pre-aborted', prompt: 'Hello', maxTokens: 50, signal: controller.signal });
    expect(result).toMatchObject({ text: '', responseTokens: 0, stopReason: 'cancelled', chunks: [] });
  });

  it('a stop while the context is built or the prompt read is a cancel, never an error', async () => {
    // Abort at several points before the first token: during context creation, prompt evaluation, or just after.
    const abortPoints: (() => Promise<void>)[] = [
      () => Promise.resolve(),
      () => new Promise((r) => setImmediate(r)),
      () => new Promise((r) => setTimeout(r, 1)),
      () => new Promise((r) => setTimeout(r, 5)),
      () => new Promise((r) => setTimeout(r, 20)),
    ];
    for (const [i, wait] of abortPoints.entries()) {
      const controller = new AbortController();
      const pending = generate({ chatId: `early-stop-${i}`, prompt: 'Summarise the admission note in detail.', maxTokens: 400, signal: controller.signal });
      await wait();
      controller.abort();
      const result = await pending;
      expect(result.stopReason, `abort point ${i}`).toBe('cancelled');
      expect(result.text).toBe(result.chunks.join(''));
    }
  });

  it('refuses a second answer in the same chat while one is running, but not in another chat', async () => {
    const first = generate({ chatId: 'busy', prompt: 'First question', maxTokens: 60 });
    const error = await rejection(generate({ chatId: 'busy', prompt: 'Second question' }));
    expect(error.code).toBe('busy');
    const other = await generate({ chatId: 'not-busy', prompt: 'Another chat', maxTokens: 4 });
    expect(other.stopReason).toBe('max-tokens');
    expect((await first).responseTokens).toBe(60);
  });

  it('continues a chat from its history, and rebuilds the same context from history after disposeChat', async () => {
    const turn1 = await generate({ chatId: 'history', prompt: 'What is the blood pressure?', maxTokens: 12 });
    const history: ChatTurn[] = [
      { role: 'user', text: 'What is the blood pressure?' },
      { role: 'assistant', text: turn1.text },
    ];
    const turn2 = await generate({ chatId: 'history', prompt: 'And the heart rate?', history, maxTokens: 12 });
    expect(turn2.promptTokens).toBeGreaterThan(turn1.promptTokens + turn1.responseTokens);

    expect(engine.liveChatIds()).toContain('history');
    await engine.disposeChat('history');
    expect(engine.liveChatIds()).not.toContain('history');
    const rebuilt = await generate({ chatId: 'history', prompt: 'And the heart rate?', history, maxTokens: 12 });
    // A chat that never existed, given the same history, answers the same (greedy decoding)...
    const fresh = await generate({ chatId: 'history-copy', prompt: 'And the heart rate?', history, maxTokens: 12 });
    expect(rebuilt.text).toBe(fresh.text);
    expect(rebuilt.promptTokens).toBe(turn2.promptTokens);
    // ...and differently from one that does not know the history, so the history was really used.
    const forgetful = await generate({ chatId: 'history-none', prompt: 'And the heart rate?', maxTokens: 12 });
    expect(forgetful.text).not.toBe(rebuilt.text);
    await Promise.all(['history-copy', 'history-none'].map((id) => engine.disposeChat(id)));
  });

  it('disposeChat stops an answer being written, which returns as cancelled', async () => {
    let disposing: Promise<void> | null = null;
    const result = await generate({ chatId: 'locked', prompt: 'Keep writing.', maxTokens: 500 }, (chunks) => {
      if (chunks.length === 3) disposing = engine.disposeChat('locked');
    });
    await disposing;
    expect(engine.liveChatIds()).not.toContain('locked');
    expect(result.stopReason).toBe('cancelled');
    expect(result.responseTokens).toBeLessThan(500);
    expect(result.chunks.join('')).toBe(result.text);
  });

  it('drops the least recently used chat context beyond maxLiveChats and rebuilds it from history', async () => {
    const small = createLlamaEngine({ maxLiveChats: 1 });
    await small.load({ id: 'tiny', path: modelPath, contextSize: 1024 }, { gpu: 'off' });
    try {
      const ask = (chatId: string, prompt: string, history: ChatTurn[] = []) =>
        small.generate({ chatId, prompt, history, maxTokens: 8, signal: new AbortController().signal, onText: () => undefined });
      const a1 = await ask('a', 'First chat');
      expect(small.liveChatIds()).toEqual(['a']);
      await ask('b', 'Second chat');
      expect(small.liveChatIds()).toEqual(['b']);
      const history: ChatTurn[] = [
        { role: 'user', text: 'First chat' },
        { role: 'assistant', text: a1.text },
      ];
      const a2 = await ask('a', 'Go on', history);
      const reference = await engine.generate({ chatId: 'lru-reference', prompt: 'Go on', history, maxTokens: 8, signal: new AbortController().signal, onText: () => undefined });
      expect(small.liveChatIds()).toEqual(['a']);
      expect(a2.text).toBe(reference.text);
      await engine.disposeChat('lru-reference');
    } finally {
      await small.unload();
    }
  });

  it('keeps working after disposeAllChats', async () => {
    expect(engine.liveChatIds().length).toBeGreaterThan(0);
    await engine.disposeAllChats();
    expect(engine.liveChatIds()).toEqual([]);
    const result = await generate({ chatId: 'after-all', prompt: 'Still there?', maxTokens: 5 });
    expect(result.responseTokens).toBe(5);
  });
});

describe('loading damaged or missing models', () => {
  it('refuses a truncated GGUF with model_corrupt before llama.cpp reads it', async () => {
    const path = join(dir.path, 'truncated.gguf');
    const bytes = readFileSync(modelPath);
    writeFileSync(path, bytes.subarray(0, bytes.length - 4096));
    const other = createLlamaEngine();
    const error = await rejection(other.load({ id: 'cut', path, contextSize: 2048 }, { gpu: 'off' }));
    expect(error.code).toBe('model_corrupt');
    expect(error.message).toContain(`${path} is truncated`);
    expect(other.loaded()).toBeNull();
  });

  it('refuses a whole GGUF that llama.cpp cannot load (a required tensor is missing) with model_corrupt', async () => {
    const path = join(dir.path, 'no-output-norm.gguf');
    const bytes = readFileSync(modelPath);
    const at = bytes.indexOf('output_norm.weight');
    bytes.write('output_nxrm.weight', at, 'ascii');
    writeFileSync(path, bytes);
    const other = createLlamaEngine();
    const error = await rejection(other.load({ id: 'broken', path, contextSize: 2048 }, { gpu: 'off' }));
    expect(error.code).toBe('model_corrupt');
    expect(error.message).toBe(`llama.cpp could not load the model ${path}: missing tensor 'output_norm.weight'`);
    expect(other.loaded()).toBeNull();
  });

  it('says a missing model file is missing', async () => {
    const other = createLlamaEngine();
    const error = await rejection(other.load({ id: 'gone', path: join(dir.path, 'gone.gguf'), contextSize: 2048 }, { gpu: 'off' }));
    expect(error.code).toBe('model_file_missing');
  });
});

describe('hashModelFileCached', () => {
  it('hashes once, then answers from the encrypted store until the file changes', async () => {
    const store = openStore({ path: join(dir.path, 'db', 'enclave.db'), key: randomBytes(32) });
    try {
      const path = join(dir.path, 'hashed.gguf');
      writeFileSync(path, readFileSync(modelPath));
      const first = await hashModelFileCached(store, path);
      expect(first).toEqual({ sha256: await sha256File(path), sizeBytes: readFileSync(path).length, fromCache: false });
      expect(await hashModelFileCached(store, path)).toEqual({ ...first, fromCache: true });

      // Same size, new content and mtime (a swapped file): hashed again.
      const bytes = readFileSync(path);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
      writeFileSync(path, bytes);
      utimesSync(path, new Date(), new Date(Date.now() + 5000));
      const swapped = await hashModelFileCached(store, path);
      expect(swapped.fromCache).toBe(false);
      expect(swapped.sizeBytes).toBe(first.sizeBytes);
      expect(swapped.sha256).not.toBe(first.sha256);
      expect(swapped.sha256).toBe(await sha256File(path));
      expect((await hashModelFileCached(store, path)).fromCache).toBe(true);

      // Swapped at the same size with the old mtime put back (touch -r): ctime still gives it away.
      const stampBefore = statSync(path);
      await new Promise((r) => setTimeout(r, 20));
      const tampered = readFileSync(path);
      tampered[tampered.length - 2] = (tampered[tampered.length - 2] ?? 0) ^ 0xff;
      writeFileSync(path, tampered);
      utimesSync(path, stampBefore.atime, stampBefore.mtime);
      expect(statSync(path).mtimeMs).toBe(stampBefore.mtimeMs);
      const restoredMtime = await hashModelFileCached(store, path);
      expect(restoredMtime.fromCache).toBe(false);
      expect(restoredMtime.sha256).toBe(await sha256File(path));

      // Grown file: hashed again.
      appendFileSync(path, Buffer.alloc(32));
      const grown = await hashModelFileCached(store, path);
      expect(grown).toMatchObject({ fromCache: false, sizeBytes: first.sizeBytes + 32 });
      const rows = store.writer.prepare('SELECT path, sha256 FROM model_hash_cache').all();
      expect(rows).toEqual([{ path, sha256: grown.sha256 }]);

      const missing = await rejection(hashModelFileCached(store, join(dir.path, 'nope.gguf')));
      expect(missing.code).toBe('model_file_missing');
    } finally {
      store.close();
    }
  });
});
