// The database key, kept on disk only wrapped by the OS key store (DPAPI on
// Windows, Keychain on macOS, libsecret/KWallet on Linux) via Electron's
// safeStorage. Only a policy that sets storage.allowKeyFile (evaluation) may
// fall back to a plain key file, and the log says so. Which backend may be used
// (never basic_text under managed policy, never a weaker one than the last) is
// decided by keys/key-store-policy.ts; database-key.backend.json records the
// backend that wrapped the key.
import { safeStorage } from 'electron';
import { randomBytes } from 'node:crypto';
import { existsSync, fsyncSync, mkdirSync, openSync, closeSync, renameSync, rmSync, writeSync } from 'node:fs';
import { EnclaveError } from '../../shared/errors.js';
import { FILE_SIZE_LIMITS, readLimitedFileSync } from '../files/index.js';
import { dirname, join } from 'node:path';
import {
  DAMAGED_RECORD,
  DATABASE_KEY_BYTES,
  databaseHoldsData,
  decideKeyStore,
  describeBackend,
  effectiveBackend,
  formatBackendRecord,
  KEY_FILE,
  loadOrCreateKeyFile,
  parseBackendRecord,
  readKeyFile,
  type KeyCustody,
  type KeyOpensDatabase,
  type KeyStoreBackend,
  type RekeySettlement,
} from '../keys/index.js';
import { WRAPPED_KEY_FILE } from '../../shared/data-files.js';

export { WRAPPED_KEY_FILE };
/** Beside the wrapped key while `Enclave db rekey` runs: the new key, wrapped (see wrappedKeyCustody). */
export const PENDING_WRAPPED_KEY_FILE = `${WRAPPED_KEY_FILE}.new`;
/** Beside the wrapped key: which key store backend wrapped it (keys/key-store-policy.ts). Older installs have none; it is written at the next start. */
export const BACKEND_RECORD_FILE = 'database-key.backend.json';
/** Evaluation only: the key in the clear, in the data folder, where the headless core and the `enclave` tool look too. */
export const PLAIN_KEY_FILE = KEY_FILE;

/** Enclave must not start; `message` is written for the person at the screen. */
export class KeyProtectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyProtectionError';
  }
}

export interface DatabaseKey {
  key: Buffer;
  protection: 'os-key-store' | 'key-file';
  /** Where the (wrapped) key lives, for the log. */
  path: string;
}

export interface ObtainKeyOptions {
  /** Holds the wrapped key. */
  userDataDir: string;
  /** The core's data folder: holds the evaluation key file. */
  dataDir: string;
  /** The database the key opens: if it exists, a lost key must not be replaced by a new one. */
  databasePath: string;
  /** storage.allowKeyFile of a valid policy; false when the policy is missing or invalid. */
  allowKeyFile: boolean;
  /** False only for a valid policy in evaluation mode; a missing or invalid policy counts as managed. */
  managed: boolean;
  /**
   * Loads the store's keyOpensDatabase, to settle an interrupted `Enclave db rekey`
   * (both wrapped files there). A loader: main loads the store only then.
   */
  loadKeyOpensDatabase?: () => Promise<KeyOpensDatabase>;
  log?: (line: string) => void;
}

