// Hashing of model files. A model is allowed by its SHA-256, and models are
// gigabytes, so the hash is cached per path and reused while the file's size,
// modification time and change time are unchanged. The change time (ctime)
// matters: `touch -r` can restore an mtime after a swap, but nothing in user
// space can set ctime back.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { EnclaveError } from '../../shared/errors.js';
import type { Store } from '../store/index.js';

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

/** SHA-256 (hex) of a file, streamed so a model never sits in memory whole. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), hash);
  } catch (error) {
    throw modelFileError(path, error);
  }
  return hash.digest('hex');
}

interface HashCacheRow {
  size_bytes: number;
  mtime_ms: number;
  ctime_ms: number;
  sha256: string;
}

interface FileStamp {
  sizeBytes: number;
  mtimeMs: number;
  ctimeMs: number;
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.sizeBytes === b.sizeBytes && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

async function stampOf(path: string): Promise<FileStamp> {
  let stats;
  try {
    stats = await stat(path);
  } catch (error) {
    throw modelFileError(path, error);
  }
  if (!stats.isFile()) throw new EnclaveError('model_corrupt', `${path} is not a regular file.`);
  // The column is an integer; sub-millisecond precision is not worth a schema change.
  return { sizeBytes: stats.size, mtimeMs: Math.trunc(stats.mtimeMs), ctimeMs: Math.trunc(stats.ctimeMs) };
}

/**
 * SHA-256 of a model file, from model_hash_cache when the file's size, mtime
 * and ctime still match what was hashed; otherwise hashed now and cached.
 */
export async function hashModelFileCached(
  store: Store,
  path: string,
): Promise<{ sha256: string; sizeBytes: number; fromCache: boolean }> {
  const absolute = resolve(path);
  const before = await stampOf(absolute);
  const row = store.db.prepare('SELECT size_bytes, mtime_ms, ctime_ms, sha256 FROM model_hash_cache WHERE path = ?').get(absolute) as
    | HashCacheRow
    | undefined;
  if (row && sameStamp({ sizeBytes: row.size_bytes, mtimeMs: row.mtime_ms, ctimeMs: row.ctime_ms }, before)) {
    return { sha256: row.sha256, sizeBytes: before.sizeBytes, fromCache: true };
  }
  const sha256 = await sha256File(absolute);
  const after = await stampOf(absolute);
  if (!sameStamp(after, before)) {
    // The hash matches no one state of the file, so it must not be trusted or cached.
    throw new EnclaveError('model_corrupt', `The model file ${absolute} changed while it was being checked. Wait until it is fully copied, then try again.`);
  }
  store.db
    .prepare(
      `INSERT INTO model_hash_cache (path, size_bytes, mtime_ms, ctime_ms, sha256, hashed_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(path) DO UPDATE SET size_bytes = excluded.size_bytes, mtime_ms = excluded.mtime_ms, ctime_ms = excluded.ctime_ms,
         sha256 = excluded.sha256, hashed_at = excluded.hashed_at`,
    )
    .run(absolute, after.sizeBytes, after.mtimeMs, after.ctimeMs, sha256, Date.now());
  return { sha256, sizeBytes: after.sizeBytes, fromCache: false };
}
