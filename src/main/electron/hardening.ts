// The window's security decisions as pure data and functions. No runtime
// import of 'electron' here, so the unit tests can check them under plain Node;
// window.ts and ipc-relay.ts apply them.
import type { WebPreferences } from 'electron';
import { CSP } from '../../shared/csp.js';

export { CSP };

/**
 * The renderer is untrusted (it shows model output): no Node, its own isolated
 * world for the preload, Chromium's sandbox, same-origin policy on. The preload
 * path and devTools are added by window.ts, which knows where it runs.
 */
export const HARDENED_WEB_PREFERENCES = Object.freeze({
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
  // Chromium's spellchecker downloads dictionaries from a Google CDN and sees what is typed.
  spellcheck: false,
  experimentalFeatures: false,
  enableWebSQL: false,
  navigateOnDragDrop: false,
  plugins: false,
  safeDialogs: true,
} as const satisfies WebPreferences);

/** Every permission (camera, notifications, clipboard-read, HID, ...) is refused. */
export function decidePermission(_permission: string): false {
  return false;
}

/** window.open and target=_blank never open anything, in the app or outside it. */
export const WINDOW_OPEN_DECISION = Object.freeze({ action: 'deny' as const });

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * A file URL's path as the file system sees it. Chromium and Node may encode a
 * path differently, so compare decoded; a drive-letter path is Windows, whose
 * file system ignores case.
 */
function filePath(url: URL): string | null {
  if (url.protocol !== 'file:' || url.username !== '' || url.password !== '') return null;
  // An encoded separator would decode into a ../ the URL parser never saw.
  if (/%2f|%5c/i.test(url.pathname)) return null;
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  // A UNC host (file://server/share) is part of where the file is.
  const full = url.host === '' ? path : `//${url.host.toLowerCase()}${path}`;
  return /^\/[A-Za-z]:\//.test(path) ? full.toLowerCase() : full;
}

/**
 * Whether `targetUrl` is the app itself: the same file (any #fragment, for
 * in-page routing) when loaded from disk, or the same origin as the dev server.
 * Everything else (https:, javascript:, data:, another file) is refused.
 */
export function isAllowedNavigation(targetUrl: string, appUrl: string): boolean {
  const target = parse(targetUrl);
  const app = parse(appUrl);
  if (!target || !app) return false;
  if (target.protocol !== app.protocol) return false;
  if (app.protocol === 'file:') {
    const targetPath = filePath(target);
    // A query string is meaningless to a file page; refuse it so nothing rides along.
    return targetPath !== null && target.search === '' && targetPath === filePath(app);
  }
  if (app.protocol === 'http:' || app.protocol === 'https:') return target.origin === app.origin;
  return false;
}

/** IPC is answered only for a frame showing the app itself (see isAllowedNavigation). */
export function isTrustedSenderUrl(frameUrl: string | null | undefined, appUrl: string): boolean {
  return typeof frameUrl === 'string' && isAllowedNavigation(frameUrl, appUrl);
}

/**
 * Requests the renderer's session may make: files under the app's own folder,
 * inline data: images, and, in development only, the dev server (with its HMR
 * socket). Anything else is cancelled before it leaves the process.
 */
export function isAllowedRequest(requestUrl: string, appUrl: string): boolean {
  const request = parse(requestUrl);
  const app = parse(appUrl);
  if (!request || !app) return false;
  if (request.protocol === 'data:' || request.protocol === 'devtools:') return true;
  if (app.protocol === 'file:') {
    const requestPath = filePath(request);
    const appPath = filePath(app);
    if (requestPath === null || appPath === null) return false;
    // The URL parser has already resolved any ../ segments.
    return requestPath.startsWith(appPath.slice(0, appPath.lastIndexOf('/') + 1));
  }
  if (app.protocol === 'http:' || app.protocol === 'https:') {
    const socketProtocol = app.protocol === 'https:' ? 'wss:' : 'ws:';
    return (request.protocol === app.protocol || request.protocol === socketProtocol) && request.host === app.host;
  }
  return false;
}

/**
 * Response headers with our CSP in force: any CSP the server sent is replaced
 * (header names are case-insensitive), and MIME sniffing is turned off.
 */
export function withSecurityHeaders(headers: Record<string, string | string[]> | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower === 'content-security-policy' || lower === 'content-security-policy-report-only' || lower === 'x-content-type-options') continue;
    out[name] = value;
  }
  out['Content-Security-Policy'] = [CSP];
  out['X-Content-Type-Options'] = ['nosniff'];
  return out;
}
