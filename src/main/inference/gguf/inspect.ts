// Checks that a file is a whole GGUF model and reports what it is, before
// anything hands it to llama.cpp. The header is parsed here, bounds-checked
// against the file's real size, rather than with node-llama-cpp's
// readGgufFileInfo: that reader fills reads past the end of the file with
// zeros (so a cut-off header parses "successfully") and trusts array lengths
// from the file (so one damaged length can loop for a very long time).
import { open, stat, type FileHandle } from 'node:fs/promises';
import { GgmlType, GgufFileType } from 'node-llama-cpp';
import { EnclaveError } from '../../../shared/errors.js';
import { modelFileError, sha256File } from '../model-file.js';
import { isTestModelMetadata } from './test-model.js';

export interface GgufReport {
  path: string;
  sizeBytes: number;
  sha256: string;
  architecture: string;
  name: string | null;
  /** Sum of the element counts of all tensors. */
  parameterCount: number;
  contextLength: number | null;
  /** e.g. 'F32', 'F16', 'Q4_K_M'. */
  quantisation: string;
  tensorCount: number;
  isTestModel: boolean;
}

export interface GgufTensor {
  name: string;
  dims: number[];
  ggmlType: number;
  /** Offset from the start of the tensor data section. */
  offset: number;
}

/** What the header says, after checking that every tensor lies inside the file. */
export interface GgufHeader {
  path: string;
  sizeBytes: number;
  version: number;
  /** Scalar metadata (strings, numbers, booleans) by key; arrays are skipped. */
  metadata: ReadonlyMap<string, string | number | boolean>;
  tensors: GgufTensor[];
  dataOffset: number;
}

const MAGIC = Buffer.from('GGUF', 'ascii');
const DEFAULT_ALIGNMENT = 32;
const MAX_DIMS = 4; // GGML_MAX_DIMS
const MAX_ARRAY_NESTING = 4;
const FIRST_READ_BYTES = 8 << 20;
// Real headers (vocabulary included) are a few MB; this only bounds memory on a damaged file.
const MAX_HEADER_BYTES = 1 << 30;

// [block size in elements, bytes per block] for each GGML tensor type (ggml.c
// type_traits; the block structs are in ggml-common.h). A row (ne[0] values)
// is always a whole number of blocks. The interleaved Q4_0_4_4 etc. (31-33,
// 36-38) are gone from ggml, which refuses files that use them.
const TYPE_SIZES: ReadonlyMap<number, readonly [number, number]> = new Map([
  [GgmlType.F32, [1, 4]], [GgmlType.F16, [1, 2]], [GgmlType.BF16, [1, 2]], [GgmlType.F64, [1, 8]],
  [GgmlType.I8, [1, 1]], [GgmlType.I16, [1, 2]], [GgmlType.I32, [1, 4]], [GgmlType.I64, [1, 8]],
  [GgmlType.Q4_0, [32, 18]], [GgmlType.Q4_1, [32, 20]], [GgmlType.Q5_0, [32, 22]], [GgmlType.Q5_1, [32, 24]],
  [GgmlType.Q8_0, [32, 34]], [GgmlType.Q8_1, [32, 36]], [GgmlType.IQ4_NL, [32, 18]], [GgmlType.MXFP4, [32, 17]],
  [GgmlType.Q2_K, [256, 84]], [GgmlType.Q3_K, [256, 110]], [GgmlType.Q4_K, [256, 144]], [GgmlType.Q5_K, [256, 176]],
  [GgmlType.Q6_K, [256, 210]], [GgmlType.Q8_K, [256, 292]], [GgmlType.IQ2_XXS, [256, 66]], [GgmlType.IQ2_XS, [256, 74]],
  [GgmlType.IQ3_XXS, [256, 98]], [GgmlType.IQ1_S, [256, 50]], [GgmlType.IQ3_S, [256, 110]], [GgmlType.IQ2_S, [256, 82]],
  [GgmlType.IQ4_XS, [256, 136]], [GgmlType.IQ1_M, [256, 56]], [GgmlType.TQ1_0, [256, 54]], [GgmlType.TQ2_0, [256, 66]],
  [GgmlType.NVFP4, [64, 36]], [GgmlType.Q1_0, [128, 18]], [GgmlType.Q2_0, [64, 18]],
]);

