// app://enclave/ is how the renderer is served (instead of file://): only files
// of the renderer's build folder, with a known type, whatever the URL tries.
import { join, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CSP } from '../../src/shared/csp.js';
import { APP_PAGE_URL, APP_SCHEME_PRIVILEGES, appResponseHeaders, isServableAppUrl, resolveAppRequest } from '../../src/main/desktop/index.js';

const ROOT = resolve('/opt/Enclave/resources/app.asar/out/renderer');

describe('app:// requests the renderer makes', () => {
  it.each([
    ['app://enclave/index.html', 'index.html', 'text/html; charset=utf-8'],
    ['app://enclave/', 'index.html', 'text/html; charset=utf-8'],
    ['app://enclave', 'index.html', 'text/html; charset=utf-8'],
    ['app://enclave/assets/index-BoHNWD0P.js', 'assets/index-BoHNWD0P.js', 'text/javascript; charset=utf-8'],
    ['app://enclave/assets/index-BKuFgvBA.css', 'assets/index-BKuFgvBA.css', 'text/css; charset=utf-8'],
    ['app://enclave/assets/logo.SVG', 'assets/logo.SVG', 'image/svg+xml'],
    ['app://enclave/assets/inter-latin-400.woff2', 'assets/inter-latin-400.woff2', 'font/woff2'],
    ['app://enclave/assets/icon@2x.png', 'assets/icon@2x.png', 'image/png'],
  ])('%s is the file %s, served as %s', (url, file, mime) => {
    const resolved = resolveAppRequest(url, ROOT);
    expect(resolved).toEqual({ ok: true, filePath: join(ROOT, ...file.split('/')), mimeType: mime });
  });

  it('serves HEAD as well as GET, and nothing else', () => {
    expect(resolveAppRequest(APP_PAGE_URL, ROOT, 'HEAD').ok).toBe(true);
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'get']) {
      expect(resolveAppRequest(APP_PAGE_URL, ROOT, method)).toMatchObject({ ok: false, status: 405 });
    }
  });
});

describe('hostile app:// requests', () => {
  it.each([
    // Leaving the folder, plainly or encoded.
    'app://enclave/..%2f..%2fmain%2fcore.js',
    'app://enclave/%2e%2e/%2e%2e/main/core.js',
    'app://enclave/assets/%2e%2e%2f%2e%2e%2fmain%2fcore.js',
    'app://enclave/%252e%252e/main/core.js',
    'app://enclave/..%5c..%5cmain%5ccore.js',
    'app://enclave/assets\\..\\..\\main\\core.js',
    'app://enclave/.%2e/main/core.js',
    'app://enclave/assets/../index.html',
    'app://enclave/assets/./index.js',
    'app://enclave/assets/..',
    // Absolute and drive paths.
    'app://enclave//etc/passwd.txt',
    'app://enclave/%2fetc%2fpasswd.txt',
    'app://enclave/C:/Windows/win.ini.txt',
    'app://enclave/C%3a%5cWindows%5cwin.ini.txt',
    'app://enclave/index.html::$DATA',
    'app://enclave/\\\\server\\share\\x.js',
    // Query strings and fragments (nothing may ride along), even empty ones.
    'app://enclave/index.html?prompt=secret',
    'app://enclave/index.html?',
    'app://enclave/assets/index.js#x',
    // Null bytes, dotfiles, odd names.
    'app://enclave/index.html%00.js',
    'app://enclave/.env.json',
    'app://enclave/assets/.hidden.js',
    'app://enclave/assets/a%20b.js',
    'app://enclave/assets/%ZZ.js',
    'app://enclave/assets/~1.js',
    // Another scheme, host, port or user.
    'file:///opt/Enclave/resources/app.asar/out/renderer/index.html',
    'https://enclave/index.html',
    'app://other/index.html',
    'app://enclave.example/index.html',
    'app://enclave:443/index.html',
    'app://user:pw@enclave/index.html',
    'app:index.html',
    'not a url',
    '',
  ])('refuses %s', (url) => {
    const resolved = resolveAppRequest(url, ROOT);
    expect(resolved.ok).toBe(false);
    expect(isServableAppUrl(url)).toBe(false);
  });

  it.each(['app://enclave/assets/run.sh', 'app://enclave/assets/tool.exe', 'app://enclave/index.js.map', 'app://enclave/assets', 'app://enclave/README'])(
    'serves no file type the build does not make: %s',
    (url) => {
      expect(resolveAppRequest(url, ROOT)).toMatchObject({ ok: false, status: 404 });
    },
  );

  it('refuses an overlong URL', () => {
    expect(resolveAppRequest(`app://enclave/${'a/'.repeat(2000)}x.js`, ROOT)).toMatchObject({ ok: false, status: 400 });
  });

  it('never resolves outside the root, whatever the input (generated paths)', () => {
    const pieces = ['..', '.', '%2e%2e', '%2E.', '%2f', '%5c', '%00', 'a', 'assets', '', '\\', ':', 'x.js', '%252e'];
    let served = 0;
    for (const a of pieces)
      for (const b of pieces)
        for (const c of pieces) {
          const resolved = resolveAppRequest(`app://enclave/${a}/${b}/${c}/index.js`, ROOT);
          if (!resolved.ok) continue;
          served += 1;
          expect(resolved.filePath.startsWith(ROOT + sep)).toBe(true);
          expect(resolved.filePath.split(sep)).not.toContain('..');
          // Only plain names were served: the three pieces are among them.
          expect([a, b, c].every((piece) => /^[\w.-]+$/.test(piece) && !piece.startsWith('.'))).toBe(true);
        }
    // The plain combinations (a/assets/x.js, ...) are served; the rest are not.
    expect(served).toBe(3 ** 3);
  });
});

describe('app:// responses and scheme', () => {
  it('carry the type, the app CSP, nosniff and no caching', () => {
    expect(appResponseHeaders('text/html; charset=utf-8')).toEqual({
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
      'Cross-Origin-Resource-Policy': 'same-origin',
    });
  });

  it('is standard and secure, with no other privilege (no CSP bypass, fetch, CORS or service workers)', () => {
    expect(APP_SCHEME_PRIVILEGES).toEqual({ standard: true, secure: true });
  });
});
