// Under managed policy a model file and every folder above it must be
// writable only by administrators. These tests run as root, whom permissions
// do not stop, so they set mode bits and owners and check the verdict, never
// whether a write is actually refused.
import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { modelFileProtectionProblem } from '../../src/main/inference/file-protection.js';
import { EnclaveError } from '../../src/shared/errors.js';
import { rejectionOf } from '../support/rejection.js';
import { tempDir } from '../support/temp.js';

const dir = tempDir('enclave-protection-');
afterAll(() => dir.remove());

let n = 0;
let folder: string;
let file: string;
beforeEach(() => {
  // The temporary folder (and /tmp, sticky) are fine; each test gets a fresh folder and file inside.
  folder = join(dir.path, `models-${++n}`);
  mkdirSync(folder, { mode: 0o755 });
  chmodSync(folder, 0o755);
  file = join(folder, 'model.gguf');
  writeFileSync(file, 'GGUF');
  chmodSync(file, 0o644);
});

const ownUid = process.getuid?.() ?? 0;

describe.skipIf(process.platform === 'win32')('modelFileProtectionProblem', () => {
  it('passes a file and folders owned by root or this account with no group or other write bit', async () => {
    expect(await modelFileProtectionProblem(file)).toBeNull();
  });

  it("names a group-writable or world-writable file, with its mode; an administrators' group (gid 0) may write", async () => {
    chmodSync(file, 0o664);
    chownSync(file, -1, 0);
    expect(await modelFileProtectionProblem(file)).toBeNull();
    chownSync(file, -1, 4242);
    expect(await modelFileProtectionProblem(file)).toBe(`the file ${file} can be written by its group (group id 4242) (mode 0664)`);
    chmodSync(file, 0o646);
    expect(await modelFileProtectionProblem(file)).toBe(`the file ${file} can be written by anyone (mode 0646)`);
  });

  it('names a writable folder anywhere above the file; a sticky one (like /tmp) is fine', async () => {
    const inner = join(folder, 'deeper');
    mkdirSync(inner);
    chmodSync(inner, 0o755);
    const deep = join(inner, 'model.gguf');
    writeFileSync(deep, 'GGUF');
    chmodSync(deep, 0o644);
    chmodSync(folder, 0o777);
    expect(await modelFileProtectionProblem(deep)).toBe(`the folder ${folder} can be written by anyone (mode 0777)`);
    chmodSync(folder, 0o1777);
    expect(await modelFileProtectionProblem(deep)).toBeNull();
  });

  it('names a file or folder owned by another account', async () => {
    const stranger = ownUid === 4242 ? 4243 : 4242;
    chownSync(file, stranger, -1);
    expect(await modelFileProtectionProblem(file)).toBe(`the file ${file} is owned by user id ${stranger}, not by root or the account Enclave runs as (user id ${ownUid})`);
    chownSync(file, ownUid, -1);
    chownSync(folder, stranger, -1);
    expect(await modelFileProtectionProblem(file)).toBe(`the folder ${folder} is owned by user id ${stranger}, not by root or the account Enclave runs as (user id ${ownUid})`);
  });

  it('checks the folders of a symbolic link as listed, as well as those of the file it leads to', async () => {
    const linkFolder = join(dir.path, `links-${n}`);
    mkdirSync(linkFolder);
    chmodSync(linkFolder, 0o775);
    chownSync(linkFolder, -1, 4242);
    const link = join(linkFolder, 'current.gguf');
    symlinkSync(file, link);
    // Whoever may write the link's folder may point the link elsewhere.
    expect(await modelFileProtectionProblem(link)).toMatch(new RegExp(`^the folder ${linkFolder} can be written by its group`));
    chmodSync(linkFolder, 0o755);
    expect(await modelFileProtectionProblem(link)).toBeNull();
    chmodSync(file, 0o666);
    expect(await modelFileProtectionProblem(link)).toBe(`the file ${file} can be written by anyone (mode 0666)`);
  });

  it('says a missing file is missing', async () => {
    const error = await rejectionOf(modelFileProtectionProblem(join(folder, 'nowhere.gguf')), EnclaveError);
    expect(error.code).toBe('model_file_missing');
  });
});
