// The one application window, hardened: the renderer shows model output, so it
// is treated as hostile. The decisions live in hardening.ts (pure, unit-tested);
// this file applies them to Electron's objects.
import { app, BrowserWindow, protocol, session, type Session, type WebContents } from 'electron';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { APP_PAGE_URL, APP_SCHEME, APP_SCHEME_PRIVILEGES, appResponseHeaders, resolveAppRequest } from '../desktop/index.js';
import { HARDENED_WEB_PREFERENCES, WINDOW_OPEN_DECISION, decidePermission, disableSpellchecker, isAllowedNavigation, isAllowedRequest, withSecurityHeaders } from './hardening.js';

/** Where the renderer comes from: the built file, or the dev server when running unpackaged. */
export interface RendererLocation {
  /** The URL the app's page has; navigation and IPC are allowed only for it. */
  appUrl: string;
  /** The built renderer folder app:// serves from; null when the dev server serves the page. */
  rendererRoot: string | null;
  load(window: BrowserWindow): Promise<void>;
}

/** Must run before the app is ready (Chromium fixes its scheme list at start-up); once, for every custom scheme. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { ...APP_SCHEME_PRIVILEGES } }]);
}

/** Paths inside the app (app.asar when packaged), independent of how main was bundled into chunks. */
export function appPaths(): { preload: string; rendererHtml: string; coreEntry: string } {
  const root = app.getAppPath();
  return {
    preload: join(root, 'out', 'preload', 'index.cjs'),
    rendererHtml: join(root, 'out', 'renderer', 'index.html'),
    coreEntry: join(root, 'out', 'main', 'core.js'),
  };
}

export function rendererLocation(rendererHtml: string): RendererLocation {
  // An environment variable must never point a packaged app at some server.
  const devUrl = app.isPackaged ? undefined : process.env['ELECTRON_RENDERER_URL'];
  if (devUrl) return { appUrl: devUrl, rendererRoot: null, load: (window) => window.loadURL(devUrl) };
  return { appUrl: APP_PAGE_URL, rendererRoot: dirname(rendererHtml), load: (window) => window.loadURL(APP_PAGE_URL) };
}

/** Origin and scheme only: a blocked URL may carry text from a prompt or an answer. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'file:' ? 'a local file' : `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'a malformed URL';
  }
}

/**
 * Navigation, redirects, pop-ups and <webview> are refused for every web
 * contents the app ever creates (registered through app 'web-contents-created').
 */
export function guardWebContents(contents: WebContents, appUrl: string, log: (line: string) => void): void {
  contents.setWindowOpenHandler(() => WINDOW_OPEN_DECISION);
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.on('will-navigate', (event) => {
    if (isAllowedNavigation(event.url, appUrl)) return;
    event.preventDefault();
    log(`[window] refused navigation to ${redact(event.url)}`);
  });
  // Subframes; the main frame is covered by will-navigate above.
  contents.on('will-frame-navigate', (event) => {
    if (event.isMainFrame || isAllowedNavigation(event.url, appUrl)) return;
    event.preventDefault();
    log(`[window] refused frame navigation to ${redact(event.url)}`);
  });
  contents.on('will-redirect', (event) => {
    if (isAllowedNavigation(event.url, appUrl)) return;
    event.preventDefault();
    log(`[window] refused redirect to ${redact(event.url)}`);
  });
}

/**
 * app://enclave/ on the renderer's session: only files of the built renderer
 * folder, resolved by desktop/app-protocol.ts, with their type and our CSP.
 */
function serveRendererFiles(ses: Session, rendererRoot: string, log: (line: string) => void): void {
  ses.protocol.handle(APP_SCHEME, async (request) => {
    const resolved = resolveAppRequest(request.url, rendererRoot, request.method);
    if (!resolved.ok) {
      log(`[window] refused an app:// request: ${resolved.reason}`);
      return new Response(null, { status: resolved.status });
    }
    try {
      // Electron's fs reads inside app.asar.
      return new Response(await readFile(resolved.filePath), { status: 200, headers: appResponseHeaders(resolved.mimeType) });
    } catch {
      return new Response(null, { status: 404 });
    }
  });
}

/**
 * The renderer's session: in memory only (nothing the page stores reaches the
 * disk), every permission denied, no downloads, no request leaves except to the
 * app's own files (or the dev server), and our CSP on every response.
 */
export function hardenedSession(location: RendererLocation, log: (line: string) => void): Session {
  const appUrl = location.appUrl;
  // No 'persist:' prefix: cache, localStorage and cookies live in memory and die with the app.
  const ses = session.fromPartition('enclave-renderer');
  ses.setPermissionRequestHandler((_contents, permission, callback) => callback(decidePermission(permission)));
  ses.setPermissionCheckHandler((_contents, permission) => decidePermission(permission));
  ses.setDevicePermissionHandler(() => false);
  // Both sessions: the default one is not the window's, but Chromium may still fetch dictionaries for it.
  disableSpellchecker(ses);
  disableSpellchecker(session.defaultSession);
  if (location.rendererRoot !== null && !ses.protocol.isProtocolHandled(APP_SCHEME)) serveRendererFiles(ses, location.rendererRoot, log);
  ses.on('will-download', (event) => {
    event.preventDefault();
    log('[window] refused a download');
  });
  ses.webRequest.onBeforeRequest((details, callback) => {
    const allowed = isAllowedRequest(details.url, appUrl);
    if (!allowed) log(`[window] blocked a request to ${redact(details.url)}`);
    callback({ cancel: !allowed });
  });
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: withSecurityHeaders(details.responseHeaders) });
  });
  return ses;
}

export interface CreateWindowOptions {
  preload: string;
  location: RendererLocation;
  log: (line: string) => void;
}

export async function createMainWindow(options: CreateWindowOptions): Promise<BrowserWindow> {
  const window = new BrowserWindow({
    width: 1280,
    height: 860,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Enclave',
    backgroundColor: '#ffffff',
    webPreferences: {
      ...HARDENED_WEB_PREFERENCES,
      preload: options.preload,
      session: hardenedSession(options.location, options.log),
      // DevTools would let anyone at the keyboard script the page; developers only.
      devTools: !app.isPackaged,
    },
  });
  window.once('ready-to-show', () => window.show());
  window.webContents.on('render-process-gone', (_event, details) => {
    options.log(`[window] the renderer process ended (${details.reason}, exit code ${details.exitCode})`);
  });
  await options.location.load(window);
  return window;
}
