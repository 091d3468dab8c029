// `enclave db rekey`: re-encrypts the database under a new random key, wherever
// the key is kept (keys/custody.ts): the evaluation key file, or, when the
// installed app runs it, the OS key store. Crash-safe by the order of its steps:
//   1. settle what an earlier, interrupted rekey left (old and new key);
//   2. write the new key beside the old one (<key file>.new, or
//      database-key.wrapped.new) and fsync it;
//   3. re-encrypt the database in one SQLite transaction (store.rekey);
//   4. record db.rekey in the audit log (under the new key);
//   5. rename the new key over the old one.
// A crash before 3 commits leaves the database under the old key; after, under
// the new one; either way one of the two opens it, and the next open (any
// command here, the headless core, the app's start) keeps that one.
// The audit event says who, the outcome and where the key is kept, never anything about either key.
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EnclaveError } from '../../shared/errors.js';
import { generateDatabaseKey, KEY_FILE, keyFileCustody, type KeyCustody, type RekeySettlement } from '../keys/index.js';
import { DATABASE_FILE, DatabaseInUseError, keyOpensDatabase, openStore, type Store } from '../store/index.js';
import { auditServiceOf } from './audit-service.js';
import type { CliContext, CliIo } from './main.js';

const SETTLED: Record<KeyCustody['keyStore'], Record<Exclude<RekeySettlement, 'none'>, string>> = {
  'key-file': {
    'rolled-back': 'An interrupted rekey had not re-encrypted the database: it stays under its key, and the unused new key file was removed.',
    completed: 'An interrupted rekey had re-encrypted the database: its new key file now replaces the old one.',
  },
  'os-key-store': {
    'rolled-back': 'An interrupted rekey had not re-encrypted the database: it stays under its key, and the unused new wrapped key was removed.',
    completed: 'An interrupted rekey had re-encrypted the database: its new wrapped key now replaces the old one.',
  },
};

function actor(): { name: string; authMethod: string } {
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    name = process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
  return { name, authMethod: 'os-account' };
}

/** Records a refused or failed rekey in the database as it now stands (under its old key). */
async function recordFailure(databasePath: string, custody: KeyCustody, reason: string): Promise<void> {
  const key = await custody.readKey();
  let store: Store;
  try {
    store = openStore({ path: databasePath, key });
  } finally {
    key.fill(0);
  }
  try {
    auditServiceOf(store).log.record({ action: 'db.rekey', outcome: 'failure', reason, user: actor(), detail: { key_store: custody.keyStore } });
  } finally {
    store.close();
  }
}

export async function dbRekey(args: string[], io: CliIo, context: CliContext): Promise<number> {
  const { values } = parseArgs({ args, options: { 'data-dir': { type: 'string' }, 'key-file': { type: 'string' }, recover: { type: 'boolean' }, json: { type: 'boolean' } }, strict: true });
  const usage = (message: string): number => {
    io.err(`enclave: ${message}`);
    return 2;
  };
  if (context.databaseKey && !context.keyCustody) {
    // A bare key says nothing about where it is kept, so there is nowhere to put the new one.
    return usage('db rekey needs to know where the database key is kept; the installed app (`Enclave db rekey`) re-wraps a key kept by the OS key store. Nothing was changed.');
  }
  if (!values['data-dir']) return usage(`db rekey needs --data-dir <dir> (the folder that holds ${DATABASE_FILE})`);
  const databasePath = join(values['data-dir'], DATABASE_FILE);
  if (!existsSync(databasePath)) return usage(`there is no database at ${databasePath}`);
  if (context.keyCustody && values['key-file']) return usage('--key-file is for a key kept in a key file; this database key is kept by the OS key store. Nothing was changed.');
  const custody = context.keyCustody ?? keyFileCustody(values['key-file'] ?? join(values['data-dir'], KEY_FILE));
  const out = (result: Record<string, unknown>, lines: string[]): void => {
    if (values.json) io.out(JSON.stringify(result));
    else for (const line of lines) io.out(line);
  };

  const settled = await custody.settleInterruptedRekey(databasePath, keyOpensDatabase);
  if (values.recover) {
    out({ settled }, [settled === 'none' ? `No interrupted rekey: ${custody.pendingLocation} does not exist. Nothing was changed.` : SETTLED[custody.keyStore][settled]]);
    return 0;
  }

  const oldKey = await custody.readKey();
  let store: Store;
  try {
    store = openStore({ path: databasePath, key: oldKey });
  } finally {
    oldKey.fill(0);
  }
  const newKey = generateDatabaseKey();
  try {
    // Private keys of retired audit signing keys are wiped before the rekey, so no copy of them moves on under the new key.
    auditServiceOf(store).wipeRetiredSigningKeys();
    await custody.writePendingKey(newKey);
    try {
      store.rekey(newKey);
    } catch (error) {
      store.close();
      // The transaction rolled back (or a crash would have): whichever key opens the database is kept.
      const after = await custody.settleInterruptedRekey(databasePath, keyOpensDatabase);
      if (after === 'rolled-back') await recordFailure(databasePath, custody, error instanceof DatabaseInUseError ? 'in_use' : error instanceof EnclaveError ? error.code : 'storage_failed');
      if (error instanceof EnclaveError) throw error;
      throw new EnclaveError(
        'storage_failed',
        `The database could not be re-encrypted (${(error as Error).message}); it stays under its key ${after === 'completed' ? '(the new one, in ' + custody.location + ')' : 'in ' + custody.location}.`,
        { cause: error },
      );
    }
    // Under the new key now; the event goes in before the new key file takes the old one's place, so a crash between them loses neither.
    let unrecorded: unknown;
    try {
      auditServiceOf(store).log.record({ action: 'db.rekey', outcome: 'success', user: actor(), detail: { key_store: custody.keyStore } });
    } catch (error) {
      // The database is under the new key whatever happened to the event: the key file must follow.
      unrecorded = error;
    }
    store.close();
    try {
      await custody.commitPendingKey(newKey);
    } catch (cause) {
      throw new EnclaveError(
        'storage_failed',
        `The database is now under the new key, which is in ${custody.pendingLocation}, but that file could not replace ${custody.location} (${(cause as Error).message}). ` +
          `Keep both files; \`${custody.recoverCommand(values['data-dir'])}\` finishes the change.`,
        { cause },
      );
    }
    if (unrecorded !== undefined) {
      throw new EnclaveError(
        'storage_failed',
        `Re-encrypted ${databasePath} under a new key, now in ${custody.location}, but the db.rekey event could not be recorded (${(unrecorded as Error).message}).`,
        { cause: unrecorded },
      );
    }
  } finally {
    newKey.fill(0);
    store.close();
  }
  out({ settled, rekeyed: true, database: databasePath, keyStore: custody.keyStore, ...(custody.keyStore === 'key-file' ? { keyFile: custody.location } : { wrappedKey: custody.location }) }, [
    ...(settled === 'none' ? [] : [SETTLED[custody.keyStore][settled]]),
    `Re-encrypted ${databasePath} under a new random key, now in ${custody.location}.`,
    ...custody.afterRekeyAdvice,
  ]);
  return 0;
}
