// The 'browser' e2e target: the real core in the Playwright test process, the
// built renderer (out/renderer) served over 127.0.0.1, and window.enclave
// installed in the page from the same contract as the preload's.
import { build } from 'esbuild';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import type { Core } from '../../src/main/core/index.js';
import type { CallResponse, EventMessage } from '../../src/shared/rpc.js';

const here = fileURLToPath(new URL('.', import.meta.url));
export const repoRoot = resolve(here, '../..');
export const rendererDir = join(repoRoot, 'out/renderer');

let bridgeScript: Promise<string> | null = null;

/** bridge-entry.ts (+ src/shared/bridge.ts and the contract) as one IIFE. */
export function bundleBridge(): Promise<string> {
  bridgeScript ??= build({
    entryPoints: [join(here, 'bridge-entry.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    minify: true,
    write: false,
    logLevel: 'silent',
  }).then((result) => {
    const file = result.outputFiles[0];
    if (!file) throw new Error('esbuild produced no bridge bundle.');
    return file.text;
  });
  return bridgeScript;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/** Serves out/renderer read-only on a random loopback port; no CSP header, so the page's meta CSP is what is tested. */
export async function serveRenderer(root = rendererDir): Promise<StaticServer> {
  if (!existsSync(join(root, 'index.html'))) {
    throw new Error(`${root}/index.html is missing: build the renderer first (node scripts/e2e.mjs does).`);
  }
  const server: Server = createServer((req, res) => {
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const file = normalize(join(root, pathname === '/' ? 'index.html' : pathname));
    if ((file !== root && !file.startsWith(root + sep)) || !existsSync(file) || !statSync(file).isFile() || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/**
 * Installs window.enclave in the page, wired to the core. Must run before the
 * first navigation. Returns a function that stops event delivery.
 */
export async function installBridge(page: Page, core: Pick<Core, 'handle' | 'onEvent'>): Promise<() => void> {
  let nextId = 1;
  await page.exposeBinding('__enclaveInvoke', async (_source, method: unknown, input: unknown): Promise<CallResponse> => {
    // The envelope the IPC relay would build; the core checks method and input itself.
    return core.handle({ id: nextId++, method: String(method), input });
  });
  await page.addInitScript({ content: await bundleBridge() });

  // Events go into the page in order: one evaluate at a time, batching what queued meanwhile.
  let queue: EventMessage[] = [];
  let flushing = false;
  let stopped = false;
  const flush = async () => {
    if (flushing) return;
    flushing = true;
    try {
      while (queue.length > 0 && !stopped) {
        const batch = queue;
        queue = [];
        await page
          .evaluate((messages) => {
            const deliver = (window as unknown as { __enclaveDeliver?: (m: unknown[]) => void }).__enclaveDeliver;
            deliver?.(messages);
          }, batch)
          // A page that is navigating or closed misses these events, as a reloading window would.
          .catch(() => undefined);
      }
    } finally {
      flushing = false;
    }
  };
  const off = core.onEvent((message) => {
    if (stopped) return;
    queue.push(message);
    void flush();
  });
  return () => {
    stopped = true;
    off();
  };
}
