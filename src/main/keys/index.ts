// Front door of the keys service: the database key and its key-file form. The
// key file is allowed only by the evaluation policy and by tests: in production
// the key is wrapped by the OS key store in main (electron/key-protector.ts).
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { EnclaveError } from '../../shared/errors.js';

export const DATABASE_KEY_BYTES = 32;
/** The key file's name in the data directory (evaluation and tests only). */
export const KEY_FILE = 'database.key';

export function generateDatabaseKey(): Buffer {
  return randomBytes(DATABASE_KEY_BYTES);
}

/** Reads a key file: 64 hex characters (surrounding white space ignored). */
export function readKeyFile(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (cause) {
    throw new EnclaveError('invalid_input', `Cannot read the key file ${path}: ${(cause as Error).message}`, { cause });
  }
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new EnclaveError('invalid_input', `The key file ${path} must hold the 256-bit database key as 64 hex characters.`);
  }
  return Buffer.from(text, 'hex');
}

/** Reads the key file, or creates one with a fresh key (mode 0600) on first run. */
export function loadOrCreateKeyFile(path: string): Buffer {
  if (existsSync(path)) return readKeyFile(path);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = generateDatabaseKey();
  writeFileSync(path, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return key;
}
