// The generated test model is a real GGUF file (checked with node-llama-cpp's
// own reader, independently of ours), and damaged model files are refused
// with an error that says what is wrong with which file.
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectGguf } from '../../src/main/inference/gguf/inspect.js';
import { isTestModelMetadata, quantiseQ4_0, quantiseQ8_0, TEST_MODEL_NAME, TEST_MODEL_SHAPES, writeTestModel } from '../../src/main/inference/gguf/test-model.js';
import { sha256File } from '../../src/main/inference/model-file.js';
import { EnclaveError } from '../../src/shared/errors.js';
import { tempDir } from '../support/temp.js';
import { rejectionOf } from '../support/rejection.js';

const dir = tempDir('enclave-gguf-');
afterAll(() => dir.remove());

let tiny: { path: string; sizeBytes: number };
beforeAll(async () => {
  tiny = await writeTestModel(join(dir.path, 'tiny.gguf'));
});

const enclaveError = (promise: Promise<unknown>): Promise<EnclaveError> => rejectionOf(promise, EnclaveError);

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
    expect(early.message).toBe(`${path} is truncated or damaged: its header claims 27 metadata entries and 21 tensors, more than the rest of the file can hold.`);
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

/** A GGUF v3 header: the counts, then each metadata entry as given (see kv*). */
function ggufHeader(tensorCount: bigint, entries: Buffer[]): Buffer {
  const counts = Buffer.alloc(24);
  counts.write('GGUF', 0, 'ascii');
  counts.writeUInt32LE(3, 4);
  counts.writeBigUInt64LE(tensorCount, 8);
  counts.writeBigUInt64LE(BigInt(entries.length), 16);
  return Buffer.concat([counts, ...entries]);
}
function ggufString(text: string, declaredLength = BigInt(Buffer.byteLength(text))): Buffer {
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(declaredLength);
  return Buffer.concat([length, Buffer.from(text)]);
}
function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}
function u64(value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value);
  return b;
}
const kvString = (key: string, value: string): Buffer => Buffer.concat([ggufString(key), u32(8), ggufString(value)]);
/** An array entry's key, type and count; its elements follow in the file (zeros, where the file is sparse). */
const kvArrayStart = (key: string, elementType: number, count: bigint): Buffer => Buffer.concat([ggufString(key), u32(9), u32(elementType), u64(count)]);

