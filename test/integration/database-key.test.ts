// The database key: a lost or damaged key file is named as such and nothing is
// created or overwritten; the key is zeroed once the store is open; the store
// keeps its temporary data in memory (temporary files are not encrypted).
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHeadlessCore } from '../../src/main/core/headless.js';
import { createCore, DATABASE_FILE, KEY_FILE } from '../../src/main/core/index.js';
import { runCli } from '../../src/main/cli/index.js';
import { checkDatabase } from '../../src/main/cli/doctor/database.js';
import { loadOrCreateKeyFile, MissingKeyFileError, readKeyFile } from '../../src/main/keys/index.js';
import { evaluationPolicy, policyFromDocument } from '../../src/main/policy/index.js';
import { openStore } from '../../src/main/store/index.js';
import { EnclaveError } from '../../src/shared/errors.js';
import { cleanupsAfterEach, tempDir } from '../support/temp.js';

const cleanups = cleanupsAfterEach();

function folder(): string {
  const dir = tempDir();
  cleanups.push(dir.remove);
  return dir.path;
}

const fileHash = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A data folder whose database was made by a first start (and so holds data), the core closed again. */
async function usedDataFolder(): Promise<{ dataDir: string; database: string; keyFile: string }> {
  const dataDir = folder();
  const core = await createHeadlessCore({ dataDir, log: () => undefined });
  await core.close();
  return { dataDir, database: join(dataDir, DATABASE_FILE), keyFile: join(dataDir, KEY_FILE) };
}

async function startError(dataDir: string): Promise<EnclaveError> {
  const error: unknown = await createHeadlessCore({ dataDir, log: () => undefined }).then(
    async (core) => {
      await core.close();
      throw new Error('the core started');
    },
    (e: unknown) => e,
  );
  if (!(error instanceof EnclaveError)) throw error;
  return error;
}

