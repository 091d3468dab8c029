// Writes a small, real GGUF v3 model with random weights. No public model can
// be downloaded where Enclave is tested, so this file goes through exactly the
// same loading, tokenising and generation path as a production model; only its
// output is noise. Layout follows the GGUF spec (ggml/docs/gguf.md).
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** How the 2-D weight matrices are stored; the quantised types use ggml's block layouts. */
export type TestModelFileType = 'F32' | 'F16' | 'Q8_0' | 'Q4_0';

export interface TestModelShape {
  embeddingLength: number;
  blockCount: number;
  headCount: number;
  headCountKv: number;
  feedForwardLength: number;
  contextLength: number;
  /**
   * Storage of the 2-D weight matrices; norms are always F32 (as llama.cpp's
   * converters and quantizer do). Q8_0 and Q4_0 need embeddingLength and
   * feedForwardLength to be multiples of 32, ggml's block length for them.
   */
  fileType: TestModelFileType;
}

export const TEST_MODEL_SHAPES = {
  /** Loads and generates in milliseconds: for tests. */
  tiny: { embeddingLength: 64, blockCount: 2, headCount: 4, headCountKv: 4, feedForwardLength: 128, contextLength: 4096, fileType: 'F32' },
  /** ~29M parameters (~60 MB in F16): big enough that CPU timings mean something. */
  bench: { embeddingLength: 512, blockCount: 8, headCount: 8, headCountKv: 8, feedForwardLength: 1536, contextLength: 4096, fileType: 'F16' },
  /** tiny with Q8_0 matrices: for tests of the quantised path. */
  tinyQ8: { embeddingLength: 64, blockCount: 2, headCount: 4, headCountKv: 4, feedForwardLength: 128, contextLength: 4096, fileType: 'Q8_0' },
  /** tiny with Q4_0 matrices: for tests of the quantised path. */
  tinyQ4: { embeddingLength: 64, blockCount: 2, headCount: 4, headCountKv: 4, feedForwardLength: 128, contextLength: 4096, fileType: 'Q4_0' },
  /**
   * Llama 3.2 1B's layer sizes in Q8_0 (1.04 GB): for benchmarks where the
   * model's size and compute matter, not what it says. Our vocabulary is ~1,300
   * tokens, not 128,256, so this has 0.98B parameters: Llama 3.2 1B's 1.24B
   * less nearly all of its 263M-parameter embedding. (Llama 3.2 ties output to
   * token_embd; this keeps a separate output.weight, which the output-row trick needs.)
   */
  llama1bQ8: { embeddingLength: 2048, blockCount: 16, headCount: 32, headCountKv: 8, feedForwardLength: 8192, contextLength: 4096, fileType: 'Q8_0' },
  /** llama1bQ8 in Q4_0 (0.55 GB). */
  llama1bQ4: { embeddingLength: 2048, blockCount: 16, headCount: 32, headCountKv: 8, feedForwardLength: 8192, contextLength: 4096, fileType: 'Q4_0' },
} as const satisfies Record<string, TestModelShape>;

export const TEST_MODEL_NAME = 'Enclave test model (random weights)';
/** Metadata key that marks the generated model, so the UI can say its output is noise. */
export const TEST_MODEL_METADATA_KEY = 'enclave.test_model';

const ALIGNMENT = 32;
const DEFAULT_SEED = 0x5eed;

/** True for metadata of a model written by writeTestModel: flat (`{'enclave.test_model': true}`) or nested as node-llama-cpp reads it. */
export function isTestModelMetadata(metadata: unknown): boolean {
  if (typeof metadata !== 'object' || metadata === null) return false;
  const record = metadata as Record<string, unknown>;
  if (record[TEST_MODEL_METADATA_KEY] === true) return true;
  const enclave = record['enclave'];
  return typeof enclave === 'object' && enclave !== null && (enclave as Record<string, unknown>)['test_model'] === true;
}

// ---- tokenizer -------------------------------------------------------------

// SentencePiece token types as llama.cpp reads tokenizer.ggml.token_type.
const TOKEN_NORMAL = 1;
const TOKEN_UNKNOWN = 2;
const TOKEN_CONTROL = 3;
const TOKEN_BYTE = 6;

