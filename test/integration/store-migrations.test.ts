// Numbered migrations on a database written by an earlier release: data is
// kept, references stay intact, and foreign keys are enforced afterwards.
import Database from 'better-sqlite3-multiple-ciphers';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sql as m0001 } from '../../src/main/store/migrations/0001-initial.js';
import { MIGRATIONS } from '../../src/main/store/migrations/index.js';
import { openStore } from '../../src/main/store/index.js';
import { tempDir } from '../support/temp.js';

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

/** A database exactly as release 1 of the schema left it, with an evaluation account and a chat. */
function version1Database(key: Buffer): string {
  const dir = tempDir();
  dirs.push(dir);
  const path = join(dir.path, 'enclave.db');
  const db = new Database(path);
  db.pragma(`cipher='sqlcipher'`);
  db.pragma(`legacy=4`);
  db.pragma(`key="x'${key.toString('hex')}'"`);
  db.exec(m0001);
  db.pragma('user_version = 1');
  db.prepare("INSERT INTO accounts VALUES ('0190a000-0000-7000-8000-000000000001', 'dr.grey', 'Dr Grey', 'scrypt$32768$8$1$c2FsdA==$aGFzaA==', '[\"clinician\"]', 'evaluation', 1)").run();
  db.prepare(
    "INSERT INTO chat_sessions (id, user_id, workload_id, title, created_at, updated_at) VALUES ('0190a000-0000-7000-8000-000000000002', '0190a000-0000-7000-8000-000000000001', 'general', 'Kept', 1, 1)",
  ).run();
  db.close();
  return path;
}

describe('store migrations', () => {
  it('migrates a version-1 database to the latest, keeping accounts and chats, with foreign keys on', () => {
    const key = randomBytes(32);
    const store = openStore({ path: version1Database(key), key });
    try {
      expect(store.writer.pragma('user_version', { simple: true })).toBe(MIGRATIONS.at(-1)!.version);
      expect(store.writer.prepare('SELECT username, kind, password_hash IS NOT NULL AS has_hash FROM accounts').all()).toEqual([{ username: 'dr.grey', kind: 'evaluation', has_hash: 1 }]);
      expect(store.writer.prepare('SELECT title FROM chat_sessions').all()).toEqual([{ title: 'Kept' }]);
      expect(store.writer.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(store.writer.pragma('foreign_key_check')).toEqual([]);
      // The rebuilt table is still the parent of chat_sessions.
      expect(() => store.writer.prepare('DELETE FROM accounts').run()).toThrow(/FOREIGN KEY constraint failed/);
      // Directory accounts fit now; an evaluation account still needs its password hash.
      store.writer
        .prepare(
          "INSERT INTO accounts (id, username, display_name, password_hash, roles, kind, created_at, sam_account_name, directory_dn, last_online_at) VALUES ('g', 'alice@corp.example.org', 'Alice', NULL, '[]', 'directory', 2, 'alice', 'CN=Alice,DC=corp', 2)",
        )
        .run();
      expect(() =>
        store.writer.prepare("INSERT INTO accounts (id, username, display_name, password_hash, roles, kind, created_at) VALUES ('h', 'bob', 'Bob', NULL, '[]', 'evaluation', 2)").run(),
      ).toThrow(/CHECK constraint failed/);
    } finally {
      store.close();
    }
  });
});
