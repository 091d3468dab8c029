// What really lands in the package: electron-builder's own pipeline (file
// matching, node_modules collection, asar packing with unpack rules, extra
// resources, fuse flipping) runs for a Linux `dir` target. Electron itself
// cannot be downloaded here, so a stand-in distribution takes its place: a file
// named `electron` that carries the fuse sentinel and a fuse wire in Electron's
// shipped state, which is all electron-builder touches in the binary for Linux.
// Needs `npm run build` first (the bundles in out/ are what gets packed).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, writeFileSync, copyFileSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractFile, getRawHeader, type DirectoryRecord, type FileRecord } from '@electron/asar';
import { FuseState, FuseV1Options, FuseVersion, getCurrentFuseWire } from '@electron/fuses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_PAGE_URL, isServableAppUrl, resolveAppRequest } from '../../src/main/desktop/index.js';
import { tempDir } from '../support/temp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);

/** @electron/fuses' sentinel: the fuse wire follows it in the Electron binary. */
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
/** The wire as Electron ships it: every fuse Enclave flips starts in the opposite state. */
const SHIPPED_WIRE: Record<FuseV1Options, FuseState> = {
  [FuseV1Options.RunAsNode]: FuseState.ENABLE,
  [FuseV1Options.EnableCookieEncryption]: FuseState.DISABLE,
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: FuseState.ENABLE,
  [FuseV1Options.EnableNodeCliInspectArguments]: FuseState.ENABLE,
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: FuseState.DISABLE,
  [FuseV1Options.OnlyLoadAppFromAsar]: FuseState.DISABLE,
  [FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]: FuseState.DISABLE,
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: FuseState.ENABLE,
  [FuseV1Options.WasmTrapHandlers]: FuseState.ENABLE,
};
/** electron-builder.yml's electronFuses, as the state each fuse must end in. */
const REQUIRED_WIRE: Partial<Record<FuseV1Options, FuseState>> = {
  [FuseV1Options.RunAsNode]: FuseState.DISABLE,
  [FuseV1Options.EnableCookieEncryption]: FuseState.ENABLE,
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: FuseState.DISABLE,
  [FuseV1Options.EnableNodeCliInspectArguments]: FuseState.DISABLE,
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: FuseState.ENABLE,
  [FuseV1Options.OnlyLoadAppFromAsar]: FuseState.ENABLE,
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: FuseState.DISABLE,
};

const NATIVE_ADDONS = ['node_modules/better-sqlite3-multiple-ciphers/build/Release/better_sqlite3.node', 'node_modules/pkcs11js/build/Release/pkcs11.node'];

let work: ReturnType<typeof tempDir>;
let appOutDir: string;
let resources: string;
let extracted: string;
/** Every file in app.asar's index: path (no leading slash) → record. */
const entries = new Map<string, FileRecord & { link?: string }>();
/** Every path in app.asar.unpacked, files only. */
let unpackedFiles: string[] = [];
let builderLog = '';
let packagingSeconds = 0;

function makeStandInElectron(dir: string): void {
  mkdirSync(join(dir, 'locales'), { recursive: true });
  mkdirSync(join(dir, 'resources'), { recursive: true });
  const wire = Object.values(SHIPPED_WIRE);
  const binary = Buffer.concat([
    Buffer.from('#!/bin/sh\n# stand-in for the Electron binary (Enclave packaging test)\nexit 1\n'),
    Buffer.alloc(256),
    Buffer.from(FUSE_SENTINEL),
    Buffer.from([Number(FuseVersion.V1), wire.length, ...wire]),
    Buffer.alloc(256),
  ]);
  writeFileSync(join(dir, 'electron'), binary, { mode: 0o755 });
  writeFileSync(join(dir, 'LICENSE'), 'stand-in');
  writeFileSync(join(dir, 'locales', 'en-US.pak'), '');
}

function runElectronBuilder(args: string[]): Promise<{ code: number | null; log: string }> {
  const cli = require.resolve('electron-builder/cli.js');
  return new Promise((resolve, reject) => {
    // electron-builder goes quiet when it sees it runs under Vitest; its log is part of the evidence here.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: root,
      env: { ...env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, log }));
  });
}

