// keys/custody.ts: the key file as key custody for `enclave db rekey` (the real
// SQLCipher run is test/integration/db-rekey.test.ts). The database here is a
// stand-in: a file that "opens" with the key whose hex it holds.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { keyFileCustody, pendingKeyPath } from '../../src/main/keys/index.js';
import { cleanupsAfterEach, tempDir } from '../support/temp.js';

const cleanups = cleanupsAfterEach();
const OLD_HEX = 'ab'.repeat(32);
const NEW_HEX = 'cd'.repeat(32);
let keyPath: string;
let databasePath: string;
const opens = (path: string, key: Buffer): boolean => readFileSync(path, 'utf8') === key.toString('hex');

beforeEach(() => {
  const temp = tempDir('enclave-key-custody-');
  cleanups.push(temp.remove);
  keyPath = join(temp.path, 'database.key');
  databasePath = join(temp.path, 'enclave.db');
  writeFileSync(keyPath, `${OLD_HEX}\n`, { mode: 0o600 });
  writeFileSync(databasePath, OLD_HEX);
});

describe('the key file as key custody', () => {
  it('reads, writes the pending key beside it, and commits it; the audit detail names key-file', async () => {
    const custody = keyFileCustody(keyPath);
    expect(custody.keyStore).toBe('key-file');
    expect((await custody.readKey()).toString('hex')).toBe(OLD_HEX);
    await custody.writePendingKey(Buffer.from(NEW_HEX, 'hex'));
    expect(readFileSync(pendingKeyPath(keyPath), 'utf8')).toBe(`${NEW_HEX}\n`);
    await expect(custody.readKey()).rejects.toThrow(/interrupted `enclave db rekey`/);
    writeFileSync(databasePath, NEW_HEX);
    await custody.commitPendingKey(Buffer.from(NEW_HEX, 'hex'));
    expect(readFileSync(keyPath, 'utf8')).toBe(`${NEW_HEX}\n`);
    expect(existsSync(pendingKeyPath(keyPath))).toBe(false);
  });

  it('a pending key removed meanwhile (a start settled before the database was rekeyed) is written again from memory at the commit, never lost', async () => {
    const custody = keyFileCustody(keyPath);
    await custody.writePendingKey(Buffer.from(NEW_HEX, 'hex'));
    expect(await keyFileCustody(keyPath).settleInterruptedRekey(databasePath, opens)).toBe('rolled-back');
    writeFileSync(databasePath, NEW_HEX);
    await custody.commitPendingKey(Buffer.from(NEW_HEX, 'hex'));
    expect(readFileSync(keyPath, 'utf8')).toBe(`${NEW_HEX}\n`);
    expect(existsSync(pendingKeyPath(keyPath))).toBe(false);
  });
});