/** Writes the header, then makes the file `size` bytes long without writing them (sparse: the disk is not filled). */
function craftedFile(name: string, header: Buffer, size: number): string {
  const path = join(dir.path, name);
  writeFileSync(path, header);
  truncateSync(path, size);
  return path;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

describe('inspectGguf on headers that keep going for gigabytes', () => {
  // Before the cap these were read into one buffer as large as the file: a 2 GiB read aborted the
  // process (a Node assertion, SIGABRT), 1.5 GiB was accepted after half a minute at 2 GB of memory.
  it('refuses a 3 GiB metadata string by its declared length, without reading it', async () => {
    const header = ggufHeader(0n, [Buffer.concat([ggufString('general.architecture'), u32(8), u64(3n * BigInt(GiB))])]);
    const path = craftedFile('long-string.gguf', header, 4 * GiB);
    const error = await enclaveError(inspectGguf(path));
    expect(error.code).toBe('model_corrupt');
    expect(error.message).toBe(
      `${path} is damaged or not a model: the metadata value general.architecture claims 3221225472 bytes, more than a model header may take (64 MiB; real headers, vocabulary included, are tens of MB at most).`,
    );
  });

  it('refuses a 2^40-element array that the (sparse) file could hold but no header may', async () => {
    const count = 2n ** 40n;
    const header = ggufHeader(0n, [kvString('general.architecture', 'llama'), kvArrayStart('tokenizer.ggml.token_type', 0, count)]);
    const path = craftedFile('huge-array.gguf', header, 2 ** 40 + 4096);
    const error = await enclaveError(inspectGguf(path));
    expect(error.code).toBe('model_corrupt');
    expect(error.message).toContain('a metadata array claims 1099511627776 items (tokenizer.ggml.token_type), more than a model header may take (64 MiB');
  });

  it('refuses tensor counts no header can hold: 2^60 (more than any file), 2^22 (more than the cap), 100,000 (more than any model has)', async () => {
    const absurd = craftedFile('tensors-2-60.gguf', ggufHeader(2n ** 60n, []), GiB);
    expect((await enclaveError(inspectGguf(absurd))).message).toBe(
      `${absurd} is truncated or damaged: its header claims 0 metadata entries and 1152921504606846976 tensors, more than the rest of the file can hold.`,
    );
    const many = craftedFile('tensors-2-22.gguf', ggufHeader(2n ** 22n, []), GiB);
    expect((await enclaveError(inspectGguf(many))).message).toBe(
      `${many} is damaged or not a model: its header claims 0 metadata entries and 4194304 tensors, more than a model header may take (64 MiB; real headers, vocabulary included, are tens of MB at most).`,
    );
    // Fits the cap (28 bytes each at least), but each entry is parsed and kept: bounded on its own.
    const listed = craftedFile('tensors-100000.gguf', ggufHeader(100_000n, []), GiB);
    expect((await enclaveError(inspectGguf(listed))).message).toBe(
      `${listed} is damaged or not a model: its header claims 0 metadata entries and 100000 tensors; Enclave reads at most 65536 of each (real models have under a hundred entries and a few thousand tensors).`,
    );
  });

  it('refuses an array of arrays (llama.cpp refuses them too) rather than walk millions of tiny ones', async () => {
    // Five million empty arrays of bytes, 12 bytes each: a 60 MB walk of awaits before this was refused.
    const count = 5_000_000n;
    const header = ggufHeader(0n, [kvString('general.architecture', 'llama'), kvArrayStart('nested', 9, count)]);
    const path = craftedFile('nested-arrays.gguf', header, header.length + 12 * Number(count) + 4096);
    const error = await enclaveError(inspectGguf(path));
    expect(error.code).toBe('model_corrupt');
    expect(error.message).toBe(`${path} is damaged or not a model llama.cpp can load: its metadata nested is an array of arrays.`);
  });

  it('refuses a well-formed header that is longer than the cap, at the entry that passes the cap', async () => {
    // Five arrays of 16 MiB of bytes: each fits on its own, together they pass 64 MiB. Each array's
    // zeros lie (sparse) between its entry and the next one: a whole, valid header of 80 MiB.
    const path = join(dir.path, 'long-header.gguf');
    const file = openSync(path, 'w');
    try {
      let at = 0;
      const write = (bytes: Buffer) => {
        writeSync(file, bytes, 0, bytes.length, at);
        at += bytes.length;
      };
      write(ggufHeader(0n, [kvString('general.architecture', 'llama')]).subarray(0, 16));
      write(u64(6n));
      write(kvString('general.architecture', 'llama'));
      for (let i = 0; i < 5; i++) {
        write(kvArrayStart(`padding.${i}`, 0, BigInt(16 * MiB)));
        at += 16 * MiB;
      }
      ftruncateSync(file, at + 4096);
    } finally {
      closeSync(file);
    }
    const error = await enclaveError(inspectGguf(path));
    expect(error.code).toBe('model_corrupt');
    expect(error.message).toBe(
      `${path} is damaged or not a model: a metadata array claims 16777216 items (padding.3), more than a model header may take (64 MiB; real headers, vocabulary included, are tens of MB at most).`,
    );
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

// ---- quantised weights -------------------------------------------------------

// Written from ggml's own dequantize_row_q8_0 / dequantize_row_q4_0 (ggml-quants.c),
// independently of the quantisers under test.
const GGML_F32 = 0;
const GGML_Q4_0 = 2;
const GGML_Q8_0 = 8;

function halfToFloat(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exp = (half >>> 10) & 0x1f;
  const mant = half & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant !== 0 ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function dequantiseQ8_0(bytes: Uint8Array): Float32Array {
  const blocks = bytes.length / 34;
  const out = new Float32Array(blocks * 32);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < blocks; b++) {
    const d = halfToFloat(view.getUint16(b * 34, true));
    for (let j = 0; j < 32; j++) out[b * 32 + j] = view.getInt8(b * 34 + 2 + j) * d;
  }
  return out;
}

function dequantiseQ4_0(bytes: Uint8Array): Float32Array {
  const blocks = bytes.length / 18;
  const out = new Float32Array(blocks * 32);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < blocks; b++) {
    const d = halfToFloat(view.getUint16(b * 18, true));
    for (let j = 0; j < 16; j++) {
      const q = view.getUint8(b * 18 + 2 + j);
      out[b * 32 + j] = ((q & 0x0f) - 8) * d;
      out[b * 32 + j + 16] = ((q >> 4) - 8) * d;
    }
  }
  return out;
}

/** Deterministic, roughly normal test data (not the generator's own noise). */
function sampleValues(count: number, seed: number): Float32Array {
  let state = seed;
  const uniform = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return values;
}

function blockOf(entries: Record<number, number>): Float32Array {
  const values = new Float32Array(32);
  for (const [index, value] of Object.entries(entries)) values[Number(index)] = value;
  return values;
}

describe('quantiseQ8_0 and quantiseQ4_0', () => {
  it('write ggml block_q8_0: an f16 scale amax/127, then 32 int8 quants rounded half away from zero', () => {
    // amax 127 makes d exactly 1, so each quant is roundf(x).
    const bytes = quantiseQ8_0(blockOf({ 0: 127, 1: 2.5, 2: -2.5, 3: 0.49, 4: -0.5, 5: 1.5, 6: -1.5, 7: -126.6 }));
    expect(bytes).toHaveLength(34);
    expect([...bytes.subarray(0, 2)]).toEqual([0x00, 0x3c]); // f16 1.0
    expect([...new Int8Array(bytes.buffer, bytes.byteOffset + 2, 8)]).toEqual([127, 3, -3, 0, -1, 2, -2, -127]);
    expect([...bytes.subarray(10)].every((b) => b === 0)).toBe(true);
  });

  it('write ggml block_q4_0: d = max/-8, elements 0..15 in the low nibbles and 16..31 in the high ones', () => {
    // max -8 makes d exactly 1, so each nibble is min(15, trunc(x + 8.5)).
    const bytes = quantiseQ4_0(blockOf({ 0: -8, 1: 7, 2: -0.5, 3: 0.5, 16: 8, 17: -0.6, 18: 7.4 }));
    expect(bytes).toHaveLength(18);
    expect([...bytes.subarray(0, 2)]).toEqual([0x00, 0x3c]);
    // Low nibble: element j; high nibble: element j + 16 (8 clamps to 15; -0.6 truncates to 7).
    expect([...bytes.subarray(2, 6)]).toEqual([0xf0, 0x7f, 0xf8, 0x89]);
    expect([...bytes.subarray(6)].every((b) => b === 0x88)).toBe(true);
    // A positive max gives a negative d: 4 is then nibble 0, and (0 - 8) * -0.5 is 4 again.
    const positive = quantiseQ4_0(blockOf({ 5: 4, 6: -2 }));
    expect([...positive.subarray(0, 2)]).toEqual([0x00, 0xb8]); // f16 -0.5
    expect(dequantiseQ4_0(positive)[5]).toBe(4);
    expect(dequantiseQ4_0(positive)[6]).toBe(-2);
  });

  it('quantise a zero block to d = 0 and zero quants, which dequantise to exactly 0', () => {
    const zeros = new Float32Array(64);
    const q8 = quantiseQ8_0(zeros);
    expect([...q8].every((b) => b === 0)).toBe(true);
    expect([...dequantiseQ8_0(q8)].every((v) => v === 0)).toBe(true);
    const q4 = quantiseQ4_0(zeros);
    for (let b = 0; b < 2; b++) {
      // d is -0 (0 / -8 in ggml's C too); every nibble is 8, i.e. (8 - 8) * d.
      expect(halfToFloat(q4[b * 18]! | (q4[b * 18 + 1]! << 8))).toBe(-0);
      expect([...q4.subarray(b * 18 + 2, b * 18 + 18)].every((q) => q === 0x88)).toBe(true);
    }
    expect([...dequantiseQ4_0(q4)].every((v) => v === 0)).toBe(true);
  });

  it('reproduce their input within half a quantisation step (a whole one where Q4_0 clamps)', () => {
    const values = sampleValues(32 * 256, 42);
    // Blocks of very different scales, and one with a single outlier.
    for (let i = 0; i < 32; i++) values[i] = (values[i] ?? 0) * 1e-4;
    for (let i = 32; i < 64; i++) values[i] = (values[i] ?? 0) * 1e3;
    values[70] = 40;
    const q8 = dequantiseQ8_0(quantiseQ8_0(values));
    const q4 = dequantiseQ4_0(quantiseQ4_0(values));
    let q8Error = 0;
    let q4Error = 0;
    let energy = 0;
    for (let b = 0; b < values.length / 32; b++) {
      const block = values.subarray(b * 32, b * 32 + 32);
      const amax = Math.max(...block.map(Math.abs));
      const q8Step = amax / 127;
      const q4Step = amax / 8;
      // Storing d as f16 adds 2^-11 relative error, or 2^-25 absolute where d is f16-subnormal (the 1e-4 block).
      const halfError = (d: number): number => Math.max(d * 2 ** -11, 2 ** -25);
      for (let j = 0; j < 32; j++) {
        const i = b * 32 + j;
        const x = values[i] ?? 0;
        expect(Math.abs((q8[i] ?? 0) - x)).toBeLessThanOrEqual(q8Step / 2 + 127 * halfError(q8Step));
        expect(Math.abs((q4[i] ?? 0) - x)).toBeLessThanOrEqual(q4Step + 8 * halfError(q4Step));
        q8Error += ((q8[i] ?? 0) - x) ** 2;
        q4Error += ((q4[i] ?? 0) - x) ** 2;
        energy += x * x;
      }
    }
    // Dominated by the 1e3 block; both well inside what 8 and 4 bits give normal data.
    expect(Math.sqrt(q8Error / energy)).toBeLessThan(0.01);
    expect(Math.sqrt(q4Error / energy)).toBeLessThan(0.15);
  });

  it('refuse values that are not whole blocks of 32', () => {
    expect(() => quantiseQ8_0(new Float32Array(48))).toThrow('Q8_0 quantises whole blocks of 32 values; got 48 values.');
    expect(() => quantiseQ4_0(new Float32Array(33))).toThrow('Q4_0 quantises whole blocks of 32 values; got 33 values.');
  });
});

describe('writeTestModel in Q8_0 and Q4_0', () => {
  const blockSizes = new Map<number, [number, number]>([
    [GGML_F32, [1, 4]],
    [GGML_Q4_0, [32, 18]],
    [GGML_Q8_0, [32, 34]],
  ]);
  const alignUp = (n: number): number => Math.ceil(n / 32) * 32;

  for (const [shapeName, matrixType, fileType] of [
    ['tinyQ8', GGML_Q8_0, 7],
    ['tinyQ4', GGML_Q4_0, 2],
  ] as const) {
    it(`${shapeName}: matrices in ${matrixType === GGML_Q8_0 ? 'Q8_0' : 'Q4_0'}, norms in F32, output in Q8_0, packed by ggml's block sizes`, async () => {
      const written = await writeTestModel(join(dir.path, `${shapeName}.gguf`), TEST_MODEL_SHAPES[shapeName]);
      const info = await readGgufFileInfo(written.path, { logWarnings: false });
      expect(info.metadata.general.file_type).toBe(fileType);
      expect((info.metadata.general as Record<string, unknown>)['quantization_version']).toBe(2);
      const tensors = info.tensorInfo ?? [];
      expect(tensors).toHaveLength(3 + 9 * TEST_MODEL_SHAPES[shapeName].blockCount);
      let expectedOffset = 0;
      for (const t of tensors) {
        const dims = t.dimensions.map(Number);
        // As llama-quantize: norms stay F32; its Q6_K output becomes Q8_0 here (see test-model.ts).
        const expectedType = dims.length === 1 ? GGML_F32 : t.name === 'output.weight' ? GGML_Q8_0 : matrixType;
        expect([t.name, t.ggmlType]).toEqual([t.name, expectedType]);
        expect(Number(t.offset)).toBe(expectedOffset);
        const [blockLength, blockBytes] = blockSizes.get(expectedType) ?? [0, 0];
        const bytes = (dims.reduce((a, d) => a * d, 1) / blockLength) * blockBytes;
        expectedOffset = alignUp(expectedOffset + bytes);
      }
      expect(written.sizeBytes).toBe((info.infoEndOffset ?? 0) + expectedOffset);
      expect(statSync(written.path).size).toBe(written.sizeBytes);

      const report = await inspectGguf(written.path);
      expect(report.quantisation).toBe(shapeName === 'tinyQ8' ? 'Q8_0' : 'Q4_0');
      expect(report.parameterCount).toBe((await inspectGguf(tiny.path)).parameterCount);
      expect(report.isTestModel).toBe(true);
    });
  }

  function tensorBytes(path: string, tensor: { fileOffset: number | bigint; dimensions: readonly (number | bigint)[] }, blockBytes: number): Uint8Array {
    const elements = tensor.dimensions.reduce<number>((a, d) => a * Number(d), 1);
    const start = Number(tensor.fileOffset);
    return new Uint8Array(readFileSync(path).subarray(start, start + (elements / 32) * blockBytes));
  }

  it('keeps the rows of tokens the model must not emit exactly zero in the quantised output', async () => {
    const path = join(dir.path, 'rows-q4.gguf');
    await writeTestModel(path, TEST_MODEL_SHAPES.tinyQ4);
    const info = await readGgufFileInfo(path, { logWarnings: false });
    const tokens = info.metadata.tokenizer.ggml.tokens;
    const output = info.tensorInfo?.find((t) => t.name === 'output.weight');
    if (!output) throw new Error('no output.weight');
    const rowLength = Number(output.dimensions[0]);
    const values = dequantiseQ8_0(tensorBytes(path, output, 34));
    const row = (token: string): Float32Array => {
      const id = tokens.indexOf(token);
      expect(id).toBeGreaterThanOrEqual(0);
      return values.subarray(id * rowLength, (id + 1) * rowLength);
    };
    for (const token of ['<unk>', '<s>', '</s>', '<|im_start|>', '<|im_end|>', '<0x0A>', '▁', 'a', '▁pa']) {
      expect([token, row(token).every((v) => v === 0)]).toEqual([token, true]);
    }
    for (const token of ['▁patient', '▁the', ',', '.']) {
      expect([token, row(token).some((v) => v !== 0)]).toEqual([token, true]);
    }
    let nonZeroRows = 0;
    for (let id = 0; id < tokens.length; id++) if (values.subarray(id * rowLength, (id + 1) * rowLength).some((v) => v !== 0)) nonZeroRows++;
    expect(nonZeroRows).toBeGreaterThan(200);
    expect(nonZeroRows).toBeLessThan(tokens.length / 2);
  });

  it('fills the quantised matrices with finite noise of the intended scale', async () => {
    const path = join(dir.path, 'scale-q8.gguf');
    await writeTestModel(path, TEST_MODEL_SHAPES.tinyQ8);
    const info = await readGgufFileInfo(path, { logWarnings: false });
    const { embeddingLength } = TEST_MODEL_SHAPES.tinyQ8;
    for (const [name, std] of [
      ['token_embd.weight', 1],
      ['blk.0.attn_q.weight', 1 / Math.sqrt(embeddingLength)],
      ['blk.1.ffn_down.weight', 1 / Math.sqrt(TEST_MODEL_SHAPES.tinyQ8.feedForwardLength)],
    ] as const) {
      const tensor = info.tensorInfo?.find((t) => t.name === name);
      if (!tensor) throw new Error(`no ${name}`);
      const values = dequantiseQ8_0(tensorBytes(path, tensor, 34));
      const mean = values.reduce((a, v) => a + v, 0) / values.length;
      const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
      expect(values.every(Number.isFinite)).toBe(true);
      expect(Math.abs(mean)).toBeLessThan(0.05 * std);
      expect(sd / std).toBeGreaterThan(0.95);
      expect(sd / std).toBeLessThan(1.05);
    }
  });

  it('writes the same bytes for the same seed, and other bytes for another', async () => {
    const a = await writeTestModel(join(dir.path, 'seed-a.gguf'), TEST_MODEL_SHAPES.tinyQ4);
    const b = await writeTestModel(join(dir.path, 'seed-b.gguf'), TEST_MODEL_SHAPES.tinyQ4);
    const c = await writeTestModel(join(dir.path, 'seed-c.gguf'), { ...TEST_MODEL_SHAPES.tinyQ4, seed: 7 });
    expect(await sha256File(a.path)).toBe(await sha256File(b.path));
    expect(c.sizeBytes).toBe(a.sizeBytes);
    expect(await sha256File(c.path)).not.toBe(await sha256File(a.path));
  });

  it('refuses a shape whose rows are not whole blocks of 32, naming the field', async () => {
    await expect(writeTestModel(join(dir.path, 'odd-embd.gguf'), { ...TEST_MODEL_SHAPES.tinyQ8, embeddingLength: 48 })).rejects.toThrow(
      'embeddingLength 48 must be a multiple of 32 for Q8_0: ggml stores each matrix row in blocks of 32 values.',
    );
    await expect(writeTestModel(join(dir.path, 'odd-ff.gguf'), { ...TEST_MODEL_SHAPES.tinyQ4, feedForwardLength: 100 })).rejects.toThrow(
      'feedForwardLength 100 must be a multiple of 32 for Q4_0: ggml stores each matrix row in blocks of 32 values.',
    );
    // F32 and F16 have no blocks.
    await writeTestModel(join(dir.path, 'odd-f16.gguf'), { fileType: 'F16', embeddingLength: 48, feedForwardLength: 100, blockCount: 1 });
  });

  it('lists the 1B benchmark shapes with Llama 3.2 1B layer sizes', () => {
    for (const name of ['llama1bQ8', 'llama1bQ4'] as const) {
      const shape = TEST_MODEL_SHAPES[name];
      expect(shape).toMatchObject({ embeddingLength: 2048, blockCount: 16, headCount: 32, headCountKv: 8, feedForwardLength: 8192, contextLength: 4096 });
    }
    expect(TEST_MODEL_SHAPES.llama1bQ8.fileType).toBe('Q8_0');
    expect(TEST_MODEL_SHAPES.llama1bQ4.fileType).toBe('Q4_0');
  });
});

describe('inspectGguf on quantised files', () => {
  it('refuses a tensor whose rows are not whole blocks of its type', async () => {
    const source = await writeTestModel(join(dir.path, 'rows-source.gguf'), TEST_MODEL_SHAPES.tinyQ8);
    const path = join(dir.path, 'bad-rows.gguf');
    const bytes = readFileSync(source.path);
    const name = Buffer.from('blk.0.attn_q.weight');
    const at = bytes.indexOf(name);
    // name, then n_dims (u32), then ne[0] (u64).
    bytes.writeBigUInt64LE(48n, at + name.length + 4);
    writeFileSync(path, bytes);
    const error = await enclaveError(inspectGguf(path));
    expect(error.code).toBe('model_corrupt');
    expect(error.message).toBe(`${path} is damaged: tensor blk.0.attn_q.weight has rows of 48 values, not a whole number of Q8_0 blocks of 32.`);
  });
});