function indexArchive(dir: DirectoryRecord, prefix: string): void {
  for (const [name, entry] of Object.entries(dir.files)) {
    const path = prefix ? `${prefix}/${name}` : name;
    if ('files' in entry) indexArchive(entry as DirectoryRecord, path);
    else entries.set(path, entry as FileRecord & { link?: string });
  }
}

function listFiles(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? listFiles(join(dir, entry.name), base) : [relative(base, join(dir, entry.name)).split('\\').join('/')]));
}

/**
 * The app as Electron sees it at run time: the archive's files, with the unpacked
 * ones taken from app.asar.unpacked (hard links, so nothing large is copied).
 */
function materialise(asarPath: string, dest: string): void {
  for (const [path, entry] of entries) {
    const out = join(dest, path);
    mkdirSync(dirname(out), { recursive: true });
    if (entry.link !== undefined) symlinkSync(relative(dirname(path), entry.link), out);
    else if (entry.unpacked) {
      const source = join(`${asarPath}.unpacked`, path);
      try {
        linkSync(source, out);
      } catch {
        copyFileSync(source, out);
      }
    } else writeFileSync(out, extractFile(asarPath, path));
  }
}

/**
 * Imports every production dependency by name, as the app's code would, from
 * `appRoot`'s node_modules, and makes each native addon actually load. Runs in a
 * child process so two copies of an addon never share one process; the probe
 * sits in its own folder whose node_modules links to appRoot's.
 */
function loadDependencies(appRoot: string, probeDir: string): Record<string, string> {
  mkdirSync(probeDir, { recursive: true });
  symlinkSync(join(appRoot, 'node_modules'), join(probeDir, 'node_modules'), 'dir');
  writeFileSync(
    join(probeDir, 'probe.mjs'),
    `
    import { readFileSync } from 'node:fs';
    const { dependencies = {} } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
    const result = {};
    for (const name of Object.keys(dependencies)) {
      try {
        const mod = await import(name);
        if (name === 'better-sqlite3-multiple-ciphers') {
          const db = new mod.default(':memory:');
          db.pragma("cipher = 'sqlcipher'");
          db.close();
        }
        if (name === 'node-llama-cpp') {
          const llama = await mod.getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: 'error' });
          await llama.dispose();
        }
        result[name] = 'ok';
      } catch (error) {
        result[name] = ((error && (error.code || error.name)) || 'error') + ': ' + String((error && error.message) || error).split('\\n')[0];
      }
    }
    process.stdout.write('\\n' + JSON.stringify(result));
  `,
  );
  const run = spawnSync(process.execPath, [join(probeDir, 'probe.mjs'), join(appRoot, 'package.json')], { cwd: probeDir, encoding: 'utf8', timeout: 90_000 });
  if (run.status !== 0) throw new Error(`loading the dependencies from ${appRoot} failed:\n${run.stderr}`);
  return JSON.parse(run.stdout.slice(run.stdout.lastIndexOf('\n') + 1)) as Record<string, string>;
}

beforeAll(async () => {
  if (!existsSync(join(root, 'out/main/index.js'))) {
    throw new Error('out/main/index.js is missing: run `npm run build` before this test (it packs the built bundles).');
  }
  work = tempDir('enclave-package-');
  const dist = join(work.path, 'electron-dist');
  const output = join(work.path, 'dist');
  makeStandInElectron(dist);

  const started = Date.now();
  const { code, log } = await runElectronBuilder([
    '--linux',
    'dir',
    '--x64',
    '--publish',
    'never',
    // The native modules are already built; rebuilding would fetch Electron's headers.
    '-c.npmRebuild=false',
    `-c.electronDist=${dist}`,
    `-c.directories.output=${output}`,
  ]);
  packagingSeconds = (Date.now() - started) / 1000;
  builderLog = log;
  if (code !== 0) throw new Error(`electron-builder exited with ${code}:\n${log.slice(-4000)}`);

  appOutDir = join(output, 'linux-unpacked');
  resources = join(appOutDir, 'resources');
  indexArchive(getRawHeader(join(resources, 'app.asar')).header, '');
  unpackedFiles = listFiles(join(resources, 'app.asar.unpacked'));
  extracted = join(work.path, 'app');
  materialise(join(resources, 'app.asar'), extracted);
}, 240_000);