export async function obtainDatabaseKey(options: ObtainKeyOptions): Promise<DatabaseKey> {
  const log = options.log ?? ((line: string) => console.log(line));
  const wrappedPath = join(options.userDataDir, WRAPPED_KEY_FILE);
  const plainPath = join(options.dataDir, PLAIN_KEY_FILE);
  const recordPath = join(options.userDataDir, BACKEND_RECORD_FILE);
  const available = await safeStorage.isAsyncEncryptionAvailable();
  const backend = effectiveBackend(process.platform, process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : '');
  const decision = decideKeyStore({ platform: process.platform, backend, recordedBackend: readBackendRecord(recordPath), managed: options.managed });
  if (available) {
    // Before anything is read, moved or wrapped: a refused backend changes nothing.
    if (!decision.allowed) throw new KeyProtectionError(decision.message);
    if (decision.warning) log(decision.warning);
  }
  const wrapAndRecord = async (key: Buffer): Promise<void> => {
    await writeWrapped(wrappedPath, key);
    // After the wrapped key: a record never names a stronger backend than the file really has.
    writeAtomically(recordPath, formatBackendRecord(backend));
  };
  const rewrap = decision.allowed && decision.rewrap;
  const pendingPath = join(options.userDataDir, PENDING_WRAPPED_KEY_FILE);

  if (existsSync(wrappedPath) || existsSync(pendingPath)) {
    if (!available) {
      throw new KeyProtectionError(
        `The database key is protected by this computer's key store, which is not available right now (${keyStoreName()}). ` +
          'Sign in to the desktop session normally (the key store unlocks with it) and start Enclave again.',
      );
    }
    if (existsSync(pendingPath)) {
      // An `Enclave db rekey` was cut short: keep whichever key opens the database before reading either.
      if (!options.loadKeyOpensDatabase) throw new KeyProtectionError(new InterruptedWrappedRekeyError(pendingPath).message);
      const custody = wrappedKeyCustody({ userDataDir: options.userDataDir, managed: options.managed });
      const settled = await custody.settleInterruptedRekey(options.databasePath, await options.loadKeyOpensDatabase());
      log(
        settled === 'completed'
          ? `[key] An interrupted \`Enclave db rekey\` had re-encrypted the database: its new wrapped key now replaces the old one.`
          : `[key] An interrupted \`Enclave db rekey\` had not re-encrypted the database: it stays under its key, and the unused new wrapped key was removed.`,
      );
    }
    const { key, shouldReEncrypt } = await unwrap(wrappedPath);
    // The key store rotated its own key; or there is no record yet (an older install), or the
    // backend now is stronger than the recorded one: wrap it again, so that the record says
    // truly which backend protects the file.
    if (shouldReEncrypt || rewrap) {
      await wrapAndRecord(key);
      log(`[key] The database key was wrapped again by ${describeBackend(backend)} and the backend recorded in ${recordPath}.`);
    }
    return { key, protection: 'os-key-store', path: wrappedPath };
  }

  if (existsSync(plainPath)) {
    const key = readKeyFile(plainPath);
    if (!available) {
      if (!options.allowKeyFile) throw noKeyStore();
      log(`[key] Evaluation mode: the database key is read from the key file ${plainPath}, which protects nothing; do not use this workstation for real patient data.`);
      return { key, protection: 'key-file', path: plainPath };
    }
    // The key store has become available (or policy no longer allows key files):
    // wrap the existing key rather than make a new one, which would orphan the database.
    await wrapAndRecord(key);
    rmSync(plainPath, { force: true });
    log(`[key] The database key was moved from the key file ${plainPath} into ${keyStoreName()}; the key file was deleted.`);
    return { key, protection: 'os-key-store', path: wrappedPath };
  }

  if (databaseHoldsData(options.databasePath)) {
    // A new key would not open it, and would hide what happened (the rule is keys/index.ts's, shared with the key file).
    throw new KeyProtectionError(
      `The Enclave database ${options.databasePath} exists, but its key (${wrappedPath}) is missing. ` +
        'A wrapped key can only be restored on the same computer and user account it was made on. Contact IT; nothing was changed.',
    );
  }

  if (available) {
    const key = randomBytes(DATABASE_KEY_BYTES);
    await wrapAndRecord(key);
    log(`[key] A new database key was generated and wrapped by ${keyStoreName()} in ${wrappedPath}.`);
    return { key, protection: 'os-key-store', path: wrappedPath };
  }

  if (!options.allowKeyFile) throw noKeyStore();
  const key = loadOrCreateKeyFile(plainPath, { databasePath: options.databasePath });
  log(
    `[key] Evaluation mode: ${keyStoreName()} is not available and the policy allows a key file, so the database key is kept in the clear in ${plainPath}. ` +
      'This protects nothing; do not use this workstation for real patient data.',
  );
  return { key, protection: 'key-file', path: plainPath };
}

