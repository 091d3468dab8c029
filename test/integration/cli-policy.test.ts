// `enclave policy validate` and `enclave policy show`: what IT runs before
// rollout and on a workstation.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/main/cli/main.js';
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