const WORDS = `the of and to in is was for on that with as by at from this be are or it an have has not which but
they their were been more after other when there all new about first two time also some into most only over such
these than then them would could should may can will each many where while during between under before because very
patient patients clinical care treatment dose doses daily blood pressure heart rate pain fever history medical
medication medications diagnosis symptoms acute chronic renal hepatic cardiac pulmonary normal abnormal test tests
result results lab labs imaging scan chest left right upper lower note notes plan follow review reviewed stable
improved worse therapy infection antibiotic antibiotics surgery surgical post pre day days week weeks month year
years age male female adult child allergy allergies none known reports denies presents admitted discharged
consult referral nurse physician team unit ward clinic hospital emergency record records data study studies
research trial cohort sample analysis model models value values level levels high low increase decrease risk
factor factors outcome outcomes primary secondary group control effect effects evidence report summary assessment
exam examination vital signs weight height mass index oxygen saturation glucose insulin diabetes asthma cancer
tumor stroke sepsis anemia kidney liver lung brain bone skin eye ear throat abdomen pelvis spine joint muscle
nerve vessel artery vein tissue cell cells gene protein dose mg ml per hour hours minute minutes once twice
continue start stop change increase monitor check repeat order ordered given taken tolerated well good poor
mild moderate severe likely unlikely possible consistent without within further recommend recommended advised
discussed agreed family consent informed`.split(/\s+/).filter((w) => w !== '');

// Single characters so any ASCII text tokenises without falling back to bytes.
const CHARS = Array.from({ length: 126 - 33 + 1 }, (_, i) => String.fromCharCode(33 + i));

interface Vocabulary {
  tokens: string[];
  scores: number[];
  types: number[];
  /** Tokens the model may emit: whole words and a little punctuation, so its noise reads as words. */
  emittable: Set<number>;
  bos: number;
  eos: number;
  unk: number;
}

function buildVocabulary(): Vocabulary {
  const tokens: string[] = [];
  const types: number[] = [];
  const index = new Map<string, number>();
  const add = (text: string, type: number): number => {
    const known = index.get(text);
    if (known !== undefined) return known;
    index.set(text, tokens.length);
    tokens.push(text);
    types.push(type);
    return tokens.length - 1;
  };
  const unk = add('<unk>', TOKEN_UNKNOWN);
  const bos = add('<s>', TOKEN_CONTROL);
  const eos = add('</s>', TOKEN_CONTROL);
  // Byte fallback: llama.cpp's SPM tokenizer needs all 256 (and finds '\n' as <0x0A>).
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, TOKEN_BYTE);
  add('<|im_start|>', TOKEN_CONTROL);
  add('<|im_end|>', TOKEN_CONTROL);
  add('▁', TOKEN_NORMAL);
  for (const c of CHARS) add(c, TOKEN_NORMAL);
  const emittable = new Set<number>();
  for (const p of [',', '.']) emittable.add(add(p, TOKEN_NORMAL));
  for (const word of WORDS) {
    // SPM merges pairwise, so every prefix of "▁word" must be a token for the whole word to be reached.
    const piece = `▁${word}`;
    for (let end = 2; end < piece.length; end++) add(piece.slice(0, end), TOKEN_NORMAL);
    emittable.add(add(piece, TOKEN_NORMAL));
  }
  // SentencePiece convention: earlier (more frequent) pieces score higher; specials score 0.
  const scores = tokens.map((_, id) => (types[id] === TOKEN_NORMAL ? -id : 0));
  return { tokens, scores, types, emittable, bos, eos, unk };
}

// ChatML, so node-llama-cpp resolves its ChatMLChatWrapper from the template.
const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// ---- binary encoding ---------------------------------------------------------

const enum ValueType {
  Uint32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
}

