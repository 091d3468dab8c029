// `enclave model make-test` and `enclave model inspect`, as IT runs them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/main/cli/index.js';
import { sha256File } from '../../src/main/inference/index.js';
import { tempDir } from '../support/temp.js';

let dir: ReturnType<typeof tempDir>;
beforeAll(() => void (dir = tempDir()));
afterAll(() => dir.remove());

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (l) => (out += l + '\n'), err: (l) => (err += l + '\n') });
  return { code, out, err };
}

describe('enclave model', () => {
  it('make-test writes a GGUF that inspect describes, with the file hash', async () => {
    const file = join(dir.path, 'test.gguf');
    const made = await cli('model', 'make-test', file);
    expect(made.code).toBe(0);
    expect(made.out).toMatch(/wrote .*test\.gguf \([\d,]+ bytes, random weights/);
    const inspected = await cli('model', 'inspect', file);
    expect(inspected.code).toBe(0);
    expect(inspected.out).toContain(`sha256:         ${await sha256File(file)}`);
    expect(inspected.out).toMatch(/architecture:\s+llama/);
    expect(inspected.out).toMatch(/context length:\s+4,096/);
    expect(inspected.out).toMatch(/quantisation:\s+F32/);
    expect(inspected.out).toMatch(/parameters:\s+[1-9][\d,]+/);
    expect(inspected.out).toContain('random weights, output is noise');
    const json = JSON.parse((await cli('model', 'inspect', file, '--json')).out);
    expect(json).toMatchObject({ architecture: 'llama', isTestModel: true, contextLength: 4096 });
  });

  it('inspect explains a file that is not GGUF, and exits 2', async () => {
    const file = join(dir.path, 'notes.txt');
    writeFileSync(file, 'Discharge summary, not a model.');
    const result = await cli('model', 'inspect', file);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/notes\.txt.*not a GGUF/);
  });

  it('inspect names a missing file', async () => {
    const result = await cli('model', 'inspect', join(dir.path, 'absent.gguf'));
    expect(result.code).toBe(2);
    expect(result.err).toContain('absent.gguf');
  });

  it('wrong usage prints the usage and exits 2', async () => {
    expect((await cli('model', 'frobnicate')).code).toBe(2);
    expect((await cli('audit', 'verify', '--db', 'x')).err).toContain('needs --db <file> and --key-file <file>');
    expect((await cli('model', 'make-test', join(dir.path, 'x.gguf'), '--shape', 'huge')).err).toContain('unknown shape "huge"');
    expect((await cli('audit', 'verify', '--bogus')).code).toBe(2);
    expect((await cli('--help')).out).toContain('enclave audit verify --db <file> --key-file <file>');
  });
});
