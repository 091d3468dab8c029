// The one reader of small files someone else names (policy, key file, PEM, CRL,
// password files): a regular file under its cap, or a clear refusal.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLimitedFile, readLimitedFileSync, UnreadableFileError } from '../../src/main/files/index.js';

const dir = mkdtempSync(join(tmpdir(), 'enclave-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Reader = (path: string, maxBytes: number) => Promise<Buffer>;
const readers: [string, Reader][] = [
  ['sync', (path, maxBytes) => Promise.resolve().then(() => readLimitedFileSync(path, { maxBytes }))],
  ['async', (path, maxBytes) => readLimitedFile(path, { maxBytes })],
];

async function refusal(read: Promise<Buffer>): Promise<UnreadableFileError> {
  const error: unknown = await read.then(
    () => new Error('it was read'),
    (e: unknown) => e,
  );
  if (!(error instanceof UnreadableFileError)) throw error;
  return error;
}

describe.each(readers)('readLimitedFile (%s)', (name, read) => {
  it('reads a regular file up to exactly its cap, and refuses one byte more, naming path and cap', async () => {
    const path = join(dir, `${name}-cap.json`);
    writeFileSync(path, 'x'.repeat(1024));
    expect((await read(path, 1024)).toString()).toBe('x'.repeat(1024));
    writeFileSync(path, 'x'.repeat(1025));
    const error = await refusal(read(path, 1024));
    expect(error).toMatchObject({ code: 'invalid_input', reason: 'too-large', message: `${path} is larger than 1 KiB (1,025 bytes)` });
  });

  it.skipIf(process.platform === 'win32')('refuses a FIFO at once, without waiting for a writer', async () => {
    const fifo = join(dir, `${name}.fifo`);
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', 'printf "data" > "$1"', 'sh', fifo], { stdio: 'ignore' });
    try {
      expect(await refusal(read(fifo, 1024))).toMatchObject({ reason: 'not-regular', problem: 'is a FIFO (named pipe), not a regular file' });
    } finally {
      writer.kill('SIGKILL');
    }
  });

  it.skipIf(process.platform === 'win32')('refuses /dev/zero, also behind a symbolic link, and a folder', async () => {
    const link = join(dir, `${name}-zero.pem`);
    symlinkSync('/dev/zero', link);
    for (const path of ['/dev/zero', link]) {
      expect(await refusal(read(path, 1024))).toMatchObject({ reason: 'not-regular', message: `${path} is a character device, not a regular file` });
    }
    const folder = join(dir, `${name}-folder`);
    mkdirSync(folder);
    expect((await refusal(read(folder, 1024))).reason).toBe('not-regular');
  });

  it('says a missing file is missing, with its errno', async () => {
    const path = join(dir, `${name}-absent`);
    expect(await refusal(read(path, 1024))).toMatchObject({ reason: 'missing', errno: 'ENOENT', message: `${path} does not exist` });
  });
});
