// Writes a small, real GGUF v3 model with random weights. No public model can
// be downloaded where Enclave is tested, so this file goes through exactly the
// same loading, tokenising and generation path as a production model; only its
// output is noise. Layout follows the GGUF spec (ggml/docs/gguf.md).
// The parts live in test-model/: shapes, vocabulary (tokenizer), metadata-writer
// (header encoding), storage (F32/F16/Q8_0/Q4_0), noise (seeded weights) and
// tensors (which tensor is stored how, written in bounded chunks).
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ByteWriter, type MetadataValue } from './test-model/metadata-writer.js';
import { TEST_MODEL_SHAPES, type TestModelShape } from './test-model/shapes.js';
import { QUANTIZATION_VERSION, rowBytes, STORAGE } from './test-model/storage.js';
import { ALIGNMENT, alignUp, elementCount, FILE_LAYOUTS, writeAll, writeTensor, type FileLayout, type TensorSpec } from './test-model/tensors.js';
import { buildVocabulary, CHATML_TEMPLATE } from './test-model/vocabulary.js';

export { TEST_MODEL_SHAPES, type TestModelFileType, type TestModelShape } from './test-model/shapes.js';
export { quantiseQ4_0, quantiseQ8_0 } from './test-model/storage.js';

export const TEST_MODEL_NAME = 'Enclave test model (random weights)';
/** Metadata key that marks the generated model, so the UI can say its output is noise. */
export const TEST_MODEL_METADATA_KEY = 'enclave.test_model';

const DEFAULT_SEED = 0x5eed;

/** True for metadata of a model written by writeTestModel: flat (`{'enclave.test_model': true}`) or nested as node-llama-cpp reads it. */
export function isTestModelMetadata(metadata: unknown): boolean {
  if (typeof metadata !== 'object' || metadata === null) return false;
  const record = metadata as Record<string, unknown>;
  if (record[TEST_MODEL_METADATA_KEY] === true) return true;
  const enclave = record['enclave'];
  return typeof enclave === 'object' && enclave !== null && (enclave as Record<string, unknown>)['test_model'] === true;
}

/**
 * Writes a llama-architecture GGUF v3 model with seeded random weights and a
 * real SentencePiece-style tokenizer with a ChatML template. Holds at most
 * one chunk of rows in memory, so the 1B shapes write in bounded memory.
 */
export async function writeTestModel(outPath: string, options: Partial<TestModelShape> & { seed?: number } = {}): Promise<{ path: string; sizeBytes: number }> {
  const { seed = DEFAULT_SEED, ...overrides } = options;
  const shape: TestModelShape = { ...TEST_MODEL_SHAPES.tiny, ...overrides };
  const { embeddingLength: nEmbd, blockCount, headCount, headCountKv, feedForwardLength: nFf } = shape;
  const layout = FILE_LAYOUTS[shape.fileType] as FileLayout | undefined;
  if (!layout) throw new Error(`fileType ${String(shape.fileType)} is not one of ${Object.keys(FILE_LAYOUTS).join(', ')}.`);
  if (nEmbd % headCount !== 0) throw new Error(`embeddingLength ${nEmbd} must be a multiple of headCount ${headCount}.`);
  if (headCount % headCountKv !== 0) throw new Error(`headCount ${headCount} must be a multiple of headCountKv ${headCountKv}.`);
  const blockLength = Math.max(layout.matrices.blockLength, layout.tokenEmbedding.blockLength, layout.output.blockLength);
  for (const [field, value] of [
    ['embeddingLength', nEmbd],
    ['feedForwardLength', nFf],
  ] as const) {
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
  const tensors: TensorSpec[] = [{ name: 'token_embd.weight', dims: [nEmbd, nVocab], storage: layout.tokenEmbedding, init: { kind: 'normal', std: 1 } }];
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
