// Key custody: where the database key is kept, as `enclave db rekey` needs it.
// One rekey (cli/rekey.ts) for every way a key is kept: the evaluation key file
// (here) and the OS key store (electron/key-protector.ts, the only place that
// may touch Electron's safeStorage). Each keeps the same crash-safe order:
// the new key is written beside the old one and made durable before the
// database is re-encrypted, and replaces the old one (an atomic rename) only
// after; after a crash, settling tries the old key, then the new one.
import { existsSync } from 'node:fs';
import { commitPendingKeyFile, pendingKeyPath, readKeyFile, settleInterruptedRekey, writePendingKeyFile, type RekeySettlement } from './index.js';

/** Whether a key opens the database (the store's keyOpensDatabase, passed in so that keys/ never loads the store). */
export type KeyOpensDatabase = (databasePath: string, key: Buffer) => boolean;

export interface KeyCustody {
  /** For the audit event's detail: names where the key is kept, never anything about the key. */
  readonly keyStore: 'key-file' | 'os-key-store';
  /** Where the key is kept, for messages (a path, and by what). */
  readonly location: string;
  /** Where the new key waits during a rekey, for messages. */
  readonly pendingLocation: string;
  /** The current key; the caller zeroes it. Refuses while a pending key is there (settle first). */
  readKey(): Promise<Buffer>;
  /** Writes the new key beside the current one, durably (fsync); never over an existing pending key. */
  writePendingKey(key: Buffer): Promise<void>;
  /**
   * The database is under the new key: it replaces the current one (an atomic
   * rename). `key` is the new key, written again if the pending one is gone
   * (an app started meanwhile and settled while the database was still under
   * the old key): the database must never be left under a key kept nowhere.
   */
  commitPendingKey(key: Buffer): Promise<void>;
  /** After a crash: when a pending key exists, keeps whichever key opens the database. */
  settleInterruptedRekey(databasePath: string, keyOpensDatabase: KeyOpensDatabase): Promise<RekeySettlement>;
  /** The command that finishes an interrupted rekey, for messages. */
  recoverCommand(dataDir: string): string;
  /** What to tell the administrator after a rekey. */
  readonly afterRekeyAdvice: string[];
}

/** The evaluation key file (<data dir>/database.key or --key-file) as key custody. */
export function keyFileCustody(keyPath: string): KeyCustody {
  return {
    keyStore: 'key-file',
    location: keyPath,
    pendingLocation: pendingKeyPath(keyPath),
    readKey: async () => readKeyFile(keyPath),
    writePendingKey: async (key) => writePendingKeyFile(keyPath, key),
    commitPendingKey: async (key) => {
      if (!existsSync(pendingKeyPath(keyPath))) writePendingKeyFile(keyPath, key);
      commitPendingKeyFile(keyPath);
    },
    settleInterruptedRekey: async (databasePath, keyOpensDatabase) => settleInterruptedRekey(keyPath, databasePath, keyOpensDatabase),
    recoverCommand: (dataDir) => `enclave db rekey --recover --data-dir ${dataDir} --key-file ${keyPath}`,
    afterRekeyAdvice: ['Back up the new key file now: the old key no longer opens this database (it still opens older backups of it, so keep or destroy those with the old key).'],
  };
}
