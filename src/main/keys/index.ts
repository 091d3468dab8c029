// Front door of the keys service: the database key and its key-file form. The
// key file is allowed only by the evaluation policy and by tests: in production
// the key is wrapped by the OS key store in main (electron/key-protector.ts).
//
// The key is a Buffer from the moment it is read to the moment the store is
// open, and whoever read it zeroes it then (createCore does for the core).
// What cannot be zeroed: the hex text of SQLite's `key` pragma (store/index.ts)
// and, in the desktop app, the hex string handed to the core process and the
// one Electron's safeStorage returns; JS strings are immutable and are freed
// only when the garbage collector gets to them.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { EnclaveError } from '../../shared/errors.js';
import { FILE_SIZE_LIMITS, readLimitedFileSync, UnreadableFileError } from '../files/index.js';

export const DATABASE_KEY_BYTES = 32;
/** The key file's name in the data directory (evaluation and tests only). */
export const KEY_FILE = 'database.key';

export function generateDatabaseKey(): Buffer {
  return randomBytes(DATABASE_KEY_BYTES);
}

/**
 * The one rule for every way a key is kept (key file here, OS key store in
 * electron/key-protector.ts): a database that holds data can only be opened
 * with the key it was made with, so when its key is missing a new key must
 * never be made; that would hide the loss and, at the next write, risk the
 * data. An empty file (a first start that stopped before writing anything)
 * holds nothing to lose.
 */
export function databaseHoldsData(databasePath: string): boolean {
  // The write-ahead log counts too: committed transactions may live only there until a checkpoint.
  return [databasePath, `${databasePath}-wal`].some((path) => {
    try {
      return statSync(path).size > 0;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      // Cannot tell (permission, not a file): assume it does, and make nothing.
      return true;
    }
  });
}

/** The database exists but its key file does not: say so, and what to do, and make nothing. */
export class MissingKeyFileError extends EnclaveError {
  constructor(keyPath: string, databasePath: string) {
    super(
      'storage_failed',
      `The database key file ${keyPath} is missing, but the database ${databasePath} exists. Restore the key file from your backup to ${keyPath}; ` +
        'without it the database cannot be opened. Nothing was created or changed.',
    );
    this.name = 'MissingKeyFileError';
  }
}

