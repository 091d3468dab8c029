// The evaluation key file, as the commands that open a database use it.
import { readKeyFile, settleInterruptedRekey } from '../keys/index.js';
import { keyOpensDatabase, openStore, type Store } from '../store/index.js';

/**
 * Opens a database with the key in a key file (after settling an interrupted
 * rekey), and zeroes the key (read into
 * a Buffer) as soon as the store is open or has failed to open. A key from
 * the context belongs to the caller (Electron main), which zeroes it.
 */
export function openStoreWithKeyFile(databasePath: string, keyFile: string, options: { readonly: boolean }): Store {
  // A rekey a crash cut short is finished or rolled back first (keys/index.ts).
  settleInterruptedRekey(keyFile, databasePath, keyOpensDatabase);
  const key = readKeyFile(keyFile);
  try {
    return openStore({ path: databasePath, key, readonly: options.readonly });
  } finally {
    key.fill(0);
  }
}
