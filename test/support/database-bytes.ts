// What someone holding the workstation's database key (but no one's password
// or card) can get out of the database files: every page decrypted, free
// pages too, and the raw bytes of the -wal and -shm files beside it.
import Database from 'better-sqlite3-multiple-ciphers';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './temp.js';

/** The raw bytes of the database and its -wal and -shm files (as on disk, still SQLCipher-encrypted). */
export function rawDatabaseFiles(dbPath: string): Buffer {
  return Buffer.concat([dbPath, `${dbPath}-wal`, `${dbPath}-shm`].filter((p) => existsSync(p)).map((p) => readFileSync(p)));
}

/**
 * A copy of the database decrypted with the key, page by page (free pages
 * and all, by rekeying the copy to no key), as raw bytes. Close the core first.
 */
export function decryptedDatabaseBytes(dbPath: string, key: Buffer): Buffer {
  const dir = tempDir('enclave-decrypted-');
  try {
    const copy = join(dir.path, 'copy.db');
    copyFileSync(dbPath, copy);
    if (existsSync(`${dbPath}-wal`)) copyFileSync(`${dbPath}-wal`, `${copy}-wal`);
    const db = new Database(copy);
    try {
      db.pragma(`cipher='sqlcipher'`);
      db.pragma(`legacy=4`);
      db.pragma(`key="x'${key.toString('hex')}'"`);
      db.prepare('SELECT count(*) FROM sqlite_master').get();
      // Rekeying is refused in WAL mode; the copy's WAL is folded in first.
      db.pragma('journal_mode = DELETE');
      db.pragma(`rekey=''`);
    } finally {
      db.close();
    }
    return readFileSync(copy);
  } finally {
    dir.remove();
  }
}

/** Every text and blob value of every table, read with the database key (what an admin with the key sees). */
export function allStoredValues(dbPath: string, key: Buffer): string {
  const db = new Database(dbPath, { readonly: true });
  try {
    db.pragma(`cipher='sqlcipher'`);
    db.pragma(`legacy=4`);
    db.pragma(`key="x'${key.toString('hex')}'"`);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    const parts: string[] = [];
    for (const table of tables) {
      for (const row of db.prepare(`SELECT * FROM "${table}"`).all() as Record<string, unknown>[]) {
        for (const value of Object.values(row)) {
          if (typeof value === 'string') parts.push(value);
          else if (Buffer.isBuffer(value)) parts.push(value.toString('latin1'));
        }
      }
    }
    return parts.join('\n');
  } finally {
    db.close();
  }
}
