// The core's memory stays out of crash dumps: on Linux the production core
// entry (and the headless core of the CLI) set /proc/self/coredump_filter to 0
// before the database key reaches them.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { limitCoreDumps } from '../../src/main/core/process-hardening.js';
import { cleanupsAfterEach } from '../support/temp.js';

const cleanups = cleanupsAfterEach();

describe.skipIf(process.platform !== 'linux')('core dumps', () => {
  it('the core started as Electron starts it clears its coredump_filter before it is given the key', async () => {
    // The test runner's own filter is the system default (not 0), so the child starts from that too.
    expect(Number.parseInt(readFileSync('/proc/self/coredump_filter', 'utf8'), 16)).not.toBe(0);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/utility-entry-probe.ts'], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [chunk] = (await Promise.race([once(child.stdout, 'data'), once(child, 'exit').then(() => [Buffer.from(`exited: ${stderr}`)])])) as [Buffer];
    expect(chunk.toString()).toBe('waiting\n');
    expect(readFileSync(`/proc/${child.pid}/coredump_filter`, 'utf8').trim()).toBe('00000000');
    expect(stderr).not.toMatch(/crash dumps/);
  });

  it('limitCoreDumps reports what it did, and does nothing elsewhere', () => {
    expect(limitCoreDumps('win32')).toEqual({ state: 'unsupported', platform: 'win32' });
    expect(limitCoreDumps('darwin')).toEqual({ state: 'unsupported', platform: 'darwin' });
  });
});