const isHexDigit = (byte: number): boolean => (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
const isSpace = (byte: number): boolean => byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
const hexValue = (byte: number): number => (byte <= 0x39 ? byte - 0x30 : (byte | 0x20) - 0x61 + 10);

/**
 * The key in a key file's bytes (64 hex digits, white space around them
 * ignored), decoded without making a string of it; null when the bytes are
 * not exactly that. Says why not in `problem`.
 */
function decodeKeyText(raw: Buffer): { key: Buffer } | { problem: string } {
  let start = 0;
  let end = raw.length;
  while (start < end && isSpace(raw[start]!)) start++;
  while (end > start && isSpace(raw[end - 1]!)) end--;
  if (start === end) return { problem: 'is empty' };
  const length = end - start;
  for (let i = start; i < end; i++) {
    if (!isHexDigit(raw[i]!)) return { problem: `holds a character that is not a hex digit (at byte ${i + 1})` };
  }
  if (length !== DATABASE_KEY_BYTES * 2) return { problem: `holds ${length} hex digits, not ${DATABASE_KEY_BYTES * 2}` };
  const key = Buffer.alloc(DATABASE_KEY_BYTES);
  for (let i = 0; i < DATABASE_KEY_BYTES; i++) key[i] = (hexValue(raw[start + 2 * i]!) << 4) | hexValue(raw[start + 2 * i + 1]!);
  return { key };
}

/** The key as the key file holds it (hex and a newline), built without a string that could not be zeroed. */
function hexLine(key: Buffer): Buffer {
  const digits = Buffer.from('0123456789abcdef', 'latin1');
  const line = Buffer.alloc(key.length * 2 + 1);
  for (let i = 0; i < key.length; i++) {
    line[2 * i] = digits[key[i]! >> 4]!;
    line[2 * i + 1] = digits[key[i]! & 0x0f]!;
  }
  line[line.length - 1] = 0x0a;
  return line;
}

/**
 * Reads a key file: 64 hex characters (surrounding white space ignored). Never
 * changes the file. On POSIX a key file that group or others may read (or
 * change) is refused, naming the chmod that fixes it: it is never fixed
 * silently, since whoever could read it may already have the key.
 */
export function readKeyFile(path: string): Buffer {
  // Which of two keys opens the database is for settleInterruptedRekey to find out, not for a reader to guess.
  if (existsSync(pendingKeyPath(path))) throw new InterruptedRekeyError(path);
  return readKeyFileBytes(path);
}

function readKeyFileBytes(path: string): Buffer {
  let raw: Buffer;
  try {
    raw = readLimitedFileSync(path, { maxBytes: FILE_SIZE_LIMITS.keyFile, ownerOnly: true });
  } catch (error) {
    if (error instanceof UnreadableFileError) {
      throw new EnclaveError('invalid_input', `The key file ${error.message}. Nothing was changed.`, { cause: error });
    }
    throw error;
  }
  try {
    const decoded = decodeKeyText(raw);
    if ('problem' in decoded) {
      throw new EnclaveError(
        'invalid_input',
        `The key file ${path} ${decoded.problem}: it must hold the 256-bit database key as 64 hex characters. It is damaged or not a key file; restore it from your backup. Nothing was changed.`,
      );
    }
    return decoded.key;
  } finally {
    raw.fill(0);
  }
}

// `enclave db rekey` with a key file. The new key is written beside the old
// one first, as <key file>.new (fsync'd), then the database is re-encrypted
// in one SQLite transaction, then the new file is renamed over the old one.
// At every moment one of the two files opens the database; after a crash both
// may exist, and settleInterruptedRekey decides by trying them: the old key
// first (which also plays back the rollback journal of a rekey cut short),
// then the new one.

/** Where the new key waits while a rekey is under way. */
export function pendingKeyPath(keyPath: string): string {
  return `${keyPath}.new`;
}

/** Both key files exist: a rekey was cut short, and only trying them can say which one opens the database. */
export class InterruptedRekeyError extends EnclaveError {
  constructor(keyPath: string) {
    super(
      'storage_failed',
      `An interrupted \`enclave db rekey\` left two key files: ${keyPath} and ${pendingKeyPath(keyPath)}. ` +
        `Run \`enclave db rekey --recover --data-dir <data folder> --key-file ${keyPath}\`, which keeps the one that opens the database. Nothing was changed.`,
    );
    this.name = 'InterruptedRekeyError';
  }
}

/** Makes the rename (or removal) of a file in the folder durable. Windows cannot open a folder; NTFS journals the rename. */
function syncFolder(path: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dirname(path), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes the new key to <key file>.new (mode 0600, never over an existing file) and makes it durable. */
export function writePendingKeyFile(keyPath: string, key: Buffer): void {
  const path = pendingKeyPath(keyPath);
  const text = hexLine(key);
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(path, 0o600);
    syncFolder(path);
  } catch (cause) {
    throw new EnclaveError('storage_failed', `Cannot write the new key file ${path}: ${(cause as Error).message}. The database was not changed.`, { cause });
  } finally {
    text.fill(0);
  }
}

/** The database is under the new key: the new key file replaces the old one (an atomic rename). */
export function commitPendingKeyFile(keyPath: string): void {
  renameSync(pendingKeyPath(keyPath), keyPath);
  syncFolder(keyPath);
}

/** The database stayed under the old key: the new key file goes. */
export function discardPendingKeyFile(keyPath: string): void {
  rmSync(pendingKeyPath(keyPath), { force: true });
  syncFolder(keyPath);
}

export type RekeySettlement = 'none' | 'rolled-back' | 'completed';

/**
 * After a crash during `enclave db rekey`: when <key file>.new exists, keeps
 * whichever key opens the database. The old key first: it opens the database
 * unless the rekey committed, and this open plays back the journal of a
 * rekey cut short; then the new key ('completed': renamed over the old file).
 * When neither opens, both files are kept and it says so. 'none' when there
 * was nothing to settle. keyOpensDatabase is the store's (store/index.ts);
 * passed in so that Electron main, which reads key files, never loads the store.
 */
export function settleInterruptedRekey(keyPath: string, databasePath: string, keyOpensDatabase: (databasePath: string, key: Buffer) => boolean): RekeySettlement {
  const pending = pendingKeyPath(keyPath);
  if (!existsSync(pending)) return 'none';
  if (!existsSync(databasePath)) {
    // No database to try them on: the old key is the one a backup of it needs.
    discardPendingKeyFile(keyPath);
    return 'rolled-back';
  }
  const oldKey = readKeyFileBytes(keyPath);
  try {
    if (keyOpensDatabase(databasePath, oldKey)) {
      discardPendingKeyFile(keyPath);
      return 'rolled-back';
    }
  } finally {
    oldKey.fill(0);
  }
  const newKey = readKeyFileBytes(pending);
  try {
    if (keyOpensDatabase(databasePath, newKey)) {
      commitPendingKeyFile(keyPath);
      return 'completed';
    }
  } finally {
    newKey.fill(0);
  }
  throw new EnclaveError(
    'storage_failed',
    `Neither ${keyPath} nor ${pending} opens the database ${databasePath}. Both were kept; restore the database or its key from your backup. Nothing was changed.`,
  );
}

/**
 * Reads the key file; on first run (no key file and no database holding data)
 * creates one with a fresh key (mode 0600). Two key files (an interrupted
 * rekey) are an InterruptedRekeyError: settle them first (settleInterruptedRekey). A missing key file beside a
 * database is an error (MissingKeyFileError); a damaged one is an error too,
 * and neither is ever replaced.
 */
export function loadOrCreateKeyFile(path: string, options: { databasePath: string }): Buffer {
  try {
    return readKeyFile(path);
  } catch (error) {
    const missing = error instanceof EnclaveError && error.cause instanceof UnreadableFileError && error.cause.errno === 'ENOENT';
    if (!missing) throw error;
  }
  if (databaseHoldsData(options.databasePath)) throw new MissingKeyFileError(path, options.databasePath);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = generateDatabaseKey();
  const text = hexLine(key);
  try {
    // wx: never over a file that appeared meanwhile (or a dangling symlink).
    writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  } catch (cause) {
    key.fill(0);
    throw new EnclaveError('storage_failed', `Cannot create the key file ${path}: ${(cause as Error).message}. Nothing was changed.`, { cause });
  } finally {
    text.fill(0);
  }
  chmodSync(path, 0o600);
  return key;
}

// Which OS key store backend may wrap the key (used by electron/key-protector.ts).
export * from './key-store-policy.js';
// Where the key is kept, as `enclave db rekey` sees it.
export * from './custody.js';
