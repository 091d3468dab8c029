// The meta table: small named values (the audit chain head, what was pruned,
// the audit text key, the host id). Read and written on every audit event,
// so the statements are prepared once per connection.
import type { ReadableDb, WritableDb } from './handles.js';
import { prepared } from './prepared.js';

/** A meta row as stored. */
export interface MetaRow {
  key: string;
  value: string;
}

export function get(db: ReadableDb, key: string): string | undefined {
  return (prepared(db, 'SELECT value FROM meta WHERE key = ?').get(key) as Pick<MetaRow, 'value'> | undefined)?.value;
}

/** Sets the value, replacing the one there was. */
export function set(db: WritableDb, key: string, value: string): void {
  prepared(db, 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}

/** Adds a value that must not exist yet: a second writer fails (SQLITE_CONSTRAINT) instead of replacing it. */
export function insert(db: WritableDb, key: string, value: string): void {
  prepared(db, 'INSERT INTO meta (key, value) VALUES (?, ?)').run(key, value);
}

export function remove(db: WritableDb, key: string): void {
  prepared(db, 'DELETE FROM meta WHERE key = ?').run(key);
}
