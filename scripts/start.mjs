#!/usr/bin/env node
// `npm start`: the app from the built bundles (electron-vite preview), with the
// native modules rebuilt for Electron's ABI (electron-builder install-app-deps).
// node_modules holds one build of each native module, and the `enclave` CLI and
// the tests load them in plain Node; so the Node builds are kept aside first and
// put back when the start ends: failed, interrupted or done. Before anything is
// rebuilt, the Electron binary must be there (installs with
// ELECTRON_SKIP_BINARY_DOWNLOAD=1, as `npm test` makes, have none).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NATIVE_MODULES } from './native-modules.mjs';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
/** Where the Node builds wait while the Electron builds are in place; left behind only by a killed start. */
const kept = join(root, 'node_modules', '.enclave-node-builds');

function say(line) {
  process.stderr.write(`npm start: ${line}\n`);
}

/** Why Electron cannot start, or null when its binary is there (the lookup of node_modules/electron/index.js). */
function missingElectronBinary() {
  const electronDir = join(root, 'node_modules', 'electron');
  if (!existsSync(join(electronDir, 'package.json'))) return 'the electron package is not installed: run npm ci first.';
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) return null;
  const pathFile = join(electronDir, 'path.txt');
  const binary = existsSync(pathFile) ? join(electronDir, 'dist', readFileSync(pathFile, 'utf8').trim()) : null;
  if (binary && existsSync(binary)) return null;
  return [
    'the Electron binary is missing (node_modules/electron/dist). npm does not download it when',
    'ELECTRON_SKIP_BINARY_DOWNLOAD=1 is set, as `npm test` sets it. Download it (from GitHub, or from',
    'the mirror ELECTRON_MIRROR names), then run npm start again:',
    '',
    '    env -u ELECTRON_SKIP_BINARY_DOWNLOAD node node_modules/electron/install.js',
    '',
    'Offline: unpack the Electron zip of the pinned release and set ELECTRON_OVERRIDE_DIST_PATH to that folder',
    '(docs/admin-guide.md, "The Electron runtime").',
    'Nothing was rebuilt: the native modules are still built for Node, so the CLI and the tests work.',
  ].join('\n');
}

/** Whether a native module loads in this Node; tried in a child, so that no addon is ever loaded in this process. */
function loadsInNode(name) {
  return spawnSync(process.execPath, [join(root, 'scripts', 'native-modules.mjs'), 'probe', name], { cwd: root, stdio: 'ignore' }).status === 0;
}

/** The addon files (build/Release/*.node) of each installed native module that loads in this Node. */
function addonFiles() {
  const files = [];
  for (const name of Object.keys(NATIVE_MODULES)) {
    const release = join(root, 'node_modules', name, 'build', 'Release');
    if (!existsSync(release)) continue;
    if (!loadsInNode(name)) {
      say(`${name} is not built for Node ${process.version} now; after this start: npm rebuild ${name}`);
      continue;
    }
    for (const entry of readdirSync(release)) if (entry.endsWith('.node')) files.push(join(release, entry));
  }
  return files;
}

function keepNodeBuilds() {
  rmSync(kept, { recursive: true, force: true });
  const files = addonFiles();
  for (const file of files) {
    const copy = join(kept, relative(root, file));
    mkdirSync(dirname(copy), { recursive: true });
    copyFileSync(file, copy);
  }
  writeFileSync(join(kept, 'node-version'), `${process.version}\n`);
}

/** Puts the Node builds back and checks that each module loads; true when all do. */
function restoreNodeBuilds() {
  if (!existsSync(kept)) return true;
  const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  for (const copy of walk(kept)) {
    if (!copy.endsWith('.node')) continue;
    const file = join(root, relative(kept, copy));
    mkdirSync(dirname(file), { recursive: true });
    // Beside it, then renamed over it: a process that has the addon loaded keeps its own copy.
    copyFileSync(copy, `${file}.restoring`);
    renameSync(`${file}.restoring`, file);
  }
  rmSync(kept, { recursive: true, force: true });
  let ok = true;
  for (const name of Object.keys(NATIVE_MODULES)) {
    if (!existsSync(join(root, 'node_modules', name, 'package.json'))) continue;
    if (!loadsInNode(name)) {
      say(`${name} does not load in Node ${process.version}; rebuild it for the CLI and the tests: npm rebuild ${name}`);
      ok = false;
    }
  }
  return ok;
}

let child = null;
/** Runs a tool from node_modules/.bin; resolves with its exit code (128 + n for a signal). */
function runBin(tool, args) {
  return new Promise((resolvePromise) => {
    child = spawn(join(root, 'node_modules', '.bin', tool), args, { cwd: root, stdio: 'inherit' });
    child.on('error', (error) => {
      say(`could not run ${tool}: ${error.message}`);
      resolvePromise(1);
    });
    child.on('exit', (code, signal) => {
      child = null;
      resolvePromise(code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15));
    });
  });
}

// Ctrl-C reaches the whole process group: the tool stops, and this script puts the
// Node builds back before it exits. A signal sent to this process alone is passed on.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child) child.kill(signal);
  });
}

async function main() {
  const missing = missingElectronBinary();
  if (missing) {
    say(missing);
    return 1;
  }
  // A start that was killed outright (SIGKILL, power) left the Node builds aside.
  if (existsSync(kept)) {
    say('putting back the Node builds an earlier start left aside');
    restoreNodeBuilds();
  }
  keepNodeBuilds();
  try {
    const rebuilt = await runBin('electron-builder', ['install-app-deps']);
    if (rebuilt !== 0) {
      say(`rebuilding the native modules for Electron failed (exit ${rebuilt}); see above. The app did not start.`);
      return rebuilt;
    }
    return await runBin('electron-vite', ['preview', ...process.argv.slice(2)]);
  } finally {
    if (restoreNodeBuilds()) say(`the native modules are built for Node ${process.version} again (the CLI and the tests).`);
  }
}

process.exitCode = await main();