// GGUF value types: fixed byte sizes (string = 8, array = 9 are variable).
const VALUE_SIZES: ReadonlyMap<number, number> = new Map([
  [0, 1], [1, 1], [2, 2], [3, 2], [4, 4], [5, 4], [6, 4], [7, 1], [10, 8], [11, 8], [12, 8],
]);
const TYPE_STRING = 8;
const TYPE_ARRAY = 9;

/** The header continues past what was read; read more and start again. */
class NeedMoreBytes extends Error {}

function corrupt(path: string, what: string): EnclaveError {
  return new EnclaveError('model_corrupt', `${path} ${what}`);
}

/** Synchronous, bounds-checked cursor over the first bytes of the file. */
class Cursor {
  pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly fileSize: number,
    private readonly path: string,
  ) {}

  private need(n: number | bigint): number {
    const end = BigInt(this.pos) + BigInt(n);
    if (end > BigInt(this.buf.length)) {
      if (this.buf.length < this.fileSize && end <= BigInt(this.fileSize)) throw new NeedMoreBytes();
      throw corrupt(this.path, `is truncated or damaged: its header runs past the end of the file (${this.fileSize} bytes).`);
    }
    const at = this.pos;
    this.pos = Number(end);
    return at;
  }
  remaining(): number {
    return this.fileSize - this.pos;
  }
  u32(): number {
    return this.buf.readUInt32LE(this.need(4));
  }
  u64(): bigint {
    return this.buf.readBigUInt64LE(this.need(8));
  }
  skip(n: number | bigint): void {
    this.need(n);
  }
  string(): string {
    const length = this.u64();
    const at = this.need(length);
    return this.buf.toString('utf8', at, this.pos);
  }
  skipString(): void {
    this.need(this.u64());
  }
  scalar(type: number): string | number | boolean {
    switch (type) {
      case 0: return this.buf.readUInt8(this.need(1));
      case 1: return this.buf.readInt8(this.need(1));
      case 2: return this.buf.readUInt16LE(this.need(2));
      case 3: return this.buf.readInt16LE(this.need(2));
      case 4: return this.buf.readUInt32LE(this.need(4));
      case 5: return this.buf.readInt32LE(this.need(4));
      case 6: return this.buf.readFloatLE(this.need(4));
      case 7: return this.buf.readUInt8(this.need(1)) !== 0;
      case TYPE_STRING: return this.string();
      case 10: return Number(this.buf.readBigUInt64LE(this.need(8)));
      case 11: return Number(this.buf.readBigInt64LE(this.need(8)));
      case 12: return this.buf.readDoubleLE(this.need(8));
      default: throw corrupt(this.path, `is damaged: its metadata has an unknown value type ${type}.`);
    }
  }
  skipArray(depth: number): void {
    if (depth > MAX_ARRAY_NESTING) throw corrupt(this.path, 'is damaged: its metadata arrays nest too deeply.');
    const elementType = this.u32();
    const count = this.u64();
    const fixed = VALUE_SIZES.get(elementType);
    // Every element takes at least one byte (a string or array at least 8), so a count the file cannot hold is damage, not a long loop.
    const minimum = fixed ?? (elementType === TYPE_STRING ? 8 : elementType === TYPE_ARRAY ? 12 : undefined);
    if (minimum === undefined) throw corrupt(this.path, `is damaged: its metadata has an array of unknown type ${elementType}.`);
    if (count * BigInt(minimum) > BigInt(this.remaining())) {
      throw corrupt(this.path, `is truncated or damaged: a metadata array claims ${count} items, more than the rest of the file can hold.`);
    }
    if (fixed !== undefined) {
      this.skip(count * BigInt(fixed));
      return;
    }
    for (let i = 0n; i < count; i++) {
      if (elementType === TYPE_STRING) this.skipString();
      else this.skipArray(depth + 1);
    }
  }
}