afterAll(() => work?.remove());

const isTestFile = (path: string): boolean => /(^|\/)(test|tests|__tests__|__mocks__)\//.test(path) || /\.(test|spec)\.[cm]?[jt]sx?$/.test(path);
const isSourceMap = (path: string): boolean => path.endsWith('.map');
const isTypeScript = (path: string): boolean => /\.[cm]?tsx?$/.test(path);

describe('the packaged app (electron-builder, Linux dir target)', () => {
  it('was packaged by electron-builder from the stand-in, with nothing downloaded', () => {
    expect(builderLog).toContain('using custom unpacked Electron distribution');
    expect(builderLog).toContain('skipped dependencies rebuild');
    expect(builderLog).toContain('executing @electron/fuses');
    expect(builderLog).not.toMatch(/download/i);
    console.info(`electron-builder packaged the app in ${packagingSeconds.toFixed(1)} s`);
  });

  it('has flipped every reviewed fuse in the binary, and no other', async () => {
    const wire = await getCurrentFuseWire(join(appOutDir, 'enclave'));
    for (const [option, shipped] of Object.entries(SHIPPED_WIRE)) {
      const fuse = Number(option) as FuseV1Options;
      const expected = REQUIRED_WIRE[fuse] ?? shipped;
      expect(wire[fuse], FuseV1Options[fuse]).toBe(expected);
    }
  });

  it('packs the built bundles, package.json and the policy into app.asar', () => {
    for (const path of ['package.json', 'out/main/index.js', 'out/main/core.js', 'out/preload/index.cjs', 'out/renderer/index.html', 'resources/policy/evaluation.json']) {
      expect(entries.has(path), path).toBe(true);
      expect(entries.get(path)?.unpacked, `${path} must stay inside the checked archive`).toBeFalsy();
    }
    const pkg = JSON.parse(readFileSync(join(extracted, 'package.json'), 'utf8')) as { main: string; scripts?: unknown; devDependencies?: unknown };
    expect(entries.has(pkg.main.replace(/^\.\//, '')), `main ${pkg.main}`).toBe(true);
    expect(pkg.devDependencies).toBeUndefined();
    expect(pkg.scripts).toBeUndefined();
  });

  it('serves the whole renderer from app://enclave/ (never file://): every file with a type, every reference the page makes', () => {
    const rendererRoot = join(extracted, 'out', 'renderer');
    const files = [...entries.keys()].filter((path) => path.startsWith('out/renderer/')).map((path) => path.slice('out/renderer/'.length));
    expect(files).toContain('index.html');
    for (const file of files) {
      const resolved = resolveAppRequest(`app://enclave/${file}`, rendererRoot);
      expect(resolved, file).toMatchObject({ ok: true, filePath: join(rendererRoot, ...file.split('/')) });
    }
    // The page's scripts and styles resolve, relative to its app:// URL, to files in the archive.
    const html = readFileSync(join(rendererRoot, 'index.html'), 'utf8');
    // data: URLs (the empty favicon) are inline, not requests.
    const references = [...html.matchAll(/\b(?:src|href)\s*=\s*["']([^"']+)["']/g)].map((match) => match[1]!).filter((ref) => !ref.startsWith('data:'));
    expect(references.length).toBeGreaterThan(0);
    for (const reference of references) {
      const url = new URL(reference, APP_PAGE_URL);
      expect(url.origin === 'null' ? url.href : url.origin, reference).toMatch(/^app:\/\/enclave/);
      expect(isServableAppUrl(url.href), reference).toBe(true);
      expect(entries.has(`out/renderer${url.pathname}`), reference).toBe(true);
    }
    expect(html).not.toMatch(/file:\/\//);
  });

  it('copies the policy folder beside the archive, where IT can read it', () => {
    expect(existsSync(join(resources, 'policy', 'evaluation.json'))).toBe(true);
  });

  it('contains no test files', () => {
    expect([...entries.keys()].filter(isTestFile)).toEqual([]);
    expect(unpackedFiles.filter(isTestFile)).toEqual([]);
  });

  it('contains no source maps', () => {
    expect([...entries.keys()].filter(isSourceMap)).toEqual([]);
    expect(unpackedFiles.filter(isSourceMap)).toEqual([]);
  });

  it('contains no TypeScript sources, the app’s or its dependencies’', () => {
    expect([...entries.keys()].filter((path) => path.startsWith('src/'))).toEqual([]);
    expect([...entries.keys()].filter(isTypeScript)).toEqual([]);
    expect(unpackedFiles.filter(isTypeScript)).toEqual([]);
  });

  it('contains no development dependency', () => {
    // A dev dependency that a production package also needs (plist's XML
    // parser) is not dev-only: the lock file's dev flag tells them apart.
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.keys(pkg.devDependencies).filter((name) => lock.packages[`node_modules/${name}`]?.dev === true);
    expect(devOnly).toContain('vitest');
    expect(devOnly.filter((name) => entries.has(`node_modules/${name}/package.json`))).toEqual([]);
  });

  it('has no update feed', () => {
    expect(existsSync(join(resources, 'app-update.yml'))).toBe(false);
    expect(entries.has('node_modules/electron-updater/package.json')).toBe(false);
  });

  it('keeps every native addon outside the archive, where it can be loaded', () => {
    for (const path of NATIVE_ADDONS) expect(unpackedFiles, path).toContain(path);
    expect(unpackedFiles.some((path) => /^node_modules\/@node-llama-cpp\/[^/]+\/bins\/.+\/llama-addon\.node$/.test(path))).toBe(true);
    const addons = [...entries.keys()].filter((path) => path.endsWith('.node'));
    expect(addons.length).toBeGreaterThan(0);
    expect(
      addons.filter((path) => !entries.get(path)?.unpacked),
      'a .node file inside app.asar cannot be loaded',
    ).toEqual([]);
    expect(
      addons.filter((path) => !unpackedFiles.includes(path)),
      'flagged unpacked but missing from app.asar.unpacked',
    ).toEqual([]);
    // Not shipped: the SQLite extension better-sqlite3's own tests load.
    expect(unpackedFiles.filter((path) => path.includes('test_extension'))).toEqual([]);
  });

  it('records a SHA-256 for every archived file that matches its content (what asar integrity checks)', () => {
    const mismatched: string[] = [];
    for (const [path, entry] of entries) {
      if (entry.unpacked || entry.link !== undefined) continue;
      const hash = createHash('sha256')
        .update(readFileSync(join(extracted, path)))
        .digest('hex');
      if (entry.integrity?.algorithm !== 'SHA256' || entry.integrity.hash !== hash) mismatched.push(path);
    }
    expect(mismatched).toEqual([]);
  });

  it('still loads every production dependency after the pruning (native addons: wherever they load from node_modules)', () => {
    const fromProject = loadDependencies(root, join(work.path, 'probe-project'));
    const fromPackage = loadDependencies(extracted, join(work.path, 'probe-package'));
    expect(Object.keys(fromPackage).sort()).toEqual(Object.keys(fromProject).sort());
    for (const [name, result] of Object.entries(fromProject)) {
      // An addon built for Electron's ABI (after `npm start`) loads in neither; one built for Node's must load in both.
      expect(fromPackage[name], name).toBe(result);
    }
    // N-API and plain JavaScript: these load under any ABI.
    for (const name of ['node-llama-cpp', 'ldapts', 'zod', 'canonicalize', 'jsonc-parser', 'plist', 'react-markdown', 'rehype-sanitize', 'uuid']) {
      if (name in fromPackage) expect(fromPackage[name], name).toBe('ok');
    }
  });
});
