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
// llama.cpp refuses a tensor name of GGML_MAX_NAME (64) bytes or more (gguf.cpp).
const MAX_TENSOR_NAME_BYTES = 63;
/**
 * The most a header (metadata and tensor list, up to the tensor data) may
 * take. The largest real headers are tens of MB: a 256k-token vocabulary is
 * about 4 MB of token strings plus 2 MB of scores and types, and merges for a
 * 150k-200k BPE vocabulary add 3-10 MB; tensor entries are ~60 bytes each
 * even for a thousand-tensor MoE model. 64 MiB leaves room for that several
 * times over, yet is read and parsed in well under a second. llama.cpp's own
 * reader has no such cap (it resizes vectors to whatever length the file
 * claims and relies on fread failing at the end), so the cap is ours.
 */
export const MAX_HEADER_BYTES = 64 << 20;
/**
 * The most tensors and metadata entries a header may list. Real models list
 * a few hundred to a few thousand tensors (the largest, MoE models with every
 * expert a tensor of its own, some 13,000) and under a hundred metadata
 * entries. Each entry is parsed and kept, so without a bound a 64 MiB header
 * of two million minimal tensor entries took 16 s and 700 MB to read.
 */
export const MAX_TENSORS = 65_536;
export const MAX_METADATA_ENTRIES = 65_536;
/** Each read asks for at most this much (one buffer of it at a time, never the file's size). */
const READ_CHUNK_BYTES = 1 << 20;
const HEADER_CAP_TEXT = `${MAX_HEADER_BYTES >> 20} MiB`;

// [block size in elements, bytes per block] for each GGML tensor type (ggml.c
// type_traits; the block structs are in ggml-common.h). A row (ne[0] values)
// is always a whole number of blocks. The interleaved Q4_0_4_4 etc. (31-33,
// 36-38) are gone from ggml, which refuses files that use them.
const TYPE_SIZES: ReadonlyMap<number, readonly [number, number]> = new Map([
  [GgmlType.F32, [1, 4]],
  [GgmlType.F16, [1, 2]],
  [GgmlType.BF16, [1, 2]],
  [GgmlType.F64, [1, 8]],
  [GgmlType.I8, [1, 1]],
  [GgmlType.I16, [1, 2]],
  [GgmlType.I32, [1, 4]],
  [GgmlType.I64, [1, 8]],
  [GgmlType.Q4_0, [32, 18]],
  [GgmlType.Q4_1, [32, 20]],
  [GgmlType.Q5_0, [32, 22]],
  [GgmlType.Q5_1, [32, 24]],
  [GgmlType.Q8_0, [32, 34]],
  [GgmlType.Q8_1, [32, 36]],
  [GgmlType.IQ4_NL, [32, 18]],
  [GgmlType.MXFP4, [32, 17]],
  [GgmlType.Q2_K, [256, 84]],
  [GgmlType.Q3_K, [256, 110]],
  [GgmlType.Q4_K, [256, 144]],
  [GgmlType.Q5_K, [256, 176]],
  [GgmlType.Q6_K, [256, 210]],
  [GgmlType.Q8_K, [256, 292]],
  [GgmlType.IQ2_XXS, [256, 66]],
  [GgmlType.IQ2_XS, [256, 74]],
  [GgmlType.IQ3_XXS, [256, 98]],
  [GgmlType.IQ1_S, [256, 50]],
  [GgmlType.IQ3_S, [256, 110]],
  [GgmlType.IQ2_S, [256, 82]],
  [GgmlType.IQ4_XS, [256, 136]],
  [GgmlType.IQ1_M, [256, 56]],
  [GgmlType.TQ1_0, [256, 54]],
  [GgmlType.TQ2_0, [256, 66]],
  [GgmlType.NVFP4, [64, 36]],
  [GgmlType.Q1_0, [128, 18]],
  [GgmlType.Q2_0, [64, 18]],
]);

