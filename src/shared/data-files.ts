// Names of the files Enclave keeps on disk, for the code that needs them
// without loading the module that owns the file (the main entry must not load
// the store or the core to name the database; the doctor runs without
// Electron, which the key protector imports).

/** The database, inside the data folder (src/main/store). */
export const DATABASE_FILE = 'enclave.db';
/** The database key wrapped by the OS key store, in the app's userData folder, the data folder's parent (src/main/electron/key-protector.ts). */
export const WRAPPED_KEY_FILE = 'database-key.wrapped';
