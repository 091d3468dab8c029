// `npm start` (scripts/start.mjs) in a copy of the project that has only what the
// script touches: the Electron package, pkcs11js (a real native module, the one a
// failed start used to leave without a binary) and stand-ins for electron-builder
// and electron-vite. The CLI and the tests need the Node build of every native
// module in node_modules, whatever happened to the start.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
let project: string;

/** A shell script in node_modules/.bin, run with the project as its working folder. */
function fakeTool(name: string, body: string): void {
  const file = join(project, 'node_modules', '.bin', name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
}

function installElectronBinary(): void {
  const electron = join(project, 'node_modules', 'electron');
  writeFileSync(join(electron, 'path.txt'), 'electron');
  mkdirSync(join(electron, 'dist'));
  writeFileSync(join(electron, 'dist', 'electron'), '');
}

/** Whether pkcs11js loads in plain Node from the project, as the CLI would load it. */
function pkcs11Loads(): { ok: boolean; output: string } {
  const probe = spawnSync(process.execPath, ['scripts/native-modules.mjs', 'probe', 'pkcs11js'], { cwd: project, encoding: 'utf8' });
  return { ok: probe.status === 0, output: probe.stderr };
}

function start(): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['scripts/start.mjs'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolvePromise({ code, stderr }));
  });
}

beforeEach(() => {
  project = mkdtempSync(join(tmpdir(), 'enclave-start-'));
  mkdirSync(join(project, 'scripts'));
  for (const script of ['start.mjs', 'native-modules.mjs']) cpSync(join(repo, 'scripts', script), join(project, 'scripts', script));
  mkdirSync(join(project, 'node_modules', '.bin'), { recursive: true });
  cpSync(join(repo, 'node_modules', 'pkcs11js'), join(project, 'node_modules', 'pkcs11js'), { recursive: true });
  mkdirSync(join(project, 'node_modules', 'electron'));
  writeFileSync(join(project, 'node_modules', 'electron', 'package.json'), JSON.stringify({ name: 'electron', version: '45.0.0' }));
  fakeTool('electron-builder', 'echo rebuilt >> rebuild-ran\nexit 0');
  fakeTool('electron-vite', 'echo started >> app-ran\nexit 0');
});

afterEach(() => rmSync(project, { recursive: true, force: true }));

describe('npm start', () => {
  it('stops before rebuilding anything when the Electron binary is missing, and says how to get it', async () => {
    const { code, stderr } = await start();
    expect(code).toBe(1);
    expect(stderr).toContain('the Electron binary is missing');
    expect(stderr).toContain('ELECTRON_SKIP_BINARY_DOWNLOAD');
    expect(stderr).toContain('env -u ELECTRON_SKIP_BINARY_DOWNLOAD node node_modules/electron/install.js');
    expect(existsSync(join(project, 'rebuild-ran'))).toBe(false);
    expect(existsSync(join(project, 'app-ran'))).toBe(false);
    expect(pkcs11Loads().ok).toBe(true);
  });

  it('leaves the Node build of pkcs11js in place when the rebuild for Electron fails half-way', async () => {
    installElectronBinary();
    // What install-app-deps does without Electron's headers (offline): node-gyp cleans, then the build fails.
    fakeTool('electron-builder', 'rm -rf node_modules/pkcs11js/build\necho "gyp ERR! cannot download headers" >&2\nexit 1');
    expect(pkcs11Loads().ok).toBe(true);
    const { code, stderr } = await start();
    expect(code).toBe(1);
    expect(stderr).toContain('rebuilding the native modules for Electron failed');
    expect(existsSync(join(project, 'app-ran'))).toBe(false);
    expect(pkcs11Loads()).toEqual({ ok: true, output: '' });
    expect(existsSync(join(project, 'node_modules', '.enclave-node-builds'))).toBe(false);
  });

  it('puts the Node builds back after the app ran on the Electron builds', async () => {
    installElectronBinary();
    // An Electron build does not load in plain Node; a file that is no addon stands in for it.
    fakeTool('electron-builder', 'printf "built for Electron" > node_modules/pkcs11js/build/Release/pkcs11.node\nexit 0');
    fakeTool('electron-vite', 'node scripts/native-modules.mjs probe pkcs11js 2>/dev/null && echo node-build > app-ran || echo electron-build > app-ran');
    const { code } = await start();
    expect(code).toBe(0);
    expect(readFileSync(join(project, 'app-ran'), 'utf8').trim()).toBe('electron-build');
    expect(pkcs11Loads().ok).toBe(true);
  });

  it('puts the Node builds back when the start is interrupted (Ctrl-C)', async () => {
    installElectronBinary();
    fakeTool('electron-builder', 'printf "built for Electron" > node_modules/pkcs11js/build/Release/pkcs11.node\nexit 0');
    // The app runs until it is told to stop.
    fakeTool('electron-vite', 'touch app-ran\nexec sleep 600');
    const child = spawn(process.execPath, ['scripts/start.mjs'], { cwd: project, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolvePromise) => child.on('exit', (code) => resolvePromise(code)));
    while (!existsSync(join(project, 'app-ran'))) await new Promise((r) => setTimeout(r, 50));
    expect(pkcs11Loads().ok).toBe(false);
    child.kill('SIGINT');
    expect(await exited).not.toBe(0);
    expect(pkcs11Loads().ok).toBe(true);
  });

  it('puts back the Node builds a killed start left aside, before anything else', async () => {
    installElectronBinary();
    const release = join(project, 'node_modules', 'pkcs11js', 'build', 'Release');
    const aside = join(project, 'node_modules', '.enclave-node-builds', 'node_modules', 'pkcs11js', 'build', 'Release');
    mkdirSync(aside, { recursive: true });
    cpSync(join(release, 'pkcs11.node'), join(aside, 'pkcs11.node'));
    writeFileSync(join(release, 'pkcs11.node'), 'built for Electron');
    // This start's rebuild fails: what it kept aside must be the Node build, not the Electron one.
    fakeTool('electron-builder', 'exit 1');
    const { code, stderr } = await start();
    expect(code).toBe(1);
    expect(stderr).toContain('putting back the Node builds an earlier start left aside');
    expect(pkcs11Loads().ok).toBe(true);
  });
});
