// Front door of the store: one SQLCipher 4 database per workstation.
import Database from 'better-sqlite3-multiple-ciphers';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { EnclaveError } from '../../shared/errors.js';
import { MIGRATIONS } from './migrations/index.js';
import { asReadable, asWritable, type ReadableDb, type WritableDb } from './handles.js';
import * as meta from './meta.js';

export type { ReadableDb, WritableDb } from './handles.js';
export * as auditBundle from './audit-bundle.js';

// Query modules, one per table group: each function takes a ReadableDb to read or a WritableDb to write.
export * as accounts from './accounts.js';
export * as auditBatches from './audit-batches.js';
export * as auditEvents from './audit-events.js';
export * as auditPrivateText from './audit-private-text.js';
export * as auditSigningKeys from './audit-signing-keys.js';
export * as chatSessions from './chat-sessions.js';
export * as contentKeys from './content-keys.js';
export * as meta from './meta.js';
export * as models from './models.js';
export * as preferences from './preferences.js';
export * as signInLockouts from './sign-in-lockouts.js';
export * as siemCursors from './siem-cursors.js';

/** The database's file name inside the data folder. */
export { DATABASE_FILE } from '../../shared/data-files.js';

type Db = Database.Database;

export interface Store {
  /** The read handle: pass it to query functions that only read. */
  readonly reader: ReadableDb;
  /** The write handle for a single autocommit statement; several writes that belong together go through transaction. */
  readonly writer: WritableDb;
  readonly path: string;
  /** Runs fn in one IMMEDIATE transaction: all of it is written, or none. */
  transaction<T>(fn: (db: WritableDb) => T): T;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  /**
   * Copies every page in the write-ahead log into the database and truncates
   * the log to nothing, so pages of what was deleted or rewritten do not
   * linger in the -wal file. Returns false when a reader held it back (the
   * log then stays as it was, to be checkpointed later).
   */
  checkpoint(): boolean;
  /**
   * Re-encrypts the whole database under newKey (32 bytes; the caller's to
   * zero), in one SQLite transaction: a crash leaves it wholly under the old
   * key (the rollback journal is played back by the next open with the old
   * key) or wholly under the new one. Needs this connection to be the only
   * one: DatabaseInUseError when another process (the app) has it open.
   * Where the new key is kept is the caller's business, and must be settled
   * crash-safely around this call (keys/index.ts does it for the key file).
   */
  rekey(newKey: Buffer): void;
  close(): void;
}

/** The database is open in another process (the Enclave app, another command): what needs it alone must wait. */
export class DatabaseInUseError extends EnclaveError {
  constructor(path: string) {
    super('storage_failed', `The database ${path} is open in another process (the Enclave app, or another enclave command). Quit Enclave on this computer and try again; nothing was changed.`);
    this.name = 'DatabaseInUseError';
  }
}

export interface OpenStoreOptions {
  path: string;
  key: Buffer;
  /** Open an existing database without changing it (the verifier). */
  readonly?: boolean;
}

/** SQLite result codes that mean the disk (or the database's page cap) is full. */
export function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_WRITE';
}

