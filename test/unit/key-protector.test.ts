// electron/key-protector.ts against a stand-in for Electron's safeStorage (Electron
// cannot run here): the key store backend is checked before anything is read or
// written, recorded in database-key.backend.json, and never allowed to get weaker.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanupsAfterEach, tempDir } from '../support/temp.js';

type Backend = 'basic_text' | 'gnome_libsecret' | 'kwallet5' | 'unknown';

/**
 * A key store that marks what it wrapped with the backend's name. Like Chromium
 * on Linux, any backend can read what basic_text wrapped (its password is
 * public), but only the same key store can read what a key store wrapped.
 */
const store = vi.hoisted(() => ({ backend: 'gnome_libsecret' as string, available: true }));
vi.mock('electron', () => ({
  safeStorage: {
    isAsyncEncryptionAvailable: async () => store.available,
    isEncryptionAvailable: () => store.available,
    getSelectedStorageBackend: () => store.backend,
    encryptStringAsync: async (text: string) => Buffer.from(`${store.backend}|${text}`),
    decryptStringAsync: async (wrapped: Buffer) => {
      const [by, text] = wrapped.toString().split('|');
      if (by !== 'basic_text' && by !== store.backend) throw new Error('the key ring cannot decrypt this');
      return { result: text ?? '', shouldReEncrypt: false };
    },
  },
}));

const { obtainDatabaseKey, KeyProtectionError, BACKEND_RECORD_FILE, PENDING_WRAPPED_KEY_FILE, WRAPPED_KEY_FILE, wrappedKeyCustody } = await import('../../src/main/electron/key-protector.js');

const cleanups = cleanupsAfterEach();
let dir: string;
const KEY_HEX = 'ab'.repeat(32);

beforeEach(() => {
  const temp = tempDir('enclave-key-protector-');
  cleanups.push(temp.remove);
  dir = temp.path;
  mkdirSync(join(dir, 'data'));
  store.available = true;
  store.backend = 'gnome_libsecret';
});

function start(options: { backend: Backend; managed: boolean; log?: string[] }) {
  store.backend = options.backend;
  return obtainDatabaseKey({
    userDataDir: dir,
    dataDir: join(dir, 'data'),
    databasePath: join(dir, 'data', 'enclave.db'),
    allowKeyFile: !options.managed,
    managed: options.managed,
    log: (line) => options.log?.push(line),
  });
}
const record = (): unknown => JSON.parse(readFileSync(join(dir, BACKEND_RECORD_FILE), 'utf8'));
const wrapped = (): string => readFileSync(join(dir, WRAPPED_KEY_FILE), 'utf8');
/** A wrapped key as an older Enclave left it: no record beside it. */
const oldInstall = (by: Backend): void => writeFileSync(join(dir, WRAPPED_KEY_FILE), `${by}|${KEY_HEX}`);

