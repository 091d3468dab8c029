// The renderer is served from app://enclave/, not file://: a file:// page can
// name every file on the disk (and, with Electron's file-protocol privileges,
// read some), while an app:// page reaches only what this resolver hands out:
// the files of the renderer's build folder inside app.asar. Pure: window.ts
// registers the scheme and serves what resolveAppRequest allows.
import { join, resolve, sep } from 'node:path';
import { CSP } from '../../shared/csp.js';

export const APP_SCHEME = 'app';
export const APP_HOST = 'enclave';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** The page the window loads; navigation and IPC are allowed only for it. */
export const APP_PAGE_URL = `${APP_ORIGIN}/index.html`;

/**
 * The scheme's privileges (protocol.registerSchemesAsPrivileged, before ready):
 * standard, so the page has an origin of its own ('self' in the CSP means
 * app://enclave) and relative URLs resolve; secure, so it is a secure context
 * like https. Nothing else: no fetch/CORS privileges (the CSP allows no
 * connections), no service workers, no CSP bypass.
 */
export const APP_SCHEME_PRIVILEGES = Object.freeze({ standard: true, secure: true });

/** The only file types the renderer build contains; anything else is not served. */
const MIME_TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
});

/**
 * One path segment as a build tool writes it: letters, digits, ".", "_", "-",
 * "@" and "+", not starting with a dot (so no "..", no ".", no dotfiles) and
 * with none of the characters a file system gives a meaning to (":" for a
 * Windows drive or stream, "\", NUL, "~" short names, spaces).
 */
const SAFE_SEGMENT = /^[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*$/;
const MAX_URL_LENGTH = 2048;

export type AppRequestResolution = { ok: true; filePath: string; mimeType: string } | { ok: false; status: 400 | 404 | 405; reason: string };

function refuse(status: 400 | 404 | 405, reason: string): AppRequestResolution {
  return { ok: false, status, reason };
}

/**
 * The file an app:// request may read, or why not. `rendererRoot` is the
 * renderer's build folder (out/renderer inside app.asar). Refused: another
 * scheme or host, a port or user info, a query string or fragment, any
 * encoded or literal "." / ".." segment, encoded separators, backslashes,
 * empty segments, absolute or drive paths, and file types the build does not
 * produce, and methods other than GET and HEAD. The resolved path is checked again to lie inside the root.
 */
export function resolveAppRequest(requestUrl: string, rendererRoot: string, method = 'GET'): AppRequestResolution {
  // The page only reads its own files.
  if (method !== 'GET' && method !== 'HEAD') return refuse(405, 'only GET and HEAD are served');
  if (requestUrl.length > MAX_URL_LENGTH) return refuse(400, 'the URL is too long');
  // The raw text, before any parser normalises it away.
  if (/[?#\\]/.test(requestUrl)) return refuse(400, 'query strings, fragments and backslashes are not served');
  // Dot segments, literal or encoded: the URL parser would resolve them quietly
  // (Chromium already has, for a request it makes), so one here was put there on purpose.
  if (/%2e|\/\.\.?(\/|$)/i.test(requestUrl.slice(requestUrl.indexOf('//') + 2))) return refuse(400, 'dot segments are not served');
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return refuse(400, 'not a URL');
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.hostname !== APP_HOST) return refuse(400, 'not an app://enclave/ URL');
  if (url.port !== '' || url.username !== '' || url.password !== '') return refuse(400, 'ports and user names are not served');
  const rawPath = url.pathname === '/' || url.pathname === '' ? '/index.html' : url.pathname;
  if (!rawPath.startsWith('/')) return refuse(400, 'not an absolute path');
  const segments: string[] = [];
  for (const encoded of rawPath.slice(1).split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(encoded);
    } catch {
      return refuse(400, 'malformed percent-encoding');
    }
    // Checked after decoding, so %2e%2e, %2f, %5c and %00 are caught as what they decode to.
    if (!SAFE_SEGMENT.test(segment)) return refuse(400, 'a path segment is not a plain file or folder name');
    segments.push(segment);
  }
  const dot = segments.at(-1)!.lastIndexOf('.');
  const mimeType = dot > 0 ? MIME_TYPES[segments.at(-1)!.slice(dot).toLowerCase()] : undefined;
  if (mimeType === undefined) return refuse(404, 'not a file type the renderer is built with');
  const root = resolve(rendererRoot);
  const filePath = join(root, ...segments);
  // Defence in depth: the segment rule already makes leaving the root impossible.
  if (!filePath.startsWith(root + sep)) return refuse(400, 'outside the renderer folder');
  return { ok: true, filePath, mimeType };
}

/** Whether a request URL is one the handler would serve from some renderer folder (its shape only; the file may still be missing). */
export function isServableAppUrl(requestUrl: string): boolean {
  return resolveAppRequest(requestUrl, SHAPE_ONLY_ROOT).ok;
}
const SHAPE_ONLY_ROOT = resolve('/enclave-renderer');

/**
 * Headers of every app:// response: the type (never sniffed), the app's CSP as
 * a header (the page also carries it as a meta tag), and no caching.
 */
export function appResponseHeaders(mimeType: string): Record<string, string> {
  return {
    'Content-Type': mimeType,
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}
