// Writes a small, real GGUF v3 model with random weights. No public model can
// be downloaded where Enclave is tested, so this file goes through exactly the
// same loading, tokenising and generation path as a production model; only its
// output is noise. Layout follows the GGUF spec (ggml/docs/gguf.md).
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface TestModelShape {
  embeddingLength: number;
  blockCount: number;
  headCount: number;
  headCountKv: number;
  feedForwardLength: number;
  contextLength: number;
  /** Storage of the 2-D weight matrices; norms are always F32 (as llama.cpp's converters do). */
  fileType: 'F32' | 'F16';
}

export const TEST_MODEL_SHAPES = {
  /** Loads and generates in milliseconds: for tests. */
  tiny: { embeddingLength: 64, blockCount: 2, headCount: 4, headCountKv: 4, feedForwardLength: 128, contextLength: 4096, fileType: 'F32' },
  /** ~29M parameters (~60 MB in F16): big enough that CPU timings mean something. */
  bench: { embeddingLength: 512, blockCount: 8, headCount: 8, headCountKv: 8, feedForwardLength: 1536, contextLength: 4096, fileType: 'F16' },
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

// GGML tensor type ids.
const GGML_F32 = 0;
const GGML_F16 = 1;
// general.file_type ids.
const FILE_TYPE_ALL_F32 = 0;
const FILE_TYPE_MOSTLY_F16 = 1;

type Init = { kind: 'ones' } | { kind: 'normal'; std: number } | { kind: 'output'; std: number; emittable: Set<number> };

interface TensorSpec {
  name: string;
  /** GGUF order: ne[0] (the contiguous, input dimension) first. */
  dims: number[];
  ggmlType: number;
  init: Init;
}

function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGNMENT) * ALIGNMENT;
}