type MetadataValue =
  | { type: 'u32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: readonly string[] }
  | { type: 'f32[]'; value: readonly number[] }
  | { type: 'i32[]'; value: readonly number[] };

class ByteWriter {
  private readonly chunks: Buffer[] = [];
  length = 0;
  push(buffer: Buffer): void {
    this.chunks.push(buffer);
    this.length += buffer.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.push(bytes);
  }
  zeros(n: number): void {
    if (n > 0) this.push(Buffer.alloc(n));
  }
  value(v: MetadataValue): void {
    switch (v.type) {
      case 'u32':
        this.u32(ValueType.Uint32);
        this.u32(v.value);
        return;
      case 'f32':
        this.u32(ValueType.Float32);
        this.f32(v.value);
        return;
      case 'bool':
        this.u32(ValueType.Bool);
        this.push(Buffer.from([v.value ? 1 : 0]));
        return;
      case 'string':
        this.u32(ValueType.String);
        this.str(v.value);
        return;
      case 'string[]':
        this.u32(ValueType.Array);
        this.u32(ValueType.String);
        this.u64(v.value.length);
        for (const s of v.value) this.str(s);
        return;
      case 'f32[]':
        this.u32(ValueType.Array);
        this.u32(ValueType.Float32);
        this.u64(v.value.length);
        for (const x of v.value) this.f32(x);
        return;
      case 'i32[]':
        this.u32(ValueType.Array);
        this.u32(ValueType.Int32);
        this.u64(v.value.length);
        for (const x of v.value) this.i32(x);
        return;
    }
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

// ---- tensor storage ----------------------------------------------------------

// GGML tensor type ids (ggml.h).
const GGML_F32 = 0;
const GGML_F16 = 1;
const GGML_Q4_0 = 2;
const GGML_Q8_0 = 8;
// general.file_type ids (llama.h, llama_ftype).
const FILE_TYPE_ALL_F32 = 0;
const FILE_TYPE_MOSTLY_F16 = 1;
const FILE_TYPE_MOSTLY_Q4_0 = 2;
const FILE_TYPE_MOSTLY_Q8_0 = 7;
// GGML_QNT_VERSION, which llama-quantize stamps on every file it writes.
const QUANTIZATION_VERSION = 2;

/** Values per block of Q8_0 and Q4_0 (QK8_0 and QK4_0 in ggml-common.h). */
const QK = 32;
/** block_q8_0: { ggml_half d; int8_t qs[32]; }. */
const Q8_0_BLOCK_BYTES = 2 + QK;
/** block_q4_0: { ggml_half d; uint8_t qs[16]; }. */
const Q4_0_BLOCK_BYTES = 2 + QK / 2;

interface Storage {
  name: TestModelFileType;
  ggmlType: number;
  /** Values per block: every row (ne[0] values) must hold a whole number of blocks. */
  blockLength: number;
  blockBytes: number;
  /** Encodes whole blocks of values into out, which is exactly their size. */
  encode(values: Float32Array, out: Uint8Array): void;
}

function writeHalf(out: Uint8Array, at: number, half: number): void {
  out[at] = half & 0xff;
  out[at + 1] = half >>> 8;
}

function checkWholeBlocks(count: number, type: TestModelFileType): void {
  if (count % QK !== 0) throw new Error(`${type} quantises whole blocks of ${QK} values; got ${count} values.`);
}

/**
 * ggml's quantize_row_q8_0_ref: per block of 32 values, d = amax / 127 and
 * q = roundf(x / d), stored as block_q8_0. Math.fround keeps each step in
 * single precision as the C does, so the bytes are ggml's own.
 */
export function quantiseQ8_0(values: Float32Array, out: Uint8Array = new Uint8Array((values.length / QK) * Q8_0_BLOCK_BYTES)): Uint8Array {
  checkWholeBlocks(values.length, 'Q8_0');
  const blocks = values.length / QK;
  for (let b = 0; b < blocks; b++) {
    const first = b * QK;
    let amax = 0;
    for (let j = 0; j < QK; j++) {
      const a = Math.abs(values[first + j] ?? 0);
      if (a > amax) amax = a;
    }
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const at = b * Q8_0_BLOCK_BYTES;
    writeHalf(out, at, toHalf(d));
    for (let j = 0; j < QK; j++) {
      const x = Math.fround((values[first + j] ?? 0) * id);
      // roundf rounds halves away from zero (Math.round would take -2.5 to -2).
      const q = x < 0 ? -Math.floor(0.5 - x) : Math.floor(x + 0.5);
      out[at + 2 + j] = q & 0xff;
    }
  }
  return out;
}

/**
 * ggml's quantize_row_q4_0_ref: per block of 32 values, d = max / -8, where
 * max is the value of largest magnitude (sign kept), and
 * q = min(15, trunc(x / d + 8.5)); dequantised, a value is (q - 8) * d. Byte j
 * holds element j in its low nibble and element j + 16 in its high one. An
 * all-zero block gets d = -0 (0 / -8, as in the C) and nibbles of 8, so it
 * dequantises to exactly zero.
 */
export function quantiseQ4_0(values: Float32Array, out: Uint8Array = new Uint8Array((values.length / QK) * Q4_0_BLOCK_BYTES)): Uint8Array {
  checkWholeBlocks(values.length, 'Q4_0');
  const blocks = values.length / QK;
  const half = QK / 2;
  for (let b = 0; b < blocks; b++) {
    const first = b * QK;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = values[first + j] ?? 0;
      const a = Math.abs(v);
      if (amax < a) {
        amax = a;
        max = v;
      }
    }
    const d = Math.fround(max / -8);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const at = b * Q4_0_BLOCK_BYTES;
    writeHalf(out, at, toHalf(d));
    for (let j = 0; j < half; j++) {
      // x * id + 8.5 with one rounding to single precision: compilers fuse the C's
      // multiply and add into an FMA (gguf-py's Q4_0 does the same); a float
      // product is exact in double, so the only rounding that counts is fround's.
      const q0 = Math.min(15, Math.trunc(Math.fround((values[first + j] ?? 0) * id + 8.5)));
      const q1 = Math.min(15, Math.trunc(Math.fround((values[first + half + j] ?? 0) * id + 8.5)));
      out[at + 2 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}

const STORAGE = {
  F32: {
    name: 'F32',
    ggmlType: GGML_F32,
    blockLength: 1,
    blockBytes: 4,
    encode: (values, out) => out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)),
  },
  F16: {
    name: 'F16',
    ggmlType: GGML_F16,
    blockLength: 1,
    blockBytes: 2,
    encode: (values, out) => {
      for (let i = 0; i < values.length; i++) writeHalf(out, 2 * i, toHalf(values[i] ?? 0));
    },
  },
  Q8_0: { name: 'Q8_0', ggmlType: GGML_Q8_0, blockLength: QK, blockBytes: Q8_0_BLOCK_BYTES, encode: quantiseQ8_0 },
  Q4_0: { name: 'Q4_0', ggmlType: GGML_Q4_0, blockLength: QK, blockBytes: Q4_0_BLOCK_BYTES, encode: quantiseQ4_0 },
} as const satisfies Record<TestModelFileType, Storage>;

/** Bytes of one row of rowLength values (ggml_row_size). */
function rowBytes(storage: Storage, rowLength: number, tensorName: string): number {
  if (rowLength % storage.blockLength !== 0) {
    throw new Error(`${tensorName}: a row of ${rowLength} values is not a whole number of ${storage.name} blocks of ${storage.blockLength}.`);
  }
  return (rowLength / storage.blockLength) * storage.blockBytes;
}

// ---- random weights ------------------------------------------------------------

/** Fills values[start, end) with zero-mean noise of standard deviation std. */
type Noise = (values: Float32Array, start: number, end: number, std: number) => void;

// mulberry32: tiny, fast and deterministic, so a seed always writes the same file.
function createRandomUint32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function normalNoise(seed: number): Noise {
  const next = createRandomUint32(seed);
  const random = (): number => next() / 4294967296;
  return (values, start, end, std) => {
    for (let i = start; i < end; i++) {
      // Box-Muller; 1 - u keeps log() away from 0.
      const u = 1 - random();
      const v = random();
      values[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v) * std;
    }
  };
}

/** Standard deviation of the sum of four independent uniform bytes. */
const BYTE_SUM_STD = Math.sqrt((4 * (256 * 256 - 1)) / 12);

/**
 * Bell-shaped noise from one 32-bit draw: the sum of its four bytes, centred
 * and scaled (Irwin-Hall, so bounded at ±3.5 std). Box-Muller costs ~40 ns a
 * value in V8, ~40 s for a 1B-parameter model before any quantising; this is
 * several times cheaper, and weights that are only ever benchmarked need to
 * look random and stay finite, nothing more.
 */
function byteSumNoise(seed: number): Noise {
  const next = createRandomUint32(seed);
  return (values, start, end, std) => {
    const scale = std / BYTE_SUM_STD;
    for (let i = start; i < end; i++) {
      const r = next();
      values[i] = ((r & 0xff) + ((r >>> 8) & 0xff) + ((r >>> 16) & 0xff) + (r >>> 24) - 510) * scale;
    }
  };
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE 754 half precision, round to nearest even (Node 20 has no Float16Array). */
function toHalf(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
  // A carry out of the mantissa rightly bumps the exponent (up to infinity).
  return sign | half;
}

// ---- file layout -----------------------------------------------------------------

/** Which tensor gets which storage: what llama.cpp's converter or llama-quantize writes for each file type. */
interface FileLayout {
  fileTypeId: number;
  matrices: Storage;
  tokenEmbedding: Storage;
  output: Storage;
  quantised: boolean;
  noise: (seed: number) => Noise;
}

const FILE_LAYOUTS: Record<TestModelFileType, FileLayout> = {
  F32: { fileTypeId: FILE_TYPE_ALL_F32, matrices: STORAGE.F32, tokenEmbedding: STORAGE.F32, output: STORAGE.F32, quantised: false, noise: normalNoise },
  F16: { fileTypeId: FILE_TYPE_MOSTLY_F16, matrices: STORAGE.F16, tokenEmbedding: STORAGE.F16, output: STORAGE.F16, quantised: false, noise: normalNoise },
  // llama-quantize's Q8_0 (llama_tensor_get_type in src/llama-quant.cpp) is Q8_0 throughout, embedding and output included.
  Q8_0: { fileTypeId: FILE_TYPE_MOSTLY_Q8_0, matrices: STORAGE.Q8_0, tokenEmbedding: STORAGE.Q8_0, output: STORAGE.Q8_0, quantised: true, noise: byteSumNoise },
  // llama-quantize's Q4_0 quantises token_embd to Q4_0 too (the output is untied),
  // but raises output.weight to Q6_K, or Q8_0 where ne[0] is not a multiple of
  // 256 (as in tiny). Q6_K would need a K-quant encoder, so output.weight is
  // always Q8_0 here: about the same work per token, ~30% more bytes for that one tensor.
  Q4_0: { fileTypeId: FILE_TYPE_MOSTLY_Q4_0, matrices: STORAGE.Q4_0, tokenEmbedding: STORAGE.Q4_0, output: STORAGE.Q8_0, quantised: true, noise: byteSumNoise },
};

type Init = { kind: 'ones' } | { kind: 'normal'; std: number } | { kind: 'output'; std: number; emittable: Set<number> };

interface TensorSpec {
  name: string;
  /** GGUF order: ne[0] (the contiguous, input dimension) first. */
  dims: number[];
  storage: Storage;
  init: Init;
}

function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGNMENT) * ALIGNMENT;
}

/** Fills values with a tensor's rows from firstRow on, drawing noise in file order so chunking never changes the bytes. */
function fillRows(init: Init, values: Float32Array, firstRow: number, rowLength: number, noise: Noise): void {
  if (init.kind === 'ones') {
    values.fill(1);
  } else if (init.kind === 'normal') {
    noise(values, 0, values.length, init.std);
  } else {
    // One row (ne[0] values) per token. Rows of tokens the model should not
    // emit stay zero (quantised, d = 0 and quants that dequantise to 0): greedy
    // sampling then never picks them (other logits are almost surely above 0),
    // so the noise is words and never ends a turn early.
    for (let start = 0; start < values.length; start += rowLength) {
      if (init.emittable.has(firstRow + start / rowLength)) noise(values, start, start + rowLength, init.std);
      else values.fill(0, start, start + rowLength);
    }
  }
}

// Bounds memory whatever the shape: the 1B shapes' largest tensor has 16.8M values.
const CHUNK_VALUES = 1 << 20;

async function writeTensor(file: FileHandle, position: number, spec: TensorSpec, noise: Noise): Promise<void> {
  const rowLength = spec.dims[0] ?? 1;
  const rows = elementCount(spec.dims) / rowLength;
  const bytesPerRow = rowBytes(spec.storage, rowLength, spec.name);
  const rowsPerChunk = Math.max(1, Math.min(rows, Math.floor(CHUNK_VALUES / rowLength)));
  const values = new Float32Array(rowsPerChunk * rowLength);
  const bytes = new Uint8Array(rowsPerChunk * bytesPerRow);
  for (let firstRow = 0; firstRow < rows; firstRow += rowsPerChunk) {
    const chunkRows = Math.min(rowsPerChunk, rows - firstRow);
    const chunkValues = values.subarray(0, chunkRows * rowLength);
    const chunkBytes = bytes.subarray(0, chunkRows * bytesPerRow);
    fillRows(spec.init, chunkValues, firstRow, rowLength, noise);
    spec.storage.encode(chunkValues, chunkBytes);
    await writeAll(file, chunkBytes, position + firstRow * bytesPerRow);
  }
}

async function writeAll(file: FileHandle, buffer: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < buffer.length) {
    const { bytesWritten } = await file.write(buffer, written, buffer.length - written, position + written);
    written += bytesWritten;
  }
}

/**
 * Writes a llama-architecture GGUF v3 model with seeded random weights and a
 * real SentencePiece-style tokenizer with a ChatML template. Holds at most
 * one chunk of rows in memory, so the 1B shapes write in bounded memory.
 */
export async function writeTestModel(
  outPath: string,
  options: Partial<TestModelShape> & { seed?: number } = {},
): Promise<{ path: string; sizeBytes: number }> {
  const { seed = DEFAULT_SEED, ...overrides } = options;
  const shape: TestModelShape = { ...TEST_MODEL_SHAPES.tiny, ...overrides };
  const { embeddingLength: nEmbd, blockCount, headCount, headCountKv, feedForwardLength: nFf } = shape;
  const layout = FILE_LAYOUTS[shape.fileType] as FileLayout | undefined;
  if (!layout) throw new Error(`fileType ${String(shape.fileType)} is not one of ${Object.keys(FILE_LAYOUTS).join(', ')}.`);
  if (nEmbd % headCount !== 0) throw new Error(`embeddingLength ${nEmbd} must be a multiple of headCount ${headCount}.`);
  if (headCount % headCountKv !== 0) throw new Error(`headCount ${headCount} must be a multiple of headCountKv ${headCountKv}.`);
  const blockLength = Math.max(layout.matrices.blockLength, layout.tokenEmbedding.blockLength, layout.output.blockLength);
  for (const [field, value] of [['embeddingLength', nEmbd], ['feedForwardLength', nFf]] as const) {
    if (value % blockLength !== 0) {
      throw new Error(`${field} ${value} must be a multiple of ${blockLength} for ${shape.fileType}: ggml stores each matrix row in blocks of ${blockLength} values.`);
    }
  }
  const headDim = nEmbd / headCount;
  const nEmbdKv = headDim * headCountKv;

  const vocab = buildVocabulary();
  const nVocab = vocab.tokens.length;
  const matrix = layout.matrices;

  const metadata: Array<[string, MetadataValue]> = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: TEST_MODEL_NAME }],
    ['general.file_type', { type: 'u32', value: layout.fileTypeId }],
    ...(layout.quantised ? [['general.quantization_version', { type: 'u32', value: QUANTIZATION_VERSION }] as [string, MetadataValue]] : []),
    ['general.alignment', { type: 'u32', value: ALIGNMENT }],
    [TEST_MODEL_METADATA_KEY, { type: 'bool', value: true }],
    ['enclave.test_model_seed', { type: 'u32', value: seed >>> 0 }],
    ['llama.vocab_size', { type: 'u32', value: nVocab }],
    ['llama.context_length', { type: 'u32', value: shape.contextLength }],
    ['llama.embedding_length', { type: 'u32', value: nEmbd }],
    ['llama.block_count', { type: 'u32', value: blockCount }],
    ['llama.feed_forward_length', { type: 'u32', value: nFf }],
    ['llama.attention.head_count', { type: 'u32', value: headCount }],
    ['llama.attention.head_count_kv', { type: 'u32', value: headCountKv }],
    ['llama.rope.dimension_count', { type: 'u32', value: headDim }],
    ['llama.rope.freq_base', { type: 'f32', value: 10000 }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: vocab.tokens }],
    ['tokenizer.ggml.scores', { type: 'f32[]', value: vocab.scores }],
    ['tokenizer.ggml.token_type', { type: 'i32[]', value: vocab.types }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: vocab.bos }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: vocab.eos }],
    ['tokenizer.ggml.unknown_token_id', { type: 'u32', value: vocab.unk }],
    ['tokenizer.ggml.padding_token_id', { type: 'u32', value: vocab.unk }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: true }],
    ['tokenizer.ggml.add_eos_token', { type: 'bool', value: false }],
    ['tokenizer.chat_template', { type: 'string', value: CHATML_TEMPLATE }],
  ];

  const std = (fanIn: number): number => 1 / Math.sqrt(fanIn);
  const tensors: TensorSpec[] = [
    { name: 'token_embd.weight', dims: [nEmbd, nVocab], storage: layout.tokenEmbedding, init: { kind: 'normal', std: 1 } },
  ];
  for (let b = 0; b < blockCount; b++) {
    const p = `blk.${b}.`;
    tensors.push(
      { name: `${p}attn_norm.weight`, dims: [nEmbd], storage: STORAGE.F32, init: { kind: 'ones' } },
      { name: `${p}attn_q.weight`, dims: [nEmbd, nEmbd], storage: matrix, init: { kind: 'normal', std: std(nEmbd) } },
      { name: `${p}attn_k.weight`, dims: [nEmbd, nEmbdKv], storage: matrix, init: { kind: 'normal', std: std(nEmbd) } },
      { name: `${p}attn_v.weight`, dims: [nEmbd, nEmbdKv], storage: matrix, init: { kind: 'normal', std: std(nEmbd) } },
      { name: `${p}attn_output.weight`, dims: [nEmbd, nEmbd], storage: matrix, init: { kind: 'normal', std: std(nEmbd) } },
      { name: `${p}ffn_norm.weight`, dims: [nEmbd], storage: STORAGE.F32, init: { kind: 'ones' } },
      { name: `${p}ffn_gate.weight`, dims: [nEmbd, nFf], storage: matrix, init: { kind: 'normal', std: std(nEmbd) } },
      { name: `${p}ffn_down.weight`, dims: [nFf, nEmbd], storage: matrix, init: { kind: 'normal', std: std(nFf) } },
      { name: `${p}ffn_up.weight`, dims: [nEmbd, nFf], storage: matrix, init: { kind: 'normal', std: std(nEmbd) } },
    );
  }
  tensors.push(
    { name: 'output_norm.weight', dims: [nEmbd], storage: STORAGE.F32, init: { kind: 'ones' } },
    { name: 'output.weight', dims: [nEmbd, nVocab], storage: layout.output, init: { kind: 'output', std: std(nEmbd), emittable: vocab.emittable } },
  );

  const header = new ByteWriter();
  header.push(Buffer.from('GGUF', 'ascii'));
  header.u32(3);
  header.u64(tensors.length);
  header.u64(metadata.length);
  for (const [key, value] of metadata) {
    header.str(key);
    header.value(value);
  }
  const offsets: number[] = [];
  let dataSize = 0;
  for (const t of tensors) {
    dataSize = alignUp(dataSize);
    offsets.push(dataSize);
    header.str(t.name);
    header.u32(t.dims.length);
    for (const d of t.dims) header.u64(d);
    header.u32(t.storage.ggmlType);
    header.u64(dataSize);
    const rowLength = t.dims[0] ?? 1;
    dataSize += (elementCount(t.dims) / rowLength) * rowBytes(t.storage, rowLength, t.name);
  }
  const dataStart = alignUp(header.length);
  header.zeros(dataStart - header.length);

  await mkdir(dirname(outPath), { recursive: true });
  const noise = layout.noise(seed);
  const file = await open(outPath, 'w');
  try {
    await writeAll(file, header.toBuffer(), 0);
    for (const [i, t] of tensors.entries()) await writeTensor(file, dataStart + (offsets[i] ?? 0), t, noise);
    // Pad the last tensor so the file ends on the alignment, like llama.cpp's writer.
    const sizeBytes = dataStart + alignUp(dataSize);
    await file.truncate(sizeBytes);
    return { path: outPath, sizeBytes };
  } finally {
    await file.close();
  }
}
