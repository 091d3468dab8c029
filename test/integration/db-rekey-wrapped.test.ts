// `Enclave db rekey` on a workstation whose database key the OS key store
// keeps: the same CLI code as for the key file (cli/rekey.ts), given the
// wrapped custody (electron/key-protector.ts) over a stand-in for Electron's
// safeStorage, against the real SQLCipher database. The old key no longer
// opens it, the new wrapped one does, the record still names the backend, the
// event says key_store os-key-store and holds no key; it refuses while another
// process (the app) holds the database; a crash after the rekey is settled.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/main/cli/index.js';
import { createHeadlessCore } from '../../src/main/core/headless.js';
import { DATABASE_FILE, KEY_FILE } from '../../src/main/core/index.js';
import { keyOpensDatabase, openStore } from '../../src/main/store/index.js';
import { call, EVAL_USER } from '../support/core.js';
import { cleanupsAfterEach, tempDir } from '../support/temp.js';

/** A key store that marks what it wrapped with its backend's name (as in test/unit/key-protector.test.ts). */
vi.mock('electron', () => ({
  safeStorage: {
    isAsyncEncryptionAvailable: async () => true,
    isEncryptionAvailable: () => true,
    getSelectedStorageBackend: () => 'gnome_libsecret',
    encryptStringAsync: async (text: string) => Buffer.from(`gnome_libsecret|${text}`),
    decryptStringAsync: async (wrapped: Buffer) => {
      const [by, text] = wrapped.toString().split('|');
      if (by !== 'gnome_libsecret' && by !== 'basic_text') throw new Error('the key ring cannot decrypt this');
      return { result: text ?? '', shouldReEncrypt: false };
    },
  },
}));

const { obtainDatabaseKey, wrappedKeyCustody, BACKEND_RECORD_FILE, PENDING_WRAPPED_KEY_FILE, WRAPPED_KEY_FILE } = await import('../../src/main/electron/key-protector.js');

const cleanups = cleanupsAfterEach();

async function cli(args: string[], userDataDir: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const keyCustody = wrappedKeyCustody({ userDataDir, managed: true });
  const code = await runCli(args, { out: (l) => (out += `${l}\n`), err: (l) => (err += `${l}\n`) }, { keyCustody });
  return { code, out, err };
}

/** A workstation the app started on: a first account made, then the key moved into the key store (no key file left). */
async function installedWorkstation(): Promise<{ userData: string; dataDir: string; database: string; oldKey: Buffer }> {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const userData = dir.path;
  const dataDir = join(userData, 'data');
  mkdirSync(dataDir);
  const core = await createHeadlessCore({ dataDir, log: () => undefined });
  await call(core, 'auth.createFirstAccount', EVAL_USER);
  await core.close();
  const database = join(dataDir, DATABASE_FILE);
  const { key: oldKey, protection } = await obtainDatabaseKey({ userDataDir: userData, dataDir, databasePath: database, allowKeyFile: false, managed: true, log: () => undefined });
  expect(protection).toBe('os-key-store');
  expect(existsSync(join(dataDir, KEY_FILE))).toBe(false);
  return { userData, dataDir, database, oldKey };
}

const wrappedHex = (userData: string): string => readFileSync(join(userData, WRAPPED_KEY_FILE), 'utf8').split('|')[1]!;

function rekeyEvents(database: string, key: Buffer): { outcome: string; reason?: string; keyStore: unknown; record: string }[] {
  const store = openStore({ path: database, key, readonly: true });
  try {
    return (store.writer.prepare("SELECT record FROM audit_events WHERE action = 'db.rekey' ORDER BY seq").all() as { record: string }[]).map(({ record }) => {
      const parsed = JSON.parse(record) as { event: { outcome: string; reason?: string }; enclave?: { detail?: { key_store?: unknown } } };
      return { outcome: parsed.event.outcome, ...(parsed.event.reason ? { reason: parsed.event.reason } : {}), keyStore: parsed.enclave?.detail?.key_store, record };
    });
  } finally {
    store.close();
  }
}

async function expectChainIntact(database: string, key: Buffer): Promise<void> {
  // audit verify reads a key file: a throwaway one, outside the workstation's folders.
  const dir = tempDir();
  cleanups.push(dir.remove);
  const keyFile = join(dir.path, 'verify.key');
  writeFileSync(keyFile, `${key.toString('hex')}\n`, { mode: 0o600 });
  let out = '';
  const code = await runCli(['audit', 'verify', '--db', database, '--key-file', keyFile], { out: (l) => (out += l), err: (l) => (out += l) });
  expect(code, out).toBe(0);
}

