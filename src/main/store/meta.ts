// Queries of the meta table (key/value settings of this database) through a
// read or write handle: for a database opened read-only (enclave doctor), and
// for writes that belong in a caller's transaction. Store.getMeta/setMeta
// stay for single autocommit use.
import type { ReadableDb, WritableDb } from './handles.js';

export function getValue(db: ReadableDb, key: string): string | undefined {
  return (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
}

export function setValue(db: WritableDb, key: string, value: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}
