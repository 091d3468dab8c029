// Which tensor is stored how, and writing each one in bounded chunks of rows.
import type { FileHandle } from 'node:fs/promises';
import { byteSumNoise, normalNoise, type Noise } from './noise.js';
import type { TestModelFileType } from './shapes.js';
import { FILE_TYPE_ALL_F32, FILE_TYPE_MOSTLY_F16, FILE_TYPE_MOSTLY_Q4_0, FILE_TYPE_MOSTLY_Q8_0, rowBytes, STORAGE, type Storage } from './storage.js';

export const ALIGNMENT = 32;

/** Which tensor gets which storage: what llama.cpp's converter or llama-quantize writes for each file type. */
export interface FileLayout {
  fileTypeId: number;
  matrices: Storage;
  tokenEmbedding: Storage;
  output: Storage;
  quantised: boolean;
  noise: (seed: number) => Noise;
}

export const FILE_LAYOUTS: Record<TestModelFileType, FileLayout> = {
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

export interface TensorSpec {
  name: string;
  /** GGUF order: ne[0] (the contiguous, input dimension) first. */
  dims: number[];
  storage: Storage;
  init: Init;
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function alignUp(n: number): number {
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

export async function writeTensor(file: FileHandle, position: number, spec: TensorSpec, noise: Noise): Promise<void> {
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

export async function writeAll(file: FileHandle, buffer: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < buffer.length) {
    const { bytesWritten } = await file.write(buffer, written, buffer.length - written, position + written);
    written += bytesWritten;
  }
}