describe('a missing or damaged key file', () => {
  it('a missing key file beside an existing database is named as missing, with what to do; no new key is made and the database is untouched', async () => {
    const { dataDir, database, keyFile } = await usedDataFolder();
    rmSync(keyFile);
    const before = fileHash(database);
    const error = await startError(dataDir);
    expect(error.code).toBe('storage_failed');
    expect(error.message).toBe(
      `The database key file ${keyFile} is missing, but the database ${database} exists. Restore the key file from your backup to ${keyFile}; without it the database cannot be opened. Nothing was created or changed.`,
    );
    expect(existsSync(keyFile)).toBe(false);
    expect(fileHash(database)).toBe(before);
  });

  it('an empty, a truncated or a non-hex key file is refused by what is wrong with it, and never overwritten', async () => {
    const { dataDir, keyFile } = await usedDataFolder();
    const key = readFileSync(keyFile, 'utf8').trim();
    const cases: [string, RegExp][] = [
      ['', /is empty: it must hold the 256-bit database key as 64 hex characters/],
      ['\n  \n', /is empty/],
      [key.slice(0, 63), /holds 63 hex digits, not 64/],
      [`${key.slice(0, 10)}zz${key.slice(12)}`, /holds a character that is not a hex digit \(at byte 11\)/],
    ];
    for (const [content, problem] of cases) {
      writeFileSync(keyFile, content);
      const error = await startError(dataDir);
      expect(error.message).toMatch(problem);
      expect(error.message).toContain(keyFile);
      expect(error.message).toContain('restore it from your backup. Nothing was changed.');
      // The key itself is never echoed.
      expect(error.message).not.toContain(key.slice(12, 40));
      expect(readFileSync(keyFile, 'utf8')).toBe(content);
    }
    // Put back, it opens again: nothing was lost.
    writeFileSync(keyFile, key);
    const core = await createHeadlessCore({ dataDir, log: () => undefined });
    await core.close();
  });

  it.skipIf(process.platform === 'win32')('a FIFO or a device as the key file is refused at once, not read', async () => {
    const { dataDir, keyFile } = await usedDataFolder();
    rmSync(keyFile);
    execFileSync('mkfifo', [keyFile]);
    // A writer, so that a regression (a plain read) gets an answer and fails the assertion instead of hanging.
    const writer = spawn('sh', ['-c', 'printf "not a key" > "$1"', 'sh', keyFile], { stdio: 'ignore' });
    cleanups.push(() => writer.kill('SIGKILL'));
    expect((await startError(dataDir)).message).toBe(`The key file ${keyFile} is a FIFO (named pipe), not a regular file. Nothing was changed.`);
    expect(() => readKeyFile('/dev/zero')).toThrow('The key file /dev/zero is a character device, not a regular file. Nothing was changed.');
  });

  it('the command-line tool names a missing key file and creates none', async () => {
    const { dataDir, database, keyFile } = await usedDataFolder();
    rmSync(keyFile);
    const err: string[] = [];
    const code = await runCli(['enroll', 'show', '--data-dir', dataDir], { out: () => undefined, err: (l) => err.push(l) });
    expect(code).toBe(2);
    expect(err.join('\n')).toBe(`enclave: The key file ${keyFile} does not exist. Nothing was changed.`);
    expect(existsSync(keyFile)).toBe(false);
    expect(existsSync(database)).toBe(true);
  });

  it('an empty database file (a first start that stopped) is no reason to refuse a new key; a write-ahead log with data is', () => {
    const dataDir = folder();
    const database = join(dataDir, DATABASE_FILE);
    const keyFile = join(dataDir, KEY_FILE);
    writeFileSync(database, '');
    writeFileSync(`${database}-wal`, 'committed pages');
    expect(() => loadOrCreateKeyFile(keyFile, { databasePath: database })).toThrow(MissingKeyFileError);
    expect(existsSync(keyFile)).toBe(false);
    rmSync(`${database}-wal`);
    expect(loadOrCreateKeyFile(keyFile, { databasePath: database })).toHaveLength(32);
    expect(existsSync(keyFile)).toBe(true);
  });

  it.skipIf(process.platform === 'win32')(
    'a key file that group or others can read is refused by the core and the command-line tool, naming the chmod that fixes it; the mode is never changed',
    async () => {
      const { dataDir, keyFile } = await usedDataFolder();
      const key = readFileSync(keyFile, 'utf8').trim();
      const cases: [number, string][] = [
        [0o644, 'can be read by every local account (mode 644)'],
        [0o640, 'can be read by its group (mode 640)'],
        [0o604, 'can be read by every local account (mode 604)'],
        [0o620, 'can be changed by its group (mode 620)'],
      ];
      for (const [mode, problem] of cases) {
        chmodSync(keyFile, mode);
        const expected = `The key file ${keyFile} ${problem}; it holds a secret and must be readable by its owner only: chmod 600 '${keyFile}'. Nothing was changed.`;
        const error = await startError(dataDir);
        expect(error.message).toBe(expected);
        expect(error.message).not.toContain(key.slice(8, 40));
        const err: string[] = [];
        expect(await runCli(['enroll', 'show', '--data-dir', dataDir], { out: () => undefined, err: (l) => err.push(l) })).toBe(2);
        expect(err.join('\n')).toBe(`enclave: ${expected}`);
        expect(statSync(keyFile).mode & 0o777).toBe(mode);
        // enclave doctor fails the database check with the same words.
        expect(checkDatabase(dataDir, policyFromDocument(structuredClone(evaluationPolicy), 'test policy').policy)).toEqual({ name: 'database', status: 'fail', detail: expected });
      }
      chmodSync(keyFile, 0o600);
      const core = await createHeadlessCore({ dataDir, log: () => undefined });
      await core.close();
    },
  );

  it('the first start still makes a key file (mode 0600) when there is no database yet', async () => {
    const dataDir = folder();
    const core = await createHeadlessCore({ dataDir, log: () => undefined });
    await core.close();
    expect(readFileSync(join(dataDir, KEY_FILE), 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    if (process.platform !== 'win32') expect(execFileSync('stat', ['-c', '%a', join(dataDir, KEY_FILE)], { encoding: 'utf8' }).trim()).toBe('600');
  });
});

describe('the database key in memory, and temporary data', () => {
  const policy = () => policyFromDocument(structuredClone(evaluationPolicy), 'test policy');

  it('createCore zeroes the key it was given once the store is open, and when the key is wrong', async () => {
    const dataDir = folder();
    const key = randomBytes(32);
    const copy = Buffer.from(key);
    const core = await createCore({ dataDir, databaseKey: key, policy: policy(), version: 'test', log: () => undefined });
    await core.close();
    expect(key.equals(Buffer.alloc(32))).toBe(true);
    // The copy still opens the database: the core zeroed its key only after opening.
    openStore({ path: join(dataDir, DATABASE_FILE), key: copy, readonly: true }).close();

    const wrong = randomBytes(32);
    await expect(createCore({ dataDir, databaseKey: wrong, policy: policy(), version: 'test', log: () => undefined })).rejects.toThrow(/cannot be opened with this key/);
    expect(wrong.equals(Buffer.alloc(32))).toBe(true);
  });

  it('the store keeps temporary tables and sorts in memory (temp_store = MEMORY), read-write and read-only', () => {
    const dataDir = folder();
    const key = randomBytes(32);
    const path = join(dataDir, DATABASE_FILE);
    const store = openStore({ path, key });
    expect(store.writer.pragma('temp_store', { simple: true })).toBe(2);
    store.close();
    const readonly = openStore({ path, key, readonly: true });
    expect(readonly.writer.pragma('temp_store', { simple: true })).toBe(2);
    readonly.close();
  });
});
