// `enclave policy validate` and `enclave policy show`: what IT runs before
// rollout and on a workstation.
import { execFileSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/main/cli/main.js';
import { spawnCli } from '../support/cli-process.js';
import { tempDir } from '../support/temp.js';

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function file(name: string, content: string): string {
  const dir = tempDir();
  dirs.push(dir);
  const path = join(dir.path, name);
  writeFileSync(path, content);
  return path;
}

const managed = {
  mode: 'managed',
  institution: { name: 'St Elsewhere' },
  inference: {
    models: [{ id: 'llama-8b', name: 'Llama 8B', path: '/opt/models/llama.gguf', sha256: 'a'.repeat(64) }],
    workloads: [{ id: 'notes', name: 'Notes', model: 'llama-8b' }],
  },
  legacySetting: true,
};

describe('enclave policy', () => {
  it('validate accepts a good policy, prints its hash and warns about unknown keys', async () => {
    const path = file('policy.json', JSON.stringify(managed));
    const result = await cli(['policy', 'validate', path]);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/is a valid managed policy \(hash [0-9a-f]{64}\)/);
    expect(result.out).toMatch(/legacySetting .*not a policy setting this version of Enclave knows/);
  });

  it('validate gives IT the same message the workstation would: key, source, problem; exit 1', async () => {
    const path = file('policy.json', JSON.stringify({ ...managed, session: { failedSignInLockoutSeconds: 0 } }));
    const result = await cli(['policy', 'validate', path]);
    expect(result.code).toBe(1);
    expect(result.out).toContain('none of it');
    expect(result.out).toMatch(new RegExp(`session\\.failedSignInLockoutSeconds \\(${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): .*>=\\s*1`));
  });

  it('validate reports a syntax error with line and column, and --json is machine-readable', async () => {
    const path = file('policy.json', '{\n  "mode": "managed"\n  "institution": {}\n}');
    const result = await cli(['policy', 'validate', path, '--json']);
    expect(result.code).toBe(1);
    const parsed = JSON.parse(result.out) as { ok: boolean; problems: { message: string }[] };
    expect(parsed.ok).toBe(false);
    expect(parsed.problems[0]!.message).toMatch(/expected "," at line 3, column 3/);
  });

  it('validate without a file is a usage error', async () => {
    expect((await cli(['policy', 'validate'])).code).toBe(2);
  });

  it('show prints every effective value with its source', async () => {
    const path = file('policy.json', JSON.stringify(managed));
    const result = await cli(['policy', 'show', '--policy', path]);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^Effective policy [0-9a-f]{64}/);
    expect(result.out).toMatch(new RegExp(`institution\\.name\\s+St Elsewhere\\s+\\[${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\]`));
    expect(result.out).toMatch(/session\.idleLockSeconds\s+900\s+\[default\]/);
  });
});

// A FIFO, a device or a huge file where a policy file should be: each must be
// refused at once, naming the path and the problem. The tool runs as a child
// process with a time limit, so a regression fails instead of hanging the run.
describe('enclave policy on something that is not a policy file', () => {
  function folder(): string {
    const dir = tempDir();
    dirs.push(dir);
    return dir.path;
  }

  it.skipIf(process.platform === 'win32')('validate and show refuse a FIFO at once instead of waiting for a writer', async () => {
    const fifo = join(folder(), 'policy.json');
    execFileSync('mkfifo', [fifo]);
    for (const args of [
      ['policy', 'validate', fifo],
      ['policy', 'show', '--policy', fifo],
    ]) {
      const result = await spawnCli(args);
      expect(result.code).toBe(1);
      expect(result.out).toContain(`(${fifo}): is a FIFO (named pipe), not a regular file`);
    }
  });

  it.skipIf(process.platform === 'win32')('validate refuses /dev/zero, also behind a symbolic link named like a policy, instead of reading it until memory runs out', async () => {
    const link = join(folder(), 'policy.json');
    symlinkSync('/dev/zero', link);
    for (const path of ['/dev/zero', link]) {
      const result = await spawnCli(['policy', 'validate', path, '--json']);
      expect(result.code).toBe(1);
      const report = JSON.parse(result.out) as { ok: boolean; problems: { source: string; message: string }[] };
      expect(report.problems).toContainEqual({ key: null, source: path, message: 'is a character device, not a regular file' });
    }
  });

  it('validate refuses a policy file over 1 MiB, even one that is valid JSON', async () => {
    const path = join(folder(), 'policy.json');
    writeFileSync(path, JSON.stringify(managed) + ' '.repeat(1024 * 1024));
    const result = await spawnCli(['policy', 'validate', path]);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(new RegExp(`\\(${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): is larger than 1 MiB \\(1,048,[0-9]{3} bytes\\)`));
    // Exactly at the limit is still read.
    writeFileSync(path, JSON.stringify(managed).padEnd(1024 * 1024, ' '));
    expect((await spawnCli(['policy', 'validate', path])).code).toBe(0);
  });
});
