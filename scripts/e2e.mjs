#!/usr/bin/env node
// Runs the end-to-end tests. Builds what the chosen target needs first:
// - browser (default): only the renderer, with the renderer section of
//   electron.vite.config.ts, when out/renderer is older than its sources;
// - electron: the whole app with `electron-vite build`.
// Extra arguments go to `playwright test` (e.g. a spec file or --grep).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
process.chdir(root);
const target = process.env.ENCLAVE_E2E_TARGET ?? 'browser';
const args = process.argv.slice(2);
const forceBuild = args.includes('--build');
const playwrightArgs = args.filter((a) => a !== '--build');

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function run(command, commandArgs) {
  const result = spawnSync(command, commandArgs, { stdio: 'inherit', env: process.env });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

async function buildRenderer() {
  const { loadConfigFromFile } = await import('electron-vite');
  const { build } = await import('vite');
  const { config } = await loadConfigFromFile({ command: 'build', mode: 'production' }, 'electron.vite.config.ts');
  const renderer = typeof config.renderer === 'function' ? await config.renderer({ command: 'build', mode: 'production' }) : config.renderer;
  if (!renderer) throw new Error('electron.vite.config.ts has no renderer section.');
  await build({
    ...renderer,
    configFile: false,
    mode: 'production',
    build: { ...renderer.build, outDir: resolve(root, 'out/renderer'), emptyOutDir: true },
  });
}

if (target === 'electron') {
  const status = run('npx', ['electron-vite', 'build']);
  if (status !== 0) process.exit(status);
} else if (target === 'browser') {
  // The browser target drives Debian's Chromium (test/e2e/fixtures.ts), not a browser Playwright downloads.
  const chromium = process.env.ENCLAVE_E2E_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) {
    console.error(
      [
        `e2e: Chromium is missing: there is no ${chromium}.`,
        'The end-to-end tests drive the system Chromium. Install it (npm test does):',
        '    sudo apt-get install chromium',
        'or set ENCLAVE_E2E_CHROMIUM to a Chromium or Chrome executable,',
        'or run them in Electron (needs its binary): ENCLAVE_E2E_TARGET=electron npm run test:e2e',
      ].join('\n'),
    );
    process.exit(2);
  }
  const builtAt = newestMtime('out/renderer/index.html');
  const sourcesAt = Math.max(newestMtime('src/renderer'), newestMtime('src/shared'), newestMtime('electron.vite.config.ts'));
  if (forceBuild || builtAt === 0 || sourcesAt > builtAt) {
    console.log('e2e: building the renderer (out/renderer)…');
    await buildRenderer();
  } else {
    console.log('e2e: out/renderer is up to date.');
  }
} else {
  console.error(`ENCLAVE_E2E_TARGET must be "browser" or "electron", not "${target}".`);
  process.exit(2);
}

process.exit(run('npx', ['playwright', 'test', ...playwrightArgs]));
