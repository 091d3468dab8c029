// The renderer built in the pseudo-locale (VITE_ENCLAVE_LOCALE=en-XA) into
// out/renderer-pseudo, for the browser target of pseudo-locale.spec.ts; rebuilt
// when the renderer's sources are newer. The same renderer section of
// electron.vite.config.ts as scripts/e2e.mjs builds.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './browser-target.js';

export const PSEUDO_RENDERER_DIR = join(repoRoot, 'out/renderer-pseudo');

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

export async function buildPseudoRenderer(): Promise<string> {
  const builtAt = newestMtime(join(PSEUDO_RENDERER_DIR, 'index.html'));
  const sourcesAt = Math.max(...['src/renderer', 'src/shared', 'electron.vite.config.ts'].map((p) => newestMtime(join(repoRoot, p))));
  if (builtAt > sourcesAt) return PSEUDO_RENDERER_DIR;
  const { loadConfigFromFile } = await import('electron-vite');
  const { build } = await import('vite');
  const { config } = await loadConfigFromFile({ command: 'build', mode: 'production' }, join(repoRoot, 'electron.vite.config.ts'));
  // The renderer section is an object in this repository's config.
  const renderer = config.renderer as import('vite').InlineConfig | undefined;
  if (!renderer) throw new Error('electron.vite.config.ts has no renderer section.');
  const before = process.env['VITE_ENCLAVE_LOCALE'];
  process.env['VITE_ENCLAVE_LOCALE'] = 'en-XA';
  try {
    await build({ ...renderer, configFile: false, mode: 'production', logLevel: 'warn', build: { ...renderer.build, outDir: PSEUDO_RENDERER_DIR, emptyOutDir: true } });
  } finally {
    if (before === undefined) delete process.env['VITE_ENCLAVE_LOCALE'];
    else process.env['VITE_ENCLAVE_LOCALE'] = before;
  }
  return PSEUDO_RENDERER_DIR;
}
