// Hashing of model files. A model is allowed by its SHA-256, and models are
// gigabytes, so the hash is cached per path and reused while the file's size,
// modification time, change time and inode are unchanged. The change time
// (ctime) matters: `touch -r` can restore an mtime after a swap, but nothing in
// user space can set ctime back; the inode changes when a file is replaced by
// rename, the way deployment tools swap files.
import { createHash } from 'node:crypto';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EnclaveError } from '../../shared/errors.js';
import { models as modelRows, type Store } from '../store/index.js';

/** Maps a failed stat/open of a model file to the error the user should see. */
export function modelFileError(path: string, error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new EnclaveError('model_file_missing', `The model file ${path} does not exist.`, { cause: error });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new EnclaveError('model_file_missing', `The model file ${path} cannot be read (permission denied).`, { cause: error });
  }
  if (code === 'EISDIR') {
    return new EnclaveError('model_corrupt', `${path} is a folder, not a model file.`, { cause: error });
  }
  return error;
}

/** The file changed while it was hashed (still being copied, or swapped): check it again later. */
export class ModelFileChangingError extends EnclaveError {
  constructor(path: string) {
    super('model_corrupt', `The model file ${path} changed while it was being checked. Wait until it is fully copied, then try again.`);
  }
}

/**
 * Passes progress (0–1) on only when its whole percent changes: llama.cpp's
 * load and a multi-gigabyte hash report many times a second, and the status
 * bar needs no more than a hundred steps.
 */
export function byWholePercent(onProgress: (progress: number) => void): (progress: number) => void {
  let last = -1;
  return (progress) => {
    const percent = Math.floor(progress * 100);
    if (percent === last) return;
    last = percent;
    onProgress(percent / 100);
  };
}

/** Bytes hashed so far, of the file's size: for the status bar while a large model is checked. */
export type HashProgress = (hashedBytes: number, totalBytes: number) => void;

const HASH_CHUNK_BYTES = 8 << 20;

/**
 * SHA-256 (hex) of a file, read in chunks so a model never sits in memory
 * whole. The next chunk is read while the current one is hashed (two
 * buffers): measured about a quarter faster than a read stream, which waits
 * for each hash before asking for more.
 */
