// `enclave db rekey`: re-encrypts the database under a new random key, for the
// evaluation key file. Crash-safe by the order of its steps (keys/index.ts):
//   1. settle what an earlier, interrupted rekey left (both key files);
//   2. write the new key to <key file>.new and fsync it;
//   3. re-encrypt the database in one SQLite transaction (store.rekey);
//   4. record db.rekey in the audit log (under the new key);
//   5. rename <key file>.new over <key file>.
// A crash before 3 commits leaves the database under the old key; after, under
// the new one; either way one of the two files opens it, and the next open
// through a key file (any command here, the headless core) keeps that one.
// The audit event says who and the outcome, never anything about either key.
import { existsSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EnclaveError } from '../../shared/errors.js';
import { AuditLog, wipeRetiredSigningKeys } from '../audit/index.js';
import { ENCLAVE_VERSION } from '../core/version.js';
import { commitPendingKeyFile, generateDatabaseKey, KEY_FILE, pendingKeyPath, readKeyFile, settleInterruptedRekey, writePendingKeyFile, type RekeySettlement } from '../keys/index.js';
import { DATABASE_FILE, DatabaseInUseError, keyOpensDatabase, openStore, type Store } from '../store/index.js';
import type { CliContext, CliIo } from './main.js';

const SETTLED: Record<Exclude<RekeySettlement, 'none'>, string> = {
  'rolled-back': 'An interrupted rekey had not re-encrypted the database: it stays under its key, and the unused new key file was removed.',
  completed: 'An interrupted rekey had re-encrypted the database: its new key file now replaces the old one.',
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

function auditOf(store: Store): AuditLog {
  return new AuditLog(store, { hostId: store.getMeta('host.id') ?? 'unknown', hostName: hostname(), serviceVersion: ENCLAVE_VERSION, now: Date.now });
}

/** Records a refused or failed rekey in the database as it now stands (under its old key). */
function recordFailure(databasePath: string, keyPath: string, reason: string): void {
  const key = readKeyFile(keyPath);
  let store: Store;
  try {
    store = openStore({ path: databasePath, key });
  } finally {
    key.fill(0);
  }
  try {
    auditOf(store).record({ action: 'db.rekey', outcome: 'failure', reason, user: actor(), detail: { key_store: 'key-file' } });
  } finally {
    store.close();
  }
}

export function dbRekey(args: string[], io: CliIo, context: CliContext): number {
  const { values } = parseArgs({ args, options: { 'data-dir': { type: 'string' }, 'key-file': { type: 'string' }, recover: { type: 'boolean' }, json: { type: 'boolean' } }, strict: true });
  const usage = (message: string): number => {
    io.err(`enclave: ${message}`);
    return 2;
  };
  if (context.databaseKey) {
    return usage(
      'db rekey re-encrypts a database whose key is in a key file (evaluation); this database key is kept by the OS key store, which this version cannot yet re-wrap. Nothing was changed.',
    );
  }
  if (!values['data-dir']) return usage(`db rekey needs --data-dir <dir> (the folder that holds ${DATABASE_FILE})`);
  const databasePath = join(values['data-dir'], DATABASE_FILE);
  if (!existsSync(databasePath)) return usage(`there is no database at ${databasePath}`);
  const keyPath = values['key-file'] ?? join(values['data-dir'], KEY_FILE);
  const out = (result: Record<string, unknown>, lines: string[]): void => {
    if (values.json) io.out(JSON.stringify(result));
    else for (const line of lines) io.out(line);
  };

  const settled = settleInterruptedRekey(keyPath, databasePath, keyOpensDatabase);
  if (values.recover) {
    out({ settled }, [settled === 'none' ? `No interrupted rekey: ${pendingKeyPath(keyPath)} does not exist. Nothing was changed.` : SETTLED[settled]]);
    return 0;
  }

  const oldKey = readKeyFile(keyPath);
  let store: Store;
  try {
    store = openStore({ path: databasePath, key: oldKey });
  } finally {
    oldKey.fill(0);
  }
  const newKey = generateDatabaseKey();
  try {
    // Private keys of retired audit signing keys are wiped before the rekey, so no copy of them moves on under the new key.
    store.transaction(wipeRetiredSigningKeys);
    writePendingKeyFile(keyPath, newKey);
    try {
      store.rekey(newKey);
    } catch (error) {
      store.close();
      // The transaction rolled back (or a crash would have): whichever key opens the database is kept.
      const after = settleInterruptedRekey(keyPath, databasePath, keyOpensDatabase);
      if (after === 'rolled-back') recordFailure(databasePath, keyPath, error instanceof DatabaseInUseError ? 'in_use' : error instanceof EnclaveError ? error.code : 'storage_failed');
      if (error instanceof EnclaveError) throw error;
      throw new EnclaveError('storage_failed', `The database could not be re-encrypted (${(error as Error).message}); it stays under its key ${after === 'completed' ? '(the new one, in ' + keyPath + ')' : 'in ' + keyPath}.`, { cause: error });
    }
    // Under the new key now; the event goes in before the new key file takes the old one's place, so a crash between them loses neither.
    let unrecorded: unknown;
    try {
      auditOf(store).record({ action: 'db.rekey', outcome: 'success', user: actor(), detail: { key_store: 'key-file' } });
    } catch (error) {
      // The database is under the new key whatever happened to the event: the key file must follow.
      unrecorded = error;
    }
    store.close();
    try {
      commitPendingKeyFile(keyPath);
    } catch (cause) {
      throw new EnclaveError(
        'storage_failed',
        `The database is now under the new key, which is in ${pendingKeyPath(keyPath)}, but that file could not replace ${keyPath} (${(cause as Error).message}). ` +
          `Keep both files; \`enclave db rekey --recover --data-dir ${values['data-dir']} --key-file ${keyPath}\` finishes the change.`,
        { cause },
      );
    }
    if (unrecorded !== undefined) {
      throw new EnclaveError('storage_failed', `Re-encrypted ${databasePath} under a new key, now in ${keyPath}, but the db.rekey event could not be recorded (${(unrecorded as Error).message}).`, { cause: unrecorded });
    }
  } finally {
    newKey.fill(0);
    store.close();
  }
  out({ settled, rekeyed: true, database: databasePath, keyFile: keyPath }, [
    ...(settled === 'none' ? [] : [SETTLED[settled]]),
    `Re-encrypted ${databasePath} under a new random key, now in ${keyPath}.`,
    'Back up the new key file now: the old key no longer opens this database (it still opens older backups of it, so keep or destroy those with the old key).',
  ]);
  return 0;
}