export function openStore(options: OpenStoreOptions): Store {
  if (options.key.length !== 32) throw new EnclaveError('invalid_input', 'The database key must be 32 bytes.');
  const existed = existsSync(options.path);
  if (options.readonly && !existed) throw new EnclaveError('invalid_input', `There is no database at ${options.path}.`);
  if (!existed) mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
  const db = new Database(options.path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  try {
    // SQLCipher 4 format, so stock SQLCipher tools open the file with the key.
    db.pragma(`cipher='sqlcipher'`);
    db.pragma(`legacy=4`);
    // SQLite takes the key only as pragma text: this hex string (and SQLite's
    // own copy of the pragma) cannot be zeroed, as JS strings are immutable; it
    // is built here and dropped at once. The Buffer is the caller's to zero.
    db.pragma(`key=${rawKeyText(options.key)}`);
    try {
      // The first read is where a wrong key shows.
      db.prepare('SELECT count(*) FROM sqlite_master').get();
    } catch (cause) {
      const code = (cause as { code?: string }).code;
      if (code === 'SQLITE_NOTADB') {
        throw new EnclaveError('storage_failed', `The database ${options.path} cannot be opened with this key (wrong key, or the file is not an Enclave database). Nothing was changed.`, { cause });
      }
      throw cause;
    }
    // Sorts, indices being built and temporary tables stay in memory:
    // SQLite3MultipleCiphers does not encrypt temporary files.
    db.pragma('temp_store = MEMORY');
    if (options.readonly) {
      checkSchemaVersion(db);
    } else {
      db.pragma('journal_mode = WAL');
      db.pragma('secure_delete = ON');
      db.pragma('synchronous = FULL');
      // Foreign keys are off while migrating (better-sqlite3 turns them on by
      // default), so a migration may rebuild a table others refer to; each
      // migration is checked before it commits.
      db.pragma('foreign_keys = OFF');
      migrate(db);
      db.pragma('foreign_keys = ON');
    }
  } catch (error) {
    db.close();
    throw error;
  }
  const reader = asReadable(db);
  const writer = asWritable(db);
  const store: Store = {
    reader,
    writer,
    path: options.path,
    transaction: (fn) => db.transaction(() => fn(asWritable(db))).immediate(),
    getMeta: (key) => meta.get(reader, key),
    setMeta: (key, value) => meta.set(writer, key, value),
    checkpoint: () => {
      const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
      return result !== undefined && result.busy === 0;
    },
    rekey: (newKey) => rekeyDatabase(db, options, newKey),
    close: () => {
      if (db.open) db.close();
    },
  };
  return store;
}

/** SQLite's key and rekey pragmas take the raw key as hex text (x'...'): not zeroable (see openStore). */
function rawKeyText(key: Buffer): string {
  return `"x'${key.toString('hex')}'"`;
}

const isBusy = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
};

function rekeyDatabase(db: Db, options: OpenStoreOptions, newKey: Buffer): void {
  if (options.readonly) throw new EnclaveError('invalid_input', 'A database opened read-only cannot be re-encrypted.');
  if (newKey.length !== 32) throw new EnclaveError('invalid_input', 'The new database key must be 32 bytes.');
  // SQLite3 Multiple Ciphers cannot rekey in WAL mode. Leaving WAL needs the
  // database alone (SQLITE_BUSY while another connection has it open: the
  // app), and EXCLUSIVE locking keeps it alone until the rekey is done, so no
  // process opens it under the old key halfway through.
  db.pragma('locking_mode = EXCLUSIVE');
  let journal: unknown;
  try {
    journal = db.pragma('journal_mode = DELETE', { simple: true });
  } catch (error) {
    db.pragma('locking_mode = NORMAL');
    if (isBusy(error)) throw new DatabaseInUseError(options.path);
    throw error;
  }
  try {
    if (journal !== 'delete') throw new DatabaseInUseError(options.path);
    db.pragma(`rekey=${rawKeyText(newKey)}`);
    // Reads back under the new key, through this connection.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } finally {
    // Back to how openStore left it: normal locking, write-ahead log.
    db.pragma('locking_mode = NORMAL');
    db.pragma('journal_mode = WAL');
  }
}

/**
 * Whether key opens the database, without changing anything else: no
 * migration, no journal mode. Opened for writing, because a crash in the middle
 * of a rekey leaves a hot journal that the right key plays back on this open.
 * False when SQLite says the key is wrong; other failures are thrown.
 */
export function keyOpensDatabase(path: string, key: Buffer): boolean {
  if (key.length !== 32) return false;
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma(`cipher='sqlcipher'`);
    db.pragma(`legacy=4`);
    db.pragma(`key=${rawKeyText(key)}`);
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'SQLITE_NOTADB') return false;
    throw error;
  } finally {
    db.close();
  }
}

function checkSchemaVersion(db: Db): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new EnclaveError('storage_failed', `The database was written by a newer Enclave (schema ${current}, this version knows ${latest}). Update Enclave; nothing was changed.`);
  }
  return current;
}

function migrate(db: Db): void {
  const current = checkSchemaVersion(db);
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      const broken = db.pragma('foreign_key_check') as unknown[];
      if (broken.length > 0) throw new EnclaveError('storage_failed', `Database migration ${migration.version} (${migration.name}) would break ${broken.length} reference(s); nothing was changed.`);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
}