// GGUF value types: fixed byte sizes (string = 8, array = 9 are variable).
const VALUE_SIZES: ReadonlyMap<number, number> = new Map([
  [0, 1],
  [1, 1],
  [2, 2],
  [3, 2],
  [4, 4],
  [5, 4],
  [6, 4],
  [7, 1],
  [10, 8],
  [11, 8],
  [12, 8],
]);
const TYPE_STRING = 8;
const TYPE_ARRAY = 9;

function corrupt(path: string, what: string): EnclaveError {
  return new EnclaveError('model_corrupt', `${path} ${what}`);
}

/**
 * Bounds-checked reader over the start of the file that never holds more
 * than one chunk (or one kept string) in memory and reads asynchronously, so
 * the event loop runs between chunks. Every length the file declares is
 * checked against what is left of the file and of MAX_HEADER_BYTES before
 * anything is read or allocated, so a damaged or hostile length is refused at
 * once instead of being read (or looped over) for gigabytes.
 */
class HeaderReader {
  /** File offset of the next byte to parse. */
  pos = 0;
  #window: Buffer = Buffer.alloc(0);
  #windowStart = 0;
  /** Where the header must end by: the end of the file or the cap, whichever comes first. */
  readonly #headerLimit: number;

  private readonly file: FileHandle;
  private readonly fileSize: number;
  private readonly path: string;

  constructor(options: { file: FileHandle; fileSize: number; path: string }) {
    ({ file: this.file, fileSize: this.fileSize, path: this.path } = options);
    this.#headerLimit = Math.min(this.fileSize, MAX_HEADER_BYTES);
  }

  /** Refuses `claimed` more bytes of header that the file or the cap cannot hold, saying what claimed them. */
  assertRoom(claimed: bigint, what: () => string): void {
    if (BigInt(this.pos) + claimed > BigInt(this.fileSize)) {
      throw corrupt(this.path, `is truncated or damaged: ${what()}, more than the rest of the file can hold.`);
    }
    if (BigInt(this.pos) + claimed > BigInt(MAX_HEADER_BYTES)) {
      throw corrupt(this.path, `is damaged or not a model: ${what()}, more than a model header may take (${HEADER_CAP_TEXT}; real headers, vocabulary included, are tens of MB at most).`);
    }
  }