function parseHeader(buf: Buffer, fileSize: number, path: string): GgufHeader {
  const c = new Cursor(buf, fileSize, path);
  if (fileSize < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw corrupt(path, 'is not a GGUF model file (it does not start with the GGUF magic).');
  }
  c.skip(MAGIC.length);
  const version = c.u32();
  if (version !== 2 && version !== 3) throw corrupt(path, `is GGUF version ${version}, which this version of Enclave cannot read (it reads versions 2 and 3).`);
  const tensorCount = c.u64();
  const kvCount = c.u64();
  // A key/value pair takes at least 13 bytes, a tensor entry at least 28.
  if (kvCount * 13n + tensorCount * 28n > BigInt(c.remaining())) {
    throw corrupt(path, `is truncated or damaged: its header claims ${kvCount} metadata entries and ${tensorCount} tensors, more than the file can hold.`);
  }
  const metadata = new Map<string, string | number | boolean>();
  for (let i = 0n; i < kvCount; i++) {
    const key = c.string();
    const type = c.u32();
    if (type === TYPE_ARRAY) c.skipArray(1);
    else metadata.set(key, c.scalar(type));
  }
  const tensors: GgufTensor[] = [];
  for (let i = 0n; i < tensorCount; i++) {
    const name = c.string();
    const nDims = c.u32();
    if (nDims < 1 || nDims > MAX_DIMS) throw corrupt(path, `is damaged: tensor ${name} has ${nDims} dimensions.`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) {
      const dim = c.u64();
      if (dim > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(path, `is damaged: tensor ${name} has an impossible size.`);
      dims.push(Number(dim));
    }
    const ggmlType = c.u32();
    const offset = c.u64();
    if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(path, `is damaged: tensor ${name} has an impossible offset.`);
    // llama.cpp refuses such a tensor too (gguf.cpp); checking here keeps tensorBytes exact.
    const blockSize = TYPE_SIZES.get(ggmlType)?.[0] ?? 1;
    const rowLength = dims[0] ?? 1;
    if (rowLength % blockSize !== 0) {
      throw corrupt(path, `is damaged: tensor ${name} has rows of ${rowLength} values, not a whole number of ${typeName(ggmlType)} blocks of ${blockSize}.`);
    }
    tensors.push({ name, dims, ggmlType, offset: Number(offset) });
  }
  const alignmentValue = metadata.get('general.alignment');
  const alignment = typeof alignmentValue === 'number' && alignmentValue > 0 && Number.isInteger(alignmentValue) ? alignmentValue : DEFAULT_ALIGNMENT;
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  return { path, sizeBytes: fileSize, version, metadata, tensors, dataOffset };
}

function typeName(ggmlType: number): string {
  return (GgmlType as unknown as Record<number, string | undefined>)[ggmlType] ?? `type ${ggmlType}`;
}

/**
 * Bytes a tensor's data takes (ggml_nbytes: blocks per row times block bytes
 * times rows; parseHeader has checked rows are whole blocks), or null for a
 * type this build does not know, whose extent then goes unchecked rather than misjudged.
 */
function tensorBytes(tensor: GgufTensor): bigint | null {
  const size = TYPE_SIZES.get(tensor.ggmlType);
  if (!size) return null;
  const [blockSize, blockBytes] = size;
  const [rowLength = 1, ...outer] = tensor.dims;
  const rows = outer.reduce((a, d) => a * BigInt(d), 1n);
  return (BigInt(rowLength) / BigInt(blockSize)) * BigInt(blockBytes) * rows;
}

async function readAt(file: FileHandle, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(buffer, filled, length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/**
 * Reads and checks a GGUF file's header: that it is GGUF, that the header is
 * whole, and that every tensor's data lies inside the file. Does not hash.
 */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  let size: number;
  try {
    const stats = await stat(path);
    if (!stats.isFile()) throw corrupt(path, 'is not a regular file.');
    size = stats.size;
  } catch (error) {
    throw modelFileError(path, error);
  }
  if (size === 0) throw corrupt(path, 'is empty (0 bytes); it is not a model file.');

  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (error) {
    throw modelFileError(path, error);
  }
  let header: GgufHeader;
  try {
    for (let want = Math.min(size, FIRST_READ_BYTES); ; want = Math.min(size, want * 4)) {
      const buf = await readAt(file, want);
      // The file shrank under us: judge what is there now.
      const sizeNow = buf.length < want ? buf.length : size;
      try {
        header = parseHeader(buf, sizeNow, path);
        break;
      } catch (error) {
        if (!(error instanceof NeedMoreBytes)) throw error;
        if (want >= MAX_HEADER_BYTES) throw corrupt(path, 'is damaged: its header is larger than any real model header.');
      }
    }
  } finally {
    await file.close();
  }

  let needed = BigInt(header.dataOffset);
  for (const tensor of header.tensors) {
    const bytes = tensorBytes(tensor) ?? 0n;
    const end = BigInt(header.dataOffset) + BigInt(tensor.offset) + bytes;
    if (end > needed) needed = end;
  }
  if (needed > BigInt(size)) throw corrupt(path, `is truncated: its tensors need ${needed} bytes but the file has ${size}.`);
  return header;
}

/** Human name of the quantisation: general.file_type when present, else the commonest weight type. */
function quantisationOf(header: GgufHeader): string {
  const fileType = header.metadata.get('general.file_type');
  if (typeof fileType === 'number') {
    const name = (GgufFileType as unknown as Record<number, string | undefined>)[fileType];
    if (name) return name.replace(/^(ALL|MOSTLY)_/, '');
  }
  const elementsByType = new Map<number, number>();
  for (const t of header.tensors) {
    if (t.dims.length < 2) continue; // norms and biases stay F32 in every quantisation
    const n = t.dims.reduce((a, d) => a * d, 1);
    elementsByType.set(t.ggmlType, (elementsByType.get(t.ggmlType) ?? 0) + n);
  }
  const top = [...elementsByType.entries()].sort((a, b) => b[1] - a[1])[0];
  if (!top) return 'unknown';
  return typeName(top[0]);
}

/**
 * Inspects a model file: checks it is a whole GGUF file, then hashes it. Pass
 * `hash` to hash another way (e.g. through the hash cache); it runs only once
 * the header checked out, so a bad file fails fast instead of after gigabytes.
 */
export async function inspectGguf(path: string, options: { hash?: () => Promise<string> } = {}): Promise<GgufReport> {
  const header = await readGgufHeader(path);
  const architecture = header.metadata.get('general.architecture');
  if (typeof architecture !== 'string' || architecture === '') {
    throw corrupt(path, 'is damaged or incomplete: it does not say which model architecture it is (general.architecture).');
  }
  const name = header.metadata.get('general.name');
  const contextLength = header.metadata.get(`${architecture}.context_length`);
  const parameterCount = header.tensors.reduce((sum, t) => sum + t.dims.reduce((a, d) => a * d, 1), 0);
  const sha256 = await (options.hash ?? (() => sha256File(path)))();
  return {
    path,
    sizeBytes: header.sizeBytes,
    sha256,
    architecture,
    name: typeof name === 'string' ? name : null,
    parameterCount,
    contextLength: typeof contextLength === 'number' ? contextLength : null,
    quantisation: quantisationOf(header),
    tensorCount: header.tensors.length,
    isTestModel: isTestModelMetadata(Object.fromEntries(header.metadata)),
  };
}