export async function sha256File(path: string, onProgress?: HashProgress): Promise<string> {
  const hash = createHash('sha256');
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (error) {
    throw modelFileError(path, error);
  }
  try {
    const total = onProgress ? (await file.stat()).size : 0;
    let spare = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
    let position = 0;
    let reading = file.read(Buffer.allocUnsafe(HASH_CHUNK_BYTES), 0, HASH_CHUNK_BYTES, position);
    for (;;) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) break;
      position += bytesRead;
      reading = file.read(spare, 0, HASH_CHUNK_BYTES, position);
      hash.update(buffer.subarray(0, bytesRead));
      spare = buffer;
      onProgress?.(position, total);
    }
  } catch (error) {
    throw modelFileError(path, error);
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

interface FileStamp {
  sizeBytes: number;
  mtimeMs: number;
  ctimeMs: number;
  inode: string;
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.sizeBytes === b.sizeBytes && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.inode === b.inode;
}

async function stampOf(path: string): Promise<FileStamp> {
  const identity = await fileIdentity(path);
  // The columns are integers; sub-millisecond precision is not worth a schema change.
  return {
    sizeBytes: Number(identity.size),
    mtimeMs: Number(identity.mtimeNs / 1_000_000n),
    ctimeMs: Number(identity.ctimeNs / 1_000_000n),
    inode: `${identity.dev}:${identity.ino}`,
  };
}

/** The cached SHA-256 of a model file when its size, times and inode still match; null when it must be hashed. */
export async function cachedModelHash(store: Store, path: string): Promise<{ sha256: string; sizeBytes: number } | null> {
  const absolute = resolve(path);
  const stamp = await stampOf(absolute);
  const row = modelRows.getCachedHash(store.reader, absolute);
  if (row && sameStamp({ sizeBytes: row.size_bytes, mtimeMs: row.mtime_ms, ctimeMs: row.ctime_ms, inode: row.inode }, stamp)) {
    return { sha256: row.sha256, sizeBytes: stamp.sizeBytes };
  }
  return null;
}

/**
 * SHA-256 of a model file, from model_hash_cache when the file's size, times
 * and inode still match what was hashed; otherwise (or when `fresh`) hashed
 * now and cached.
 */
export async function hashModelFileCached(
  store: Store,
  path: string,
  options: { fresh?: boolean; onProgress?: HashProgress } = {},
): Promise<{ sha256: string; sizeBytes: number; fromCache: boolean }> {
  const absolute = resolve(path);
  if (!options.fresh) {
    const cached = await cachedModelHash(store, absolute);
    if (cached) return { ...cached, fromCache: true };
  }
  const before = await stampOf(absolute);
  const sha256 = await sha256File(absolute, options.onProgress);
  const after = await stampOf(absolute);
  if (!sameStamp(after, before)) {
    // The hash matches no one state of the file, so it must not be trusted or cached.
    throw new ModelFileChangingError(absolute);
  }
  modelRows.saveCachedHash(store.writer, absolute, { size_bytes: after.sizeBytes, mtime_ms: after.mtimeMs, ctime_ms: after.ctimeMs, inode: after.inode, sha256 }, Date.now());
  return { sha256, sizeBytes: after.sizeBytes, fromCache: false };
}

/**
 * Which file a path leads to, and in what state: device, inode (the file id on
 * Windows), size and the modification and change times to the nanosecond.
 * Replacing the file by rename changes the inode; rewriting it in place
 * changes mtime and ctime; a write that restores mtime (touch -r) still
 * changes ctime, which user space cannot set back. On Windows libuv reports
 * the volume serial number as dev, the 64-bit file index as ino and the NTFS
 * ChangeTime as ctime, so the same comparison holds there.
 *
 * The window this leaves: llama.cpp opens the file by path after the check,
 * and maps it. The identity is compared after the load, so a file replaced
 * or rewritten in between is caught and unloaded; one rewritten after the
 * load is caught by the next check (every new session's prompt re-reads the
 * stamp), not at once. On Windows we would rather hold a handle that denies
 * writes and deletes while llama.cpp loads, but Node cannot open one: libuv
 * opens with FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, and its
 * only alternative (UV_FS_O_EXLOCK, share mode 0, not even exported by Node's
 * fs.constants) would deny llama.cpp's own read as well. That needs a native
 * addon; until then Windows relies on this comparison and the folder ACLs.
 */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export async function fileIdentity(path: string): Promise<FileIdentity> {
  let stats;
  try {
    // bigint: a Windows file id is 64 bits and would lose precision as a number.
    stats = await stat(path, { bigint: true });
  } catch (error) {
    throw modelFileError(path, error);
  }
  if (!stats.isFile()) throw new EnclaveError('model_corrupt', `${path} is not a regular file.`);
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs };
}

/** What differs between two identities of a file ('' when none): for the refusal's audit record. */
export function identityChanges(before: FileIdentity, after: FileIdentity): string {
  const changed: string[] = [];
  if (before.dev !== after.dev || before.ino !== after.ino) changed.push('replaced by another file');
  if (before.size !== after.size) changed.push('size');
  if (before.mtimeNs !== after.mtimeNs) changed.push('modification time');
  if (before.ctimeNs !== after.ctimeNs) changed.push('change time');
  return changed.join(', ');
}

/** The file a model path leads to now, symbolic links resolved, and that the hash cache's check still covers. */
export interface VerifiedModelFile {
  /** The real path (no symbolic links): what llama.cpp must be given, so a link changed later cannot redirect the load. */
  path: string;
  identity: FileIdentity;
  sha256: string;
}

/**
 * Resolves the model path (symbolic links included) and returns the file's
 * identity with its cached SHA-256, or null when the file there is not the
 * one last hashed for this path (its stamp differs): then it must be checked again.
 */
export async function verifiedModelFile(store: Store, path: string): Promise<VerifiedModelFile | null> {
  const absolute = resolve(path);
  let real: string;
  try {
    real = await realpath(absolute);
  } catch (error) {
    throw modelFileError(absolute, error);
  }
  const identity = await fileIdentity(real);
  const row = modelRows.getCachedHash(store.reader, absolute);
  // The cache row was stamped through the listed path (stat follows links): the same stamp means the same file.
  const stamp: FileStamp = {
    sizeBytes: Number(identity.size),
    mtimeMs: Number(identity.mtimeNs / 1_000_000n),
    ctimeMs: Number(identity.ctimeNs / 1_000_000n),
    inode: `${identity.dev}:${identity.ino}`,
  };
  if (!row || !sameStamp({ sizeBytes: row.size_bytes, mtimeMs: row.mtime_ms, ctimeMs: row.ctime_ms, inode: row.inode }, stamp)) return null;
  return { path: real, identity, sha256: row.sha256 };
}