  /** A string's bytes are cut off by the end of the file: said like any other header cut short. */
  #assertInFile(n: bigint): void {
    if (BigInt(this.pos) + n > BigInt(this.fileSize)) {
      throw corrupt(this.path, `is truncated or damaged: its header runs past the end of the file (${this.fileSize} bytes).`);
    }
  }

  /** Moves past n bytes, checking they are there; returns where they start. */
  #claim(n: bigint): number {
    this.#assertInFile(n);
    const end = BigInt(this.pos) + n;
    if (end > BigInt(MAX_HEADER_BYTES)) {
      throw corrupt(this.path, `is damaged or not a model: its header runs on past ${HEADER_CAP_TEXT}, more than any real model header (tens of MB at most).`);
    }
    const at = this.pos;
    this.pos = Number(end);
    return at;
  }

  /** n bytes at the cursor from the current window, or null when they must be read first. */
  #windowed(n: number): Buffer | null {
    const offset = this.pos - this.#windowStart;
    if (offset < 0 || offset + n > this.#window.length) return null;
    return this.#window.subarray(offset, offset + n);
  }

  /** The next n bytes (n is small, or a checked string length), advancing past them. */
  async #take(n: number): Promise<Buffer> {
    const fast = this.#windowed(n);
    if (fast) {
      this.#claim(BigInt(n));
      return fast;
    }
    const at = this.#claim(BigInt(n));
    const length = Math.min(Math.max(n, READ_CHUNK_BYTES), this.#headerLimit - at);
    const buffer = await readAt(this.file, at, length);
    // The file shrank under us: judge what is there now.
    if (buffer.length < n) throw corrupt(this.path, `is truncated or damaged: its header runs past the end of the file (${at + buffer.length} bytes).`);
    this.#window = buffer;
    this.#windowStart = at;
    return buffer.subarray(0, n);
  }

  /** A u64 from the window without awaiting, or null when the window does not hold it: the fast path for long arrays. */
  #u64Now(): bigint | null {
    const bytes = this.#windowed(8);
    if (!bytes) return null;
    this.pos += 8;
    return bytes.readBigUInt64LE(0);
  }

  async u32(): Promise<number> {
    return (await this.#take(4)).readUInt32LE(0);
  }
  async u64(): Promise<bigint> {
    return this.#u64Now() ?? (await this.#take(8)).readBigUInt64LE(0);
  }
  skip(n: bigint): void {
    this.#claim(n);
  }
  /** A string that is kept (a key or a value): its length is checked before anything is allocated. */
  async string(what: () => string): Promise<string> {
    const length = await this.u64();
    this.#assertInFile(length);
    this.assertRoom(length, () => `${what()} claims ${length} bytes`);
    return (await this.#take(Number(length))).toString('utf8');
  }
  async skipString(): Promise<void> {
    const length = await this.u64();
    this.#assertInFile(length);
    this.assertRoom(length, () => `a metadata string claims ${length} bytes`);
    this.pos += Number(length);
  }
  /**
   * Skips up to `count` strings whose lengths the window holds, without
   * awaiting, and says how many; it stops at one that needs a read or a
   * length to refuse (the slow way, skipString). A vocabulary is hundreds of
   * thousands of strings: an await each cost most of a second per header.
   */
  skipStringsNow(count: number): number {
    const window = this.#window;
    let at = this.pos - this.#windowStart;
    let skipped = 0;
    while (skipped < count && at >= 0 && at + 8 <= window.length) {
      // Lengths of 4 GiB and more (a non-zero high word) go the slow way, to be refused.
      if (window.readUInt32LE(at + 4) !== 0) break;
      const end = this.#windowStart + at + 8 + window.readUInt32LE(at);
      if (end > this.#headerLimit) break;
      at = end - this.#windowStart;
      skipped++;
    }
    this.pos = this.#windowStart + at;
    return skipped;
  }
  async scalar(type: number, key: string): Promise<string | number | boolean> {
    if (type === TYPE_STRING) return this.string(() => `the metadata value ${key}`);
    const fixed = VALUE_SIZES.get(type);
    if (fixed === undefined) throw corrupt(this.path, `is damaged: its metadata has an unknown value type ${type}.`);
    const b = await this.#take(fixed);
    switch (type) {
      case 0:
        return b.readUInt8(0);
      case 1:
        return b.readInt8(0);
      case 2:
        return b.readUInt16LE(0);
      case 3:
        return b.readInt16LE(0);
      case 4:
        return b.readUInt32LE(0);
      case 5:
        return b.readInt32LE(0);
      case 6:
        return b.readFloatLE(0);
      case 7:
        return b.readUInt8(0) !== 0;
      case 10:
        return Number(b.readBigUInt64LE(0));
      case 11:
        return Number(b.readBigInt64LE(0));
      default:
        return b.readDoubleLE(0); // 12
    }
  }
  async skipArray(key: string): Promise<void> {
    const elementType = await this.u32();
    // llama.cpp refuses arrays of arrays (gguf.cpp: "invalid GGUF type"), so no model it loads has them; refusing
    // them here also spares a walk over millions of tiny nested arrays.
    if (elementType === TYPE_ARRAY) throw corrupt(this.path, `is damaged or not a model llama.cpp can load: its metadata ${key} is an array of arrays.`);
    const count = await this.u64();
    const fixed = VALUE_SIZES.get(elementType);
    // Every element takes at least one byte (a string at least 8), so a count the header cannot hold is damage, not a long loop.
    const minimum = fixed ?? (elementType === TYPE_STRING ? 8 : undefined);
    if (minimum === undefined) throw corrupt(this.path, `is damaged: its metadata has an array of unknown type ${elementType}.`);
    this.assertRoom(count * BigInt(minimum), () => `a metadata array claims ${count} items (${key})`);
    if (fixed !== undefined) {
      this.skip(count * BigInt(fixed));
      return;
    }
    // assertRoom bounded count by the cap: it fits a number.
    for (let i = 0, n = Number(count); i < n; i++) {
      i += this.skipStringsNow(n - i);
      if (i < n) await this.skipString();
    }
  }
}

/**
 * Entries parsed between turns of the event loop. Reads from the window
 * resolve as microtasks, which run before anything else: without a real
 * turn now and then, a long tensor list held the core's event loop for
 * half a second.
 */
const YIELD_EVERY = 2048n;
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function parseHeader(c: HeaderReader, path: string): Promise<Omit<GgufHeader, 'path' | 'sizeBytes'>> {
  const magic = await c.u32().catch(() => null);
  if (magic !== MAGIC.readUInt32LE(0)) throw corrupt(path, 'is not a GGUF model file (it does not start with the GGUF magic).');
  const version = await c.u32();
  if (version !== 2 && version !== 3) throw corrupt(path, `is GGUF version ${version}, which this version of Enclave cannot read (it reads versions 2 and 3).`);
  const tensorCount = await c.u64();
  const kvCount = await c.u64();
  // A key/value pair takes at least 13 bytes, a tensor entry at least 28.
  c.assertRoom(kvCount * 13n + tensorCount * 28n, () => `its header claims ${kvCount} metadata entries and ${tensorCount} tensors`);
  if (tensorCount > BigInt(MAX_TENSORS) || kvCount > BigInt(MAX_METADATA_ENTRIES)) {
    throw corrupt(
      path,
      `is damaged or not a model: its header claims ${kvCount} metadata entries and ${tensorCount} tensors; Enclave reads at most ${MAX_METADATA_ENTRIES} of each (real models have under a hundred entries and a few thousand tensors).`,
    );
  }
  const metadata = new Map<string, string | number | boolean>();
  for (let i = 0n; i < kvCount; i++) {
    if (i % YIELD_EVERY === YIELD_EVERY - 1n) await yieldToEventLoop();
    const key = await c.string(() => `metadata key ${i}`);
    const type = await c.u32();
    if (type === TYPE_ARRAY) await c.skipArray(key);
    else metadata.set(key, await c.scalar(type, key));
  }
  const tensors: GgufTensor[] = [];
  for (let i = 0n; i < tensorCount; i++) {
    if (i % YIELD_EVERY === YIELD_EVERY - 1n) await yieldToEventLoop();
    const name = await c.string(() => `the name of tensor ${i}`);
    if (Buffer.byteLength(name) > MAX_TENSOR_NAME_BYTES) throw corrupt(path, `is damaged: tensor ${i} has a name of ${Buffer.byteLength(name)} bytes (llama.cpp allows ${MAX_TENSOR_NAME_BYTES}).`);
    const nDims = await c.u32();
    if (nDims < 1 || nDims > MAX_DIMS) throw corrupt(path, `is damaged: tensor ${name} has ${nDims} dimensions.`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) {
      const dim = await c.u64();
      if (dim > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(path, `is damaged: tensor ${name} has an impossible size.`);
      dims.push(Number(dim));
    }
    const ggmlType = await c.u32();
    const offset = await c.u64();
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
  return { version, metadata, tensors, dataOffset };
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

/** Up to `length` bytes from `position` (fewer at the end of the file); `length` is at most a chunk or a checked string. */
async function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(buffer, filled, length - filled, position + filled);
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
    header = { path, sizeBytes: size, ...(await parseHeader(new HeaderReader({ file, fileSize: size, path }), path)) };
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
