// The quantised test-model shapes (Q8_0, Q4_0) as the app meets them: our
// header check accepts them whole and refuses them cut short, and the
// production engine loads each in real llama.cpp (CPU) and answers in words.
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLlamaEngine, type LlamaEngine } from '../../src/main/inference/engine.js';
import { inspectGguf } from '../../src/main/inference/gguf/inspect.js';
import { TEST_MODEL_SHAPES, writeTestModel } from '../../src/main/inference/gguf/test-model.js';
import { EnclaveError } from '../../src/shared/errors.js';
import { tempDir } from '../support/temp.js';

const dir = tempDir('enclave-shapes-');
const SHAPES = [
  ['tinyQ8', 'Q8_0'],
  ['tinyQ4', 'Q4_0'],
] as const;
const written = new Map<string, { path: string; sizeBytes: number }>();
let engine: LlamaEngine | undefined;

beforeAll(async () => {
  for (const [name] of SHAPES) written.set(name, await writeTestModel(join(dir.path, `${name}.gguf`), TEST_MODEL_SHAPES[name]));
});

afterAll(async () => {
  try {
    await engine?.unload();
  } finally {
    dir.remove();
  }
});

function model(name: string): { path: string; sizeBytes: number } {
  const entry = written.get(name);
  if (!entry) throw new Error(`${name} was not written`);
  return entry;
}

describe.each(SHAPES)('the %s test model', (name, quantisation) => {
  it('is a whole GGUF file to inspectGguf, named by its quantisation', async () => {
    const { path, sizeBytes } = model(name);
    const report = await inspectGguf(path);
    expect(report).toMatchObject({ path, sizeBytes, architecture: 'llama', quantisation, isTestModel: true, tensorCount: 3 + 9 * TEST_MODEL_SHAPES[name].blockCount });
  });

  it('is reported truncated when its last tensor is cut short', async () => {
    const { path: source, sizeBytes } = model(name);
    const path = join(dir.path, `${name}-cut.gguf`);
    writeFileSync(path, readFileSync(source));
    // Less than one Q8_0 row of output.weight: only correct block sizes notice.
    const cut = sizeBytes - 40;
    truncateSync(path, cut);
    const error = await inspectGguf(path).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EnclaveError);
    expect((error as EnclaveError).code).toBe('model_corrupt');
    const match = /^(.*) is truncated: its tensors need (\d+) bytes but the file has (\d+)\.$/.exec((error as EnclaveError).message);
    expect(match?.[1]).toBe(path);
    expect(Number(match?.[3])).toBe(cut);
    // The data ends where the file did, less at most the final alignment padding.
    const needed = Number(match?.[2]);
    expect(needed).toBeGreaterThan(sizeBytes - 32);
    expect(needed).toBeLessThanOrEqual(sizeBytes);
  });

  it('loads in the production engine on the CPU and answers greedily in words', async () => {
    engine ??= createLlamaEngine();
    const { path } = model(name);
    const loaded = await engine.load({ id: name, path, contextSize: 2048 }, { gpu: 'off' });
    expect(loaded).toMatchObject({ modelId: name, path, gpuLayers: 0, device: { kind: 'cpu' } });
    const chunks: string[] = [];
    const result = await engine.generate({
      chatId: `shapes-${name}`,
      history: [],
      prompt: 'Summarise the clinic note.',
      maxTokens: 12,
      temperature: 0,
      signal: new AbortController().signal,
      onText: (text) => chunks.push(text),
    });
    expect(result.stopReason).toBe('max-tokens');
    expect(result.responseTokens).toBe(12);
    expect(chunks.join('')).toBe(result.text);
    // The output-row trick survives quantisation: only words and punctuation, never a control token.
    expect(result.text).toMatch(/^[a-z ,.]+$/);
    expect(
      result.text
        .trim()
        .split(/\s+/)
        .filter((word) => /^[a-z]+[,.]?$/.test(word)).length,
    ).toBeGreaterThanOrEqual(3);
    await engine.disposeChat(`shapes-${name}`);
  });
});
