// An exported audit bundle is verified on another machine, from files anyone
// could have replaced: a FIFO or /dev/zero in place of events.jsonl or
// bundle.json must be refused at once, naming the file, not hang the verifier
// or read until memory runs out. The tool runs as a child process with a time
// limit, so a regression fails instead of hanging the run.
import { execFileSync } from 'node:child_process';
import { rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/main/cli/index.js';
import { createHeadlessCore } from '../../src/main/core/headless.js';
import { call, EVAL_USER } from '../support/core.js';
import { spawnCli } from '../support/cli-process.js';
import { cleanupsAfterEach, tempDir } from '../support/temp.js';

const cleanups = cleanupsAfterEach();

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A real bundle exported from an evaluation workstation, and the key id to verify it with. */
async function exportedBundle(): Promise<{ bundle: string; keyId: string }> {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const dataDir = join(dir.path, 'data');
  const core = await createHeadlessCore({ dataDir, log: () => undefined });
  await call(core, 'auth.createFirstAccount', EVAL_USER);
  await core.close();
  const bundle = join(dir.path, 'bundle');
  expect((await cli(['audit', 'export', '--data-dir', dataDir, '--out', bundle])).code).toBe(0);
  const keyId = (JSON.parse((await cli(['enroll', 'show', '--data-dir', dataDir, '--json'])).out) as { keyId: string }).keyId;
  expect((await cli(['audit', 'verify', '--bundle', bundle, '--key-id', keyId])).code).toBe(0);
  return { bundle, keyId };
}

describe.skipIf(process.platform === 'win32')('enclave audit verify --bundle on files that are not files', () => {
  it('a FIFO as events.jsonl, or /dev/zero as bundle.json, is refused at once by name', async () => {
    const { bundle, keyId } = await exportedBundle();
    const events = join(bundle, 'events.jsonl');
    rmSync(events);
    execFileSync('mkfifo', [events]);
    const fifo = await spawnCli(['audit', 'verify', '--bundle', bundle, '--key-id', keyId]);
    expect(fifo.code).not.toBe(0);
    expect(fifo.out + fifo.err).toContain(`${events} is a FIFO (named pipe), not a regular file`);

    rmSync(events);
    const header = join(bundle, 'bundle.json');
    rmSync(header);
    symlinkSync('/dev/zero', header);
    const zero = await spawnCli(['audit', 'verify', '--bundle', bundle, '--key-id', keyId]);
    expect(zero.code).not.toBe(0);
    expect(zero.out + zero.err).toContain('is a character device, not a regular file');
  });

  it('an events.jsonl that is one endless line is refused once the line passes 16 M characters, not read into memory whole', async () => {
    const { bundle, keyId } = await exportedBundle();
    const events = join(bundle, 'events.jsonl');
    writeFileSync(events, 'x'.repeat(17 * 1024 * 1024));
    const result = await cli(['audit', 'verify', '--bundle', bundle, '--key-id', keyId]);
    expect(result.code).toBe(1);
    expect(result.out).toContain(`the bundle could not be read: ${events} has a line of more than 16,777,216 characters; it is not a file of an Enclave audit bundle.`);
    expect(result.out).toContain('audit bundle NOT verified');
  });
});