function keyStoreName(): string {
  switch (process.platform) {
    case 'win32':
      return 'Windows DPAPI';
    case 'darwin':
      return 'the macOS Keychain';
    default:
      return 'the desktop key store (libsecret or KWallet)';
  }
}

function noKeyStore(): KeyProtectionError {
  return new KeyProtectionError(
    `Enclave keeps its database key only in ${keyStoreName()}, and it is not available on this computer. ` +
      (process.platform === 'linux'
        ? 'Install and unlock GNOME Keyring or KWallet for this desktop session, then start Enclave again. '
        : 'Start Enclave from a normal desktop session of your own account. ') +
      'If the problem stays, contact IT.',
  );
}

/**
 * The existing key, for `Enclave doctor`: never creates, moves or re-wraps
 * anything. Null when there is no wrapped key or no key store to unwrap it.
 */
export async function readWrappedDatabaseKey(userDataDir: string): Promise<Buffer | null> {
  const path = join(userDataDir, WRAPPED_KEY_FILE);
  if (!existsSync(path) || !safeStorage.isEncryptionAvailable()) return null;
  let wrapped: Buffer;
  try {
    wrapped = readWrappedFile(path);
  } catch {
    return null;
  }
  const hex = await safeStorage.decryptStringAsync(wrapped).then(
    (r) => r.result,
    () => '',
  );
  return /^[0-9a-f]{64}$/.test(hex) ? Buffer.from(hex, 'hex') : null;
}

/** The wrapped key file, in the user's profile: a regular file of a few hundred bytes, never a FIFO or a device that would stall startup. */
function readWrappedFile(path: string): Buffer {
  return readLimitedFileSync(path, { maxBytes: FILE_SIZE_LIMITS.secret });
}

async function unwrap(path: string): Promise<{ key: Buffer; shouldReEncrypt: boolean }> {
  let hex: string;
  let shouldReEncrypt = false;
  let wrapped: Buffer;
  try {
    wrapped = readWrappedFile(path);
  } catch (cause) {
    throw new KeyProtectionError(`The wrapped database key cannot be read: ${(cause as Error).message}. Nothing was changed. Contact IT.`, { cause });
  }
  try {
    const result = await safeStorage.decryptStringAsync(wrapped);
    hex = result.result;
    shouldReEncrypt = result.shouldReEncrypt;
  } catch (cause) {
    throw new KeyProtectionError(
      `The database key in ${path} cannot be unwrapped by ${keyStoreName()}. This happens when the Windows profile, Keychain or key ring was reset or the file was copied from another account. ` +
        'Without the key the database cannot be opened; nothing was changed. Contact IT.',
      { cause },
    );
  }
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new KeyProtectionError(`The wrapped database key in ${path} is damaged; nothing was changed. Contact IT.`);
  // shouldReEncrypt: the key store rotated its own key; the caller wraps ours again under the new one.
  return { key: Buffer.from(hex, 'hex'), shouldReEncrypt };
}

/**
 * Wraps and writes atomically (temp file, fsync, rename), then reads it back
 * through the key store: a key that cannot be unwrapped again must never be
 * used to encrypt a database.
 */
async function writeWrapped(path: string, key: Buffer): Promise<void> {
  writeAtomically(path, await wrapChecked(key));
}

/** The key wrapped by the key store, and read back unchanged through it. */
async function wrapChecked(key: Buffer): Promise<Buffer> {
  let wrapped: Buffer;
  try {
    wrapped = await safeStorage.encryptStringAsync(key.toString('hex'));
  } catch (cause) {
    throw new KeyProtectionError(`${keyStoreName()} refused to protect the database key: ${(cause as Error).message}`, { cause });
  }
  const roundTrip = await safeStorage.decryptStringAsync(wrapped).catch(() => null);
  if (roundTrip?.result !== key.toString('hex')) throw new KeyProtectionError(`${keyStoreName()} did not give the database key back unchanged; it is not safe to use.`);
  return wrapped;
}