describe.runIf(process.platform === 'linux')('Enclave db rekey with the key in the OS key store', () => {
  it('re-encrypts the database under a new key wrapped by the key store; the old key no longer opens it; the event says os-key-store and holds no key', async () => {
    const { userData, dataDir, database, oldKey } = await installedWorkstation();
    const rekeyed = await cli(['db', 'rekey', '--data-dir', dataDir], userData);
    expect(rekeyed.code, rekeyed.err).toBe(0);
    expect(rekeyed.out).toContain(`Re-encrypted ${database} under a new random key, now in ${join(userData, WRAPPED_KEY_FILE)}.`);

    const newKey = Buffer.from(wrappedHex(userData), 'hex');
    expect(newKey).toHaveLength(32);
    expect(newKey.equals(oldKey)).toBe(false);
    expect(existsSync(join(userData, PENDING_WRAPPED_KEY_FILE))).toBe(false);
    expect(JSON.parse(readFileSync(join(userData, BACKEND_RECORD_FILE), 'utf8'))).toEqual({ format: 1, backend: 'gnome_libsecret' });
    expect(keyOpensDatabase(database, oldKey)).toBe(false);
    expect(keyOpensDatabase(database, newKey)).toBe(true);
    await expectChainIntact(database, newKey);

    const events = rekeyEvents(database, newKey);
    expect(events.map((e) => [e.outcome, e.keyStore])).toEqual([['success', 'os-key-store']]);
    for (const key of [oldKey, newKey]) {
      expect(events[0]!.record).not.toContain(key.toString('hex').slice(0, 16));
      expect(events[0]!.record).not.toContain(key.toString('base64').slice(0, 16));
    }
    // The app starts on it with the new key.
    const started = await obtainDatabaseKey({ userDataDir: userData, dataDir, databasePath: database, allowKeyFile: false, managed: true, log: () => undefined });
    expect(started.key.equals(newKey)).toBe(true);
  });

  it('refuses while another process (the app) holds the database, and changes nothing but the log', async () => {
    const { userData, dataDir, database, oldKey } = await installedWorkstation();
    const before = readFileSync(join(userData, WRAPPED_KEY_FILE));
    // A second process with the database open, as the app's core has it.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const Database = require('better-sqlite3-multiple-ciphers');
         const db = new Database(process.argv[1]);
         db.pragma("cipher='sqlcipher'"); db.pragma('legacy=4'); db.pragma("key=\\"x'" + process.argv[2] + "'\\"");
         db.prepare('SELECT count(*) FROM audit_events').get();
         process.stdout.write('open\\n');
         process.stdin.on('data', () => {}); process.stdin.on('end', () => { db.close(); process.exit(0); });`,
        database,
        oldKey.toString('hex'),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const exited = new Promise<void>((resolve) => holder.on('exit', () => resolve()));
    cleanups.push(async () => {
      holder.stdin.end();
      await exited;
    });
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once('data', () => resolve());
      holder.once('exit', (code) => reject(new Error(`the holding process exited (${code})`)));
    });

    const refused = await cli(['db', 'rekey', '--data-dir', dataDir], userData);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/is open in another process \(the Enclave app, or another enclave command\)\. Quit Enclave on this computer and try again; nothing was changed\./);
    expect(readFileSync(join(userData, WRAPPED_KEY_FILE))).toEqual(before);
    expect(existsSync(join(userData, PENDING_WRAPPED_KEY_FILE))).toBe(false);
    holder.stdin.end();
    await exited;
    expect(keyOpensDatabase(database, oldKey)).toBe(true);
    expect(rekeyEvents(database, oldKey).map((e) => [e.outcome, e.reason, e.keyStore])).toEqual([['failure', 'in_use', 'os-key-store']]);
  });

  it('crash after the rekey committed, before the rename: --recover keeps the new wrapped key', async () => {
    const { userData, dataDir, database, oldKey } = await installedWorkstation();
    const newKey = randomBytes(32);
    const store = openStore({ path: database, key: oldKey });
    store.rekey(newKey);
    store.close();
    writeFileSync(join(userData, PENDING_WRAPPED_KEY_FILE), `gnome_libsecret|${newKey.toString('hex')}`, { mode: 0o600 });

    const recovered = await cli(['db', 'rekey', '--recover', '--data-dir', dataDir], userData);
    expect(recovered.code, recovered.err).toBe(0);
    expect(recovered.out).toBe('An interrupted rekey had re-encrypted the database: its new wrapped key now replaces the old one.\n');
    expect(wrappedHex(userData)).toBe(newKey.toString('hex'));
    expect(existsSync(join(userData, PENDING_WRAPPED_KEY_FILE))).toBe(false);
    await expectChainIntact(database, newKey);
  });

  it('a --key-file beside a key kept by the key store is refused, nothing changed', async () => {
    const { userData, dataDir } = await installedWorkstation();
    const before = readFileSync(join(userData, WRAPPED_KEY_FILE));
    const result = await cli(['db', 'rekey', '--data-dir', dataDir, '--key-file', join(dataDir, KEY_FILE)], userData);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/--key-file is for a key kept in a key file/);
    expect(readFileSync(join(userData, WRAPPED_KEY_FILE))).toEqual(before);
  });
});