// mulberry32: tiny, fast and deterministic, so a seed always writes the same file.
function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function createNormal(random: () => number): () => number {
  return () => {
    // Box-Muller; 1 - u keeps log() away from 0.
    const u = 1 - random();
    const v = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
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

function tensorData(spec: TensorSpec, normal: () => number): Buffer {
  const n = elementCount(spec.dims);
  const values = new Float32Array(n);
  const init = spec.init;
  if (init.kind === 'ones') {
    values.fill(1);
  } else if (init.kind === 'normal') {
    for (let i = 0; i < n; i++) values[i] = normal() * init.std;
  } else {
    // One row (ne[0] values) per token. Rows of tokens the model should not
    // emit stay zero: greedy sampling then never picks them (other logits
    // are almost surely above 0), so the noise is words and never ends a turn early.
    const rowLength = spec.dims[0] ?? 0;
    const rows = spec.dims[1] ?? 0;
    for (let row = 0; row < rows; row++) {
      if (!init.emittable.has(row)) continue;
      for (let i = 0; i < rowLength; i++) values[row * rowLength + i] = normal() * init.std;
    }
  }
  if (spec.ggmlType === GGML_F32) return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const half = new Uint16Array(n);
  for (let i = 0; i < n; i++) half[i] = toHalf(values[i] ?? 0);
  return Buffer.from(half.buffer, half.byteOffset, half.byteLength);
}

function bytesPerElement(ggmlType: number): number {
  return ggmlType === GGML_F16 ? 2 : 4;
}

async function writeAll(file: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < buffer.length) {
    const { bytesWritten } = await file.write(buffer, written, buffer.length - written, position + written);
    written += bytesWritten;
  }
}

/**
 * Writes a llama-architecture GGUF v3 model with seeded random weights and a
 * real SentencePiece-style tokenizer with a ChatML template.
 */
export async function writeTestModel(
  outPath: string,
  options: Partial<TestModelShape> & { seed?: number } = {},
): Promise<{ path: string; sizeBytes: number }> {
  const { seed = DEFAULT_SEED, ...overrides } = options;
  const shape: TestModelShape = { ...TEST_MODEL_SHAPES.tiny, ...overrides };
  const { embeddingLength: nEmbd, blockCount, headCount, headCountKv, feedForwardLength: nFf } = shape;
  if (nEmbd % headCount !== 0) throw new Error(`embeddingLength ${nEmbd} must be a multiple of headCount ${headCount}.`);
  if (headCount % headCountKv !== 0) throw new Error(`headCount ${headCount} must be a multiple of headCountKv ${headCountKv}.`);
  const headDim = nEmbd / headCount;
  const nEmbdKv = headDim * headCountKv;

  const vocab = buildVocabulary();
  const nVocab = vocab.tokens.length;
  const matrixType = shape.fileType === 'F16' ? GGML_F16 : GGML_F32;

  const metadata: Array<[string, MetadataValue]> = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: TEST_MODEL_NAME }],
    ['general.file_type', { type: 'u32', value: shape.fileType === 'F16' ? FILE_TYPE_MOSTLY_F16 : FILE_TYPE_ALL_F32 }],
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
    { name: 'token_embd.weight', dims: [nEmbd, nVocab], ggmlType: matrixType, init: { kind: 'normal', std: 1 } },
  ];
  for (let b = 0; b < blockCount; b++) {
    const p = `blk.${b}.`;
    tensors.push(
      { name: `${p}attn_norm.weight`, dims: [nEmbd], ggmlType: GGML_F32, init: { kind: 'ones' } },
      { name: `${p}attn_q.weight`, dims: [nEmbd, nEmbd], ggmlType: matrixType, init: { kind: 'normal', std: std(nEmbd) } },
      { name: `${p}attn_k.weight`, dims: [nEmbd, nEmbdKv], ggmlType: matrixType, init: { kind: 'normal', std: std(nEmbd) } },
      { name: `${p}attn_v.weight`, dims: [nEmbd, nEmbdKv], ggmlType: matrixType, init: { kind: 'normal', std: std(nEmbd) } },
      { name: `${p}attn_output.weight`, dims: [nEmbd, nEmbd], ggmlType: matrixType, init: { kind: 'normal', std: std(nEmbd) } },
      { name: `${p}ffn_norm.weight`, dims: [nEmbd], ggmlType: GGML_F32, init: { kind: 'ones' } },
      { name: `${p}ffn_gate.weight`, dims: [nEmbd, nFf], ggmlType: matrixType, init: { kind: 'normal', std: std(nEmbd) } },
      { name: `${p}ffn_down.weight`, dims: [nFf, nEmbd], ggmlType: matrixType, init: { kind: 'normal', std: std(nFf) } },
      { name: `${p}ffn_up.weight`, dims: [nEmbd, nFf], ggmlType: matrixType, init: { kind: 'normal', std: std(nEmbd) } },
    );
  }
  tensors.push(
    { name: 'output_norm.weight', dims: [nEmbd], ggmlType: GGML_F32, init: { kind: 'ones' } },
    { name: 'output.weight', dims: [nEmbd, nVocab], ggmlType: matrixType, init: { kind: 'output', std: std(nEmbd), emittable: vocab.emittable } },
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
    header.u32(t.ggmlType);
    header.u64(dataSize);
    dataSize += elementCount(t.dims) * bytesPerElement(t.ggmlType);
  }
  const dataStart = alignUp(header.length);
  header.zeros(dataStart - header.length);

  await mkdir(dirname(outPath), { recursive: true });
  const normal = createNormal(createRandom(seed));
  const file = await open(outPath, 'w');
  try {
    await writeAll(file, header.toBuffer(), 0);
    for (const [i, t] of tensors.entries()) {
      // One tensor in memory at a time: the bench shape's largest is ~3 MB.
      await writeAll(file, tensorData(t, normal), dataStart + (offsets[i] ?? 0));
    }
    // Pad the last tensor so the file ends on the alignment, like llama.cpp's writer.
    const sizeBytes = dataStart + alignUp(dataSize);
    await file.truncate(sizeBytes);
    return { path: outPath, sizeBytes };
  } finally {
    await file.close();
  }
}