/** Temp file, fsync, rename: a crash leaves the old file or the new one, never half of one. */
function writeAtomically(path: string, content: Buffer | string): void {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/** The recorded backend, null when there is no record; an unreadable one reads as damaged (the strongest, see key-store-policy.ts). */
function readBackendRecord(path: string): string | null {
  if (!existsSync(path)) return null;
  try {
    return parseBackendRecord(readLimitedFileSync(path, { maxBytes: FILE_SIZE_LIMITS.secret }).toString('utf8'));
  } catch {
    return DAMAGED_RECORD;
  }
}

// `Enclave db rekey` with the key kept by the OS key store. The same order as
// the key file's (cli/rekey.ts): the new key is wrapped into
// database-key.wrapped.new (fsync'd) before the database is re-encrypted, and
// renamed over database-key.wrapped after. The backend record is written after
// the rename, so it never names a stronger backend than the wrapped file has
// (the record is the backend that wrapped the old key until then, which the
// key store policy allowed no weaker than now).

/** Both wrapped keys there and nothing here can settle them. */
class InterruptedWrappedRekeyError extends EnclaveError {
  constructor(pendingPath: string) {
    super(
      'storage_failed',
      `An interrupted \`Enclave db rekey\` left a new wrapped key (${pendingPath}) beside the old one. ` +
        'Run `Enclave db rekey --recover` (or start Enclave), which keeps the one that opens the database. Nothing was changed.',
    );
    this.name = 'InterruptedWrappedRekeyError';
  }
}

/** The key store's refusals, as the CLI reports errors: a clear message and exit code 2. */
function asEnclaveError(error: unknown): unknown {
  return error instanceof KeyProtectionError ? new EnclaveError('storage_failed', error.message, { cause: error }) : error;
}

/** Makes a rename (or removal) in the folder durable. Windows cannot open a folder; NTFS journals the rename. */
function syncFolder(path: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dirname(path), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The key in a wrapped file, or null when it cannot be read or unwrapped (for settling, which tries both). */
async function tryUnwrap(path: string): Promise<Buffer | null> {
  try {
    return (await unwrap(path)).key;
  } catch {
    return null;
  }
}

export interface WrappedCustodyOptions {
  userDataDir: string;
  /** As for obtainDatabaseKey: only a valid evaluation policy relaxes the key store rules. */
  managed: boolean;
}

/** The database key kept wrapped by the OS key store, as `Enclave db rekey` needs it (keys/custody.ts). */
export function wrappedKeyCustody(options: WrappedCustodyOptions): KeyCustody {
  const wrappedPath = join(options.userDataDir, WRAPPED_KEY_FILE);
  const pendingPath = join(options.userDataDir, PENDING_WRAPPED_KEY_FILE);
  const recordPath = join(options.userDataDir, BACKEND_RECORD_FILE);
  /** The backend that wrapped the pending key in this process; the record follows it at the commit. */
  let pendingBackend: KeyStoreBackend | null = null;

  /** The key store's backend, if it is there and the policy allows it (the same rules as at start); otherwise nothing is touched. */
  const allowedBackend = async (): Promise<KeyStoreBackend> => {
    if (!(await safeStorage.isAsyncEncryptionAvailable())) {
      throw new EnclaveError(
        'storage_failed',
        `The database key is protected by this computer's key store, which is not available right now (${keyStoreName()}). Run this from the desktop session of the account that runs Enclave. Nothing was changed.`,
      );
    }
    const backend = effectiveBackend(process.platform, process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : '');
    const decision = decideKeyStore({ platform: process.platform, backend, recordedBackend: readBackendRecord(recordPath), managed: options.managed });
    if (!decision.allowed) throw new EnclaveError('storage_failed', `${decision.message} Nothing was changed.`);
    return backend;
  };

  return {
    keyStore: 'os-key-store',
    location: wrappedPath,
    pendingLocation: pendingPath,
    async readKey() {
      await allowedBackend();
      if (existsSync(pendingPath)) throw new InterruptedWrappedRekeyError(pendingPath);
      if (!existsSync(wrappedPath)) throw new EnclaveError('storage_failed', `There is no wrapped database key at ${wrappedPath}. Nothing was changed.`);
      try {
        return (await unwrap(wrappedPath)).key;
      } catch (error) {
        throw asEnclaveError(error);
      }
    },
    async writePendingKey(key) {
      const backend = await allowedBackend();
      let wrapped: Buffer;
      try {
        wrapped = await wrapChecked(key);
      } catch (error) {
        throw asEnclaveError(error);
      }
      try {
        // wx: never over a pending key an earlier rekey left (settling decides about that one).
        const fd = openSync(pendingPath, 'wx', 0o600);
        try {
          writeSync(fd, wrapped);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        syncFolder(pendingPath);
      } catch (cause) {
        throw new EnclaveError('storage_failed', `Cannot write the new wrapped key ${pendingPath}: ${(cause as Error).message}. The database was not changed.`, { cause });
      }
      pendingBackend = backend;
    },
    async commitPendingKey(key) {
      const backend = pendingBackend ?? (await allowedBackend());
      if (existsSync(pendingPath)) {
        renameSync(pendingPath, wrappedPath);
        syncFolder(wrappedPath);
      } else {
        // An app that started meanwhile settled while the database was still under the old key, and removed the
        // pending key: wrapped again from memory (atomically), so that the database is never under a key kept nowhere.
        try {
          await writeWrapped(wrappedPath, key);
        } catch (error) {
          throw asEnclaveError(error);
        }
      }
      writeAtomically(recordPath, formatBackendRecord(backend));
      pendingBackend = null;
    },
    async settleInterruptedRekey(databasePath: string, keyOpensDatabase: KeyOpensDatabase): Promise<RekeySettlement> {
      if (!existsSync(pendingPath)) return 'none';
      const backend = await allowedBackend();
      const discardPending = (): 'rolled-back' => {
        rmSync(pendingPath, { force: true });
        syncFolder(pendingPath);
        return 'rolled-back';
      };
      // No database to try them on: the old key is the one a backup of it needs.
      if (!existsSync(databasePath)) return discardPending();
      // The old key first: it opens the database unless the rekey committed, and this open plays back the journal of a rekey cut short.
      const oldKey = existsSync(wrappedPath) ? await tryUnwrap(wrappedPath) : null;
      if (oldKey) {
        try {
          if (keyOpensDatabase(databasePath, oldKey)) return discardPending();
        } finally {
          oldKey.fill(0);
        }
      }
      const newKey = await tryUnwrap(pendingPath);
      if (newKey) {
        try {
          if (keyOpensDatabase(databasePath, newKey)) {
            // Wrapped again by today's backend rather than renamed: the pending file may have been
            // wrapped by another (one that any backend can read), and the record must say which wraps it.
            try {
              await writeWrapped(wrappedPath, newKey);
            } catch (error) {
              throw asEnclaveError(error);
            }
            writeAtomically(recordPath, formatBackendRecord(backend));
            rmSync(pendingPath, { force: true });
            syncFolder(wrappedPath);
            return 'completed';
          }
        } finally {
          newKey.fill(0);
        }
      }
      throw new EnclaveError(
        'storage_failed',
        `Neither ${wrappedPath} nor ${pendingPath} opens the database ${databasePath}. Both were kept; restore the database from your backup. Nothing was changed.`,
      );
    },
    recoverCommand: () => 'Enclave db rekey --recover',
    afterRekeyAdvice: [
      `The new key is wrapped by ${keyStoreName()} for this account on this computer; the old key no longer opens this database.`,
      'Backups of the database made before now still need the old key: keep or destroy them together with a copy of the old wrapped key, if one was kept.',
    ],
  };
}
