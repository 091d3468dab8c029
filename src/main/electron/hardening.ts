// The window's security decisions as pure data and functions. No runtime
// import of 'electron' here, so the unit tests can check them under plain Node;
// window.ts and ipc-relay.ts apply them.
import type { WebPreferences } from 'electron';
import { CSP } from '../../shared/csp.js';
import { APP_SCHEME, isServableAppUrl } from '../desktop/index.js';

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

/**
 * Chromium's spellchecker, off on every session: it sees what is typed and, on
 * Linux, downloads Hunspell dictionaries from a Google server. The download URL
 * is pointed at nowhere too, in case anything turns it back on: ".invalid" is
 * reserved (RFC 2606, RFC 6761) and never resolves, so no request can reach a
 * host (unlike an IP address such as 0.0.0.0, which Linux treats as this
 * machine, where any local process could answer with a crafted dictionary).
 */
export const SPELLCHECKER_SETTINGS = Object.freeze({
  enabled: false,
  dictionaryDownloadUrl: 'https://spellchecker-dictionaries.invalid/',
} as const);

/** The part of Electron's Session the spellchecker settings touch. */
export interface SpellcheckerSession {
  setSpellCheckerEnabled(enabled: boolean): void;
  setSpellCheckerDictionaryDownloadURL(url: string): void;
}

/** Applies SPELLCHECKER_SETTINGS; window.ts calls it for the renderer's session and for defaultSession. */
export function disableSpellchecker(target: SpellcheckerSession): void {
  target.setSpellCheckerEnabled(SPELLCHECKER_SETTINGS.enabled);
  target.setSpellCheckerDictionaryDownloadURL(SPELLCHECKER_SETTINGS.dictionaryDownloadUrl);
}

/**
 * The one permission granted on purpose: writing sanitised text to the
 * clipboard, which is how an answer reaches the patient record. The renderer
 * writes only after the core has allowed and audited the copy (chat.copy).
 * Everything else (camera, notifications, clipboard-read, HID, ...) is refused.
 */
export const GRANTED_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-sanitized-write']);

export function decidePermission(permission: string): boolean {
  return GRANTED_PERMISSIONS.has(permission);
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
 * The app's own page (app://enclave/index.html, see desktop/app-protocol.ts)
 * by its parts: same scheme and host, no port or user info, the same path, no
 * query. A fragment is allowed (in-page routing). file:// is never the app.
 */
function isAppPage(target: URL, app: URL): boolean {
  return target.protocol === app.protocol && target.host === app.host && target.username === '' && target.password === '' && target.pathname === app.pathname && target.search === '';
}

/**
 * Whether `targetUrl` is the app itself: its page on app://enclave/ (any
 * #fragment, for in-page routing), or the same origin as the dev server.
 * Everything else (file:, https:, javascript:, data:, another app:// path) is refused.
 */
export function isAllowedNavigation(targetUrl: string, appUrl: string): boolean {
  const target = parse(targetUrl);
  const app = parse(appUrl);
  if (!target || !app) return false;
  if (target.protocol !== app.protocol) return false;
  if (app.protocol === `${APP_SCHEME}:`) return isAppPage(target, app) && !/[?\\]/.test(targetUrl.split('#', 1)[0] ?? '');
  if (app.protocol === 'http:' || app.protocol === 'https:') return target.origin === app.origin;
  return false;
}

/** IPC is answered only for a frame showing the app itself (see isAllowedNavigation). */
export function isTrustedSenderUrl(frameUrl: string | null | undefined, appUrl: string): boolean {
  return typeof frameUrl === 'string' && isAllowedNavigation(frameUrl, appUrl);
}

/**
 * Requests the renderer's session may make: the app's own app://enclave/
 * files (which the protocol handler then resolves, refusing anything outside
 * the renderer folder), inline data: images, and, in development only, the
 * dev server (with its HMR socket). Anything else, file:// included, is
 * cancelled before it leaves the process.
 */
export function isAllowedRequest(requestUrl: string, appUrl: string): boolean {
  const request = parse(requestUrl);
  const app = parse(appUrl);
  if (!request || !app) return false;
  if (request.protocol === 'data:' || request.protocol === 'devtools:') return true;
  if (app.protocol === `${APP_SCHEME}:`) return request.host === app.host && isServableAppUrl(requestUrl);
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
