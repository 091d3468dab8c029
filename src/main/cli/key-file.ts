// The evaluation key file, as the commands that open a database use it.
import { readKeyFile } from '../keys/index.js';
import { openStore, type Store } from '../store/index.js';

/**
 * Opens a database with the key in a key file, and zeroes the key (read into
 * a Buffer) as soon as the store is open or has failed to open. A key from
 * the context belongs to the caller (Electron main), which zeroes it.
 */
export function openStoreWithKeyFile(databasePath: string, keyFile: string, options: { readonly: boolean }): Store {
  const key = readKeyFile(keyFile);
  try {
    return openStore({ path: databasePath, key, readonly: options.readonly });
  } finally {
    key.fill(0);
  }
}