describe.runIf(process.platform === 'linux')('the key store backend (Linux)', () => {
  it.each(['basic_text', 'unknown'] as const)('managed policy: %s refuses to start and creates nothing', async (backend) => {
    const error = await start({ backend, managed: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyProtectionError);
    expect((error as Error).message).toMatch(/GNOME Keyring .* KWallet/s);
    expect(readdirSync(dir).sort()).toEqual(['data']);
  });

  it('managed policy: a key wrapped by basic_text before this rule is refused, left as it was', async () => {
    oldInstall('basic_text');
    await expect(start({ backend: 'basic_text', managed: true })).rejects.toBeInstanceOf(KeyProtectionError);
    expect(wrapped()).toBe(`basic_text|${KEY_HEX}`);
    expect(existsSync(join(dir, BACKEND_RECORD_FILE))).toBe(false);
  });

  it('a new key is wrapped by the key ring and the backend recorded', async () => {
    const key = await start({ backend: 'gnome_libsecret', managed: true });
    expect(key.protection).toBe('os-key-store');
    expect(wrapped()).toMatch(/^gnome_libsecret\|/);
    expect(record()).toEqual({ format: 1, backend: 'gnome_libsecret' });
  });

  it('evaluation policy: basic_text still works, with the warning, and is recorded', async () => {
    const log: string[] = [];
    await start({ backend: 'basic_text', managed: false, log });
    expect(log.join('\n')).toMatch(/WARNING: evaluation mode: .*basic_text/);
    expect(record()).toEqual({ format: 1, backend: 'basic_text' });
  });

  it.each([
    [true, 'basic_text'],
    [false, 'basic_text'],
    [false, 'unknown'],
  ] as const)('managed %s: after the key ring wrapped the key, a start with %s is refused and changes nothing', async (managed, weaker) => {
    const first = await start({ backend: 'gnome_libsecret', managed });
    const before = wrapped();
    const error = await start({ backend: weaker, managed }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyProtectionError);
    expect((error as Error).message).toMatch(/weaker/);
    expect(wrapped()).toBe(before);
    expect(record()).toEqual({ format: 1, backend: 'gnome_libsecret' });
    // And the key ring still opens it.
    expect((await start({ backend: 'gnome_libsecret', managed })).key).toEqual(first.key);
  });

  it('an older install (no record) is read as before, then recorded', async () => {
    oldInstall('gnome_libsecret');
    const key = await start({ backend: 'gnome_libsecret', managed: true });
    expect(key.key.toString('hex')).toBe(KEY_HEX);
    expect(record()).toEqual({ format: 1, backend: 'gnome_libsecret' });
    expect(wrapped()).toBe(`gnome_libsecret|${KEY_HEX}`);
  });

  it('a key basic_text wrapped is wrapped again by the key ring once one is there', async () => {
    oldInstall('basic_text');
    const key = await start({ backend: 'kwallet5', managed: true });
    expect(key.key.toString('hex')).toBe(KEY_HEX);
    expect(wrapped()).toBe(`kwallet5|${KEY_HEX}`);
    expect(record()).toEqual({ format: 1, backend: 'kwallet5' });
    // From now on basic_text is a downgrade, even for evaluation.
    await expect(start({ backend: 'basic_text', managed: false })).rejects.toThrow(/weaker/);
  });

  it('a damaged record lets only a real key store in, which then rewrites it', async () => {
    await start({ backend: 'gnome_libsecret', managed: true });
    writeFileSync(join(dir, BACKEND_RECORD_FILE), '{"format":1,"backend":');
    await expect(start({ backend: 'basic_text', managed: false })).rejects.toThrow(/damaged record/);
    await start({ backend: 'gnome_libsecret', managed: true });
    expect(record()).toEqual({ format: 1, backend: 'gnome_libsecret' });
  });

  it('with no key store at all, the evaluation key file still works (and nothing is recorded)', async () => {
    store.available = false;
    const key = await start({ backend: 'unknown', managed: false });
    expect(key.protection).toBe('key-file');
    expect(existsSync(join(dir, BACKEND_RECORD_FILE))).toBe(false);
  });
});

/**
 * `Enclave db rekey` with the key in the OS key store (wrappedKeyCustody). The
 * database here is a stand-in: a file that "opens" with the key whose hex it
 * holds (the real SQLCipher run is test/integration/db-rekey.test.ts).
 */
describe.runIf(process.platform === 'linux')('rekey of a wrapped key (Linux)', () => {
  const NEW_HEX = 'cd'.repeat(32);
  const databasePath = (): string => join(dir, 'data', 'enclave.db');
  const databaseUnder = (hex: string): void => writeFileSync(databasePath(), hex);
  const opens = (path: string, key: Buffer): boolean => readFileSync(path, 'utf8') === key.toString('hex');
  const pending = (): string => join(dir, PENDING_WRAPPED_KEY_FILE);
  const custody = (managed = true) => wrappedKeyCustody({ userDataDir: dir, managed });
  /** A workstation the app has started on: key wrapped by the key ring, backend recorded, database under the key. */
  const installed = async (backend: Backend = 'gnome_libsecret', managed = true): Promise<void> => {
    oldInstall(backend);
    await start({ backend, managed });
    databaseUnder(KEY_HEX);
  };

  it('the whole rekey: the new key is wrapped by the key store, renamed over the old one, the record follows, no pending file is left', async () => {
    await installed();
    const c = custody();
    expect(c.keyStore).toBe('os-key-store');
    expect((await c.readKey()).toString('hex')).toBe(KEY_HEX);
    await c.writePendingKey(Buffer.from(NEW_HEX, 'hex'));
    expect(readFileSync(pending(), 'utf8')).toBe(`gnome_libsecret|${NEW_HEX}`);
    databaseUnder(NEW_HEX);
    await c.commitPendingKey(Buffer.from(NEW_HEX, 'hex'));
    expect(existsSync(pending())).toBe(false);
    expect(wrapped()).toBe(`gnome_libsecret|${NEW_HEX}`);
    expect(record()).toEqual({ format: 1, backend: 'gnome_libsecret' });
    // The app starts on it with the new key.
    expect((await start({ backend: 'gnome_libsecret', managed: true })).key.toString('hex')).toBe(NEW_HEX);
  });

  it('the record follows the backend that wrapped the new key (basic_text before, the key ring now)', async () => {
    await installed('basic_text', false);
    expect(record()).toEqual({ format: 1, backend: 'basic_text' });
    store.backend = 'kwallet5';
    const c = custody(false);
    expect((await c.readKey()).toString('hex')).toBe(KEY_HEX);
    await c.writePendingKey(Buffer.from(NEW_HEX, 'hex'));
    databaseUnder(NEW_HEX);
    await c.commitPendingKey(Buffer.from(NEW_HEX, 'hex'));
    expect(wrapped()).toBe(`kwallet5|${NEW_HEX}`);
    expect(record()).toEqual({ format: 1, backend: 'kwallet5' });
  });

  it('a pending key removed meanwhile (an app start settled before the database was rekeyed) is wrapped again from memory at the commit, never lost', async () => {
    await installed();
    const c = custody();
    await c.writePendingKey(Buffer.from(NEW_HEX, 'hex'));
    expect(await custody().settleInterruptedRekey(databasePath(), opens)).toBe('rolled-back');
    databaseUnder(NEW_HEX);
    await c.commitPendingKey(Buffer.from(NEW_HEX, 'hex'));
    expect(wrapped()).toBe(`gnome_libsecret|${NEW_HEX}`);
    expect(record()).toEqual({ format: 1, backend: 'gnome_libsecret' });
  });

  it('a weaker backend than the recorded one is refused before anything is written', async () => {
    await installed();
    store.backend = 'basic_text';
    const c = custody(false);
    await expect(c.readKey()).rejects.toThrow(/weaker/);
    await expect(c.writePendingKey(Buffer.from(NEW_HEX, 'hex'))).rejects.toThrow(/weaker/);
    expect(existsSync(pending())).toBe(false);
    expect(wrapped()).toBe(`gnome_libsecret|${KEY_HEX}`);
  });

  it('crash after the new wrapped key was written, before the rekey: settling keeps the old key and removes the new file', async () => {
    await installed();
    await custody().writePendingKey(Buffer.from(NEW_HEX, 'hex'));
    // Nothing reads either key until it is settled.
    await expect(custody().readKey()).rejects.toThrow(/interrupted `Enclave db rekey`/);
    expect(await custody().settleInterruptedRekey(databasePath(), opens)).toBe('rolled-back');
    expect(existsSync(pending())).toBe(false);
    expect(wrapped()).toBe(`gnome_libsecret|${KEY_HEX}`);
    expect(record()).toEqual({ format: 1, backend: 'gnome_libsecret' });
  });

  it('crash after the rekey committed, before the rename: settling keeps the new key, wrapped by the key store, and the record says so', async () => {
    await installed();
    await custody().writePendingKey(Buffer.from(NEW_HEX, 'hex'));
    databaseUnder(NEW_HEX);
    expect(await custody().settleInterruptedRekey(databasePath(), opens)).toBe('completed');
    expect(existsSync(pending())).toBe(false);
    expect(wrapped()).toBe(`gnome_libsecret|${NEW_HEX}`);
    expect(record()).toEqual({ format: 1, backend: 'gnome_libsecret' });
  });

  it('a pending key basic_text wrapped (evaluation) is wrapped again by the key ring when settled, so the record stays true', async () => {
    await installed('basic_text', false);
    writeFileSync(pending(), `basic_text|${NEW_HEX}`);
    databaseUnder(NEW_HEX);
    store.backend = 'gnome_libsecret';
    expect(await custody(false).settleInterruptedRekey(databasePath(), opens)).toBe('completed');
    expect(wrapped()).toBe(`gnome_libsecret|${NEW_HEX}`);
    expect(record()).toEqual({ format: 1, backend: 'gnome_libsecret' });
  });

  it('when neither wrapped key opens the database, both are kept and it says so', async () => {
    await installed();
    await custody().writePendingKey(Buffer.from(NEW_HEX, 'hex'));
    databaseUnder('ef'.repeat(32));
    await expect(custody().settleInterruptedRekey(databasePath(), opens)).rejects.toThrow(/^Neither .* opens the database .*Both were kept/);
    expect(wrapped()).toBe(`gnome_libsecret|${KEY_HEX}`);
    expect(readFileSync(pending(), 'utf8')).toBe(`gnome_libsecret|${NEW_HEX}`);
  });

  it.each([
    ['before the rekey', KEY_HEX],
    ['after the rekey committed', NEW_HEX],
  ])('the app starting after a crash %s settles first and opens with the key that opens the database', async (_when, databaseKeyHex) => {
    await installed();
    await custody().writePendingKey(Buffer.from(NEW_HEX, 'hex'));
    databaseUnder(databaseKeyHex);
    const log: string[] = [];
    store.backend = 'gnome_libsecret';
    const key = await obtainDatabaseKey({
      userDataDir: dir,
      dataDir: join(dir, 'data'),
      databasePath: databasePath(),
      allowKeyFile: false,
      managed: true,
      loadKeyOpensDatabase: async () => opens,
      log: (line) => log.push(line),
    });
    expect(key.key.toString('hex')).toBe(databaseKeyHex);
    expect(existsSync(pending())).toBe(false);
    expect(wrapped()).toBe(`gnome_libsecret|${databaseKeyHex}`);
    expect(log.join('\n')).toMatch(/interrupted `Enclave db rekey`/);
  });

  it('a start that cannot try the keys against the database refuses, and changes nothing', async () => {
    await installed();
    await custody().writePendingKey(Buffer.from(NEW_HEX, 'hex'));
    const error = await start({ backend: 'gnome_libsecret', managed: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyProtectionError);
    expect((error as Error).message).toMatch(/Enclave db rekey --recover/);
    expect(existsSync(pending())).toBe(true);
    expect(wrapped()).toBe(`gnome_libsecret|${KEY_HEX}`);
  });
});
