// The e2e global setup starts the Samba AD DC only when a selected spec signs in
// against the directory (test/e2e/samba-needed.ts): `npm run test:e2e -- <spec>`
// of a spec without the directory runs without Samba.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sambaNeeded, specsNeedingSamba, testFilters } from '../e2e/samba-needed.js';

const e2e = fileURLToPath(new URL('../e2e/', import.meta.url));
const runner = ['/usr/bin/node', '/repo/node_modules/.bin/playwright', 'test'];

describe('which e2e runs need the Samba DC', () => {
  it('finds the specs that sign in against the directory by what they read', () => {
    const needing = specsNeedingSamba(e2e).map((file) => file.slice(e2e.length));
    expect(needing).toContain('directory.spec.ts');
    expect(needing).not.toContain('session.spec.ts');
    expect(needing).not.toContain('bad-input.spec.ts');
  });

  it('needs it for the whole suite, and for a selection that includes a directory spec', () => {
    expect(sambaNeeded(runner, e2e)).toBe(true);
    expect(sambaNeeded([...runner, '--reporter=list,json'], e2e)).toBe(true);
    expect(sambaNeeded([...runner, 'test/e2e/directory.spec.ts'], e2e)).toBe(true);
    expect(sambaNeeded([...runner, 'session', 'directory.spec.ts:40'], e2e)).toBe(true);
  });

  it('does not for specs that need no directory, with or without options around them', () => {
    expect(sambaNeeded([...runner, 'test/e2e/session.spec.ts'], e2e)).toBe(false);
    expect(sambaNeeded([...runner, 'bad-input.spec.ts:12', 'policy'], e2e)).toBe(false);
    // The value of --grep names a directory spec's test, but selects no file.
    expect(sambaNeeded([...runner, '--grep', 'directory', 'session.spec.ts', '--workers=1'], e2e)).toBe(false);
    expect(sambaNeeded([...runner, '--project', 'a', 'b', '-x', 'session.spec.ts'], e2e)).toBe(false);
  });

  it('counts a selection made elsewhere than the command line as needing it', () => {
    expect(testFilters([...runner, '--last-failed'])).toBeNull();
    expect(sambaNeeded([...runner, '--only-changed', 'session.spec.ts'], e2e)).toBe(true);
    expect(sambaNeeded([...runner, `--test-list=${join(e2e, 'list.txt')}`], e2e)).toBe(true);
  });
});

describe('npm run test:e2e (scripts/e2e.mjs)', () => {
  it('says plainly that Chromium is missing and how to install it, before building anything', () => {
    const run = spawnSync(process.execPath, ['scripts/e2e.mjs', 'test/e2e/session.spec.ts'], {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      env: { ...process.env, ENCLAVE_E2E_TARGET: 'browser', ENCLAVE_E2E_CHROMIUM: '/nonexistent/chromium' },
      encoding: 'utf8',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('e2e: Chromium is missing: there is no /nonexistent/chromium.');
    expect(run.stderr).toContain('sudo apt-get install chromium');
    expect(run.stdout).not.toContain('building the renderer');
  });
});
