// The database and its audit chain. A production key is wrapped by the OS key
// store (DPAPI, Keychain, libsecret) through Electron: the installed app
// (`Enclave doctor`) unwraps it and passes it in. Under plain Node only an
// evaluation key file can open the database.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { verifyAuditChain } from '../../audit/index.js';
import { KEY_FILE, readKeyFile } from '../../keys/index.js';
import type { Policy } from '../../policy/index.js';
import { WRAPPED_KEY_FILE } from '../../../shared/data-files.js';
import { DATABASE_FILE, openStore, type ReadableDb } from '../../store/index.js';
import { fail, messageOf, ok, skip, warn, type CheckResult } from './check.js';
import { checkRetention } from './retention.js';

/** Where the desktop app keeps its data for the current user: Electron's userData for "Enclave", then data/. */
export function defaultDataDir(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Enclave', 'data');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Enclave', 'data');
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'Enclave', 'data');
}

/** The database check, then the chat retention check, which counts expired sessions when the database opened. */
export function checkStorage(dataDir: string | undefined, policy: Policy | null, databaseKey?: Buffer): CheckResult[] {
  let retention: CheckResult | null = null;
  const database = checkDatabase(dataDir, policy, databaseKey, (db) => {
    try {
      retention = checkRetention(policy, db, '');
    } catch (error) {
      retention = fail('retention', `chat sessions could not be counted: ${messageOf(error)}`);
    }
  });
  return [database, retention ?? checkRetention(policy, null, `the database was not opened (see the database check)`)];
}

/**
 * `databaseKey` is the unwrapped production key, which only the installed app
 * can supply (`Enclave doctor` runs in Electron's main process); the command
 * line under plain Node falls back to an evaluation key file.
 */
export function checkDatabase(dataDir: string | undefined, policy: Policy | null, databaseKey?: Buffer, whileOpen?: (db: ReadableDb) => void): CheckResult {
  const name = 'database';
  if (!dataDir) {
    return skip(name, `no --data-dir given; for this user the app keeps its data in ${defaultDataDir()}: pass --data-dir <dir> to check the database and its audit chain`);
  }
  const databasePath = join(dataDir, DATABASE_FILE);
  const keyPath = join(dataDir, KEY_FILE);
  if (!existsSync(databasePath)) {
    return skip(name, existsSync(dataDir) ? `no database yet (${databasePath}); the app creates it at first start` : `no database yet: ${dataDir} does not exist`);
  }
  if (databaseKey) return verifyWith(databasePath, databaseKey, 'the key from the OS key store', whileOpen);
  if (!existsSync(keyPath)) {
    const wrapped = join(dirname(resolve(dataDir)), WRAPPED_KEY_FILE);
    return skip(
      name,
      `${databasePath} exists; its key is wrapped by the OS key store${existsSync(wrapped) ? ` (${wrapped})` : ''}, which this command cannot open; the app verifies the audit chain at each start`,
    );
  }
  if (!policy) return skip(name, 'not checked: the policy is not valid, so whether a key file may be used is unknown');
  if (!policy.storage.allowKeyFile) {
    return warn(
      name,
      `${keyPath} holds the database key in the clear, but the policy does not allow a key file (storage.allowKeyFile): the app moves the key into the OS key store at its next start, or refuses to start where there is none. The audit chain was not checked`,
    );
  }
  let key: Buffer;
  try {
    key = readKeyFile(keyPath);
  } catch (error) {
    return fail(name, messageOf(error));
  }
  try {
    return verifyWith(databasePath, key, `the key file (${keyPath})`, whileOpen);
  } finally {
    key.fill(0);
  }
}

function verifyWith(databasePath: string, key: Buffer, keyName: string, whileOpen?: (db: ReadableDb) => void): CheckResult {
  const name = 'database';
  let store;
  try {
    store = openStore({ path: databasePath, key, readonly: true });
  } catch (error) {
    return fail(name, messageOf(error));
  }
  try {
    whileOpen?.(store.reader);
    const report = verifyAuditChain(store.reader);
    if (report.ok) {
      return ok(name, `${databasePath} opens with ${keyName}; audit chain intact: ${report.eventsChecked} event${report.eventsChecked === 1 ? '' : 's'}, head ${report.headSequence}`);
    }
    const bad = report.firstBad!;
    return fail(
      name,
      `${databasePath}: audit chain broken at event ${bad.sequence} (${bad.problem}): ${bad.detail}; the ${report.eventsChecked} event${report.eventsChecked === 1 ? '' : 's'} before it verified. Keep the database as it is and tell the compliance officer (enclave audit verify shows the same)`,
    );
  } catch (error) {
    return fail(name, `${databasePath}: the audit chain could not be read: ${messageOf(error)}`);
  } finally {
    store.close();
  }
}
