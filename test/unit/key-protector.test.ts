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

const { obtainDatabaseKey, KeyProtectionError, BACKEND_RECORD_FILE, WRAPPED_KEY_FILE } = await import('../../src/main/electron/key-protector.js');

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
