// Queries of evaluation_models (the files an evaluator added, migration 1)
// and model_hash_cache (a model file's SHA-256 by its path and stamp, so a
// multi-gigabyte file is not re-hashed at every start). What is allowed to
// load is inference's business (inference/models.ts, model-file.ts).
import type { ReadableDb, WritableDb } from './handles.js';

/** An evaluation_models row as read. */
export interface EvaluationModelRow {
  id: string;
  name: string;
  path: string;
  sha256: string;
  size_bytes: number;
  is_test_model: number;
}

/** A model_hash_cache row as read. */
export interface HashCacheRow {
  size_bytes: number;
  mtime_ms: number;
  ctime_ms: number;
  inode: string;
  sha256: string;
}

/** The evaluator's models, newest first. */
export function evaluationModels(db: ReadableDb): EvaluationModelRow[] {
  return db.prepare('SELECT id, name, path, sha256, size_bytes, is_test_model FROM evaluation_models ORDER BY created_at DESC').all() as EvaluationModelRow[];
}

export function insertEvaluationModel(db: WritableDb, row: EvaluationModelRow, createdAt: number): void {
  db.prepare('INSERT INTO evaluation_models (id, name, path, sha256, size_bytes, is_test_model, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    row.id,
    row.name,
    row.path,
    row.sha256,
    row.size_bytes,
    row.is_test_model,
    createdAt,
  );
}

/** What was hashed at this absolute path, and when the file had which stamp. */
export function getCachedHash(db: ReadableDb, absolutePath: string): HashCacheRow | undefined {
  return db.prepare('SELECT size_bytes, mtime_ms, ctime_ms, inode, sha256 FROM model_hash_cache WHERE path = ?').get(absolutePath) as HashCacheRow | undefined;
}

export function saveCachedHash(db: WritableDb, absolutePath: string, row: HashCacheRow, hashedAt: number): void {
  db.prepare(
    `INSERT INTO model_hash_cache (path, size_bytes, mtime_ms, ctime_ms, inode, sha256, hashed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(path) DO UPDATE SET size_bytes = excluded.size_bytes, mtime_ms = excluded.mtime_ms, ctime_ms = excluded.ctime_ms,
       inode = excluded.inode, sha256 = excluded.sha256, hashed_at = excluded.hashed_at`,
  ).run(absolutePath, row.size_bytes, row.mtime_ms, row.ctime_ms, row.inode, row.sha256, hashedAt);
}
