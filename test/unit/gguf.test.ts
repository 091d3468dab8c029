// The generated test model is a real GGUF file (checked with node-llama-cpp's
// own reader, independently of ours), and damaged model files are refused
// with an error that says what is wrong with which file.
import { createHash } from 'node:crypto';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectGguf } from '../../src/main/inference/gguf/inspect.js';
import { isTestModelMetadata, TEST_MODEL_NAME, TEST_MODEL_SHAPES, writeTestModel } from '../../src/main/inference/gguf/test-model.js';
import { sha256File } from '../../src/main/inference/model-file.js';
import { EnclaveError } from '../../src/shared/errors.js';
import { tempDir } from '../support/temp.js';

const dir = tempDir('enclave-gguf-');
afterAll(() => dir.remove());

let tiny: { path: string; sizeBytes: number };
beforeAll(async () => {
  tiny = await writeTestModel(join(dir.path, 'tiny.gguf'));
});

async function enclaveError(promise: Promise<unknown>): Promise<EnclaveError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EnclaveError);
  return error as EnclaveError;
}

function copyOfTiny(name: string): string {
  const path = join(dir.path, name);
  writeFileSync(path, readFileSync(tiny.path));
  return path;
}

describe('writeTestModel', () => {
  it('writes a llama GGUF v3 file that node-llama-cpp reads back with every required key and tensor', async () => {
    const info = await readGgufFileInfo(tiny.path, { logWarnings: false });
    const shape = TEST_MODEL_SHAPES.tiny;
    expect(info.version).toBe(3);
    expect(info.metadata.general.architecture).toBe('llama');
    expect(info.metadata.general.name).toBe(TEST_MODEL_NAME);
    expect(info.metadata.general.alignment).toBe(32);
    const llama = info.architectureMetadata;
    expect(llama.context_length).toBe(shape.contextLength);
    expect(llama.embedding_length).toBe(shape.embeddingLength);
    expect(llama.block_count).toBe(shape.blockCount);
    expect(llama.feed_forward_length).toBe(shape.feedForwardLength);
    expect(llama.attention?.head_count).toBe(shape.headCount);
    expect(llama.attention?.head_count_kv).toBe(shape.headCountKv);
    expect(llama.rope?.dimension_count).toBe(shape.embeddingLength / shape.headCount);
    expect(llama.attention?.layer_norm_rms_epsilon).toBeGreaterThan(0);

    const tokenizer = info.metadata.tokenizer;
    expect(tokenizer.ggml.model).toBe('llama');
    const tokens = tokenizer.ggml.tokens;
    const types = tokenizer.ggml.token_type ?? [];
    expect(tokens.slice(0, 3)).toEqual(['<unk>', '<s>', '</s>']);
    for (let b = 0; b < 256; b++) expect(tokens).toContain(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    const CONTROL = 3;
    expect(types[tokens.indexOf('<|im_start|>')]).toBe(CONTROL);
    expect(types[tokens.indexOf('<|im_end|>')]).toBe(CONTROL);
    expect(tokens.filter((t) => /^▁[a-z]{4,}$/.test(t)).length).toBeGreaterThan(200);
    expect(tokenizer.ggml.scores).toHaveLength(tokens.length);
    expect(types).toHaveLength(tokens.length);
    expect(tokenizer.ggml.bos_token_id).toBe(1);
    expect(tokenizer.ggml.eos_token_id).toBe(2);
    expect(tokenizer.chat_template).toContain('<|im_start|>');

    // GGUF dims are ne[0] first: [input, output].
    const dims = new Map(info.tensorInfo?.map((t) => [t.name, t.dimensions.map(Number)]));
    const e = shape.embeddingLength;
    expect(dims.get('token_embd.weight')).toEqual([e, tokens.length]);
    expect(dims.get('output.weight')).toEqual([e, tokens.length]);
    expect(dims.get('output_norm.weight')).toEqual([e]);
    for (let b = 0; b < shape.blockCount; b++) {
      expect(dims.get(`blk.${b}.attn_q.weight`)).toEqual([e, e]);
      expect(dims.get(`blk.${b}.attn_k.weight`)).toEqual([e, e]);
      expect(dims.get(`blk.${b}.ffn_gate.weight`)).toEqual([e, shape.feedForwardLength]);
      expect(dims.get(`blk.${b}.ffn_down.weight`)).toEqual([shape.feedForwardLength, e]);
    }
    expect(info.tensorInfo).toHaveLength(3 + 9 * shape.blockCount);
    expect(isTestModelMetadata(info.metadata)).toBe(true);
  });

  it('writes the same bytes for the same seed and different weights for another seed', async () => {
    const again = await writeTestModel(join(dir.path, 'tiny-again.gguf'));
    const other = await writeTestModel(join(dir.path, 'tiny-other.gguf'), { seed: 7 });
    expect(await sha256File(again.path)).toBe(await sha256File(tiny.path));
    expect(other.sizeBytes).toBe(tiny.sizeBytes);
    expect(await sha256File(other.path)).not.toBe(await sha256File(tiny.path));
  });
});

describe('inspectGguf', () => {
  it('reports architecture, parameters, context, quantisation and the test-model mark', async () => {
    const report = await inspectGguf(tiny.path);
    const info = await readGgufFileInfo(tiny.path, { logWarnings: false });
    const elements = (info.tensorInfo ?? []).reduce((sum, t) => sum + t.dimensions.reduce<number>((a, d) => a * Number(d), 1), 0);
    const { embeddingLength: e, blockCount, feedForwardLength: ff } = TEST_MODEL_SHAPES.tiny;
    const vocab = info.metadata.tokenizer.ggml.tokens.length;
    expect(report).toEqual({
      path: tiny.path,
      sizeBytes: tiny.sizeBytes,
      sha256: createHash('sha256').update(readFileSync(tiny.path)).digest('hex'),
      architecture: 'llama',
      name: TEST_MODEL_NAME,
      parameterCount: 2 * vocab * e + e + blockCount * (2 * e + 4 * e * e + 3 * e * ff),
      contextLength: 4096,
      quantisation: 'F32',
      tensorCount: 3 + 9 * blockCount,
      isTestModel: true,
    });
    expect(report.parameterCount).toBe(elements);
  });

  it('names F16 weights F16 and reports the shape it was given', async () => {
    const f16 = await writeTestModel(join(dir.path, 'f16.gguf'), { fileType: 'F16', contextLength: 2048, blockCount: 1 });
    const report = await inspectGguf(f16.path);
    expect(report.quantisation).toBe('F16');
    expect(report.contextLength).toBe(2048);
    expect(report.tensorCount).toBe(12);
    // Half the bytes of F32 for the matrices.
    expect(f16.sizeBytes).toBeLessThan(tiny.sizeBytes * 0.6);
  });

  it('uses the hash function it is given, and only once the header checked out', async () => {
    const report = await inspectGguf(tiny.path, { hash: async () => 'a'.repeat(64) });
    expect(report.sha256).toBe('a'.repeat(64));
    const notGguf = join(dir.path, 'not-a-model.bin');
    writeFileSync(notGguf, 'plain text, not a model');
    let hashed = false;
    await enclaveError(inspectGguf(notGguf, { hash: async () => ((hashed = true), 'b'.repeat(64)) }));
    expect(hashed).toBe(false);
  });

  it('refuses a file that is not GGUF', async () => {
    const path = join(dir.path, 'notes.gguf');
    writeFileSync(path, 'Patient notes, not a model.\n'.repeat(10));
    const error = await enclaveError(inspectGguf(path));
    expect(error.code).toBe('model_corrupt');
    expect(error.message).toBe(`${path} is not a GGUF model file (it does not start with the GGUF magic).`);
  });

  it('refuses an empty file', async () => {
    const path = join(dir.path, 'empty.gguf');
    writeFileSync(path, '');
    const error = await enclaveError(inspectGguf(path));
    expect(error.code).toBe('model_corrupt');
    expect(error.message).toContain(path);
    expect(error.message).toContain('is empty');
  });

  it('refuses a file whose tensor data was cut off, saying how much is missing', async () => {
    const path = copyOfTiny('cut-data.gguf');
    const cut = tiny.sizeBytes - 1000;
    truncateSync(path, cut);
    const error = await enclaveError(inspectGguf(path));
    expect(error.code).toBe('model_corrupt');
    expect(error.message).toBe(`${path} is truncated: its tensors need ${tiny.sizeBytes} bytes but the file has ${cut}.`);
  });

  it('refuses a file cut off anywhere inside its header', async () => {
    const info = await readGgufFileInfo(tiny.path, { logWarnings: false });
    const headerEnd = info.infoEndOffset ?? 0;
    const path = copyOfTiny('cut-header.gguf');
    // In the tensor list, in the vocabulary, and right after the counts.
    truncateSync(path, headerEnd - 50);
    const inTensors = await enclaveError(inspectGguf(path));
    expect(inTensors.code).toBe('model_corrupt');
    expect(inTensors.message).toBe(`${path} is truncated or damaged: its header runs past the end of the file (${headerEnd - 50} bytes).`);
    truncateSync(path, 2000);
    const inArray = await enclaveError(inspectGguf(path));
    expect(inArray.code).toBe('model_corrupt');
    expect(inArray.message).toMatch(/^\S+cut-header\.gguf is truncated or damaged: a metadata array claims \d+ items/);
    truncateSync(path, 100);
    const early = await enclaveError(inspectGguf(path));
    expect(early.code).toBe('model_corrupt');
    expect(early.message).toBe(`${path} is truncated or damaged: its header claims 27 metadata entries and 21 tensors, more than the file can hold.`);
  });

  it('refuses a damaged array length quickly instead of reading on for ever', async () => {
    const path = copyOfTiny('bad-count.gguf');
    const bytes = readFileSync(path);
    const key = bytes.indexOf('tokenizer.ggml.tokens');
    // key bytes, then value type (u32), element type (u32), count (u64).
    bytes.writeBigUInt64LE(0xffff_ffff_ffffn, key + 'tokenizer.ggml.tokens'.length + 8);
    writeFileSync(path, bytes);
    const started = Date.now();
    const error = await enclaveError(inspectGguf(path));
    expect(error.code).toBe('model_corrupt');
    expect(error.message).toContain('claims 281474976710655 items');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('says a missing file is missing', async () => {
    const path = join(dir.path, 'nowhere.gguf');
    const error = await enclaveError(inspectGguf(path));
    expect(error.code).toBe('model_file_missing');
    expect(error.message).toBe(`The model file ${path} does not exist.`);
  });
});

describe('isTestModelMetadata', () => {
  it('recognises the mark flat or nested, and nothing else', () => {
    expect(isTestModelMetadata({ 'enclave.test_model': true })).toBe(true);
    expect(isTestModelMetadata({ enclave: { test_model: true } })).toBe(true);
    expect(isTestModelMetadata({ enclave: { test_model: 'true' } })).toBe(false);
    expect(isTestModelMetadata({ general: { name: 'Llama 3.1 8B Instruct' } })).toBe(false);
    expect(isTestModelMetadata(null)).toBe(false);
  });
});
