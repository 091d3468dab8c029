// Renderer builds for the renderer bench: the production renderer exactly as
// `npm run build` makes it (electron.vite.config.ts through electron-vite's own
// config resolution), written into a folder of the bench's choosing, and the
// same build with minification off as the baseline. Sizes are what Chromium
// parses (raw) and what a compressed transfer would carry (gzip, level 9).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { resolveConfig } from 'electron-vite';
import { build, mergeConfig, type InlineConfig } from 'vite';

export interface BuildOptions {
  outDir: string;
  /** false: the unminified baseline; 'configured': whatever electron.vite.config.ts says. */
  minify: false | 'configured';
}

/** Builds the renderer into outDir; returns how long it took in ms. */
export async function buildRenderer(repoRoot: string, options: BuildOptions): Promise<number> {
  const started = performance.now();
  // As electron-vite's own build sets it (the renderer's base path depends on it).
  process.env['NODE_ENV_ELECTRON_VITE'] = 'production';
  const resolved = await resolveConfig({ configFile: join(repoRoot, 'electron.vite.config.ts'), logLevel: 'warn' }, 'build', 'production');
  const renderer = resolved.config?.renderer as InlineConfig | undefined;
  if (!renderer) throw new Error('electron.vite.config.ts has no renderer build.');
  const overrides: InlineConfig = {
    logLevel: 'warn',
    build: { outDir: options.outDir, emptyOutDir: true, ...(options.minify === false ? { minify: false, cssMinify: false } : {}) },
  };
  await build(mergeConfig(renderer, overrides));
  return performance.now() - started;
}

export interface FileSize {
  file: string;
  raw: number;
  gzip: number;
}

export interface BundleSizes {
  js: FileSize[];
  css: FileSize[];
  /** The scripts and style sheets index.html loads before first paint (entry plus its static imports); the rest load on demand. */
  firstLoad: { raw: number; gzip: number };
}

function sizeOf(root: string, path: string): FileSize {
  const bytes = readFileSync(path);
  return { file: relative(root, path), raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** JS and CSS in a renderer build, with what index.html pulls in at start. */
export function bundleSizes(outDir: string): BundleSizes {
  const files = filesUnder(outDir);
  const js = files.filter((f) => ['.js', '.mjs'].includes(extname(f))).map((f) => sizeOf(outDir, f));
  const css = files.filter((f) => extname(f) === '.css').map((f) => sizeOf(outDir, f));
  // index.html names the entry script, its modulepreloads and the style sheets: those are the first load.
  const html = readFileSync(join(outDir, 'index.html'), 'utf8');
  const referenced = new Set([...html.matchAll(/(?:src|href)="\.?\/?([^"]+\.(?:m?js|css))"/g)].map((m) => m[1]));
  const first = [...js, ...css].filter((f) => referenced.has(f.file));
  return { js, css, firstLoad: { raw: sum(first, 'raw'), gzip: sum(first, 'gzip') } };
}

export function sum(files: FileSize[], key: 'raw' | 'gzip'): number {
  return files.reduce((total, f) => total + f[key], 0);
}
