// How tensors are stored: F32, F16 and ggml's Q8_0 and Q4_0 block layouts,
// encoded byte for byte as ggml's reference quantisers write them.
import type { TestModelFileType } from './shapes.js';

// GGML tensor type ids (ggml.h).
const GGML_F32 = 0;
const GGML_F16 = 1;
const GGML_Q4_0 = 2;
const GGML_Q8_0 = 8;
// general.file_type ids (llama.h, llama_ftype).
export const FILE_TYPE_ALL_F32 = 0;
export const FILE_TYPE_MOSTLY_F16 = 1;
export const FILE_TYPE_MOSTLY_Q4_0 = 2;
export const FILE_TYPE_MOSTLY_Q8_0 = 7;
// GGML_QNT_VERSION, which llama-quantize stamps on every file it writes.
export const QUANTIZATION_VERSION = 2;

/** Values per block of Q8_0 and Q4_0 (QK8_0 and QK4_0 in ggml-common.h). */
const QK = 32;
/** block_q8_0: { ggml_half d; int8_t qs[32]; }. */
const Q8_0_BLOCK_BYTES = 2 + QK;
/** block_q4_0: { ggml_half d; uint8_t qs[16]; }. */
const Q4_0_BLOCK_BYTES = 2 + QK / 2;

export interface Storage {
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

export const STORAGE = {
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
export function rowBytes(storage: Storage, rowLength: number, tensorName: string): number {
  if (rowLength % storage.blockLength !== 0) {
    throw new Error(`${tensorName}: a row of ${rowLength} values is not a whole number of ${storage.name} blocks of ${storage.blockLength}.`);
  }
  return (rowLength / storage.blockLength) * storage.blockBytes;
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
